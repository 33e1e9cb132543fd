"""Tensors with two time axes: eager attention's scores and weights (queries x keys).

Attention written out as `softmax(query @ key^T * scale + mask) @ value` (transformers'
eager attention, hand-written attention) makes a tensor whose entry (q, k) depends on
query position q and key position k. Such a node is read entry by entry (a bool matrix
of queries x keys, :class:`~rfprobe.core.readers.Reach` `entries`), and it carries what
is known of its entries for every input: `excluded`, entries that are a constant mask
value so negative that a softmax over the keys gives exactly 0 there, and `zeros`,
entries that are exactly 0 (a softmax's excluded entries). A product with the values then
reads, for query q, only the keys whose weight is not exactly 0: a sliding-window or
causal mask is read off the mask tensor the model really built, as for SDPA.

Only what attention needs is understood: the product, layouts that keep both axes,
elementwise ops with constants, values without a time axis or a position bias along the
queries or keys, masked fills, a softmax over the key axis, and the product with the values.
Anything else on two time axes is refused by name; nothing here guesses.

Sound under one condition, the one any masked softmax relies on: the scores are finite and
below half the dtype's largest value (so `finfo.min` as a mask drives `exp` to exactly 0).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from rfprobe.core.call import Call, Output, Read, Tracked, normalized_dim
from rfprobe.core.readers import (
    AttentionMask,
    Broadcast,
    PairColumns,
    PairContract,
    PairRows,
    PairSame,
    PairSoftmax,
    Same,
)
from rfprobe.core.registry import one_axis_rule, register_pair_rule

TWO_AXES = "a tensor with two time axes (eager attention's queries x keys)"


COPIES = {"clone", "_to_copy", "contiguous", "detach", "alias", "lift_fresh", "copy"}  # entries unchanged


def excluding(values: torch.Tensor) -> torch.Tensor:
    """Entries of an additive attention mask that exclude a key: -inf, or at most half the
    dtype's lowest finite value (as transformers' eager masks use `finfo.min`), so that
    `exp(score + mask - row maximum)` is exactly 0 for any score below half the dtype's
    largest value. A bool tensor of the same shape."""
    if not values.is_floating_point():
        return torch.zeros(values.shape, dtype=torch.bool, device=values.device)
    return values <= torch.finfo(values.dtype).min / 2


def _paired(call: Call) -> list[tuple[torch.Tensor, Tracked]]:
    return [(tensor, info) for tensor, info in call.tracked_args() if info.keys]


def outer_product(call: Call, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> list[Output]:
    """`a @ b` with time on the rows of `a` and on the columns of `b`: entry (q, k) reads
    row q of `a` and column k of `b`."""
    info_a, info_b = call.required(a), call.required(b)
    if call.name.split(".")[1] in ("addmm", "baddbmm") and call.tracked(call.args[0]) is not None:
        return call.refuse("a product of two time-varying operands plus a time-varying bias is not understood")
    if info_a.time_dim != a.dim() - 2 or info_b.time_dim != b.dim() - 1:
        return call.refuse(
            "both operands vary in time, but not along the rows of the first and the columns of "
            "the second (query x key)"
        )
    return [
        Output(
            out.dim() - 2,
            out.shape[-2],
            [(info_a.node, PairRows()), (info_b.node, PairColumns())],
            key_dim=out.dim() - 1,
            keys=out.shape[-1],
        )
    ]


def _matrix(values: torch.Tensor, out: torch.Tensor, time_dim: int, key_dim: int) -> np.ndarray:
    """A bool tensor broadcast against `out`, as a (queries, keys) matrix that holds for
    every batch row and head (all over the other dims)."""
    values = values.reshape((1,) * (out.dim() - values.dim()) + tuple(values.shape))
    others = [d for d in range(out.dim()) if d not in (time_dim, key_dim)]
    reduced = values.all(dim=others, keepdim=False) if others else values
    if time_dim > key_dim:
        reduced = reduced.transpose(0, 1)
    return reduced.expand(out.shape[time_dim], out.shape[key_dim]).cpu().numpy()


def _number(value: object) -> Optional[float]:
    """A constant operand as one number, if it is one (a Python scalar or a one-element tensor)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value.detach().cpu().reshape(()))
    return None


