"""Empirical receptive field by backpropagation.

A random projection over channels of output frame n (and, in a second batch row, of
frame n + 1) is backpropagated to the input. The frame depends on exactly the samples
whose gradient is nonzero: every sample is inspected, so holes inside the span show up.
"""
from __future__ import annotations

import torch
from torch import nn

from .device import exact_zeros
from .empirical import FrameSupport, Observation, ProbeError, ProbeWindow, nonzero_runs

METHOD = "gradient"


def probe_input(module_channels: int, window: ProbeWindow, seed: int, device: torch.device,
                dtype: torch.dtype, batch: int = 1) -> torch.Tensor:
    """A random input drawn under `seed`, the same row repeated `batch` times."""
    generator = torch.Generator().manual_seed(seed)
    row = torch.randn(1, module_channels, window.length_samples, generator=generator, dtype=torch.float64)
    return row.to(device=device, dtype=dtype).repeat(batch, 1, 1)


def gradient_observation(module: nn.Module, window: ProbeWindow, seed: int, *, channels: int,
                         device: torch.device, dtype: torch.dtype) -> Observation:
    inputs = probe_input(channels, window, seed, device, dtype, batch=2).requires_grad_(True)
    with exact_zeros():
        outputs = module(inputs)
        frames = outputs.shape[-1]
        if frames <= window.frame + 1:
            raise ProbeError(f"probe window too short: {frames} output frames, frame {window.frame + 1} needed")
        generator = torch.Generator().manual_seed(seed + 1)
        projection = torch.randn(outputs.shape[1], generator=generator, dtype=torch.float64).to(device, dtype)
        objective = (outputs[0, :, window.frame] * projection).sum() + (outputs[1, :, window.frame + 1] * projection).sum()
        (gradient,) = torch.autograd.grad(objective, inputs)
    depends = (gradient != 0).any(dim=1).cpu().tolist()
    supports = [FrameSupport(*nonzero_runs(row)) for row in depends]
    return Observation(window=window, seed=seed, this_frame=supports[0], next_frame=supports[1],
                       output_frames=frames)
