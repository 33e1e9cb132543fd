"""Receptive field of any model from its recorded op graph: size the trace, read a frame.

The trace must be long enough that the probed frame is *interior*: its read meets no
axis end and no padding on any side that is not open. The first trace is short; a frame
cut off on one side is moved toward the other end, and when both sides are cut the
input doubles, up to `max_length_samples`, or until the next trace would hold a tensor
over the memory budget (eager attention's weights grow with the length squared). A side
that is still cut there is reported as "at least N samples (not proven unbounded)", never
as unbounded: only a recurrence or a global op on the path opens a side
(:class:`~rfprobe.core.readers.Reach`).

    >>> import torch
    >>> conv = torch.nn.Conv1d(1, 1, kernel_size=5, stride=2, padding=2)
    >>> result = operator_receptive_field(conv, channels=1)
    >>> result.receptive_field.left, result.receptive_field.right, result.receptive_field.hop_samples
    (Side(samples=2, unbounded=False, at_least=False), Side(samples=2, unbounded=False, at_least=False), 2)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn

from rfprobe.arithmetic.geometry import LayerRow, MethodResult, ReceptiveField, Side
from rfprobe.arithmetic.methods import MODULE_WALK
from rfprobe.core.intervals import holes_between
from rfprobe.core.readers import (
    Everything,
    Merge,
    NotUnderstood,
    Pad,
    PairSoftmax,
    Reach,
    Recurrence,
    Same,
    Shift,
    TransposedWindow,
    Window,
)
from rfprobe.core.trace import Trace, TraceError, trace_module

METHOD = MODULE_WALK
START_LENGTH_SAMPLES = 1 << 12
MAX_LENGTH_SAMPLES = 1 << 23
# A side opened by attention alone is traced until the output has this many frames (see
# _open_at_two_lengths): wider than the sliding windows of the zoo's models (Mimi: 250).
ATTENTION_HORIZON_FRAMES = 1 << 10


def _round_up(length: int, multiple: int) -> int:
    return -(-length // multiple) * multiple


def frame_reach(trace: Trace, frame: int) -> Reach:
    """Exactly which input samples output `frame` reads, with how the read met the edges."""
    return trace.graph.reach(trace.output_node, ((frame, frame),))


def _cut(reach: Reach) -> tuple[bool, bool]:
    """(start, end): the read met that end of some axis on a side that is not open."""
    return reach.edge_start and not reach.open_start, reach.edge_end and not reach.open_end


@dataclass
class _Sizing:
    traces: list[tuple[int, int]]  # (input samples, output frames)
    trace: Trace
    frame: int
    this: Reach
    following: Reach
    interior: bool
    stopped: str = ""  # why the input stopped growing before the frame was interior


def _frames_cut(trace: Trace, frame: int, this: Reach, following: Reach) -> tuple[bool, bool]:
    """(start, end): frame `frame` or the next one is too near that end of the input to be read.

    A side that is not open must not meet the end. An open side reaches it anyway, but its
    local ops (the read without the recurrences) must not: the frames an open side carries in
    are read with their padding, and a local op near the start can read that padding's
    samples *after* the anchor (a causal encoder with reflect padding and an LSTM: the last
    conv's reflected window makes frame 0 read 6 frames ahead), which would spoil the other side.
    """
    cut_start = _cut(this)[0] or _cut(following)[0]
    cut_end = _cut(this)[1] or _cut(following)[1]
    # Opened by attention alone, the local read is the read itself (attention stays in it), and
    # over long attention traces each read costs frames squared: skip it.
    if (this.open_start or this.open_end) and not _opened_by_attention_only(this):
        for index in (frame, frame + 1):
            local = trace.graph.reach(trace.output_node, ((index, index),), local_only=True)
            cut_start = cut_start or (this.open_start and local.edge_start and not local.open_start)
            cut_end = cut_end or (this.open_end and local.edge_end and not local.open_end)
    return cut_start, cut_end


def _choose_frame(trace: Trace) -> Optional[tuple[int, Reach, Reach, bool]]:
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
        cut_start, cut_end = _frames_cut(trace, frame, this, following)
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


def _size(module: nn.Module, channels: int, device: torch.device, dtype: torch.dtype, length_multiple: int,
          start_length: int, max_length: int, label: Optional[Callable[[], str]] = None) -> _Sizing:
    length = _round_up(start_length, length_multiple)
    traces: list[tuple[int, int]] = []
    best: Optional[_Sizing] = None
    failures = 0
    while True:
        try:
            trace = trace_module(module, channels, length, device, dtype, label)
        except TraceError:
            failures += 1  # perhaps too short for the model: a few doublings, not up to the maximum
            if 2 * length > max_length or failures > 3:
                raise
            length = _round_up(2 * length, length_multiple)
            continue
        traces.append((length, trace.output_length))
        chosen = _choose_frame(trace)
        if chosen is not None:
            frame, this, following, interior = chosen
            best = _Sizing(traces, trace, frame, this, following, interior)
            if interior:
                return best
        longer = _round_up(2 * length, length_multiple)
        too_big = _over_budget(trace, longer, device)
        if longer > max_length or too_big:
            if best is None:
                raise TraceError(f"fewer than 3 output frames even for {length} input samples")
            best.stopped = too_big
            return best
        length = longer


def memory_budget_bytes(device: torch.device) -> int:
    """The largest single tensor a sizing trace may make: 1/32 of the free memory (a run
    holds several tensors that size at once, eager attention a few per layer)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] // 32
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 32
    except OSError:
        pass
    return 1 << 29


