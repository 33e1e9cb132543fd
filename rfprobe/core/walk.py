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

from .analysis import METHOD, operator_receptive_field
from ..arithmetic.geometry import MethodResult

__all__ = ["METHOD", "walk_receptive_field"]


def input_channels(module: nn.Module) -> Optional[int]:
    """Input channels of the first 1-d convolution, if any."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv1d):
            return layer.in_channels
    return None


def walk_receptive_field(module: nn.Module, channels: Optional[int] = None, *,
                         device: torch.device | str = "cpu", length_multiple: int = 1,
                         max_length_samples: Optional[int] = None) -> MethodResult:
    """The module's receptive field from the ops it executes, or why the walk could not say."""
    channels = channels or input_channels(module)
    if channels is None:
        return MethodResult(method=METHOD, receptive_field=None,
                            unavailable_reason="cannot tell the input channels (no nn.Conv1d): pass channels")
    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    options = {"max_length_samples": max_length_samples} if max_length_samples else {}
    return operator_receptive_field(module, channels, device=device, dtype=dtype,
                                    length_multiple=length_multiple, **options)
