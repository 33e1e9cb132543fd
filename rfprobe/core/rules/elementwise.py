"""Ops that read position for position: broadcasting elementwise ops, copies, PReLU, masked
fills. Ops torch tags pointwise get :func:`elementwise` without a registration of their own.
"""

from __future__ import annotations

from typing import Optional

from rfprobe.core.call import Call, Output, Read, timeless_read
from rfprobe.core.readers import Broadcast, Same
from rfprobe.core.registry import register_rule


@register_rule(
    "clone",
    "_to_copy",
    "detach",
    "alias",
    "lift_fresh",
    "contiguous",
    "_conj",
    "masked_fill",
    "where",
    "copy",
    "_prelu_kernel",
    "prelu",
    "polar",  # magnitude and phase to a complex value, position for position (an ISTFT head's)
    pointwise_default=True,
)
def elementwise(call: Call) -> list[Output]:
    """Broadcasting elementwise ops: each output position reads the same position of every
    input with a time axis (aligned from the right), and the whole of inputs without one."""
    out = call.outputs[0]
    time_dim: Optional[int] = None
    reads: list[Read] = []
    for tensor, info in call.tracked_args():
        if info.time_dim is None:
            reads.append(timeless_read(info))
            continue
        aligned = out.dim() - (tensor.dim() - info.time_dim)
        if time_dim is not None and aligned != time_dim:
            return call.refuse(f"inputs' time axes do not line up (dims {time_dim} and {aligned} of the output)")
        time_dim = aligned
    length = out.shape[time_dim] if time_dim is not None else 1
    for _, info in call.tracked_args():
        if info.time_dim is not None:
            reads.append((info.node, Same(info.length) if info.length == length else Broadcast()))
    return [Output(time_dim, length, reads) for _ in call.outputs]
