"""Interval arithmetic for the set of input samples a position depends on.

A :class:`Support` describes, for any position t of some intermediate tensor, the input
samples it reads as `t * jump + offset` for every offset in `intervals` (sorted, disjoint,
inclusive). Parallel branches combine as the union of their supports, so holes are kept,
not papered over. Pure Python; no torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort and merge overlapping or touching inclusive intervals."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def mask_intervals(mask: Sequence[bool]) -> tuple[tuple[int, int], ...]:
    """Maximal runs of True in a 1-D mask, as inclusive (first, last) intervals."""
    runs: list[tuple[int, int]] = []
    for index, value in enumerate(mask):
        if not value:
            continue
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return tuple(runs)


def holes_between(intervals: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The gaps between consecutive merged intervals, as inclusive (first, last)."""
    return tuple((a[1] + 1, b[0] - 1) for a, b in zip(intervals, intervals[1:]))


@dataclass(frozen=True)
class Support:
    jump: int
    intervals: tuple[tuple[int, int], ...]
    left_unbounded: bool = False
    right_unbounded: bool = False
    global_in_time: bool = False

    @classmethod
    def input(cls) -> "Support":
        """The input itself: sample t depends on sample t."""
        return cls(jump=1, intervals=((0, 0),))

    @property
    def left(self) -> int:
        return -self.intervals[0][0]

    @property
    def right(self) -> int:
        return self.intervals[-1][1]

    @property
    def span(self) -> int:
        return self.right + self.left + 1

    def through_conv(self, kernel: int, stride: int, dilation: int, pad_left: int) -> "Support":
        """Support after a conv whose output t reads its input at t*stride - pad_left + j*dilation."""
        shifted = ((offset * self.jump + low, offset * self.jump + high)
                   for offset in (j * dilation - pad_left for j in range(kernel))
                   for low, high in self.intervals)
        return Support(self.jump * stride, merge_intervals(shifted),
                       self.left_unbounded, self.right_unbounded, self.global_in_time)

    def union(self, other: "Support") -> "Support":
        if self.jump != other.jump:
            raise ValueError(f"cannot add tensors on different time grids (jumps {self.jump} and {other.jump})")
        return Support(self.jump, merge_intervals(self.intervals + other.intervals),
                       self.left_unbounded or other.left_unbounded,
                       self.right_unbounded or other.right_unbounded,
                       self.global_in_time or other.global_in_time)

    def unbounded(self, left: bool, right: bool, global_in_time: bool = False) -> "Support":
        return Support(self.jump, self.intervals, self.left_unbounded or left,
                       self.right_unbounded or right, self.global_in_time or global_in_time)