def _over_budget(trace: Trace, longer: int, device: torch.device) -> str:
    """Why a trace `longer` samples long is not run (its predicted largest tensor is over
    the budget), or "" when it may run."""
    growth = longer / trace.input_length
    predicted = trace.largest_tensor_bytes * (growth ** 2 if trace.quadratic else growth)
    budget = memory_budget_bytes(device)
    if predicted <= budget:
        return ""
    why = "it has a tensor with two time axes (eager attention), growing with the length squared; " \
        if trace.quadratic else ""
    return (f"a trace of {longer} samples would make a tensor of about {predicted / 2**30:.1f} GiB "
            f"({why}the budget is {budget / 2**30:.2f} GiB, 1/32 of the free memory)")


def _opened_by_attention_only(reach: Reach) -> bool:
    """Every op that opened a side is attention (is_causal, no mask, a bias from the input)."""
    return bool(reach.via) and all("attention" in op for op in reach.via)


def _open_at_two_lengths(sizing: _Sizing, size: Callable[[int], _Sizing], length_multiple: int,
                         max_length: int, device: torch.device) -> _Sizing:
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
        length = _round_up(2 * sizing.traces[-1][0], length_multiple)
        if _over_budget(sizing.trace, length, device):
            break  # no second trace fits the memory budget: the side stays as one trace read it
        longer = size(length)
        same = (longer.this.open_start, longer.this.open_end) == (sizing.this.open_start, sizing.this.open_end)
        if same and (longer.trace.output_length >= ATTENTION_HORIZON_FRAMES
                     or not _opened_by_attention_only(longer.this)):
            sizing.traces.extend(longer.traces)
            return sizing
        longer.traces[:0] = sizing.traces  # open no more (size again from there), or open by attention: look longer
        sizing = longer
        if length > max_length:
            break
    return sizing


