"""Receptive field of any model from its recorded op graph: size the trace, read a frame.

The trace must be long enough that the probed frame is *interior*: its read meets no
axis end and no padding on any side that is not open. The first trace is short; a frame
cut off on one side is moved toward the other end, and when both sides are cut the
input doubles, up to `max_length_samples`, or until the next trace would hold a tensor
over the memory budget (eager attention's weights grow with the length squared). A side
that is still cut there is reported as "at least N samples (not proven unbounded)", never
as unbounded: only a recurrence or a global op on the path opens a side
(:class:`~rfprobe.core.readers.Reach`).

The steps, one place each: sizing (:mod:`~rfprobe.core.sizing`) within the memory budget
(:mod:`~rfprobe.core.budget`), the hop (:mod:`~rfprobe.core.hop`), the layer table
(:mod:`~rfprobe.core.layer_table`), module names (:mod:`~rfprobe.core.naming`); this module
reads the sized frame's left, right and holes.

    >>> import torch
    >>> conv = torch.nn.Conv1d(1, 1, kernel_size=5, stride=2, padding=2)
    >>> result = operator_receptive_field(conv, channels=1)
    >>> result.receptive_field.left, result.receptive_field.right, result.receptive_field.hop_samples
    (Side(samples=2, unbounded=False, at_least=False), Side(samples=2, unbounded=False, at_least=False), 2)
"""

from __future__ import annotations

import time
from typing import Optional

import torch
from torch import nn

from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField, Side
from rfprobe.arithmetic.lengths import round_up
from rfprobe.arithmetic.methods import MODULE_WALK
from rfprobe.core import budget
from rfprobe.core.hop import hop_of
from rfprobe.core.intervals import holes_between
from rfprobe.core.layer_table import layer_rows
from rfprobe.core.naming import ModuleNames
from rfprobe.core.readers import NotUnderstood
from rfprobe.core.sizing import MAX_LENGTH_SAMPLES, START_LENGTH_SAMPLES, Sizing, cut, open_at_two_lengths, size_trace
from rfprobe.core.trace import Trace, TraceError, trace_module

__all__ = ["MAX_LENGTH_SAMPLES", "METHOD", "operator_receptive_field"]

METHOD = MODULE_WALK


def _open_sides_reach(
    trace: Trace, frame: int, hop: int, open_start: bool, open_end: bool
) -> tuple[Optional[int], Optional[int]]:
    """(left, right) finite parts of the open sides (None for a side that is not open): the
    local ops' reach alone, as a table of convs would give it, taken at a frame where the local
    read meets no end of the input on that side (`frame` itself, else one nearer the other end).
    Also None when no frame of this trace has such a read: the input is shorter than the local
    ops' reach (a read that meets both ends there would give the input's length, not the reach)."""
    frames = trace.output_length
    left = _local_reach(trace, hop, [frame, *range(frames - 2, frame, -1)], start_side=True) if open_start else None
    right = _local_reach(trace, hop, [frame, *range(1, frame)], start_side=False) if open_end else None
    return left, right


def _local_reach(trace: Trace, hop: int, candidates: list[int], start_side: bool) -> Optional[int]:
    """The local ops' reach on one side, from the first candidate frame whose local read does
    not meet that side's end of the input, or reaches it through an op that reads the whole
    input (attention without a mask is not a recurrence: it stays in the local read)."""
    for candidate in candidates:
        local = trace.graph.reach(trace.output_node, ((candidate, candidate),), local_only=True)
        anchor = candidate * hop
        if start_side and (not local.edge_start or local.open_start):
            return anchor - local.intervals[0][0]
        if not start_side and (not local.edge_end or local.open_end):
            return local.intervals[-1][1] - anchor
    return None


