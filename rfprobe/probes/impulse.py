"""Empirical receptive field by perturbing input samples (forward-mode AD).

A tangent (a perturbation direction) placed on a set of input samples is pushed forward
through the module with `torch.func.jvp`; an output frame whose tangent is nonzero
depends on at least one of those samples. Random tangents over a prefix (or suffix) of
the input make that a group test, and bisection finds the first (last) sample frame n
and frame n + 1 depend on, in about log2(length) batched passes. Then single-sample
impulses at both ends of the found support must move the frame, and a random
perturbation of every sample outside it (those just outside included) must not. This
never calls backward, so it is independent of the gradient probe.

Attention runs through torch's math SDPA backend, which has forward-mode derivatives.
An op with no forward-mode derivative at all (a fused kernel) switches the probe to its
documented fallback: exact differences, `module(x + tangent) != module(x)` compared
bit for bit, one perturbation per forward pass at batch 1 so every pass runs the very
same kernels and an output that does not read the perturbed samples is bitwise equal.
The report says which way ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn
from torch.func import jvp, vmap

from rfprobe.arithmetic.methods import IMPULSE
from rfprobe.probes.device import forward_mode
from rfprobe.errors import first_line, is_out_of_memory
from rfprobe.probes.empirical import ObservedSupport, Observation, ProbeError, ProbeWindow, WindowTooShort
from rfprobe.arithmetic.geometry import ReceptiveField
from rfprobe.probes.gradient import probe_input

METHOD = IMPULSE


def _is_single(ranges: tuple[tuple[int, int], ...]) -> bool:
    return len(ranges) == 1 and ranges[0][0] == ranges[0][1]


class _Perturber:
    """Pushes batches of tangents through the module around one fixed input.

    A single-sample range gets a unit impulse; a longer range gets a random tangent, so that the
    contributions of its samples cannot cancel exactly. With several input channels the
    unit impulse points in one fixed random direction across them, never along (1, ..., 1):
    a norm over channels (a LayerNorm on feature frames) is blind to a shift of all channels
    by the same amount, and would hide every sample from an all-ones impulse.
    """

    def __init__(self, module: nn.Module, inputs: torch.Tensor, seed: int, frames_needed: int) -> None:
        self.module = module
        self.inputs = inputs
        self.generator = torch.Generator().manual_seed(seed + 2)
        channels = inputs.shape[1]
        # Its own generator, so the random tangents are the same draws with one channel or many.
        direction = torch.randn(channels, 1, generator=torch.Generator().manual_seed(seed + 3), dtype=torch.float64)
        self.impulse = torch.ones(1, 1, dtype=torch.float64) if channels == 1 else direction / direction.norm()
        self.frames_needed = frames_needed
        self.passes = 0
        self.output_frames = 0
        self.outcomes: dict[tuple[tuple[int, int], ...], torch.Tensor] = {}  # perturbation -> moved frames
        self.fallback_reason = ""  # set when forward-mode AD is unavailable: exact differences instead
        self.baseline: Optional[torch.Tensor] = None

    def moved_frames(self, perturbations: list[tuple[tuple[int, int], ...]]) -> torch.Tensor:
        """(len(perturbations), frames) bool: which frames move under each perturbation.

        A perturbation is a tuple of inclusive sample ranges perturbed together; one already
        run is not run again (the final checks reuse the outcomes of the located pass).
        """
        for _ in range(2):  # a switch to exact differences drops the outcomes found by forward mode
            fresh = list(dict.fromkeys(p for p in perturbations if p not in self.outcomes))
            if fresh:
                for perturbation, moved in zip(fresh, self._push(fresh)):
                    self.outcomes[perturbation] = moved
        return torch.stack([self.outcomes[p] for p in perturbations])

    def _push(self, perturbations: list[tuple[tuple[int, int], ...]]) -> torch.Tensor:
        batch = len(perturbations)
        channels, length = self.inputs.shape[1], self.inputs.shape[2]
        tangents = torch.zeros(batch, channels, length, dtype=torch.float64)
        for row, ranges in enumerate(perturbations):
            for first, last in ranges:
                count = last - first + 1
                tangents[row, :, first : last + 1] = (
                    self.impulse
                    if _is_single(ranges)
                    else torch.randn(channels, count, generator=self.generator, dtype=torch.float64)
                )
        tangents = tangents.to(self.inputs.device, self.inputs.dtype)
        with forward_mode():
            moved = self._differences(tangents) if self.fallback_reason else self._forward_mode(tangents)
        self.output_frames = moved.shape[-1]
        if self.output_frames < self.frames_needed:
            raise WindowTooShort(
                f"probe window too short: {self.output_frames} output frames, {self.frames_needed} needed"
            )
        return moved.cpu()

    def _forward_mode(self, tangents: torch.Tensor) -> torch.Tensor:
        try:
            # vmap over the tangents only: the primal pass runs once, not once per tangent.
            output_tangents = vmap(lambda tangent: jvp(self.module, (self.inputs,), (tangent,))[1])(
                tangents.unsqueeze(1)
            )[:, 0]
        except (RuntimeError, NotImplementedError) as error:
            if is_out_of_memory(error):  # not a finding about the module: the CLI says so and exits 2
                raise
            diagnosis = self._diagnose(error)
            if isinstance(diagnosis, WindowTooShort):
                raise diagnosis from None
            self.fallback_reason = str(diagnosis)
            self.outcomes.clear()  # one run, one way of perturbing: the report names one
            return self._differences(tangents)
        self.passes += 1
        return (output_tangents != 0).any(dim=1)

    def _differences(self, tangents: torch.Tensor) -> torch.Tensor:
        if self.baseline is None:
            self.baseline = self.module(self.inputs)
            self.passes += 1
        rows = []
        for tangent in tangents:
            moved = self.module(self.inputs + tangent.unsqueeze(0)) != self.baseline
            rows.append(moved[0].any(dim=0))
            self.passes += 1
        return torch.stack(rows)

    def _diagnose(self, error: Exception) -> ProbeError:
        """A failure of the plain forward means the input is too short for the module (e.g. a
        kernel wider than it): grow it. Otherwise forward-mode AD itself failed: say so."""
        first = first_line(error, type(error).__name__)
        try:
            self.module(self.inputs)
        except RuntimeError:
            return WindowTooShort(f"the module failed on {self.inputs.shape[-1]} samples: {first}")
        return ProbeError(f"forward-mode AD (torch.func.jvp) failed on {self.inputs.device}: {first}")

    def unit_impulse(self, samples: list[int]) -> dict[int, list[int]]:
        """Frames moved by a unit impulse at each sample (reusing impulses already run)."""
        moved = self.moved_frames([((sample, sample),) for sample in samples])
        return {sample: row.nonzero().flatten().tolist() for sample, row in zip(samples, moved)}


@dataclass
class _Search:
    """The first (or last) input sample a frame depends on lies in [low, high]."""

    frame: int
    last: bool
    low: int
    high: int

    def test(self, length: int) -> tuple[int, int]:
        """The prefix (suffix) whose outcome halves [low, high]."""
        if self.last:
            middle = (self.low + self.high + 1) // 2
            return middle, length - 1
        return 0, (self.low + self.high) // 2

    def update(self, hit: bool, length: int) -> None:
        first, last = self.test(length)
        if self.last:
            self.low, self.high = (first, self.high) if hit else (self.low, first - 1)
        else:
            self.low, self.high = (self.low, last) if hit else (last + 1, self.high)


def _guessed_support(window: ProbeWindow, frame: int, guess: Optional[ReceptiveField]) -> tuple[int, int]:
    """Where the guess puts frame's first and last sample, clipped to the input."""
    length = window.length_samples
    if guess is None:
        return 0, length - 1
    anchor = frame * window.hop_samples
    first = 0 if guess.left.unbounded else min(max(anchor - guess.left.samples, 0), length - 1)
    last = length - 1 if guess.right.unbounded else min(max(anchor + guess.right.samples, 0), length - 1)
    return first, last


