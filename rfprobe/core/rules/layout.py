"""Ops that move, cut, join or reorder the time axis: views, transposes, slices, splits,
concatenation, stacking, flips and gathers.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from rfprobe.core.call import Call, Output, Read, Tracked, normalized_dim, timeless_read
from rfprobe.core.readers import (
    Reader,
    Broadcast,
    Gather,
    Merge,
    Reverse,
    Same,
    Select,
    Shift,
    Window,
)
from rfprobe.core.registry import register_rule
from rfprobe.core.rules.elementwise import elementwise


def layout(
    call: Call,
    out_time_dim: Optional[int],
    reader_of: Optional[Callable[[Tracked], Reader]] = None,
) -> list[Output]:
    """A one-input op that moves the time axis (or keeps it): read position for position."""
    tensor, info = call.single()
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    out = call.outputs[0]
    length = out.shape[out_time_dim] if out_time_dim is not None else 1
    reader: Reader = reader_of(info) if reader_of else (Same(info.length) if length == info.length else Broadcast())
    return [Output(out_time_dim, length, [(info.node, reader)])]


@register_rule("permute")
def permute(call: Call) -> list[Output]:
    """permute: the time axis moves to where the permutation puts it."""
    _, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    order = [normalized_dim(d, len(call.arg(1, "dims"))) for d in call.arg(1, "dims")]
    return layout(call, order.index(info.time_dim))


@register_rule("transpose", "t")
def transpose(call: Call) -> list[Output]:
    """transpose / t: the time axis follows the swap."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    if call.name.startswith("aten.t."):
        first, second = 0, 1
    else:
        first, second = (
            normalized_dim(call.arg(1, "dim0"), tensor.dim()),
            normalized_dim(call.arg(2, "dim1"), tensor.dim()),
        )
    swap = {first: second, second: first}
    return layout(call, swap.get(info.time_dim, info.time_dim))


@register_rule("unsqueeze")
def unsqueeze(call: Call) -> list[Output]:
    """unsqueeze: a new dim before the time axis shifts it by one."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    dim = normalized_dim(call.arg(1, "dim"), tensor.dim() + 1)
    return layout(call, info.time_dim + (1 if dim <= info.time_dim else 0))


@register_rule("squeeze")
def squeeze(call: Call) -> list[Output]:
    """squeeze: removed dims before the time axis shift it back; squeezing a time axis of length 1
    leaves a timeless read of its one position."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    dims = call.arg(1, "dim", None)
    if dims is None:
        dims = [d for d, size in enumerate(tensor.shape) if size == 1]
    elif isinstance(dims, int):
        dims = [dims]
    removed = {normalized_dim(d, tensor.dim()) for d in dims if tensor.shape[normalized_dim(d, tensor.dim())] == 1}
    if info.time_dim in removed:
        return [Output(None, 1, [(info.node, Select(0))])]
    return layout(call, info.time_dim - sum(1 for d in removed if d < info.time_dim))


@register_rule("expand")
def expand(call: Call) -> list[Output]:
    """expand: broadcasting keeps each position's reads; new leading dims shift the time axis."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    return layout(call, info.time_dim + call.outputs[0].dim() - tensor.dim())


@register_rule("view", "_unsafe_view", "reshape", "_reshape_alias")
def view(call: Call) -> list[Output]:
    """Reshape: the time axis survives when the product of the dims before it is unchanged;
    splitting it as (frames, factor) reads `factor` samples a frame (patches), merging it
    with an inner axis reads `t // factor`. Merging it with an outer axis is refused."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    before = math.prod(tensor.shape[: info.time_dim])
    shape = list(call.outputs[0].shape)
    for dim in range(len(shape)):
        if math.prod(shape[:dim]) != before:
            continue
        size = shape[dim]
        if size == info.length:
            return layout(call, dim)
        if size and info.length % size == 0 and size > 1:
            factor = info.length // size
            return layout(call, dim, lambda i: Window(i.length, factor, factor, 1, 0))  # noqa: B023 (called at once)
        if size % info.length == 0 and info.length > 1:
            factor = size // info.length
            return layout(call, dim, lambda i: Merge(i.length, factor))  # noqa: B023 (called at once)
    return call.refuse(
        f"the reshape {tuple(tensor.shape)} -> {tuple(shape)} merges the time axis "
        f"(dim {info.time_dim}) with an outer axis"
    )


