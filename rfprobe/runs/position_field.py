"""A receptive field that depends on the frame's position: one period of it, per position,
from the analytic walk and from the gradient, agreeing exactly.

Attention within fixed windows of frames (SNAC's local attention, chunked attention) makes
which samples a frame reads depend on where the frame sits in its window: frames of one window
read the same samples, so no single (left, right) pair holds for every frame, and the walk
says so by name (rfprobe.core.hop). What does hold is a periodic table: frame k reads, for its
position p = k mod P, the samples from k x hop - left(p) to k x hop + right(p).

The period P is read off the walk itself, never assumed: the smallest P for which every interior
frame (one whose reads meet no end of the input) reads the same samples, relative to its anchor,
as the frame P later. One period of interior frames is then read two ways on the same input
length, the analytic core's intervals and the nonzero runs of the gradient of each frame, and
the two must be equal, interval for interval (holes included). The row's receptive field is the
largest left and right over the period (what a chunk must carry for every frame), beside the
smallest.

    >>> from torch import nn
    >>> class WindowMean(nn.Module):  # each frame: the mean of its window of 4 frames
    ...     def forward(self, x):
    ...         frames = x.view(1, 1, -1, 4).mean(dim=-1, keepdim=True)
    ...         return frames.expand(1, 1, x.shape[-1] // 4, 4).reshape(1, 1, -1)
    >>> field = position_dependent_field(WindowMean(), channels=1, length_samples=64)
    >>> field.period_frames, field.agrees, field.left_range_samples, field.right_range_samples
    (4, True, (0, 3), (0, 3))
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from rfprobe.arithmetic.methods import GRADIENT, MODULE_WALK
from rfprobe.arithmetic.verdict import Disagreement, Verdict
from rfprobe.core.intervals import Intervals, mask_intervals  # inclusive (first, last) intervals
from rfprobe.probes.threads import one_thread
from rfprobe.runs.cost import CostEstimate


# The module walk's words when a frame's reads depend on its position (rfprobe.core.hop).
POSITION_DEPENDENT = "depends on its position"
POSITION_PERIODS = (8, 16)  # zoo rows: input lengths tried, in multiples of the model's length multiple
POSITION_PERIOD_FRAMES = (64, 128)  # any module: input lengths tried, in frames of its hop


@dataclass(frozen=True)
class PositionReads:
    """What a frame at `position` within the period reads, relative to its anchor k x hop."""

    position: int
    intervals: Intervals

    @property
    def left_samples(self) -> int:
        """Samples before the anchor the frame reads (its first read, negated)."""
        return -self.intervals[0][0]

    @property
    def right_samples(self) -> int:
        """Samples after the anchor the frame reads (its last read)."""
        return self.intervals[-1][1]


@dataclass(frozen=True)
class PositionField:
    """One period of a position-dependent receptive field, by the walk and by the gradient."""

    hop_samples: int
    period_frames: Optional[int]  # None: no period found (`reason` says why)
    first_frame: int  # the frame whose position is 0 in the compared period
    analytic: tuple[PositionReads, ...] = ()
    gradient: tuple[PositionReads, ...] = ()
    reason: str = ""

    @property
    def agrees(self) -> bool:
        """Walk and gradient read the same at every position of the period (and the walk found some)."""
        return bool(self.analytic) and self.analytic == self.gradient

    @property
    def left_range_samples(self) -> tuple[int, int]:
        """The smallest and largest left extent over the period (by the walk), in samples."""
        lefts = [reads.left_samples for reads in self.analytic]
        return min(lefts), max(lefts)

    @property
    def right_range_samples(self) -> tuple[int, int]:
        """The smallest and largest right extent over the period (by the walk), in samples."""
        rights = [reads.right_samples for reads in self.analytic]
        return min(rights), max(rights)

    @property
    def differing_positions(self) -> tuple[int, ...]:
        """The positions where the walk's reads and the gradient's differ."""
        return tuple(a.position for a, g in zip(self.analytic, self.gradient) if a != g)

    def describe(self) -> str:
        """One line: the period, both extents' ranges, whether walk and gradient agree (or why no field)."""
        if self.period_frames is None:
            return f"no position-dependent field: {self.reason}"
        left, right = self.left_range_samples, self.right_range_samples
        text = (
            f"position-dependent with a period of {self.period_frames} frames: left {left[0]}..{left[1]}, "
            f"right {right[0]}..{right[1]} samples over the period"
        )
        if self.agrees:
            return text + "; walk and gradient agree at every position"
        return text + f"; walk and gradient DIFFER at positions {list(self.differing_positions)}"


def _relative(intervals: Intervals, anchor: int) -> Intervals:
    return tuple((start - anchor, end - anchor) for start, end in intervals)


