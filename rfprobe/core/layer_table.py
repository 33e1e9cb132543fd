"""The layer table: the convolutions, recurrences and global ops a trace ran, in order, with
the stride product before each and the receptive field so far (the module walk's layers)."""

from __future__ import annotations

from typing import Optional

from rfprobe.arithmetic.geometry import LayerRow
from rfprobe.core.hop import strides_so_far
from rfprobe.core.readers import Everything, Pad, PairSoftmax, Recurrence, Same, Shift, Window
from rfprobe.core.trace import Trace


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
                so_far = (
                    rows[-1].cumulative_rf + increment
                    if after_open and rows
                    else _span_so_far(trace, index, min(int(where * node.length), node.length - 1))
                )
                rows.append(
                    LayerRow(
                        name=names.get(index, node.op),
                        kind="conv",
                        kernel=reader.kernel,
                        stride=reader.stride,
                        dilation=reader.dilation,
                        pad_left=reader.pad_start + pad_start,
                        pad_right=reader.pad_start + pad_end,
                        jump_in=int(jump_in),
                        rf_increment=increment,
                        cumulative_rf=so_far,
                        jump_out=int(jumps[index]),
                    )
                )
            elif isinstance(reader, Recurrence) or (isinstance(reader, Everything) and source != 0):
                if not rows or rows[-1].note != reader.op:
                    rows.append(
                        LayerRow(
                            name=names.get(index, node.op),
                            kind="lstm" if isinstance(reader, Recurrence) else "global",
                            jump_in=int(jump_in),
                            jump_out=int(jump_in),
                            note=reader.op,
                            cumulative_rf=rows[-1].cumulative_rf if rows else 1,
                        )
                    )
                after_open = True
            elif isinstance(reader, PairSoftmax) and reader.unmasked:
                rows.append(
                    LayerRow(
                        name=names.get(index, node.op),
                        kind="global",
                        jump_in=int(jump_in),
                        jump_out=int(jump_in),
                        note=reader.op,
                    )
                )
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
