"""Empirical receptive field by backpropagation.

A random projection over channels of output frame n, and of frame n + 1, is
backpropagated to the input: one forward pass, one backward batched over the two frames.
The frame depends on exactly the samples whose gradient is nonzero: every sample is
inspected, so holes inside the span show up.
"""

from __future__ import annotations

import torch
from torch import nn

from rfprobe.arithmetic.methods import GRADIENT
from rfprobe.probes.device import exact_zeros
from rfprobe.core.intervals import mask_intervals
from rfprobe.errors import first_line, is_out_of_memory
from rfprobe.probes.empirical import ObservedSupport, Observation, ProbeError, ProbeWindow, WindowTooShort, nonzero_runs

METHOD = GRADIENT


def probe_input(
    channels: int, length_samples: int, seed: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """A (1, channels, length) random input drawn under `seed` (on CPU, so every device
    sees the same draw)."""
    generator = torch.Generator().manual_seed(seed)
    row = torch.randn(1, channels, length_samples, generator=generator, dtype=torch.float64)
    return row.to(device=device, dtype=dtype)


BATCHED_BACKWARD = "one forward, one backward batched over the frames"


def frame_gradients(
    module: nn.Module, inputs: torch.Tensor, frames: list[int], projection_seed: int
) -> tuple[torch.Tensor, int]:
    """Row i: d(projection . output[b, :, frames[i]]) / d inputs[b], where b = i for an
    input with one row per frame (each row its own draw) and b = 0 for a single-row input;
    and the number of output frames. See :func:`frame_gradients_and_how`."""
    gradient, frame_count, _ = frame_gradients_and_how(module, inputs, frames, projection_seed)
    return gradient, frame_count


def frame_gradients_and_how(
    module: nn.Module, inputs: torch.Tensor, frames: list[int], projection_seed: int
) -> tuple[torch.Tensor, int, str]:
    """:func:`frame_gradients`, and how the backward ran.

    A single row is run forward once and backpropagated once per frame, batched over the
    frames (``is_grads_batched``: one vmapped backward), so no two frames share a batch
    row or a pass through the module's batch dimension. Where the backward has no batching
    rule, the row is repeated once per frame and row i backpropagates frame i: that path,
    like an input with one row per frame, relies on the module keeping batch rows apart
    (every encoder in eval mode does).
    """
    if inputs.shape[0] not in (1, len(frames)):
        raise ValueError(
            f"inputs with {inputs.shape[0]} rows for {len(frames)} frames: give one row, or one row per frame"
        )
    if inputs.shape[0] == 1 and len(frames) > 1:
        try:
            return (*_frame_gradients(module, inputs, frames, projection_seed, batched_backward=True), BATCHED_BACKWARD)
        except NoBatchedBackward as reason:
            # Any failure of the vmapped backward (a real one too) costs only a second, plain run,
            # which raises it again if it is not about batching.
            how = f"one row per frame (the backward could not be batched: {reason})"
            inputs = inputs.repeat(len(frames), 1, 1)
            return (*_frame_gradients(module, inputs, frames, projection_seed, batched_backward=False), how)
    how = "one backward per row" if len(frames) > 1 else "one forward, one backward"
    return (*_frame_gradients(module, inputs, frames, projection_seed, batched_backward=False), how)


class NoBatchedBackward(Exception):
    """vmap over the backward failed (an op without a batching rule)."""


def _frame_gradients(
    module: nn.Module, inputs: torch.Tensor, frames: list[int], projection_seed: int, batched_backward: bool
) -> tuple[torch.Tensor, int]:
    inputs = inputs.detach().requires_grad_(True)
    with exact_zeros():
        try:
            outputs = module(inputs)
        except RuntimeError as error:  # e.g. a kernel wider than a too-short input
            if is_out_of_memory(error):  # not a finding about the module: the CLI says so and exits 2
                raise
            raise WindowTooShort(f"the module failed on {inputs.shape[-1]} samples: {first_line(error)}") from None
        if outputs.shape[-1] <= max(frames):
            raise WindowTooShort(
                f"probe window too short: {outputs.shape[-1]} output frames, frame {max(frames)} needed"
            )
        generator = torch.Generator().manual_seed(projection_seed)
        projection = torch.randn(outputs.shape[1], generator=generator, dtype=torch.float64).to(outputs)
        rows = torch.arange(len(frames), device=outputs.device)
        columns = torch.tensor(frames, device=outputs.device)
        try:
            if batched_backward:
                cotangents = torch.zeros(len(frames), *outputs.shape, dtype=outputs.dtype, device=outputs.device)
                cotangents[rows, 0, :, columns] = projection
                try:
                    (gradient,) = torch.autograd.grad(outputs, inputs, cotangents, is_grads_batched=True)
                except (RuntimeError, NotImplementedError) as error:
                    if is_out_of_memory(error):
                        raise
                    raise NoBatchedBackward(first_line(error, type(error).__name__)) from None
                return gradient[:, 0], outputs.shape[-1]
            picked = outputs[rows, :, columns]  # (batch, dim)
            (gradient,) = torch.autograd.grad((picked * projection).sum(), inputs)
        except RuntimeError as error:
            if is_out_of_memory(error):
                raise
            raise ProbeError(f"backward failed on {inputs.device}: {first_line(error)}") from None
    return gradient, outputs.shape[-1]


def measured_supports(
    module: nn.Module,
    channels: int,
    length_samples: int,
    frames: list[int],
    seed: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> tuple[list[tuple[tuple[int, int], ...]], int]:
    """Exact input supports (intervals) of `frames` for one input of `length_samples`, and
    the number of output frames; one backward pass for all frames."""
    inputs = probe_input(channels, length_samples, seed, torch.device(device), dtype)
    gradient, count = frame_gradients(module, inputs, frames, projection_seed=seed + 1)
    masks = (gradient != 0).any(dim=1).cpu().numpy()
    return [mask_intervals(mask) for mask in masks], count


def gradient_observation(
    module: nn.Module, window: ProbeWindow, seed: int, *, channels: int, device: torch.device, dtype: torch.dtype
) -> Observation:
    """The gradient probe on one window and seed: the nonzero input samples of frames n and n + 1."""
    inputs = probe_input(channels, window.length_samples, seed, device, dtype)
    gradient, frames, how = frame_gradients_and_how(
        module, inputs, [window.frame, window.frame + 1], projection_seed=seed + 1
    )
    depends = (gradient != 0).any(dim=1).cpu().numpy()
    supports = [ObservedSupport(*nonzero_runs(row)) for row in depends]
    return Observation(
        window=window,
        seed=seed,
        this_frame=supports[0],
        next_frame=supports[1],
        output_frames=frames,
        details={"backward": how},
    )
