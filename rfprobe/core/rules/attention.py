"""Attention: matrix products (a linear layer keeps time; query x key makes a tensor with two
time axes, :mod:`~rfprobe.core.rules.attention_pairs`), SDPA and multi-head attention with
the masks the model really built.
"""

from __future__ import annotations

from typing import Any, Optional, cast

import numpy as np
import torch
import torch.nn.functional as F

from rfprobe.core.call import Call, Output, Read, timeless_read
from rfprobe.core.readers import Reader, AttentionMask, Broadcast, Everything, Recurrence, Same
from rfprobe.core.registry import register_rule
from rfprobe.core.rules.attention_pairs import excluding, outer_product


@register_rule("mm", "bmm", "addmm", "baddbmm")
def matrix_product(call: Call) -> list[Output]:
    """mm / bmm / addmm / baddbmm: the time axis must be a row (or column) index that the
    product keeps; contracting it is global. Two operands varying in time along the rows of
    the first and the columns of the second (eager attention's query x key) give a tensor
    with two time axes (:mod:`rfprobe.core.rules.attention_pairs`)."""
    out = call.outputs[0]
    operands = call.args[-2:] if call.name.split(".")[1] in ("addmm", "baddbmm") else call.args[:2]
    a, b = operands
    bias = call.args[0] if call.name.split(".")[1] in ("addmm", "baddbmm") else None
    # The first operand contracts its columns and keeps its rows as the output's rows; the second
    # contracts its rows and keeps its columns as the output's columns.
    kept = _operand_reads(call, ((a, a.dim() - 1, out.dim() - 2), (b, b.dim() - 2, out.dim() - 1)))
    if kept is None:
        return outer_product(call, a, b, out)  # query x key: two time axes
    reads, time_dim = kept
    if bias is not None and call.tracked(bias) is not None:
        info = call.required(bias)
        if info.time_dim is None:
            reads.append(timeless_read(info))
        else:
            return call.refuse("a bias that varies in time")
    length = out.shape[time_dim] if time_dim is not None else 1
    return [Output(time_dim, length, reads)]


@register_rule("_euclidean_dist", "_cdist_forward")
def pairwise_distance(call: Call) -> list[Output]:
    """cdist's kernels: out[..., p, r] = ||x1[..., p, :] - x2[..., r, :]||, so row p of the
    first operand and row r of the second, each read along its whole last (feature) axis: a
    vector quantizer's distances to its codebook. Time along the rows is kept (the first's as
    the output's rows, the second's as its columns); time along the features is read whole."""
    out = call.outputs[0]
    first, second = call.args[0], call.args[1]
    # Both contract their last (feature) axis; rows keep as the output's rows, then columns.
    kept = _operand_reads(call, ((first, first.dim() - 1, out.dim() - 2), (second, second.dim() - 1, out.dim() - 1)))
    if kept is None:
        return call.refuse("distances between two operands that both vary in time")
    reads, time_dim = kept
    length = out.shape[time_dim] if time_dim is not None else 1
    return [Output(time_dim, length, reads)]


def _operand_reads(
    call: Call, operands: tuple[tuple[torch.Tensor, int, int], ...]
) -> Optional[tuple[list[Read], Optional[int]]]:
    """Reads of a product-like op: each (tensor, contracted dim, output dim of its kept row
    axis). Time along a contracted axis is read whole; along a batch dim it stays there; along
    the kept axis it becomes that output dim. None: two operands put time on different output
    dims (a tensor with two time axes)."""
    reads: list[Read] = []
    time_dim: Optional[int] = None
    for tensor, contracted, kept_dim in operands:
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            reads.append(timeless_read(info))
            continue
        if info.time_dim == contracted:
            reads.append((info.node, Everything(info.length, f"{call.name} contracting the time axis")))
            continue
        candidate = info.time_dim if info.time_dim < tensor.dim() - 2 else kept_dim  # a batch dim stays
        if time_dim is not None and candidate != time_dim:
            return None
        time_dim = candidate
        reads.append((info.node, Same(info.length)))
    return reads, time_dim


def _allowed_keys(mask: torch.Tensor, queries: int, keys: int, true_means_allowed: bool) -> np.ndarray:
    """(queries, keys) bool: may some head of some batch row attend from query to key."""
    if mask.dtype == torch.bool:
        allowed = mask if true_means_allowed else ~mask
    else:  # an additive mask excludes with -inf, or with the dtype's lowest value (exp underflows to 0)
        allowed = torch.isfinite(mask) & ~excluding(mask)
    allowed = allowed.expand(*allowed.shape[:-2], queries, keys).reshape(-1, queries, keys).any(dim=0)
    return allowed.cpu().numpy()