def _locate(perturber: _Perturber, window: ProbeWindow, guess: Optional[ReceptiveField]) -> list[_Search]:
    """Find the first and last sample of frames n and n + 1.

    One batched pass tests the guessed support [g, h] of each frame exactly: a unit
    impulse at g and at h must move the frame, and a random perturbation of everything
    outside [g, h] must not. A frame the guess got wrong is then found by bisection. The
    guess only saves passes: the answer is whatever the tests prove.
    """
    length = window.length_samples
    frames = (window.frame, window.frame + 1)
    guesses = [_guessed_support(window, frame, guess) for frame in frames]
    perturbations: list[tuple[tuple[int, int], ...]] = []
    for first, last in guesses:
        perturbations += [((first, first),), ((last, last),), _outside(first, last, length)]
    rows = {index: row for row, index in enumerate(i for i, p in enumerate(perturbations) if p)}
    moved = perturber.moved_frames([p for p in perturbations if p])

    def moves(index: int, frame: int) -> bool:
        return index in rows and bool(moved[rows[index], frame])  # an empty perturbation moves nothing

    searches: list[_Search] = []
    for index, (frame, (first, last)) in enumerate(zip(frames, guesses)):
        first_moves, last_moves = moves(3 * index, frame), moves(3 * index + 1, frame)
        if first_moves and last_moves and not moves(3 * index + 2, frame):
            searches += [_Search(frame, False, first, first), _Search(frame, True, last, last)]
        else:  # bisect, keeping only what the pass proved: a moving sample bounds the support
            searches += [
                _Search(frame, False, 0, first if first_moves else length - 1),
                _Search(frame, True, last if last_moves else 0, length - 1),
            ]
    while any(s.low < s.high for s in searches):
        open_searches = [s for s in searches if s.low < s.high]
        moved = perturber.moved_frames([(s.test(length),) for s in open_searches])
        for row, search in enumerate(open_searches):
            search.update(bool(moved[row, search.frame]), length)
    return searches


