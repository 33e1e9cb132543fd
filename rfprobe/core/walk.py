"""The module walk: the analytic receptive field of an instantiated module, from its operators.

A thin front end over :mod:`rfprobe.core`: the module runs once (or a few times, while
the core sizes the input) under an aten-level trace, and every op's exact rule maps an
output frame to the input samples it reads. Nothing SEANet-specific: any PyTorch model
that maps (batch, channels, time) to (batch, dim, frames) is read the same way, and an
op on the time axis without a rule stops the walk by its name.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rfprobe.arithmetic.geometry import MethodResult
from rfprobe.core.analysis import MAX_LENGTH_SAMPLES, METHOD, operator_receptive_field

__all__ = ["METHOD", "walk_receptive_field"]


def input_channels(module: nn.Module) -> Optional[int]:
    """Input channels of the first 1-d convolution, if any."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv1d):
            return layer.in_channels
    return None


# With the hop known, the first trace holds this many frames (instead of a fixed number of
# samples): enough for most codecs' convolutions at once (DAC 44.1 kHz reads 16 hops), few
# enough that global attention over feature frames (hop 1) stays cheap; a wider model costs
# one doubling. It only sets where sizing starts, never the answer.
START_HOPS = 32


def walk_receptive_field(
    module: nn.Module,
    channels: Optional[int] = None,
    *,
    device: torch.device | str = "cpu",
    length_multiple: int = 1,
    max_length_samples: Optional[int] = None,
    hop_samples: Optional[int] = None,
) -> MethodResult:
    """The module's receptive field from the ops it executes, or why the walk could not say.

    `hop_samples`, when known, sizes the first trace in frames (START_HOPS of them)."""
    channels = channels or input_channels(module)
    if channels is None:
        return MethodResult(
            method=METHOD,
            receptive_field=None,
            unavailable_reason="cannot tell the input channels (no nn.Conv1d): pass channels",
        )
    # a module's own floating dtype: its parameters', or its buffers' when it has none (a quantizer's codebooks)
    tensors = [*module.parameters(), *module.buffers()]
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.float32)
    options = {"max_length_samples": max_length_samples} if max_length_samples else {}
    if hop_samples and START_HOPS * hop_samples <= (max_length_samples or MAX_LENGTH_SAMPLES):
        options["start_length_samples"] = START_HOPS * hop_samples
    return operator_receptive_field(
        module, channels, device=device, dtype=dtype, length_multiple=length_multiple, **options
    )