def _known(
    call: Call,
    info: Tracked,
    out: torch.Tensor,
    time_dim: int,
    key_dim: int,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
    """(excluded, zeros, overwritten) of the output of an elementwise op on one tensor with
    two time axes; None where nothing is known."""
    op = call.name.split(".")[1].rstrip("_")
    excluded, zeros = info.excluded, info.zeros
    constants = [
        value
        for value in list(call.args) + list(call.kwargs.values())
        if isinstance(value, (torch.Tensor, int, float))
        and not isinstance(value, bool)
        and (not isinstance(value, torch.Tensor) or call.tracked(value) is None)
    ]
    if op in COPIES:
        return excluded, zeros, None
    if op == "add" and len(constants) == 1 and _number(call.kwargs.get("alpha", 1)) == 1.0:
        constant = constants[0]
        if isinstance(constant, torch.Tensor) and constant.numel() > 1:
            negative = _matrix(constant <= 0, out, time_dim, key_dim)
            added = _matrix(excluding(constant), out, time_dim, key_dim)
            return added | (excluded & negative if excluded is not None else False), None, None
        number = _number(constant)
        return (excluded if number is not None and number <= 0 else None), None, None
    number = _number(constants[0]) if len(constants) == 1 else None
    if op in ("mul", "div") and number is not None:
        keeps_excluded = number >= 1 if op == "mul" else 0 < number <= 1
        keeps_zeros = op == "mul" or number != 0
        return excluded if keeps_excluded else None, zeros if keeps_zeros else None, None
    if op == "masked_fill" and call.tracked(call.args[1]) is None:
        fill = _number(call.args[2])
        if fill is not None:
            return _filled(call.args[1], fill, info, out, time_dim, key_dim)
    if op == "where" and call.tracked(call.args[0]) is None:
        condition, first, second = call.args[0], call.args[1], call.args[2]
        first_number, second_number = _number(first), _number(second)
        if call.tracked(first) is info and second_number is not None and call.tracked(second) is None:
            return _filled(~condition, second_number, info, out, time_dim, key_dim)
        if call.tracked(second) is info and first_number is not None and call.tracked(first) is None:
            return _filled(condition, first_number, info, out, time_dim, key_dim)
    return None, None, None


def _filled(
    where: torch.Tensor,
    value: float,
    info: Tracked,
    out: torch.Tensor,
    time_dim: int,
    key_dim: int,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], np.ndarray]:
    """A constant `value` written where `where` holds: those entries read nothing."""
    everywhere = _matrix(where.bool(), out, time_dim, key_dim)
    somewhere = ~_matrix(~where.bool(), out, time_dim, key_dim)
    negligible = value == float("-inf") or value <= torch.finfo(out.dtype).min / 2
    excluded = everywhere if negligible else np.zeros_like(everywhere)
    if info.excluded is not None:
        excluded = excluded | (info.excluded & (~somewhere | negligible))
    zeros = everywhere if value == 0 else np.zeros_like(everywhere)
    if info.zeros is not None:
        zeros = zeros | (info.zeros & (~somewhere | (value == 0)))
    return excluded, zeros, everywhere


@register_pair_rule(*COPIES, "masked_fill", "where", pointwise_default=True)
def pair_elementwise(call: Call) -> list[Output]:
    """An elementwise op with one tensor with two time axes; other operands constant, without
    a time axis, or with one along the queries (read at q) or the keys (read at k). Entry
    (q, k) reads entry (q, k), unless overwritten by a constant."""
    out = call.outputs[0]
    paired = _paired(call)
    if len(paired) != 1:
        return call.refuse("an elementwise op on two tensors with two time axes is not understood")
    tensor, info = paired[0]
    assert info.time_dim is not None and info.key_dim is not None  # a paired tensor has both axes
    time_dim = out.dim() - (tensor.dim() - info.time_dim)
    key_dim = out.dim() - (tensor.dim() - info.key_dim)
    if out.shape[time_dim] != info.length or out.shape[key_dim] != info.keys:
        return call.refuse(f"an elementwise op that changes the lengths of {TWO_AXES}")
    reads: list[Read] = []
    for other, other_info in call.tracked_args():
        if other_info is info:
            continue
        if other_info.time_dim is None:
            reads.append((other_info.node, Broadcast()))
            continue
        # One time axis, along the queries (a position bias computed from the query) or the keys.
        aligned = out.dim() - (other.dim() - other_info.time_dim)
        if aligned == time_dim and other_info.length == info.length:
            reads.append((other_info.node, PairRows()))
        elif aligned == key_dim and other_info.length == info.keys:
            reads.append((other_info.node, PairColumns()))
        else:
            return call.refuse(f"{TWO_AXES} combined elementwise with a tensor whose time axis is neither of them")
    excluded, zeros, overwritten = _known(call, info, out, time_dim, key_dim)
    if len(reads) > 0 and any(not isinstance(reader, Broadcast) for _, reader in reads):
        excluded = zeros = None  # an input-dependent term: nothing known of the entries any more
    reads.insert(0, (info.node, PairSame(overwritten)))
    return [
        Output(time_dim, info.length, reads, key_dim=key_dim, keys=info.keys, excluded=excluded, zeros=zeros)
        for _ in call.outputs
    ]