def _outside(first: int, last: int, length: int) -> tuple[tuple[int, int], ...]:
    """Every sample of the input outside [first, last], as ranges (empty when none is)."""
    return tuple(r for r in ((0, first - 1), (last + 1, length - 1)) if r[0] <= r[1])


def impulse_observation(
    module: nn.Module,
    window: ProbeWindow,
    seed: int,
    *,
    channels: int,
    device: torch.device,
    dtype: torch.dtype,
    guess: Optional[ReceptiveField] = None,
) -> Observation:
    """The impulse probe on one window and seed: forward-mode unit impulses locate the first and
    last sample that move frames n and n + 1, and a perturbation outside them must not."""
    inputs = probe_input(channels, window.length_samples, seed, device, dtype)
    perturber = _Perturber(module, inputs, seed, frames_needed=window.frame + 2)
    length = window.length_samples
    searches = _locate(perturber, window, guess)
    firsts = [s.low for s in searches if not s.last]
    lasts = [s.low for s in searches if s.last]
    # What shows it: single-sample unit impulses at both ends move frame n, and a random
    # perturbation of everything outside them does not. When the guess was right these are the
    # located pass's own outcomes (that one pass is the proof); after a bisection they run here.
    first, last = firsts[0], lasts[0]
    moved = perturber.unit_impulse([first, last])
    confirmations: dict[str, dict] = {
        name: {
            "sample": sample,
            "moves_frame": window.frame in moved[sample],
            "moved_frames": [moved[sample][0], moved[sample][-1]] if moved[sample] else [],
        }
        for name, sample in (("first", first), ("last", last))
    }
    outside = _outside(first, last, length)
    if outside:
        confirmations["outside"] = {
            "samples": [list(r) for r in outside],
            "moves_frame": bool(perturber.moved_frames([outside])[0, window.frame]),
        }
    consistent = all(confirmations[name]["moves_frame"] == (name != "outside") for name in confirmations)
    if not consistent:
        raise ProbeError(f"the impulse checks contradict the bisection: {confirmations}")
    return Observation(
        window=window,
        seed=seed,
        output_frames=perturber.output_frames,
        this_frame=ObservedSupport(firsts[0], lasts[0]),
        next_frame=ObservedSupport(firsts[1], lasts[1]),
        details={
            "impulse_confirmations": confirmations,
            "forward_passes": perturber.passes,
            "perturbation": (f"exact differences (forward-mode AD unavailable: {perturber.fallback_reason})")
            if perturber.fallback_reason
            else "forward-mode AD (torch.func.jvp)",
        },
    )