def _hop(sizing: _Sizing) -> int:
    this, following = sizing.this, sizing.following
    # A side that is open (reaches the axis end at any length) or cut (met it at this length)
    # does not move with the frame: the hop is read off the other side.
    start_moves = not (this.open_start or _cut(this)[0] or _cut(following)[0])
    end_moves = not (this.open_end or _cut(this)[1] or _cut(following)[1])
    if start_moves or end_moves:
        after = frame_reach(sizing.trace, sizing.frame + 2) if sizing.frame + 2 < sizing.trace.output_length else None
        if after is not None and any(_cut(after)):
            after = None  # cut off by an end of the input: its read says nothing about the hop
        end = (lambda reach: reach.intervals[0][0]) if start_moves else (lambda reach: reach.intervals[-1][1])
        hop = end(following) - end(this)
        uneven = after is not None and after.intervals and end(after) - end(following) != hop
        if uneven or hop < 1:
            frames = f"{sizing.frame}, {sizing.frame + 1}" + (f", {sizing.frame + 2}" if after is not None else "")
            ends = ", ".join(str(end(reach)) for reach in (this, following, after) if reach is not None and reach.intervals)
            jump = strides_so_far(sizing.trace)[sizing.trace.output_node]
            frames_fit = sizing.trace.output_length * jump <= sizing.trace.input_length + jump
            if jump >= 1 and jump == int(jump) and frames_fit:
                raise NotUnderstood(f"frames {frames} {'start' if not this.open_start else 'end'} at samples {ends}, "
                                    f"not {int(jump)} samples apart as the strides say: which samples a frame reads "
                                    "depends on its position (attention within fixed windows of frames?), so no one "
                                    "receptive field holds for every frame")
            if uneven:
                raise NotUnderstood(f"frames {frames} do not advance by a whole number of samples "
                                    "(more frames than samples?)")
            raise NotUnderstood(f"frames {sizing.frame} and {sizing.frame + 1} start at the same sample "
                                "(more frames than samples?)")
        return hop
    # Global (or cut) both ways: every frame reads everything; the hop is the product of the strides.
    jump = strides_so_far(sizing.trace)[sizing.trace.output_node]
    if jump < 1 or jump != int(jump):
        raise NotUnderstood(f"every frame reads the whole input and the strides multiply to {jump:g} samples a frame")
    return int(jump)


def strides_so_far(trace: Trace) -> dict[int, float]:
    """Input samples per position of every node: the product of the strides before it."""
    jumps: dict[int, float] = {0: 1.0}
    for index, node in enumerate(trace.graph.nodes[1:], start=1):
        jump = max((jumps.get(source, 1.0) for source, _ in node.reads), default=1.0)
        for _, reader in node.reads:
            if isinstance(reader, Window):
                jump *= reader.stride
            elif isinstance(reader, TransposedWindow):
                jump /= reader.stride
            elif isinstance(reader, Merge):
                jump /= reader.factor
        jumps[index] = jump
    return jumps


def layer_rows(trace: Trace, names: dict[int, str], frame: Optional[int] = None) -> list[LayerRow]:
    """The convolutions, recurrences and global ops the trace ran, in order, with the
    stride product before each and the receptive field of its output so far, read at the
    position matching output `frame` (the sizing's interior frame; default the middle)."""
    where = 0.5 if frame is None else (frame + 0.5) / trace.output_length
    jumps = strides_so_far(trace)
    used = trace.graph.ancestors(trace.output_node)
    rows: list[LayerRow] = []
    after_open = False  # past a recurrence or global op the read spans the input: count the convs alone
    for index, node in enumerate(trace.graph.nodes[1:], start=1):
        if index not in used:
            continue
        jump_in = max((jumps[source] for source, _ in node.reads), default=1.0)
        for source, reader in node.reads:
            if isinstance(reader, Window) and "convolution" in node.op:
                pad_start, pad_end = _pad_before(trace, source)
                increment = int((reader.kernel - 1) * reader.dilation * jump_in)
                so_far = (rows[-1].cumulative_rf + increment if after_open and rows
                          else _span_so_far(trace, index, min(int(where * node.length), node.length - 1)))
                rows.append(LayerRow(
                    name=names.get(index, node.op), kind="conv", kernel=reader.kernel, stride=reader.stride,
                    dilation=reader.dilation, pad_left=reader.pad_start + pad_start,
                    pad_right=reader.pad_start + pad_end,
                    jump_in=int(jump_in), rf_increment=increment, cumulative_rf=so_far, jump_out=int(jumps[index])))
            elif isinstance(reader, Recurrence) or (isinstance(reader, Everything) and source != 0):
                if not rows or rows[-1].note != reader.op:
                    rows.append(LayerRow(name=names.get(index, node.op), kind="lstm" if isinstance(reader, Recurrence)
                                         else "global", jump_in=int(jump_in), jump_out=int(jump_in), note=reader.op,
                                         cumulative_rf=rows[-1].cumulative_rf if rows else 1))
                after_open = True
            elif isinstance(reader, PairSoftmax) and reader.unmasked:
                rows.append(LayerRow(name=names.get(index, node.op), kind="global", jump_in=int(jump_in),
                                     jump_out=int(jump_in), note=reader.op))
    return rows


