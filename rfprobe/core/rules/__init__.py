"""The operator rules, one concern a file; importing this package registers them all.

* :mod:`~rfprobe.core.rules.elementwise` — position for position (the default for ops torch
  tags pointwise).
* :mod:`~rfprobe.core.rules.layout` — views, transposes, slices, splits, cat, stack, flips,
  gathers.
* :mod:`~rfprobe.core.rules.windows` — convolutions, pooling, the four pad modes, unfold,
  interpolation.
* :mod:`~rfprobe.core.rules.global_ops` — reductions, softmax and cumulative ops, norms over
  time, FFTs.
* :mod:`~rfprobe.core.rules.attention` — matrix products, SDPA, multi-head attention; and
  :mod:`~rfprobe.core.rules.attention_pairs`, tensors with two time axes (eager attention).
* :mod:`~rfprobe.core.rules.recurrence` — LSTM, GRU and plain RNNs.

Below, the ops that need no reader: those whose output depends on the input's shape only,
and those that read input values into Python (the trace refuses a model that does).
"""

from rfprobe.core.registry import SHAPE_ONLY, VALUE_TO_PYTHON, register_kind
from rfprobe.core.rules import (
    attention,
    attention_pairs,
    elementwise,
    global_ops,
    layout,
    recurrence,
    windows,
)

__all__ = ["attention", "attention_pairs", "elementwise", "global_ops", "layout", "recurrence", "windows"]

register_kind(
    SHAPE_ONLY,
    "empty_like",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "randint_like",
    "new_zeros",
    "new_ones",
    "new_empty",
    "new_full",
    "new_empty_strided",
    "scalar_tensor",
    "empty_strided",
    "sym_size",
    "sym_numel",
    "sym_stride",
    "_shape_as_tensor",
)
register_kind(
    VALUE_TO_PYTHON,
    "_local_scalar_dense",
    "equal",
    "is_nonzero",
    "allclose",
    "nonzero",
    "masked_select",
    "unique",
    "_unique2",
)
