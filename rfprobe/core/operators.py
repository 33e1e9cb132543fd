"""The operator table: which reader each op gets, from the arguments it was really called with.

Every op the trace sees with an input-dependent tensor comes here as a :class:`Call`.
The rule for it says, for each output tensor, where its time axis is and how each
input-dependent argument is read. An op that touches the time axis and has no rule
here gets a :class:`~rfprobe.core.readers.Refused` reader naming it: never a guess,
never "kernel 1". Ops tagged pointwise by torch need no rule of their own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch

from .readers import (AttentionMask, Broadcast, Everything, Gather, Merge, Pad, Recurrence, Reverse,
                      Same, Select, Shift, TransposedWindow, Window)


@dataclass(frozen=True)
class Tracked:
    """An input-dependent tensor argument: its graph node and time axis.

    A tensor with a second time axis (eager attention's queries x keys) also has `key_dim`
    and `keys`, and what is known of its entries whatever the input: `excluded` (a constant
    mask value so negative that a softmax over keys gives exactly 0) and `zeros` (exactly 0),
    as (queries, keys) bool matrices that hold for every batch row and head.
    """

    node: int
    time_dim: Optional[int]
    length: int
    key_dim: Optional[int] = None
    keys: int = 0
    excluded: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    zeros: Optional[np.ndarray] = field(default=None, compare=False, repr=False)


@dataclass
class Output:
    """One output tensor of an op: its time axis and what it reads (and, for two time
    axes, the key axis and what is known of its entries, as in :class:`Tracked`)."""

    time_dim: Optional[int]
    length: int
    reads: list  # [(node, reader)]
    refusal: str = ""
    key_dim: Optional[int] = None
    keys: int = 0
    excluded: Optional[np.ndarray] = None
    zeros: Optional[np.ndarray] = None


class Call:
    """One op call, with helpers to find the input-dependent arguments."""

    def __init__(self, function: Any, name: str, args: tuple, kwargs: dict, outputs: list[torch.Tensor],
                 tracked: Callable[[Any], Optional[Tracked]]) -> None:
        self.function, self.name, self.args, self.kwargs = function, name, args, kwargs
        self.outputs, self.tracked = outputs, tracked

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(name, default)

    def tracked_args(self) -> list[tuple[torch.Tensor, Tracked]]:
        found = []
        for value in list(self.args) + list(self.kwargs.values()):
            for item in (value if isinstance(value, (list, tuple)) else (value,)):
                info = self.tracked(item) if isinstance(item, torch.Tensor) else None
                if info is not None:
                    found.append((item, info))
        return found

    def refuse(self, why: str) -> list[Output]:
        reason = f"{self.name}: {why}"
        return [Output(None, 1, [], refusal=reason) for _ in self.outputs]


def _dim(dim: int, ndim: int) -> int:
    return dim + ndim if dim < 0 else dim


def _timeless_reads(info: Tracked) -> tuple[int, Broadcast]:
    return (info.node, Broadcast())


def elementwise(call: Call) -> list[Output]:
    """Broadcasting elementwise ops: each output position reads the same position of every
    input with a time axis (aligned from the right), and the whole of inputs without one."""
    out = call.outputs[0]
    time_dim, reads = None, []
    for tensor, info in call.tracked_args():
        if info.time_dim is None:
            reads.append(_timeless_reads(info))
            continue
        aligned = out.dim() - (tensor.dim() - info.time_dim)
        if time_dim is not None and aligned != time_dim:
            return call.refuse(f"inputs' time axes do not line up (dims {time_dim} and {aligned} of the output)")
        time_dim = aligned
    length = out.shape[time_dim] if time_dim is not None else 1
    for tensor, info in call.tracked_args():
        if info.time_dim is not None:
            reads.append((info.node, Same(info.length) if info.length == length else Broadcast()))
    return [Output(time_dim, length, reads) for _ in call.outputs]


def _single(call: Call) -> tuple[torch.Tensor, Tracked]:
    tracked = call.tracked_args()
    return tracked[0]


def layout(call: Call, out_time_dim: Optional[int], reader_of: Optional[Callable[[Tracked], object]] = None,
           ) -> list[Output]:
    """A one-input op that moves the time axis (or keeps it): read position for position."""
    tensor, info = _single(call)
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    out = call.outputs[0]
    length = out.shape[out_time_dim] if out_time_dim is not None else 1
    reader = reader_of(info) if reader_of else (Same(info.length) if length == info.length else Broadcast())
    return [Output(out_time_dim, length, [(info.node, reader)])]


def permute(call: Call) -> list[Output]:
    _, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    order = [_dim(d, len(call.arg(1, "dims"))) for d in call.arg(1, "dims")]
    return layout(call, order.index(info.time_dim))


def transpose(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    if call.name.startswith("aten.t."):
        first, second = 0, 1
    else:
        first, second = _dim(call.arg(1, "dim0"), tensor.dim()), _dim(call.arg(2, "dim1"), tensor.dim())
    swap = {first: second, second: first}
    return layout(call, swap.get(info.time_dim, info.time_dim))


def unsqueeze(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    dim = _dim(call.arg(1, "dim"), tensor.dim() + 1)
    return layout(call, info.time_dim + (1 if dim <= info.time_dim else 0))


def squeeze(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    dims = call.arg(1, "dim", None)
    if dims is None:
        dims = [d for d, size in enumerate(tensor.shape) if size == 1]
    elif isinstance(dims, int):
        dims = [dims]
    removed = {_dim(d, tensor.dim()) for d in dims if tensor.shape[_dim(d, tensor.dim())] == 1}
    if info.time_dim in removed:
        return [Output(None, 1, [(info.node, Select(0))])]
    return layout(call, info.time_dim - sum(1 for d in removed if d < info.time_dim))


def expand(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    return layout(call, info.time_dim + call.outputs[0].dim() - tensor.dim())


def view(call: Call) -> list[Output]:
    """Reshape: the time axis survives when the product of the dims before it is unchanged;
    splitting it as (frames, factor) reads `factor` samples a frame (patches), merging it
    with an inner axis reads `t // factor`. Merging it with an outer axis is refused."""
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    before = math.prod(tensor.shape[:info.time_dim])
    shape = list(call.outputs[0].shape)
    for dim in range(len(shape)):
        if math.prod(shape[:dim]) != before:
            continue
        size = shape[dim]
        if size == info.length:
            return layout(call, dim)
        if size and info.length % size == 0 and size > 1:
            factor = info.length // size
            return layout(call, dim, lambda i: Window(i.length, factor, factor, 1, 0))
        if size % info.length == 0 and info.length > 1:
            factor = size // info.length
            return layout(call, dim, lambda i: Merge(i.length, factor))
    return call.refuse(f"the reshape {tuple(tensor.shape)} -> {tuple(shape)} merges the time axis "
                       f"(dim {info.time_dim}) with an outer axis")


def along_time(call: Call, dim_index: int, dim_name: str, on_time: Callable[[torch.Tensor, Tracked, int], list[Output]],
               keeps_dim: bool = True) -> list[Output]:
    """An op with a `dim` argument: `on_time` when it acts along the time axis, else
    position for position (the time axis shifted if `dim` is removed before it)."""
    tensor, info = _single(call)
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    dim = _dim(call.arg(dim_index, dim_name, 0), tensor.dim())
    if dim == info.time_dim:
        return on_time(tensor, info, dim)
    out_dim = info.time_dim - (1 if not keeps_dim and dim < info.time_dim else 0)
    return [Output(out_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs]


def slice_(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        start = call.arg(2, "start", 0) or 0
        step = call.arg(4, "step", 1) or 1
        start = max(start + info.length, 0) if start < 0 else min(start, info.length)
        out = call.outputs[0]
        return [Output(dim, out.shape[dim], [(info.node, Shift(info.length, start, step))])]
    return along_time(call, 1, "dim", on_time)


def select(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        index = call.arg(2, "index")
        index = index + info.length if index < 0 else index
        return [Output(None, 1, [(info.node, Select(index))])]
    return along_time(call, 1, "dim", on_time, keeps_dim=False)


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


def flip(call: Call) -> list[Output]:
    tensor, info = _single(call)
    dims = {_dim(d, tensor.dim()) for d in call.arg(1, "dims")}
    if info.time_dim in dims:
        return layout(call, info.time_dim, lambda i: Reverse(i.length))
    return layout(call, info.time_dim)


def cat(call: Call) -> list[Output]:
    tensors = [t for t in call.arg(0, "tensors")]
    out = call.outputs[0]
    dim = _dim(call.arg(1, "dim", 0), out.dim())
    infos = [(t, call.tracked(t)) for t in tensors]
    timed = [info for _, info in infos if info is not None and info.time_dim is not None]
    if not timed:
        return elementwise(call) if any(info for _, info in infos) else []
    time_dim = timed[0].time_dim
    if any(info.time_dim != time_dim for info in timed):
        return call.refuse("inputs' time axes do not line up")
    reads, start = [], 0
    for tensor, info in infos:
        if tensor.dim() == 1 and tensor.numel() == 0:
            continue  # torch.cat skips legacy empty tensors
        if info is not None:
            if info.time_dim is None:
                reads.append(_timeless_reads(info))
            elif dim == time_dim:
                reads.append((info.node, Shift(info.length, -start)))
            else:
                reads.append((info.node, Same(info.length)))
        start += tensor.shape[dim] if tensor.dim() > dim else 0
    return [Output(time_dim, out.shape[time_dim], reads)]


def stack(call: Call) -> list[Output]:
    out = call.outputs[0]
    dim = _dim(call.arg(1, "dim", 0), out.dim())
    reads, time_dim = [], None
    for tensor in call.arg(0, "tensors"):
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            return call.refuse("stacking values without a time axis (a per-step loop?) is not understood")
        time_dim = info.time_dim + (1 if dim <= info.time_dim else 0)
        reads.append((info.node, Same(info.length)))
    return [Output(time_dim, out.shape[time_dim], reads)]


def reduction(call: Call) -> list[Output]:
    """sum / mean / amax / var / ...: global when the reduced dims include time."""
    tensor, info = _single(call)
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    dims = call.arg(1, "dim", None)
    if isinstance(dims, int):
        dims = [dims]
    keepdim = bool(call.arg(2, "keepdim", False)) if not call.name.startswith(("aten.var", "aten.std")) else \
        bool(call.kwargs.get("keepdim", call.arg(3, "keepdim", False)))
    reduced = set(range(tensor.dim())) if not dims else {_dim(d, tensor.dim()) for d in dims}
    if info.time_dim in reduced:
        return [Output(None, 1, [(info.node, Everything(info.length, f"{call.name} over time"))])
                for _ in call.outputs]
    out_dim = info.time_dim if keepdim else info.time_dim - sum(1 for d in reduced if d < info.time_dim)
    return [Output(out_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs]


def softmax_like(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        return [Output(dim, info.length, [(info.node, Everything(info.length, f"{call.name} over time"))])]
    return along_time(call, 1, "dim", on_time)


def cumulative(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        return [Output(dim, info.length, [(info.node, Recurrence(info.length, f"{call.name} along time"))])]
    return along_time(call, 1, "dim", on_time)


def convolution(call: Call) -> list[Output]:
    tensor = call.arg(0, "input")
    info = call.tracked(tensor)
    if any(call.tracked(call.arg(i, n)) is not None for i, n in ((1, "weight"), (2, "bias"))):
        return call.refuse("weights that depend on the input are not understood")
    if info is None:
        return []
    if info.time_dim is None or info.time_dim < 2:
        return call.refuse(f"convolution over an input whose time axis is dim {info.time_dim}, not a spatial dim")
    spatial = info.time_dim - 2
    pick = lambda values: values[spatial] if len(values) > 1 else values[0]  # noqa: E731
    weight = call.arg(1, "weight")
    kernel = weight.shape[2 + spatial]
    stride, padding, dilation = pick(call.arg(3, "stride")), pick(call.arg(4, "padding")), pick(call.arg(5, "dilation"))
    out = call.outputs[0]
    if call.arg(6, "transposed"):
        reader = TransposedWindow(info.length, kernel, stride, dilation, padding)
    else:
        reader = Window(info.length, kernel, stride, dilation, padding)
    return [Output(info.time_dim, out.shape[info.time_dim], [(info.node, reader)])]


def pooling(call: Call) -> list[Output]:
    """avg / max pooling (1-d pooling runs as 2-d after an unsqueeze)."""
    tensor, info = _single(call)
    if info.time_dim is None:
        return call.refuse("pooling over an input without a time axis")
    spatial_dims = 1 if "1d" in call.name else 2
    position = info.time_dim - (tensor.dim() - spatial_dims)
    if position < 0:
        return call.refuse(f"pooling over dims that do not include the time axis (dim {info.time_dim})")
    pick = lambda values, default: (values[position] if len(values) > 1 else values[0]) if values else default  # noqa: E731
    kernel = pick(call.arg(1, "kernel_size"), 1)
    stride = pick(call.arg(2, "stride"), kernel)
    padding = pick(call.arg(3, "padding", [0]), 0)
    dilation = pick(call.arg(4, "dilation", [1]), 1) if "max" in call.name else 1
    reader = Window(info.length, kernel, stride, dilation, padding)
    out = call.outputs[0]
    return [Output(info.time_dim, out.shape[info.time_dim], [(info.node, reader)]) for _ in call.outputs]


def pad(call: Call, mode: str) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    pads = [int(amount) for amount in call.arg(1, "pad" if mode == "constant" else "padding")]  # F.pad takes tensors too
    from_last = tensor.dim() - 1 - info.time_dim
    start, end = (pads[2 * from_last], pads[2 * from_last + 1]) if 2 * from_last + 1 < len(pads) else (0, 0)
    return layout(call, info.time_dim, lambda i: Pad(i.length, start, end, mode))


def unfold(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        size, step = call.arg(2, "size"), call.arg(3, "step")
        out = call.outputs[0]
        return [Output(dim, out.shape[dim], [(info.node, Window(info.length, size, step, 1, 0))])]
    return along_time(call, 1, "dimension", on_time)


def index_select(call: Call) -> list[Output]:
    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        index = call.arg(2, "index")
        if call.tracked(index) is not None:
            return call.refuse("an index that depends on the input")
        sources = index.detach().to("cpu", torch.int64).numpy().copy()
        return [Output(dim, sources.size, [(info.node, Gather(info.length, (sources,)))])]
    return along_time(call, 1, "dim", on_time)


def interpolation(call: Call) -> list[Output]:
    """Nearest and linear interpolation along time, read off the op itself: run on the
    positions 0..n-1 as values, nearest returns its source index; linear returns
    i0 + w1, where the second source i0 + 1 is read exactly when w1 != 0."""
    tensor, info = _single(call)
    if info.time_dim is None or info.time_dim != tensor.dim() - 1:
        return call.refuse("interpolation whose last axis is not the time axis")
    if tensor.dim() != 3:
        return call.refuse("only 1-d interpolation (batch, channels, time) is understood")
    positions = torch.arange(info.length, dtype=torch.float64).reshape(1, 1, -1)
    import torch.utils._python_dispatch as dispatch  # the recorder must not see this helper run
    with dispatch._disable_current_modes():
        values = call.function(positions, *call.args[1:], **call.kwargs)[0, 0].numpy()
    if "linear" in call.name:
        first = np.floor(values).astype(np.int64)
        second = np.where(values != first, np.minimum(first + 1, info.length - 1), -1)
        sources: tuple[np.ndarray, ...] = (first, second)
    else:
        sources = (np.rint(values).astype(np.int64),)
    out = call.outputs[0]
    return [Output(info.time_dim, out.shape[-1], [(info.node, Gather(info.length, sources))])]


def matrix_product(call: Call) -> list[Output]:
    """mm / bmm / addmm / baddbmm: the time axis must be a row (or column) index that the
    product keeps; contracting it is global. Two operands varying in time along the rows of
    the first and the columns of the second (eager attention's query x key) give a tensor
    with two time axes (:mod:`rfprobe.core.pairs`)."""
    out = call.outputs[0]
    operands = call.args[-2:] if call.name.split(".")[1] in ("addmm", "baddbmm") else call.args[:2]
    a, b = operands
    reads, time_dim = [], None
    bias = call.args[0] if call.name.split(".")[1] in ("addmm", "baddbmm") else None
    for side, tensor in (("first", a), ("second", b)):
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            reads.append(_timeless_reads(info))
            continue
        rows, cols = tensor.dim() - 2, tensor.dim() - 1
        contracted = cols if side == "first" else rows
        if info.time_dim == contracted:
            reads.append((info.node, Everything(info.length, f"{call.name} contracting the time axis")))
            continue
        if info.time_dim < tensor.dim() - 2:  # a batch dim of bmm
            candidate = info.time_dim
        else:
            candidate = out.dim() - 2 if side == "first" else out.dim() - 1
        if time_dim is not None and candidate != time_dim:
            from .pairs import outer_product  # query x key: a tensor with two time axes
            return outer_product(call, a, b, out)
        time_dim = candidate
        reads.append((info.node, Same(info.length)))
    if bias is not None and call.tracked(bias) is not None:
        info = call.tracked(bias)
        if info.time_dim is None:
            reads.append(_timeless_reads(info))
        else:
            return call.refuse("a bias that varies in time")
    length = out.shape[time_dim] if time_dim is not None else 1
    return [Output(time_dim, length, reads)]


def _global_outputs(call: Call, info: Tracked, why: str) -> list[Output]:
    """A norm over time: its output reads everything, its statistics have no time axis."""
    global_read = Everything(info.length, why)
    return [Output(info.time_dim, info.length, [(info.node, global_read)])] + \
        [Output(None, 1, [(info.node, global_read)]) for _ in call.outputs[1:]]


def group_norm(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    if info.time_dim >= 2:
        return _global_outputs(call, info, "group norm over time")
    return call.refuse("group norm whose time axis is the batch or channel dim")


def layer_norm(call: Call) -> list[Output]:
    tensor, info = _single(call)
    normalized = len(call.arg(1, "normalized_shape"))
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    if info.time_dim >= tensor.dim() - normalized:
        return _global_outputs(call, info, "layer norm over time")
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])] + \
        [Output(info.time_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs[1:]]


def batch_norm(call: Call) -> list[Output]:
    training = "no_training" not in call.name and bool(call.arg(5, "training", False))
    tensor, info = _single(call)
    if info.time_dim is None:
        return [Output(None, 1, [_timeless_reads(info)]) for _ in call.outputs]
    if training:
        return _global_outputs(call, info, "batch norm with batch statistics (training mode)")
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])] + \
        [Output(None, 1, []) for _ in call.outputs[1:]]


def fft(call: Call) -> list[Output]:
    tensor, info = _single(call)
    if info.time_dim is None:
        return layout(call, None)
    dims = {_dim(d, tensor.dim()) for d in call.arg(1, "dim")}
    out = call.outputs[0]
    if info.time_dim in dims:
        return [Output(info.time_dim, out.shape[info.time_dim], [(info.node, Everything(info.length, f"{call.name} along time"))])]
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])]


def view_as_real(call: Call) -> list[Output]:
    _, info = _single(call)
    return layout(call, info.time_dim)


# Ops whose output depends only on the input's shape, never on its values.
SHAPE_ONLY = {
    "empty_like", "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like", "new_zeros",
    "new_ones", "new_empty", "new_full", "new_empty_strided", "scalar_tensor", "empty_strided", "sym_size",
    "sym_numel", "sym_stride", "_shape_as_tensor",
}
# Reading input values into Python: control flow may then depend on the audio.
VALUE_TO_PYTHON = {"_local_scalar_dense", "equal", "is_nonzero", "allclose", "nonzero", "masked_select",
                   "unique", "_unique2"}

RULES: dict[str, Callable[[Call], list[Output]]] = {
    "convolution": convolution, "view": view, "_unsafe_view": view, "reshape": view, "_reshape_alias": view,
    "permute": permute, "transpose": transpose, "t": transpose, "unsqueeze": unsqueeze, "squeeze": squeeze,
    "expand": expand, "slice": slice_, "select": select, "split": split, "split_with_sizes": split,
    "unsafe_split": split, "unsafe_split_with_sizes": split, "unbind": split, "chunk": split, "cat": cat,
    "stack": stack, "flip": flip, "unfold": unfold, "index_select": index_select,
    "constant_pad_nd": lambda call: pad(call, "constant"),
    "reflection_pad1d": lambda call: pad(call, "reflect"), "reflection_pad2d": lambda call: pad(call, "reflect"),
    "replication_pad1d": lambda call: pad(call, "replicate"), "replication_pad2d": lambda call: pad(call, "replicate"),
    "_pad_circular": lambda call: pad(call, "circular"),
    "upsample_nearest1d": interpolation, "_upsample_nearest_exact1d": interpolation, "upsample_linear1d": interpolation,
    "avg_pool1d": pooling, "avg_pool2d": pooling, "max_pool1d": pooling, "max_pool2d": pooling,
    "max_pool1d_with_indices": pooling, "max_pool2d_with_indices": pooling,
    "mm": matrix_product, "bmm": matrix_product, "addmm": matrix_product, "baddbmm": matrix_product,
    "sum": reduction, "mean": reduction, "amax": reduction, "amin": reduction, "var": reduction, "std": reduction,
    "var_mean": reduction, "std_mean": reduction, "prod": reduction, "logsumexp": reduction, "norm": reduction,
    "linalg_vector_norm": reduction, "max": reduction, "min": reduction, "any": reduction, "all": reduction,
    "argmax": reduction, "argmin": reduction,
    "_softmax": softmax_like, "softmax": softmax_like, "_log_softmax": softmax_like, "log_softmax": softmax_like,
    "cumsum": cumulative, "cumprod": cumulative, "logcumsumexp": cumulative,
    "native_group_norm": group_norm, "native_layer_norm": layer_norm,
    "native_batch_norm": batch_norm, "_native_batch_norm_legit": batch_norm,
    "_native_batch_norm_legit_no_training": batch_norm,
    "_fft_r2c": fft, "_fft_c2r": fft, "_fft_c2c": fft,
    "view_as_real": view_as_real, "view_as_complex": view_as_real,
    "clone": elementwise, "_to_copy": elementwise, "detach": elementwise, "alias": elementwise,
    "lift_fresh": elementwise, "contiguous": elementwise, "_conj": elementwise, "masked_fill": elementwise,
    "where": elementwise, "copy": elementwise, "_prelu_kernel": elementwise, "prelu": elementwise,
    "glu": lambda call: along_time(call, 1, "dim", lambda *_: call.refuse("a GLU that halves the time axis")),
    "pad": lambda call: pad(call, {"zeros": "constant"}.get(call.arg(2, "mode", "constant"), call.arg(2, "mode", "constant"))),
    "scaled_dot_product_attention": lambda call: attention(call),
    "multi_head_attention_forward": lambda call: multi_head_attention(call),
    "lstm": lambda call: recurrence(call), "gru": lambda call: recurrence(call),
    "rnn_tanh": lambda call: recurrence(call), "rnn_relu": lambda call: recurrence(call),
}


def rule_for(func: Any) -> Optional[Callable[[Call], list[Output]]]:
    if not isinstance(func, torch._ops.OpOverload):
        return RULES.get(getattr(func, "__name__", ""))
    name = func._schema.name.split("::")[-1]
    if func._schema.is_mutable and name.endswith("_"):
        name = name[:-1]
    if name in RULES:
        return RULES[name]
    if torch.Tag.pointwise in func.tags:
        return elementwise
    return None


def op_name(func: Any) -> str:
    return str(func) if isinstance(func, torch._ops.OpOverload) else getattr(func, "__name__", str(func))




def excluding(values: torch.Tensor) -> torch.Tensor:
    """Entries of an additive attention mask that exclude a key: -inf, or at most half the
    dtype's lowest finite value (as transformers' eager masks use `finfo.min`), so that
    `exp(score + mask - row maximum)` is exactly 0 for any score below half the dtype's
    largest value. A bool tensor of the same shape."""
    if not values.is_floating_point():
        return torch.zeros(values.shape, dtype=torch.bool, device=values.device)
    return values <= torch.finfo(values.dtype).min / 2


def _allowed_keys(mask: torch.Tensor, queries: int, keys: int, true_means_allowed: bool) -> np.ndarray:
    """(queries, keys) bool: may some head of some batch row attend from query to key."""
    if mask.dtype == torch.bool:
        allowed = mask if true_means_allowed else ~mask
    else:  # an additive mask excludes with -inf, or with the dtype's lowest value (exp underflows to 0)
        allowed = torch.isfinite(mask) & ~excluding(mask)
    allowed = allowed.expand(*allowed.shape[:-2], queries, keys).reshape(-1, queries, keys).any(dim=0)
    return allowed.cpu().numpy()


def _attention_outputs(call: Call, keyed: list[tuple[torch.Tensor, int]], query: tuple[torch.Tensor, int],
                       key_reader: Optional[object], out_time_dim: int) -> list[Output]:
    reads = []
    for role, (tensor, expected_dim) in [("query", query)] + [("key", pair) for pair in keyed]:
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            reads.append(_timeless_reads(info))
            continue
        if info.time_dim != expected_dim:
            return call.refuse(f"attention over dim {expected_dim}, but the time axis is dim {info.time_dim}")
        reads.append((info.node, Same(info.length) if role == "query" else key_reader))
    out = call.outputs[0]
    outputs = [Output(out_time_dim, out.shape[out_time_dim], reads)]
    outputs += [Output(None, 1, [], refusal=f"{call.name}: attention weights have two time axes (queries x keys)")
                for _ in call.outputs[1:]]
    return outputs


def _attention_within_time_steps(call: Call, operands: list[torch.Tensor], mask: Any) -> Optional[list[Output]]:
    """Attention whose time axis is a batch axis of the attention (each window of frames
    attends within itself, as after splitting time into (windows, frames)): output position
    t reads position t of query, key and value, and nothing across positions. None when
    the time axis is not a batch axis of every operand that has one."""
    timed = [(tensor, info) for tensor, info in ((t, call.tracked(t)) for t in operands)
             if info is not None and info.time_dim is not None]
    if not timed or any(info.time_dim >= tensor.dim() - 2 for tensor, info in timed):
        return None
    from_end = {tensor.dim() - info.time_dim for tensor, info in timed}
    if len(from_end) != 1:
        return call.refuse("the time axes of query, key and value do not line up")
    if mask is not None and call.tracked(mask) is not None:
        return call.refuse("an attention mask that depends on the input")
    out = call.outputs[0]
    time_dim = out.dim() - from_end.pop()
    length = out.shape[time_dim]
    reads = [_timeless_reads(info) if info.time_dim is None else
             (info.node, Same(info.length) if info.length == length else Broadcast())
             for info in (call.tracked(t) for t in operands) if info is not None]
    return [Output(time_dim, length, reads)]


def _bias_reads(call: Call, mask: torch.Tensor, queries: int) -> tuple[Optional[str], list]:
    """An additive float mask computed from the input (a relative-position bias, as
    wav2vec2-BERT's): (why it is refused, or None; its reads). A finite bias excludes no
    key: every key weighs in the softmax, so the keys are read as without a mask; the
    bias itself is read at the query's position (or wholly, along the keys)."""
    info = call.tracked(mask)
    import torch.utils._python_dispatch as dispatch  # the recorder must not see this check run
    with dispatch._disable_current_modes():
        finite = mask.dtype != torch.bool and bool(torch.isfinite(mask).all())
    if not finite:
        return "an attention mask that depends on the input and excludes keys", []
    if info.time_dim is None:
        return None, [_timeless_reads(info)]
    if info.time_dim == mask.dim() - 2 and info.length in (1, queries):
        return None, [(info.node, Same(info.length) if info.length == queries else Broadcast())]
    if info.time_dim == mask.dim() - 1:
        return None, [(info.node, Everything(info.length, "attention bias along the keys"))]
    return f"an attention bias whose time axis is dim {info.time_dim}", []


def attention(call: Call) -> list[Output]:
    """scaled_dot_product_attention: query t reads the keys and values its concrete mask
    allows; no mask is global, `is_causal` reads every earlier key. An additive bias that
    depends on the input must be finite (it then excludes nothing). A time axis that is a
    batch axis of the attention (windowed attention) is read position for position."""
    query, key, value = call.arg(0, "query"), call.arg(1, "key"), call.arg(2, "value")
    mask, causal = call.arg(3, "attn_mask"), bool(call.arg(5, "is_causal", False))
    keys = key.shape[-2]
    within = _attention_within_time_steps(call, [query, key, value], mask)
    if within is not None:
        return within
    bias_reads: list = []
    if mask is not None and call.tracked(mask) is not None:
        refusal, bias_reads = _bias_reads(call, mask, query.shape[-2])
        if refusal:
            return call.refuse(refusal)
        reader: object = Everything(keys, "attention with a finite bias computed from the input")
    elif mask is not None:
        reader = AttentionMask(_allowed_keys(mask, query.shape[-2], keys, true_means_allowed=True))
    elif causal:
        reader = Recurrence(keys, "causal attention (is_causal=True)")
    else:
        reader = Everything(keys, "attention without a mask")
    outputs = _attention_outputs(call, [(key, key.dim() - 2), (value, value.dim() - 2)], (query, query.dim() - 2),
                                 reader, call.outputs[0].dim() - 2)
    if bias_reads and not outputs[0].refusal:
        outputs[0].reads.extend(bias_reads)
    return outputs


def multi_head_attention(call: Call) -> list[Output]:
    """torch.nn.functional.multi_head_attention_forward: (time, batch, embed) inputs; masks
    mark what may NOT be attended (bool True, or -inf)."""
    query, key, value = call.arg(0, "query"), call.arg(1, "key"), call.arg(2, "value")
    padding_mask, mask = call.arg(14, "key_padding_mask"), call.arg(16, "attn_mask")
    queries, keys = query.shape[0], key.shape[0]
    for tensor in (mask, padding_mask):
        if tensor is not None and call.tracked(tensor) is not None:
            return call.refuse("an attention mask that depends on the input")
    allowed = np.ones((queries, keys), dtype=bool)
    if mask is not None:
        allowed &= _allowed_keys(mask, queries, keys, true_means_allowed=False)
    if padding_mask is not None:
        kept = (~padding_mask if padding_mask.dtype == torch.bool else torch.isfinite(padding_mask)).any(dim=0)
        allowed &= kept.cpu().numpy()[None, :]
    reader: object = AttentionMask(allowed) if (mask is not None or padding_mask is not None) else \
        Everything(keys, "attention without a mask")
    return _attention_outputs(call, [(key, 0), (value, 0)], (query, 0), reader, 0)


def recurrence(call: Call) -> list[Output]:
    """torch.lstm / gru / rnn_tanh / rnn_relu (what nn.LSTM, nn.GRU, nn.RNN call)."""
    name = call.name
    packed = isinstance(call.args[1], torch.Tensor) if name == "lstm" else isinstance(call.args[2], torch.Tensor)
    if packed:
        return call.refuse("packed sequences are not understood")
    data = call.args[0]
    info = call.tracked(data)
    batch_first, bidirectional = bool(call.args[-1]), bool(call.args[-2])
    expected = 1 if batch_first else 0
    if info is None:
        return call.refuse("a recurrence whose initial state depends on the input")
    if info.time_dim != expected:
        return call.refuse(f"a recurrence over dim {expected}, but the time axis is dim {info.time_dim}")
    reader = Recurrence(info.length, f"{name.upper()} (recurrence over time)", bidirectional)
    out = call.outputs[0]
    states = Everything(info.length, f"{name.upper()} final state")
    return [Output(expected, out.shape[expected], [(info.node, reader)])] + \
        [Output(None, 1, [(info.node, states)]) for _ in call.outputs[1:]]