def find_period(reads: dict[int, Intervals], largest_frames: int) -> Optional[int]:
    """The smallest P <= largest_frames with reads[k] == reads[k + P] wherever both are known,
    seen over at least two whole periods (None: none is)."""
    frames = sorted(reads)
    for period in range(1, largest_frames + 1):
        pairs = [(k, k + period) for k in frames if k + period in reads]
        if len(pairs) < 2 * period:
            return None
        if all(reads[k] == reads[later] for k, later in pairs):
            return period
    return None


def position_dependent_field(
    module: nn.Module,
    channels: int,
    length_samples: int,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    check_cost: Optional[Callable[[CostEstimate], None]] = None,
) -> PositionField:
    """One period of `module`'s per-position reads on an input of `length_samples` (it must
    hold at least three periods of interior frames). `check_cost`, given, gets the gradient's
    estimated time before the period's gradients run (it raises to refuse them): the gradient of
    the period's first frame is timed and counted once per position, a batched backward of P
    frames costing about P backward passes."""
    from rfprobe.core.sizing import frame_reach
    from rfprobe.core.trace import trace_module
    from rfprobe.probes.gradient import frame_gradients_and_how, probe_input

    module = module.to(dtype)
    with one_thread():
        trace = trace_module(module, channels, length_samples, dtype=dtype)
    hop = length_samples // trace.output_length
    if hop * trace.output_length != length_samples:
        return PositionField(hop, None, 0, reason=f"{length_samples} samples give {trace.output_length} frames")
    reads: dict[int, Intervals] = {}
    for frame in range(trace.output_length):
        reach = frame_reach(trace, frame)
        if reach.intervals and not (reach.edge_start or reach.edge_end):
            reads[frame] = _relative(tuple(reach.intervals), frame * hop)
    period = find_period(reads, trace.output_length // 3)
    if period is None:
        return PositionField(
            hop, None, 0, reason=f"no period repeats over the {len(reads)} interior frames of {trace.output_length}"
        )
    first = next((frame for frame in sorted(reads) if frame % period == 0 and frame + period - 1 in reads), None)
    if first is None:
        return PositionField(hop, None, 0, reason="no whole period of interior frames")
    frames = list(range(first, first + period))
    inputs = probe_input(channels, length_samples, seed, torch.device("cpu"), dtype)
    if check_cost is not None:
        started = time.perf_counter()
        frame_gradients_and_how(module, inputs, frames[:1], projection_seed=seed + 1)
        check_cost(
            CostEstimate(
                parameter_bytes=0,
                activation_bytes=0,
                largest_step=f"the gradients of {period} frames on {length_samples} samples",
                seconds=period * (time.perf_counter() - started),
                seconds_basis=f"the gradient of one frame on {length_samples} samples, timed, once per position",
            )
        )
    # Many threads: a support (which samples have a nonzero gradient) does not depend on rounding.
    gradient, _, _ = frame_gradients_and_how(module, inputs, frames, projection_seed=seed + 1)
    depends = (gradient != 0).any(dim=1)
    return PositionField(
        hop,
        period,
        first,
        analytic=tuple(PositionReads(frame % period, reads[frame]) for frame in frames),
        gradient=tuple(
            PositionReads(frame % period, _relative(mask_intervals(depends[index].cpu().numpy()), frame * hop))
            for index, frame in enumerate(frames)
        ),
    )


def read_one_period(
    module: nn.Module,
    channels: int,
    lengths_samples: Sequence[int],
    check_cost: Optional[Callable[[CostEstimate], None]] = None,
) -> PositionField:
    """:func:`position_dependent_field` on the first of `lengths_samples` on which a period
    repeats; the last try's field (with its reason) if none does."""
    field = None
    for length in lengths_samples:
        field = position_dependent_field(module, channels, length, check_cost=check_cost)
        if field.period_frames is not None:
            break
    assert field is not None
    return field


def period_lengths(hop_samples: int, length_multiple: int = 1) -> list[int]:
    """The inputs a module's period is looked for on: POSITION_PERIOD_FRAMES frames of its hop,
    each rounded up to a length the module accepts.

    >>> period_lengths(32), period_lengths(32, length_multiple=100)
    ([2048, 4096], [2100, 4100])
    """
    multiple = max(length_multiple, 1)
    return [-(-frames * hop_samples // multiple) * multiple for frames in POSITION_PERIOD_FRAMES]


def position_verdict(field: PositionField) -> Verdict:
    """PASS when the walk and the gradient read the same at every position of the period; else
    the first position where they differ, each method's reads, or why no period was found."""
    if field.period_frames is None:
        return Verdict(passed=False, not_run=((MODULE_WALK, f"its reads depend on the position, and {field.reason}"),))
    if field.agrees:
        return Verdict(passed=True)
    position = field.differing_positions[0]
    walked, measured = field.analytic[position], field.gradient[position]
    return Verdict(
        passed=False,
        disagreements=(
            Disagreement(
                f"reads at position {position} of {field.period_frames}",
                ((MODULE_WALK, str(list(walked.intervals))), (GRADIENT, str(list(measured.intervals)))),
            ),
        ),
    )
