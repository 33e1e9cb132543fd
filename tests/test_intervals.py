"""The interval arithmetic every reader rests on, checked against plain sets of positions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfprobe.core.intervals import _VECTOR_MERGE_FROM, clip_intervals, merge_intervals
from rfprobe.core.readers import Window

pytestmark = pytest.mark.fast

_pairs = st.lists(st.tuples(st.integers(-50, 400), st.integers(-50, 400)), max_size=3 * _VECTOR_MERGE_FROM)


def _positions(intervals) -> set[int]:
    return {t for low, high in intervals for t in range(low, high + 1)}


def _is_merged(intervals) -> bool:
    return all(a[1] + 1 < b[0] for a, b in zip(intervals, intervals[1:])) and all(lo <= hi for lo, hi in intervals)


@settings(max_examples=200, deadline=None)
@given(_pairs)
def test_merging_keeps_exactly_the_positions_and_leaves_no_touching_pair(pairs):
    """Both the short (Python) and the long (numpy) path: the same set, sorted, disjoint, not touching."""
    merged = merge_intervals(pairs)
    assert _positions(merged) == _positions(pairs)
    assert _is_merged(merged)


def test_the_vectorised_merge_equals_the_plain_one_on_many_single_positions():
    points = [(t, t) for t in range(0, 3 * _VECTOR_MERGE_FROM, 2)] + [(1, 1)]
    assert merge_intervals(points) == ((0, 2),) + tuple((t, t) for t in range(4, 3 * _VECTOR_MERGE_FROM, 2))


@settings(max_examples=200, deadline=None)
@given(_pairs, st.integers(1, 300))
def test_clipping_keeps_the_positions_inside_and_says_what_lay_outside(pairs, length):
    merged = merge_intervals(pairs)
    kept, before, after = clip_intervals(merged, length)
    positions = _positions(merged)
    assert _positions(kept) == {t for t in positions if 0 <= t < length}
    assert (before, after) == (any(t < 0 for t in positions), any(t >= length for t in positions))


@settings(max_examples=200, deadline=None)
@given(_pairs, st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(0, 6))
def test_a_window_reads_exactly_what_its_convolution_reads(pairs, kernel, stride, dilation, pad_start):
    """Output t reads t * stride - pad_start + j * dilation (stride 1 takes a shortcut: same answer)."""
    length = 200
    outputs = merge_intervals((max(lo, 0), min(hi, 80)) for lo, hi in pairs)
    reach = Window(length, kernel, stride, dilation, pad_start).read(outputs)
    read = {t * stride - pad_start + j * dilation for t in _positions(outputs) for j in range(kernel)}
    assert _positions(reach.intervals) == {t for t in read if 0 <= t < length}
    assert (reach.padding_start, reach.padding_end) == (any(t < 0 for t in read), any(t >= length for t in read))