@register_pair_rule(
    "view", "_unsafe_view", "reshape", "_reshape_alias", "expand", "unsqueeze", "squeeze", "permute", "transpose", "t"
)
def pair_layout(call: Call) -> list[Output]:
    """A reshape, transpose, expand, ... that keeps both time axes whole: the 1-d rule, applied
    once to each axis, must keep each position for position."""
    rule = one_axis_rule(call)
    tensor, info = call.single()
    placed = []
    for dim, length in ((info.time_dim, info.length), (info.key_dim, info.keys)):
        one_axis = Tracked(info.node, dim, length)
        outputs = rule(
            Call(
                call.function,
                call.name,
                call.args,
                call.kwargs,
                call.outputs,
                lambda value: one_axis if value is tensor else call.tracked(value),  # noqa: B023 (called at once)
            )
        )
        if (
            len(outputs) != 1
            or outputs[0].refusal
            or outputs[0].time_dim is None
            or outputs[0].length != length
            or not all(isinstance(reader, Same) for _, reader in outputs[0].reads)
        ):
            return call.refuse(f"a layout that does not keep both axes of {TWO_AXES} whole")
        placed.append(outputs[0].time_dim)
    if placed[0] == placed[1] or placed[0] > placed[1]:
        return call.refuse(f"a layout that puts the key axis of {TWO_AXES} before its query axis")
    return [
        Output(
            placed[0],
            info.length,
            [(info.node, PairSame())],
            key_dim=placed[1],
            keys=info.keys,
            excluded=info.excluded,
            zeros=info.zeros,
        )
    ]


@register_pair_rule("_softmax", "softmax", "_log_softmax", "log_softmax")
def pair_softmax(call: Call) -> list[Output]:
    """Softmax over the key axis: entry (q, k) reads the entries of row q that are not excluded;
    an excluded entry is exactly 0 (the zeros a product with the values then skips)."""
    tensor, info = call.single()
    dim = normalized_dim(call.arg(1, "dim"), tensor.dim())
    if dim != info.key_dim:
        return call.refuse(
            f"a softmax over dim {dim} of {TWO_AXES}: only one over the keys (dim {info.key_dim}) is understood"
        )
    excluded = info.excluded if info.excluded is not None else np.zeros((info.length, info.keys), dtype=bool)
    excluded = excluded & ~excluded.all(axis=1, keepdims=True)  # a row excluded everywhere is uniform
    zeros = excluded if "log" not in call.name else None
    return [
        Output(
            info.time_dim,
            info.length,
            [(info.node, PairSoftmax(excluded))],
            key_dim=info.key_dim,
            keys=info.keys,
            zeros=zeros,
        )
    ]


@register_pair_rule("mm", "bmm", "addmm", "baddbmm")
def contract(call: Call) -> list[Output]:
    """`weights @ values` over the key axis: query q reads the entries of row q that are not
    exactly 0, and the values at those keys."""
    out = call.outputs[0]
    if call.name.split(".")[1] in ("addmm", "baddbmm"):
        return call.refuse(f"addmm / baddbmm on {TWO_AXES} is not understood")
    a, b = call.args[:2]
    info_a, info_b = call.tracked(a), call.tracked(b)
    if info_a is None or not info_a.keys or (info_b is not None and info_b.keys):
        return call.refuse(f"a product whose second operand is {TWO_AXES} is not understood")
    if info_a.time_dim != a.dim() - 2 or info_a.key_dim != a.dim() - 1:
        return call.refuse(f"a product that does not contract the key axis of {TWO_AXES}")
    nonzero = ~info_a.zeros if info_a.zeros is not None else np.ones((info_a.length, info_a.keys), dtype=bool)
    reads: list[Read] = [(info_a.node, PairContract(nonzero))]
    if info_b is not None:
        if info_b.time_dim is None:
            reads.append((info_b.node, Broadcast()))
        elif info_b.time_dim == b.dim() - 2 and info_b.length == info_a.keys:
            reads.append((info_b.node, AttentionMask(nonzero)))
        else:
            return call.refuse(f"a product of {TWO_AXES} with values whose time axis is not the contracted one")
    return [Output(out.dim() - 2, out.shape[-2], reads)]
