"""Ops that mix the time axis globally or cumulatively: reductions, softmax over time,
cumulative sums, norms over time, FFTs. Over other axes they keep time position for position.
"""

from __future__ import annotations

import torch

from rfprobe.core.call import Call, Output, Tracked, normalized_dim, timeless_read
from rfprobe.core.readers import Everything, Recurrence, Same
from rfprobe.core.registry import register_rule
from rfprobe.core.rules.layout import along_time, layout


@register_rule(
    "sum",
    "mean",
    "amax",
    "amin",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "prod",
    "logsumexp",
    "norm",
    "linalg_vector_norm",
    "max",
    "min",
    "any",
    "all",
    "argmax",
    "argmin",
)
def reduction(call: Call) -> list[Output]:
    """sum / mean / amax / var / ...: global when the reduced dims include time."""
    tensor, info = call.single()
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    # norm and linalg_vector_norm take the order first: (self, ord, dim, keepdim)
    first = 2 if call.name.startswith(("aten.norm", "aten.linalg_vector_norm")) else 1
    dims = call.arg(first, "dim", None)
    if isinstance(dims, int):
        dims = [dims]
    keepdim = (
        bool(call.arg(first + 1, "keepdim", False))
        if not call.name.startswith(("aten.var", "aten.std"))
        else bool(call.kwargs.get("keepdim", call.arg(3, "keepdim", False)))
    )
    reduced = set(range(tensor.dim())) if not dims else {normalized_dim(d, tensor.dim()) for d in dims}
    if info.time_dim in reduced:
        return [Output(None, 1, [(info.node, Everything(info.length, f"{call.name} over time"))]) for _ in call.outputs]
    out_dim = info.time_dim if keepdim else info.time_dim - sum(1 for d in reduced if d < info.time_dim)
    return [Output(out_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs]


@register_rule("_softmax", "softmax", "_log_softmax", "log_softmax")
def softmax_like(call: Call) -> list[Output]:
    """Softmax and log-softmax over time: every position reads every other."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        return [Output(dim, info.length, [(info.node, Everything(info.length, f"{call.name} over time"))])]

    return along_time(call, 1, "dim", on_time)


@register_rule("cumsum", "cumprod", "logcumsumexp")
def cumulative(call: Call) -> list[Output]:
    """Cumulative sums and products along time: a recurrence, the whole past."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        return [Output(dim, info.length, [(info.node, Recurrence(info.length, f"{call.name} along time"))])]

    return along_time(call, 1, "dim", on_time)


def global_outputs(call: Call, info: Tracked, why: str) -> list[Output]:
    """A norm over time: its output reads everything, its statistics have no time axis."""
    global_read = Everything(info.length, why)
    return [Output(info.time_dim, info.length, [(info.node, global_read)])] + [
        Output(None, 1, [(info.node, global_read)]) for _ in call.outputs[1:]
    ]


@register_rule("native_group_norm")
def group_norm(call: Call) -> list[Output]:
    """Group norm normalises over the spatial dims: over time, a global op."""
    tensor, info = call.single()
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    if info.time_dim >= 2:
        return global_outputs(call, info, "group norm over time")
    return call.refuse("group norm whose time axis is the batch or channel dim")


@register_rule("native_layer_norm")
def layer_norm(call: Call) -> list[Output]:
    """Layer norm over its trailing dims: global when they include time, per position otherwise."""
    tensor, info = call.single()
    normalized = len(call.arg(1, "normalized_shape"))
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    if info.time_dim >= tensor.dim() - normalized:
        return global_outputs(call, info, "layer norm over time")
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])] + [
        Output(info.time_dim, info.length, [(info.node, Same(info.length))]) for _ in call.outputs[1:]
    ]


@register_rule("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training")
def batch_norm(call: Call) -> list[Output]:
    """Batch norm: per position with running statistics, global with batch statistics."""
    training = "no_training" not in call.name and bool(call.arg(5, "training", False))
    tensor, info = call.single()
    if info.time_dim is None:
        return [Output(None, 1, [timeless_read(info)]) for _ in call.outputs]
    if training:
        return global_outputs(call, info, "batch norm with batch statistics (training mode)")
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])] + [
        Output(None, 1, []) for _ in call.outputs[1:]
    ]


@register_rule("_fft_r2c", "_fft_c2r", "_fft_c2c")
def fft(call: Call) -> list[Output]:
    """FFTs: a transform over the time axis reads all of it; over other dims it keeps time."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    dims = {normalized_dim(d, tensor.dim()) for d in call.arg(1, "dim")}
    out = call.outputs[0]
    if info.time_dim in dims:
        return [
            Output(
                info.time_dim,
                out.shape[info.time_dim],
                [(info.node, Everything(info.length, f"{call.name} along time"))],
            )
        ]
    return [Output(info.time_dim, info.length, [(info.node, Same(info.length))])]
