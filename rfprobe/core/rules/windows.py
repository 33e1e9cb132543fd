"""Ops whose output position reads a window of input positions: convolutions (plain and
transposed), pooling, the four pad modes, unfold, fold (overlap-add) and interpolation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from rfprobe.core.call import Call, Output, Tracked
from rfprobe.core.readers import Reader, Gather, Pad, TransposedWindow, Window
from rfprobe.core.registry import register_rule
from rfprobe.core.rules.layout import along_time, layout


@register_rule("convolution")
def convolution(call: Call) -> list[Output]:
    """aten.convolution, plain or transposed: a window (kernel, stride, dilation, padding) along
    the spatial dim that holds time; weights that depend on the input are refused."""
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
    reader: Reader
    if call.arg(6, "transposed"):
        reader = TransposedWindow(info.length, kernel, stride, dilation, padding)
    else:
        reader = Window(info.length, kernel, stride, dilation, padding)
    return [Output(info.time_dim, out.shape[info.time_dim], [(info.node, reader)])]


@register_rule(
    "avg_pool1d", "avg_pool2d", "max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices"
)
def pooling(call: Call) -> list[Output]:
    """avg / max pooling (1-d pooling runs as 2-d after an unsqueeze)."""
    tensor, info = call.single()
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
    """Any padding op: the pad amounts on the time axis, and its mode (which samples the pad reads)."""
    tensor, info = call.single()
    if info.time_dim is None:
        return layout(call, None)
    pads = [
        int(amount) for amount in call.arg(1, "pad" if mode == "constant" else "padding")
    ]  # F.pad takes tensors too
    from_last = tensor.dim() - 1 - info.time_dim
    start, end = (pads[2 * from_last], pads[2 * from_last + 1]) if 2 * from_last + 1 < len(pads) else (0, 0)
    return layout(call, info.time_dim, lambda i: Pad(i.length, start, end, mode))


@register_rule("constant_pad_nd")
def constant_pad(call: Call) -> list[Output]:
    """Zero (constant) padding: reads nothing."""
    return pad(call, "constant")


@register_rule("reflection_pad1d", "reflection_pad2d")
def reflection_pad(call: Call) -> list[Output]:
    """Reflect padding: reads the samples it mirrors."""
    return pad(call, "reflect")


@register_rule("replication_pad1d", "replication_pad2d")
def replication_pad(call: Call) -> list[Output]:
    """Replicate padding: reads the edge sample."""
    return pad(call, "replicate")


@register_rule("_pad_circular")
def circular_pad(call: Call) -> list[Output]:
    """Circular padding: reads the other end of the axis."""
    return pad(call, "circular")


@register_rule("pad", high_level=F.pad)
def functional_pad(call: Call) -> list[Output]:
    """`F.pad`, recorded whole: circular padding decomposes into copies into views of an empty tensor."""
    mode = call.arg(2, "mode", "constant")
    return pad(call, {"zeros": "constant"}.get(mode, mode))


@register_rule("unfold")
def unfold(call: Call) -> list[Output]:
    """Tensor.unfold along time: windows of `size` advancing by `step`."""

    def on_time(tensor: torch.Tensor, info: Tracked, dim: int) -> list[Output]:
        size, step = call.arg(2, "size"), call.arg(3, "step")
        out = call.outputs[0]
        return [Output(dim, out.shape[dim], [(info.node, Window(info.length, size, step, 1, 0))])]

    return along_time(call, 1, "dimension", on_time)


@register_rule("col2im")
def fold(call: Call) -> list[Output]:
    """F.fold along time, the overlap-add of an inverse STFT: block l of the input (time on its
    last axis) is written at l x stride - padding + j x dilation of the output's last axis, as a
    transposed convolution writes; a fold over a real second spatial axis is refused."""
    tensor, info = call.single()
    if tensor.dim() != 3 or info.time_dim != 2:
        return call.refuse("a fold whose blocks are not the time axis of a (batch, values, blocks) input")
    size, kernel = call.arg(1, "output_size"), call.arg(2, "kernel_size")
    dilation, padding, stride = call.arg(3, "dilation"), call.arg(4, "padding"), call.arg(5, "stride")
    if size[0] != 1 or kernel[0] != 1 or padding[0] != 0:
        return call.refuse(f"a fold over two spatial axes (output size {list(size)}, kernel {list(kernel)})")
    out = call.outputs[0]
    reader = TransposedWindow(info.length, kernel[1], stride[1], dilation[1], padding[1])
    return [Output(out.dim() - 1, out.shape[-1], [(info.node, reader)])]


@register_rule("upsample_nearest1d", "_upsample_nearest_exact1d", "upsample_linear1d")
def interpolation(call: Call) -> list[Output]:
    """Nearest and linear interpolation along time, read off the op itself: run on the
    positions 0..n-1 as values, nearest returns its source index; linear returns
    i0 + w1, where the second source i0 + 1 is read exactly when w1 != 0."""
    tensor, info = call.single()
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
