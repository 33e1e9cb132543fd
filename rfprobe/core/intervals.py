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


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> Intervals:
    """Sort and merge overlapping or touching inclusive intervals; empty ones (first > last) vanish."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(interval for interval in intervals if interval[0] <= interval[1]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def clip_intervals(intervals: Intervals, length: int) -> tuple[Intervals, bool, bool]:
    """Keep the parts inside [0, length - 1]; also say whether anything lay before / after."""
    before = bool(intervals) and intervals[0][0] < 0
    after = bool(intervals) and intervals[-1][1] > length - 1
    kept = tuple((max(low, 0), min(high, length - 1)) for low, high in intervals if high >= 0 and low <= length - 1)
    return kept, before, after


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
