"""Unbounded dependence proven without magnitudes: NaN taint propagation.

Through an LSTM the gradient decays geometrically and can underflow to exactly zero far
back, so a gradient probe could report a finite past that is false. A NaN placed at one
input sample poisons every output that structurally reads it, however small the weight
on the path (NaN times anything, zero included, is NaN). If a frame far beyond what the
local (conv) layers can reach becomes non-finite, at two input lengths, that side is
unbounded.

Where it is unreliable: FFT-based or Winograd convolutions (cuDNN, oneDNN for float32)
mix all positions and spread a NaN everywhere. So taint runs on CPU in float64 with oneDNN
off, and each proof carries a control: the same NaN through the encoder's conv-only twin
must leave the far frame finite, and a NaN on the bounded side must not cross it. A proof
whose control fails is reported as unreliable, never as proven.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from rfprobe.probes.device import exact_zeros


def nonfinite_frames(module: nn.Module, length: int, sample: int, channels: int) -> list[bool]:
    """Which output frames become non-finite when input `sample` is NaN (CPU, float64)."""
    inputs = torch.randn(1, channels, length, dtype=torch.float64, generator=torch.Generator().manual_seed(length))
    inputs[0, :, sample] = math.nan
    with torch.no_grad(), exact_zeros():
        outputs = module(inputs)
    return (~torch.isfinite(outputs)).any(dim=1)[0].tolist()


@dataclass(frozen=True)
class TaintProof:
    """One side's unboundedness, checked by NaN taint at two lengths."""

    side: str  # "past" or "future"
    lengths_samples: tuple[int, ...]
    distances_samples: tuple[int, ...]  # tainted sample to the far frame's anchor
    local_reach_samples: int  # the most the local layers alone reach on this side
    reached: tuple[bool, ...]  # far frame non-finite, per length
    control_ok: bool
    control_note: str

    @property
    def proven(self) -> bool:
        """Unbounded, proven: the control held, and the NaN reached the far frame at each of 2+ lengths."""
        return self.control_ok and len(self.reached) >= 2 and all(self.reached)

    @property
    def verdict(self) -> str:
        """The proof in words: unbounded (proven), bounded, or unreliable with the control's note."""
        if not self.control_ok:
            return f"unreliable ({self.control_note})"
        if self.proven:
            return "unbounded (proven by NaN taint)"
        return "bounded (the NaN did not reach the far frame)"


def prove_side(
    module: nn.Module,
    control: nn.Module,
    side: str,
    local_left: int,
    local_right: int,
    hop: int,
    channels: int,
    other_side_bounded: bool,
) -> TaintProof:
    """Taint the first (past) or last (future) sample and watch the frame at the other end."""
    local_reach = local_left if side == "past" else local_right
    base = local_left + local_right + 4 * hop
    lengths = (base, 2 * base)
    reached, distances = [], []
    control_ok, notes = True, []
    for length in lengths:
        sample, opposite = (0, length - 1) if side == "past" else (length - 1, 0)
        tainted = nonfinite_frames(module, length, sample, channels)
        far_frame, near_frame = (len(tainted) - 1, 0) if side == "past" else (0, len(tainted) - 1)
        distances.append(abs(far_frame * hop - sample))
        reached.append(tainted[far_frame])
        if nonfinite_frames(control, length, sample, channels)[far_frame]:
            control_ok = False
            notes.append(f"the NaN crossed {length} samples in the conv-only twin")
        if other_side_bounded and nonfinite_frames(module, length, opposite, channels)[near_frame]:
            control_ok = False
            notes.append(f"a NaN on the bounded side crossed {length} samples")
    return TaintProof(
        side=side,
        lengths_samples=lengths,
        distances_samples=tuple(distances),
        local_reach_samples=local_reach,
        reached=tuple(reached),
        control_ok=control_ok,
        control_note="; ".join(notes) or "controls stayed finite",
    )
