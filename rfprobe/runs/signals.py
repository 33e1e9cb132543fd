"""Deterministic test signals that are not white noise: what a codec meets in use.

A random input hides what a context costs on music or speech: every frame is as surprising as
the next. :func:`chord_with_onsets` is a chord whose notes start on a beat and ring down, so it
has onsets, sustained partials and near-silence, and it is the same on every machine.

    >>> signal = chord_with_onsets(sample_rate=8000, seconds=1.0)
    >>> tuple(signal.shape), signal.dtype
    ((1, 1, 8000), torch.float64)
    >>> round(float(signal.abs().max()), 6)
    0.5
"""

from __future__ import annotations

import math

import torch

CHORD_HZ = (220.0, 277.18, 329.63, 440.0)  # A major with the octave; each note has three harmonics
BEAT_SECONDS = 0.25  # a note starts every beat, cycling through the chord
RING_SECONDS = 0.12  # each note's decay time constant
PEAK = 0.5


def chord_with_onsets(sample_rate: int, seconds: float, channels: int = 1) -> torch.Tensor:
    """(1, channels, samples) float64: the chord's notes struck in turn every BEAT_SECONDS, each
    ringing down with RING_SECONDS and adding to the ones still sounding; peak PEAK. Channel c
    is delayed by c milliseconds, so that channels are not copies."""
    samples = round(sample_rate * seconds)
    time = torch.arange(samples, dtype=torch.float64) / sample_rate
    rows = []
    for channel in range(channels):
        t = time - channel * 1e-3
        signal = torch.zeros(samples, dtype=torch.float64)
        beats = math.ceil(seconds / BEAT_SECONDS)
        for beat in range(beats):
            start = beat * BEAT_SECONDS
            since = (t - start).clamp(min=0)
            envelope = torch.where(t >= start, torch.exp(-since / RING_SECONDS), torch.zeros_like(t))
            note = CHORD_HZ[beat % len(CHORD_HZ)]
            tone = sum(torch.sin(2 * math.pi * note * harmonic * since) / harmonic for harmonic in (1, 2, 3))
            signal = signal + envelope * tone
        rows.append(signal)
    stacked = torch.stack(rows)
    return (PEAK * stacked / stacked.abs().max()).unsqueeze(0)