def operator_receptive_field(
    module: nn.Module,
    channels: int,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    length_multiple: int = 1,
    start_length_samples: int = START_LENGTH_SAMPLES,
    max_length_samples: int = MAX_LENGTH_SAMPLES,
) -> MethodResult:
    """Left, right, hop and holes of `module`'s frames, read off the ops it runs; or why not."""
    started = time.perf_counter()
    try:
        with ModuleNames(module) as names:

            def size(start_length: int) -> Sizing:
                return size_trace(
                    module,
                    channels,
                    torch.device(device),
                    dtype,
                    length_multiple,
                    start_length,
                    max_length_samples,
                    names.current,
                )

            sizing = open_at_two_lengths(
                size(start_length_samples), size, length_multiple, max_length_samples, torch.device(device)
            )
        longer = round_up(2 * sizing.traces[-1][0], length_multiple)
        if (
            sizing.this.open_start
            and sizing.this.open_end
            and len(sizing.traces) < 2
            and not budget.over_budget(sizing.trace, longer, torch.device(device))
        ):
            sizing.traces.append((longer, trace_module(module, channels, longer, device, dtype).output_length))
        hop = hop_of(sizing)
    except (NotUnderstood, TraceError) as error:
        return MethodResult(method=METHOD, receptive_field=None, unavailable_reason=str(error))
    this = sizing.this
    anchor = sizing.frame * hop
    cut_start, cut_end = cut(this)
    # A side that is not open is the frame's own read (sizing made it interior on that side).
    finite_left, finite_right = _open_sides_reach(sizing.trace, sizing.frame, hop, this.open_start, this.open_end)
    if not this.open_start:
        finite_left = anchor - this.intervals[0][0]
    if not this.open_end:
        finite_right = this.intervals[-1][1] - anchor
    trace, local_reach_cut = sizing.trace, False
    # An open side's local reach wider than the sized input: read it on longer ones.
    while finite_left is None or finite_right is None:
        longer = round_up(2 * trace.input_length, length_multiple)
        if longer > max_length_samples or budget.over_budget(trace, longer, torch.device(device)):
            local_reach_cut = True
            break
        try:
            trace = trace_module(module, channels, longer, device, dtype)
        except (NotUnderstood, TraceError):
            local_reach_cut = True
            break
        sizing.traces.append((longer, trace.output_length))
        open_left, open_right = _open_sides_reach(
            trace, trace.output_length // 2 - 1, hop, finite_left is None, finite_right is None
        )
        finite_left = finite_left if open_left is None else open_left
        finite_right = finite_right if open_right is None else open_right
    if local_reach_cut:  # no input was long enough: the frame's own local read, cut by the input's ends
        local = sizing.trace.graph.reach(sizing.trace.output_node, ((sizing.frame, sizing.frame),), local_only=True)
        finite_left = anchor - local.intervals[0][0] if finite_left is None else finite_left
        finite_right = local.intervals[-1][1] - anchor if finite_right is None else finite_right
    assert finite_left is not None and finite_right is not None  # the local read gives both
    left = Side(finite_left, unbounded=this.open_start, at_least=cut_start)
    right = Side(finite_right, unbounded=this.open_end, at_least=cut_end)
    holes = tuple((low - anchor, high - anchor) for low, high in holes_between(this.intervals))
    field = ReceptiveField(
        left=left, right=right, hop_samples=hop, holes=holes, global_in_time=this.open_start and this.open_end
    )
    return MethodResult(
        method=METHOD,
        receptive_field=field,
        layers=layer_rows(sizing.trace, names.by_node(sizing.trace), sizing.frame),
        evidence={
            "trace_lengths_samples": [length for length, _ in sizing.traces],
            "frames_at_trace_length": sizing.trace.output_length,
            "frame": sizing.frame,
            "unbounded_because": list(this.via),
            "ops_recorded": len(sizing.trace.graph.nodes),
            **({"sizing_stopped": sizing.stopped} if sizing.stopped else {}),
            **({"open_side_local_reach_cut": True} if local_reach_cut else {}),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )
