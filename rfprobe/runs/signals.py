"""The deterministic test signal every run on audio uses: a chord with onsets, not white noise.

A random input hides what a codec does with music or speech: every frame is as surprising as
the next. :func:`chord_signal` is a chord whose notes start at different times and ring down, so
a codec's codes on it change where the music does, and it is the same on every machine.
"""

from __future__ import annotations

import math

import torch

CHORD = ((220.0, 0.0), (277.2, 0.41), (329.6, 0.93), (440.0, 1.57))  # (frequency Hz, onset s) per note
CHANNEL_DELAY_SECONDS = 1e-3  # channel c is the chord c ms later, so that channels are not copies


def chord_signal(length_samples: int, sample_rate: int, channels: int = 1) -> torch.Tensor:
    """A (1, channels, length) float64 chord whose notes start at different times (not white noise:
    a codec's codes on it change where the music does), peak below 1.

    >>> signal = chord_signal(48000, 16000)
    >>> tuple(signal.shape), bool(signal.abs().max() < 1), bool(signal[..., :100].abs().max() > 0)
    ((1, 1, 48000), True, True)
    >>> stereo = chord_signal(48000, 16000, channels=2)
    >>> torch.equal(stereo[:, :1], signal), torch.equal(stereo[:, 1], stereo[:, 0])
    (True, False)
    """
    rows = []
    for channel in range(channels):
        time_s = torch.arange(length_samples, dtype=torch.float64) / sample_rate - channel * CHANNEL_DELAY_SECONDS
        chord = torch.zeros_like(time_s)
        for index, (frequency_hz, onset_s) in enumerate(CHORD):
            envelope = (time_s >= onset_s) * torch.exp(-2.0 * (time_s - onset_s).clamp(min=0))
            chord = chord + 0.2 * envelope * torch.sin(2 * math.pi * frequency_hz * time_s + index)
        rows.append(chord)
    return torch.stack(rows).unsqueeze(0)