def along_time(
    call: Call,
    dim_index: int,
    dim_name: str,
    on_time: Callable[[torch.Tensor, Tracked, int], list[Output]],
    keeps_dim: bool = True,
) -> list[Output]:
    """An op with a `dim` argument: `on_time` when it acts along the time axis, else
    position for position (the time axis shifted if `dim` is removed before it)."""
    tensor, info = call.single()
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    dim = normalized_dim(call.arg(dim_index, dim_name, 0), tensor.dim())
    if dim == info.time_dim:
        return on_time(tensor, info, dim)
    out_dim = info.time_dim - (1 if not keeps_dim and dim < info.time_dim else 0)
    return [Output(out_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs]


@register_rule("slice")
def slice_(call: Call) -> list[Output]:
    """slice along time: output position i reads input position start + i x step."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        start = call.arg(2, "start", 0) or 0
        step = call.arg(4, "step", 1) or 1
        start = max(start + info.length, 0) if start < 0 else min(start, info.length)
        out = call.outputs[0]
        return [Output(dim, out.shape[dim], [(info.node, Shift(info.length, start, step))])]

    return along_time(call, 1, "dim", on_time)


@register_rule("select")
def select(call: Call) -> list[Output]:
    """select: picking one time position is a timeless read of it; other dims keep time."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        index = call.arg(2, "index")
        index = index + info.length if index < 0 else index
        return [Output(None, 1, [(info.node, Select(index))])]

    return along_time(call, 1, "dim", on_time, keeps_dim=False)


@register_rule("split", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes", "unbind", "chunk")
def split(call: Call) -> list[Output]:
    """split / split_with_sizes / unsafe_split / unbind: consecutive pieces of an axis."""
    unbind = "unbind" in call.name

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        outputs, start = [], 0
        for piece in call.outputs:
            if unbind:
                outputs.append(Output(None, 1, [(info.node, Select(start))]))
                start += 1
            else:
                outputs.append(Output(dim, piece.shape[dim], [(info.node, Shift(info.length, start))]))
                start += piece.shape[dim]
        return outputs

    dim_index = 1 if unbind else 2
    return along_time(call, dim_index, "dim", on_time, keeps_dim=not unbind)


@register_rule("flip")
def flip(call: Call) -> list[Output]:
    """flip along time: position i reads position n - 1 - i."""
    tensor, info = call.single()
    dims = {normalized_dim(d, tensor.dim()) for d in call.arg(1, "dims")}
    if info.time_dim in dims:
        return layout(call, info.time_dim, lambda i: Reverse(i.length))
    return layout(call, info.time_dim)


@register_rule("cat")
def cat(call: Call) -> list[Output]:
    """cat along time: each part's positions read their own input, offset; along other dims time stays."""
    tensors = list(call.arg(0, "tensors"))
    out = call.outputs[0]
    dim = normalized_dim(call.arg(1, "dim", 0), out.dim())
    infos = [(t, call.tracked(t)) for t in tensors]
    timed = [info for _, info in infos if info is not None and info.time_dim is not None]
    if not timed:
        return elementwise(call) if any(info for _, info in infos) else []
    time_dim = timed[0].time_dim
    if any(info.time_dim != time_dim for info in timed):
        return call.refuse("inputs' time axes do not line up")
    reads: list[Read] = []
    start = 0
    for tensor, info in infos:
        if tensor.dim() == 1 and tensor.numel() == 0:
            continue  # torch.cat skips legacy empty tensors
        if info is not None:
            if info.time_dim is None:
                reads.append(timeless_read(info))
            elif dim == time_dim:
                reads.append((info.node, Shift(info.length, -start)))
            else:
                reads.append((info.node, Same(info.length)))
        start += tensor.shape[dim] if tensor.dim() > dim else 0
    assert time_dim is not None  # some tensor had a time axis (checked above)
    return [Output(time_dim, out.shape[time_dim], reads)]


@register_rule("stack")
def stack(call: Call) -> list[Output]:
    """stack: a new dim; the time axis shifts when it comes before it."""
    out = call.outputs[0]
    dim = normalized_dim(call.arg(1, "dim", 0), out.dim())
    reads: list[Read] = []
    time_dim: Optional[int] = None
    for tensor in call.arg(0, "tensors"):
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            return call.refuse("stacking values without a time axis (a per-step loop?) is not understood")
        time_dim = info.time_dim + (1 if dim <= info.time_dim else 0)
        reads.append((info.node, Same(info.length)))
    assert time_dim is not None  # some tensor had a time axis (checked above)
    return [Output(time_dim, out.shape[time_dim], reads)]


@register_rule("index_select")
def index_select(call: Call) -> list[Output]:
    """index_select along time: position i reads the index it names."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        index = call.arg(2, "index")
        if call.tracked(index) is not None:
            return call.refuse("an index that depends on the input")
        sources = index.detach().to("cpu", torch.int64).numpy().copy()
        return [Output(dim, sources.size, [(info.node, Gather(info.length, (sources,)))])]

    return along_time(call, 1, "dim", on_time)


@register_rule("view_as_real", "view_as_complex")
def view_as_real(call: Call) -> list[Output]:
    """view_as_real / view_as_complex: a trailing dim of two, time unchanged."""
    _, info = call.single()
    return layout(call, info.time_dim)


@register_rule("glu")
def glu(call: Call) -> list[Output]:
    """GLU halves its dim: along channels it is elementwise; along time it is refused."""
    return along_time(call, 1, "dim", lambda *_: call.refuse("a GLU that halves the time axis"))


@register_rule("embedding")
def embedding(call: Call) -> list[Output]:
    """A codebook lookup, embedding(weight, indices): output position t is row indices[t] of a
    fixed table, so it reads indices position for position (a quantizer's codes -> vectors)."""
    if call.tracked(call.arg(0, "weight")) is not None:
        return call.refuse("an embedding table that depends on the input")
    indices = call.arg(1, "indices")
    info = call.required(indices)
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)])]
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])]