def _pad_before(trace: Trace, index: int) -> tuple[int, int]:
    """Padding a pad op applied just before a convolution (as SEANet's convs pad in their
    forward, then crop the extra right padding with a slice)."""
    for _ in range(3):
        node = trace.graph.nodes[index]
        if len(node.reads) != 1:
            return 0, 0
        source, reader = node.reads[0]
        if isinstance(reader, Pad):
            return reader.pad_start, reader.pad_end
        if not (isinstance(reader, Same) or (isinstance(reader, Shift) and reader.start == 0 and reader.step == 1)):
            return 0, 0
        index = source
    return 0, 0


def _span_so_far(trace: Trace, index: int, position: int) -> int:
    reach = trace.graph.reach(index, ((position, position),))
    return reach.intervals[-1][1] - reach.intervals[0][0] + 1 if reach.intervals else 0


def _open_sides_reach(trace: Trace, frame: int, hop: int, open_start: bool,
                      open_end: bool) -> tuple[Optional[int], Optional[int]]:
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


def operator_receptive_field(module: nn.Module, channels: int, *, device: torch.device | str = "cpu",
                             dtype: torch.dtype = torch.float32, length_multiple: int = 1,
                             start_length_samples: int = START_LENGTH_SAMPLES,
                             max_length_samples: int = MAX_LENGTH_SAMPLES) -> MethodResult:
    """Left, right, hop and holes of `module`'s frames, read off the ops it runs; or why not."""
    started = time.perf_counter()
    try:
        with _ModuleNames(module) as names:
            def size(start_length: int) -> _Sizing:
                return _size(module, channels, torch.device(device), dtype, length_multiple, start_length,
                             max_length_samples, names.current)
            sizing = _open_at_two_lengths(size(start_length_samples), size, length_multiple, max_length_samples,
                                          torch.device(device))
        longer = _round_up(2 * sizing.traces[-1][0], length_multiple)
        if sizing.this.open_start and sizing.this.open_end and len(sizing.traces) < 2 \
                and not _over_budget(sizing.trace, longer, torch.device(device)):
            sizing.traces.append((longer, trace_module(module, channels, longer, device, dtype).output_length))
        hop = _hop(sizing)
    except (NotUnderstood, TraceError) as error:
        return MethodResult(method=METHOD, receptive_field=None, unavailable_reason=str(error))
    this = sizing.this
    anchor = sizing.frame * hop
    cut_start, cut_end = _cut(this)
    # A side that is not open is the frame's own read (sizing made it interior on that side).
    finite_left, finite_right = _open_sides_reach(sizing.trace, sizing.frame, hop, this.open_start, this.open_end)
    if not this.open_start:
        finite_left = anchor - this.intervals[0][0]
    if not this.open_end:
        finite_right = this.intervals[-1][1] - anchor
    trace, local_reach_cut = sizing.trace, False
    # An open side's local reach wider than the sized input: read it on longer ones.
    while finite_left is None or finite_right is None:
        longer = _round_up(2 * trace.input_length, length_multiple)
        if longer > max_length_samples or _over_budget(trace, longer, torch.device(device)):
            local_reach_cut = True
            break
        try:
            trace = trace_module(module, channels, longer, device, dtype)
        except (NotUnderstood, TraceError):
            local_reach_cut = True
            break
        sizing.traces.append((longer, trace.output_length))
        open_left, open_right = _open_sides_reach(trace, trace.output_length // 2 - 1, hop,
                                                  finite_left is None, finite_right is None)
        finite_left = finite_left if open_left is None else open_left
        finite_right = finite_right if open_right is None else open_right
    if local_reach_cut:  # no input was long enough: the frame's own local read, cut by the input's ends
        local = sizing.trace.graph.reach(sizing.trace.output_node, ((sizing.frame, sizing.frame),), local_only=True)
        finite_left = anchor - local.intervals[0][0] if finite_left is None else finite_left
        finite_right = local.intervals[-1][1] - anchor if finite_right is None else finite_right
    left = Side(finite_left, unbounded=this.open_start, at_least=cut_start)
    right = Side(finite_right, unbounded=this.open_end, at_least=cut_end)
    holes = tuple((low - anchor, high - anchor) for low, high in holes_between(this.intervals))
    field = ReceptiveField(left=left, right=right, hop_samples=hop, holes=holes,
                           global_in_time=this.open_start and this.open_end)
    return MethodResult(
        method=METHOD, receptive_field=field, layers=layer_rows(sizing.trace, names.by_node(sizing.trace), sizing.frame),
        evidence={"trace_lengths_samples": [length for length, _ in sizing.traces],
                  "frames_at_trace_length": sizing.trace.output_length, "frame": sizing.frame,
                  "unbounded_because": list(this.via), "ops_recorded": len(sizing.trace.graph.nodes),
                  **({"sizing_stopped": sizing.stopped} if sizing.stopped else {}),
                  **({"open_side_local_reach_cut": True} if local_reach_cut else {}),
                  "seconds": round(time.perf_counter() - started, 3)})


