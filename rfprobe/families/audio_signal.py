"""A tensor standing in for audiotools' `AudioSignal`, so that descript-audio-codec's own
`CodecMixin.compress()` and `decompress()` (dac/model/base.py) run without audiotools.

audiotools pulls torchaudio, librosa, tensorboard and more; DAC's chunking helpers call only
a handful of its methods. `TensorSignal` implements those on a (batch, channels, samples)
tensor, as audiotools 0.7.2 defines them, with one stated exception: loudness is not
metered (every signal reads 0 dB), so `normalize(db)` applies a gain of `db` dB. rfprobe
calls `compress(..., normalize_db=None)`, and `decompress` then normalizes to the 0 dB it
stored: both leave the samples as they are. A whole-file gain moves no frame boundary, which
is what rfprobe measures here.

    >>> import torch
    >>> signal = TensorSignal(torch.ones(1, 1, 4), 16000)
    >>> signal.zero_pad(1, 2).audio_data.shape[-1], signal[..., :3].signal_length
    (7, 3)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rfprobe.errors import UsageError

UNMETERED_LOUDNESS_DB = 0.0


class TensorSignal:
    """The parts of `audiotools.AudioSignal` that DAC's compress() and decompress() use."""

    def __init__(self, audio_data: torch.Tensor, sample_rate: int) -> None:
        if audio_data.dim() != 3:
            raise UsageError(f"a signal is (batch, channels, samples), not of shape {tuple(audio_data.shape)}")
        self.audio_data = audio_data
        self.sample_rate = sample_rate

    @property
    def device(self) -> torch.device:
        """The device the samples are on."""
        return self.audio_data.device

    @property
    def shape(self) -> torch.Size:
        """The (batch, channels, samples) shape."""
        return self.audio_data.shape

    @property
    def signal_length(self) -> int:
        """The length in samples."""
        return self.audio_data.shape[-1]

    @property
    def signal_duration(self) -> float:
        """The length in seconds."""
        return self.signal_length / self.sample_rate

    def clone(self) -> "TensorSignal":
        """A copy with its own samples."""
        return TensorSignal(self.audio_data.clone(), self.sample_rate)

    def __getitem__(self, key) -> "TensorSignal":
        return TensorSignal(self.audio_data[key], self.sample_rate)

    def zero_pad(self, before: int, after: int) -> "TensorSignal":
        """In place, as audiotools does, and returns the signal."""
        self.audio_data = F.pad(self.audio_data, (before, after))
        return self

    def resample(self, sample_rate: int) -> "TensorSignal":
        """The signal itself, at its own rate; any other rate is a UsageError (no resampler is run)."""
        # rfprobe always feeds a codec its own rate: a resampler would only add its own filter.
        if sample_rate != self.sample_rate:
            raise UsageError(f"the signal is at {self.sample_rate} Hz; give it at the codec's {sample_rate} Hz")
        return self

    def loudness(self) -> torch.Tensor:
        """0 dB for every batch item: loudness is not metered (see the module docstring)."""
        return torch.full(self.audio_data.shape[:1], UNMETERED_LOUDNESS_DB, dtype=self.audio_data.dtype)

    def normalize(self, db) -> "TensorSignal":
        """In place, a gain of `db` dB less the (unmetered, 0 dB) loudness; returns the signal."""
        gain_db = torch.as_tensor(db, dtype=self.audio_data.dtype) - self.loudness()
        self.audio_data = self.audio_data * torch.exp(gain_db * torch.log(torch.tensor(10.0)) / 20).view(-1, 1, 1)
        return self

    def ensure_max_of_audio(self, maximum: float = 1.0) -> "TensorSignal":
        """Scale down any channel whose peak exceeds `maximum` (audiotools' clipping guard)."""
        peak = self.audio_data.abs().amax(dim=-1, keepdim=True)
        gain = torch.where(peak > maximum, maximum / peak, torch.ones_like(peak))
        self.audio_data = self.audio_data * gain
        return self


class ModelBase(nn.Module):
    """audiotools' `ml.BaseModel`, as far as DAC's helpers use it: the `device` its
    parameters are on (the rest of BaseModel saves and loads checkpoints)."""

    @property
    def device(self) -> torch.device:
        """The device of the first parameter (audiotools takes it as the model's)."""
        return next(self.parameters()).device