def _attention_outputs(
    call: Call,
    keyed: list[tuple[torch.Tensor, int]],
    query: tuple[torch.Tensor, int],
    key_reader: Optional[Reader],
    out_time_dim: int,
) -> list[Output]:
    reads: list[Read] = []
    for role, (tensor, expected_dim) in [("query", query)] + [("key", pair) for pair in keyed]:
        info = call.tracked(tensor)
        if info is None:
            continue
        if info.time_dim is None:
            reads.append(timeless_read(info))
            continue
        if info.time_dim != expected_dim:
            return call.refuse(f"attention over dim {expected_dim}, but the time axis is dim {info.time_dim}")
        reads.append((info.node, Same(info.length) if role == "query" else cast(Reader, key_reader)))
    out = call.outputs[0]
    outputs = [Output(out_time_dim, out.shape[out_time_dim], reads)]
    outputs += [
        Output(None, 1, [], refusal=f"{call.name}: attention weights have two time axes (queries x keys)")
        for _ in call.outputs[1:]
    ]
    return outputs


def _attention_within_time_steps(call: Call, operands: list[torch.Tensor], mask: Any) -> Optional[list[Output]]:
    """Attention whose time axis is a batch axis of the attention (each window of frames
    attends within itself, as after splitting time into (windows, frames)): output position
    t reads position t of query, key and value, and nothing across positions. None when
    the time axis is not a batch axis of every operand that has one."""
    timed = [
        (tensor, info)
        for tensor, info in ((t, call.tracked(t)) for t in operands)
        if info is not None and info.time_dim is not None
    ]
    time_dims = [(tensor, int(info.time_dim)) for tensor, info in timed if info.time_dim is not None]
    if not time_dims or any(dim >= tensor.dim() - 2 for tensor, dim in time_dims):
        return None
    from_end = {tensor.dim() - dim for tensor, dim in time_dims}
    if len(from_end) != 1:
        return call.refuse("the time axes of query, key and value do not line up")
    if mask is not None and call.tracked(mask) is not None:
        return call.refuse("an attention mask that depends on the input")
    out = call.outputs[0]
    time_dim = out.dim() - from_end.pop()
    length = out.shape[time_dim]
    reads = [
        timeless_read(info)
        if info.time_dim is None
        else (info.node, Same(info.length) if info.length == length else Broadcast())
        for info in (call.tracked(t) for t in operands)
        if info is not None
    ]
    return [Output(time_dim, length, reads)]


def _bias_reads(call: Call, mask: torch.Tensor, queries: int) -> tuple[Optional[str], list]:
    """An additive float mask computed from the input (a relative-position bias, as
    wav2vec2-BERT's): (why it is refused, or None; its reads). A finite bias excludes no
    key: every key weighs in the softmax, so the keys are read as without a mask; the
    bias itself is read at the query's position (or wholly, along the keys)."""
    info = call.required(mask)
    import torch.utils._python_dispatch as dispatch  # the recorder must not see this check run

    with dispatch._disable_current_modes():
        finite = mask.dtype != torch.bool and bool(torch.isfinite(mask).all())
    if not finite:
        return "an attention mask that depends on the input and excludes keys", []
    if info.time_dim is None:
        return None, [timeless_read(info)]
    if info.time_dim == mask.dim() - 2 and info.length in (1, queries):
        return None, [(info.node, Same(info.length) if info.length == queries else Broadcast())]
    if info.time_dim == mask.dim() - 1:
        return None, [(info.node, Everything(info.length, "attention bias along the keys"))]
    return f"an attention bias whose time axis is dim {info.time_dim}", []


@register_rule("scaled_dot_product_attention", high_level=F.scaled_dot_product_attention)
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
    bias_reads: list[Read] = []
    if mask is not None and call.tracked(mask) is not None:
        refusal, bias_reads = _bias_reads(call, mask, query.shape[-2])
        if refusal:
            return call.refuse(refusal)
        reader: Reader = Everything(keys, "attention with a finite bias computed from the input")
    elif mask is not None:
        reader = AttentionMask(_allowed_keys(mask, query.shape[-2], keys, true_means_allowed=True))
    elif causal:
        reader = Recurrence(keys, "causal attention (is_causal=True)")
    else:
        reader = Everything(keys, "attention without a mask")
    outputs = _attention_outputs(
        call,
        [(key, key.dim() - 2), (value, value.dim() - 2)],
        (query, query.dim() - 2),
        reader,
        call.outputs[0].dim() - 2,
    )
    if bias_reads and not outputs[0].refusal:
        outputs[0].reads.extend(bias_reads)
    return outputs


@register_rule("multi_head_attention_forward", high_level=F.multi_head_attention_forward)
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
    reader: Reader = (
        AttentionMask(allowed)
        if (mask is not None or padding_mask is not None)
        else Everything(keys, "attention without a mask")
    )
    return _attention_outputs(call, [(key, 0), (value, 0)], (query, 0), reader, 0)