class _ModuleNames:
    """Which module was running when each node was recorded (for the layer table)."""

    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.stack: list[str] = []
        self.at_node: dict[int, str] = {}
        self.handles: list = []

    def __enter__(self) -> "_ModuleNames":
        names = {id(m): n for n, m in self.root.named_modules()}

        def enter(module: nn.Module, _: object) -> None:
            self.stack.append(names.get(id(module), type(module).__name__))

        def leave(module: nn.Module, _: object, __: object) -> None:
            if self.stack:
                self.stack.pop()

        self.handles = [torch.nn.modules.module.register_module_forward_pre_hook(enter),
                        torch.nn.modules.module.register_module_forward_hook(leave)]
        return self

    def current(self) -> str:
        return self.stack[-1] if self.stack else ""

    def __exit__(self, *_: object) -> None:
        for handle in self.handles:
            handle.remove()

    def by_node(self, trace: Trace) -> dict[int, str]:
        modules = dict(self.root.named_modules())  # once per table: a model has hundreds of nodes
        temporal = (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d, nn.RNNBase)
        counts = {path: sum(isinstance(m, temporal) for m in module.modules()) for path, module in modules.items()}
        owners: dict[str, str] = {}
        for node in trace.graph.nodes:
            if node.module and node.module not in owners:
                owners[node.module] = self.owner(node.module, counts)
        return {index: owners[node.module] for index, node in enumerate(trace.graph.nodes) if node.module}

    @staticmethod
    def owner(name: str, temporal_counts: dict[str, int]) -> str:
        """The outermost module around `name` that holds no other conv or RNN: a conv
        wrapped in a norm wrapper in a padding wrapper is named after the outer wrapper.
        `temporal_counts`: the convs and RNNs inside each module, by its path."""
        parts = name.split(".")
        best = name
        for cut in range(len(parts) - 1, 0, -1):
            parent = ".".join(parts[:cut])
            if temporal_counts.get(parent, 0) != 1:
                break
            best = parent
        return best
