"""The hop: how many input samples one output frame advances, read off two neighbouring
frames of a sized trace (or, where every frame reads everything, the product of the strides)."""

from __future__ import annotations

from rfprobe.core.readers import Merge, NotUnderstood, TransposedWindow, Window
from rfprobe.core.sizing import Sizing, cut, frame_reach
from rfprobe.core.trace import Trace


def hop_of(sizing: Sizing) -> int:
    """The hop in input samples, read off frames n, n + 1 (and n + 2) of a sized trace; a frame
    whose reads do not advance evenly (position-dependent) is refused by name."""
    this, following = sizing.this, sizing.following
    # A side that is open (reaches the axis end at any length) or cut (met it at this length)
    # does not move with the frame: the hop is read off the other side.
    start_moves = not (this.open_start or cut(this)[0] or cut(following)[0])
    end_moves = not (this.open_end or cut(this)[1] or cut(following)[1])
    if start_moves or end_moves:
        after = frame_reach(sizing.trace, sizing.frame + 2) if sizing.frame + 2 < sizing.trace.output_length else None
        if after is not None and any(cut(after)):
            after = None  # cut off by an end of the input: its read says nothing about the hop
        end = (lambda reach: reach.intervals[0][0]) if start_moves else (lambda reach: reach.intervals[-1][1])
        hop = end(following) - end(this)
        uneven = after is not None and after.intervals and end(after) - end(following) != hop
        if uneven or hop < 1:
            frames = f"{sizing.frame}, {sizing.frame + 1}" + (f", {sizing.frame + 2}" if after is not None else "")
            ends = ", ".join(
                str(end(reach)) for reach in (this, following, after) if reach is not None and reach.intervals
            )
            jump = strides_so_far(sizing.trace)[sizing.trace.output_node]
            frames_fit = sizing.trace.output_length * jump <= sizing.trace.input_length + jump
            if jump >= 1 and jump == int(jump) and frames_fit:
                raise NotUnderstood(
                    f"frames {frames} {'start' if not this.open_start else 'end'} at samples {ends}, "
                    f"not {int(jump)} samples apart as the strides say: which samples a frame reads "
                    "depends on its position (attention within fixed windows of frames?), so no one "
                    "receptive field holds for every frame"
                )
            if uneven:
                raise NotUnderstood(
                    f"frames {frames} do not advance by a whole number of samples (more frames than samples?)"
                )
            raise NotUnderstood(
                f"frames {sizing.frame} and {sizing.frame + 1} start at the same sample (more frames than samples?)"
            )
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
