"""Sets of positions on one time axis, as sorted, disjoint, inclusive (first, last) intervals.

Python and numpy, no torch: every receptive-field rule in rfprobe is arithmetic on these.

>>> merge_intervals([(5, 7), (0, 2), (3, 3)])
((0, 3), (5, 7))
>>> holes_between(((0, 3), (5, 7)))
((4, 4),)
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

Intervals = tuple[tuple[int, int], ...]


# Above this many intervals, merging runs vectorised in numpy (a dilated stack's reach holds
# tens of thousands of single positions before its last layer joins them).
_VECTOR_MERGE_FROM = 256


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge overlapping or touching inclusive intervals; empty ones (first > last) vanish."""
    listed = [interval for interval in intervals if interval[0] <= interval[1]]
    if len(listed) >= _VECTOR_MERGE_FROM:
        return _merge_sorted_arrays(np.array(listed, dtype=np.int64))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(listed):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _merge_sorted_arrays(pairs: np.ndarray) -> Intervals:
    """merge_intervals on an (n, 2) array of non-empty intervals: sort by start, and start a new
    interval wherever a start lies past the running maximum end plus one."""
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    lows, highs = pairs[:, 0], pairs[:, 1]
    reach_so_far = np.maximum.accumulate(highs)
    starts = np.ones(len(lows), dtype=bool)
    starts[1:] = lows[1:] > reach_so_far[:-1] + 1
    first_of_group = np.flatnonzero(starts)
    last_of_group = np.append(first_of_group[1:] - 1, len(lows) - 1)
    return tuple(zip(lows[first_of_group].tolist(), reach_so_far[last_of_group].tolist()))


def clip_intervals(intervals: Intervals, length: int) -> tuple[Intervals, bool, bool]:
    """Keep the parts inside [0, length - 1]; also say whether anything lay before / after."""
    before = bool(intervals) and intervals[0][0] < 0
    after = bool(intervals) and intervals[-1][1] > length - 1
    if not (before or after):
        return intervals, False, False
    # Sorted and disjoint: only the intervals at the two ends can reach outside.
    first = next((i for i, (_, high) in enumerate(intervals) if high >= 0), len(intervals))
    end = len(intervals)
    while end > first and intervals[end - 1][0] > length - 1:
        end -= 1
    kept = list(intervals[first:end])
    if kept:
        kept[0] = (max(kept[0][0], 0), kept[0][1])
        kept[-1] = (kept[-1][0], min(kept[-1][1], length - 1))
    return tuple(kept), before, after


def mask_intervals(mask: "Sequence[bool] | np.ndarray") -> Intervals:
    """Maximal runs of True in a 1-D mask, as inclusive (first, last) intervals.

    >>> mask_intervals([False, True, True, False, True])
    ((1, 2), (4, 4))
    """
    flags = np.asarray(mask, dtype=bool).reshape(-1)
    if flags.size == 0:
        return ()
    steps = np.diff(flags.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1) - 1
    return tuple(zip(starts.tolist(), ends.tolist()))


def holes_between(intervals: Intervals) -> Intervals:
    """The gaps between consecutive merged intervals, as inclusive (first, last)."""
    return tuple((a[1] + 1, b[0] - 1) for a, b in zip(intervals, intervals[1:]))
