"""Sizing a trace until its probed frame is interior.

The trace must be long enough that the probed frame is *interior*: its read meets no
axis end and no padding on any side that is not open. The first trace is short; a frame
cut off on one side is moved toward the other end, and when both sides are cut the
input doubles, up to `max_length`, or until the next trace would hold a tensor over the
memory budget (:mod:`rfprobe.core.budget`). A side is open only if it is open at two
trace lengths (:func:`open_at_two_lengths`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from rfprobe.arithmetic.lengths import round_up
from rfprobe.core import budget
from rfprobe.core.readers import NotUnderstood, Reach
from rfprobe.core.trace import Trace, TraceError, trace_module

START_LENGTH_SAMPLES = 1 << 12
MAX_LENGTH_SAMPLES = 1 << 23
# A side opened by attention alone is traced until the output has this many frames (see
# open_at_two_lengths): wider than the sliding windows of the zoo's models (Mimi: 250).
ATTENTION_HORIZON_FRAMES = 1 << 10


def frame_reach(trace: Trace, frame: int) -> Reach:
    """Exactly which input samples output `frame` reads, with how the read met the edges."""
    return trace.graph.reach(trace.output_node, ((frame, frame),))


def cut(reach: Reach) -> tuple[bool, bool]:
    """(start, end): the read met that end of some axis on a side that is not open."""
    return reach.edge_start and not reach.open_start, reach.edge_end and not reach.open_end


@dataclass
class Sizing:
    """The traces a sizing ran, the last one, and the frame whose reads the walk reports."""

    traces: list[tuple[int, int]]  # (input samples, output frames)
    trace: Trace
    frame: int
    this: Reach
    following: Reach
    interior: bool
    stopped: str = ""  # why the input stopped growing before the frame was interior


def frames_cut(trace: Trace, frame: int, this: Reach, following: Reach) -> tuple[bool, bool]:
    """(start, end): frame `frame` or the next one is too near that end of the input to be read.

    A side that is not open must not meet the end. An open side reaches it anyway, but its
    local ops (the read without the recurrences) must not: the frames an open side carries in
    are read with their padding, and a local op near the start can read that padding's
    samples *after* the anchor (a causal encoder with reflect padding and an LSTM: the last
    conv's reflected window makes frame 0 read 6 frames ahead), which would spoil the other side.
    """
    cut_start = cut(this)[0] or cut(following)[0]
    cut_end = cut(this)[1] or cut(following)[1]
    # Opened by attention alone, the local read is the read itself (attention stays in it), and
    # over long attention traces each read costs frames squared: skip it.
    if (this.open_start or this.open_end) and not opened_by_attention_only(this):
        for index in (frame, frame + 1):
            local = trace.graph.reach(trace.output_node, ((index, index),), local_only=True)
            cut_start = cut_start or (this.open_start and local.edge_start and not local.open_start)
            cut_end = cut_end or (this.open_end and local.edge_end and not local.open_end)
    return cut_start, cut_end


def choose_frame(trace: Trace) -> Optional[tuple[int, Reach, Reach, bool]]:
    """An interior frame of this trace, if there is one; else the best candidate, not interior."""
    frames = trace.output_length
    if frames < 3:
        return None
    hop_estimate = trace.input_length / frames
    candidates = [frames // 2 - 1]
    tried: dict[int, tuple[Reach, Reach]] = {}
    while candidates:
        frame = min(max(candidates.pop(0), 0), frames - 2)
        if frame in tried:
            continue
        this, following = frame_reach(trace, frame), frame_reach(trace, frame + 1)
        if not (this.intervals and following.intervals):
            raise NotUnderstood(f"output frame {frame} reads no input sample at {trace.input_length} samples")
        tried[frame] = (this, following)
        cut_start, cut_end = frames_cut(trace, frame, this, following)
        if not (cut_start or cut_end):
            return frame, this, following, True
        if cut_start and not cut_end and this.intervals:
            # The latest frame whose neighbour's read still ends inside, then two frames of margin.
            needed = max(math.ceil((this.intervals[-1][1] - frame * hop_estimate) / hop_estimate), 0)
            candidates += [frames - 2 - needed, frames - 4 - needed]
        elif cut_end and not cut_start and this.intervals:
            needed = max(math.ceil((frame * hop_estimate - this.intervals[0][0]) / hop_estimate), 0)
            candidates += [needed, needed + 2]
    frame, (this, following) = next(iter(tried.items()))
    return frame, this, following, False


def size_trace(
    module: nn.Module,
    channels: int,
    device: torch.device,
    dtype: torch.dtype,
    length_multiple: int,
    start_length: int,
    max_length: int,
    label: Optional[Callable[[], str]] = None,
) -> Sizing:
    """Trace the module at growing lengths (from `start_length`, up to `max_length`, multiples of
    `length_multiple`) until an interior frame's reads are cut by no end of the input; past
    `max_length` or the memory budget, the best trace so far (`stopped` says the budget ended it)."""
    length = round_up(start_length, length_multiple)
    traces: list[tuple[int, int]] = []
    best: Optional[Sizing] = None
    failures = 0
    while True:
        try:
            trace = trace_module(module, channels, length, device, dtype, label)
        except TraceError:
            failures += 1  # perhaps too short for the model: a few doublings, not up to the maximum
            if 2 * length > max_length or failures > 3:
                raise
            length = round_up(2 * length, length_multiple)
            continue
        traces.append((length, trace.output_length))
        chosen = choose_frame(trace)
        if chosen is not None:
            frame, this, following, interior = chosen
            best = Sizing(traces, trace, frame, this, following, interior)
            if interior:
                return best
        longer = round_up(2 * length, length_multiple)
        too_big = budget.over_budget(trace, longer, device)
        if longer > max_length or too_big:
            if best is None:
                raise TraceError(f"fewer than 3 output frames even for {length} input samples")
            best.stopped = too_big
            return best
        length = longer


def opened_by_attention_only(reach: Reach) -> bool:
    """Every op that opened a side is attention (is_causal, no mask, a bias from the input)."""
    return bool(reach.via) and all("attention" in op for op in reach.via)


def open_at_two_lengths(
    sizing: Sizing, size: Callable[[int], Sizing], length_multiple: int, max_length: int, device: torch.device
) -> Sizing:
    """A side is open only if it is open at two trace lengths, as the probes call a side
    unbounded only when it grows at two lengths. One trace can be fooled by a layout: a
    reshape of time into (windows, frames) with a single window reads as a time axis kept
    whole, and the attention within that window as global. A side open at one length but
    not at twice that length is sized again from there.

    A side opened by attention alone must also be open with at least
    :data:`ATTENTION_HORIZON_FRAMES` output frames: a model may build no sliding-window mask
    while its input is shorter than the window (transformers' SDPA path passes `is_causal=True`
    or no mask then), so two short traces would read a windowed attention as open.
    """
    while sizing.this.open_start or sizing.this.open_end:
        length = round_up(2 * sizing.traces[-1][0], length_multiple)
        if budget.over_budget(sizing.trace, length, device):
            break  # no second trace fits the memory budget: the side stays as one trace read it
        longer = size(length)
        same = (longer.this.open_start, longer.this.open_end) == (sizing.this.open_start, sizing.this.open_end)
        if same and (
            longer.trace.output_length >= ATTENTION_HORIZON_FRAMES or not opened_by_attention_only(longer.this)
        ):
            sizing.traces.extend(longer.traces)
            return sizing
        longer.traces[:0] = sizing.traces  # open no more (size again from there), or open by attention: look longer
        sizing = longer
        if length > max_length:
            break
    return sizing
