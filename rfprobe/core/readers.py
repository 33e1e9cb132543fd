"""Readers: which positions of an op's input one set of its output positions reads.

One reader per kind of time-axis arithmetic an operator can do; the operator table in
:mod:`rfprobe.core.rules` build them from what a traced op was called with. A reader
is told the output positions (intervals on the output's time axis) and answers with a
:class:`Reach` on one input's time axis. Pure Python and numpy; no torch.

>>> reach = Window(input_length=10, kernel=3, stride=1, dilation=1, pad_start=1).read(((0, 0),))
>>> reach.intervals, reach.padding_start, reach.padding_end, reach.open_start
(((0, 1),), True, False, False)
>>> Pad(input_length=4, pad_start=2, pad_end=0, mode="reflect").read(((0, 1),)).intervals
((1, 2),)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

import numpy as np

from rfprobe.core.intervals import (
    Intervals,
    clip_intervals,
    mask_intervals,
    merge_intervals,
)

ENUMERATION_LIMIT = 1 << 20  # positions a strided read may list one by one


class NotUnderstood(Exception):
    """An op on the time axis the core has no exact rule for; the message names it."""


class Reader(Protocol):
    """What every reader does: the input positions a set of output positions reads."""

    def read(self, positions: Any, /) -> "Reach":
        """The input positions that `positions` (intervals, or entries on two time axes) read, with flags."""


@dataclass(frozen=True)
class Reach:
    """Positions read on one axis, and how the read met the ends of the axes on its way.

    `padding_start` / `padding_end`: some position read lay outside an axis (a pad, or a
    window cut off by the axis' end). `edge_start` / `edge_end`: the read met an axis' end
    at all (padding, or the first / last position itself), so the set may be truncated
    there: a frame whose read met no edge is interior. `open_start` / `open_end`: the set
    reaches that end of the axis *whatever its length*, because an op on the path is a
    recurrence or global in time; `via` names those ops. `entries`: on a tensor with two
    time axes (eager attention's queries x keys), the (query, key) entries read, as a bool
    matrix; `intervals` is then empty.
    """

    intervals: Intervals
    padding_start: bool = False
    padding_end: bool = False
    open_start: bool = False
    open_end: bool = False
    via: tuple[str, ...] = ()
    edge_start: bool = False
    edge_end: bool = False
    entries: Optional[np.ndarray] = field(default=None, compare=False, repr=False)

    @property
    def empty(self) -> bool:
        """Nothing is read: no interval and no entry."""
        return not self.intervals and (self.entries is None or not self.entries.any())

    def _flags(self) -> tuple[bool, ...]:
        return (self.padding_start, self.padding_end, self.open_start, self.open_end, self.edge_start, self.edge_end)

    def _with(
        self, intervals: Intervals, flags: tuple[bool, ...], via: tuple[str, ...], entries: Optional[np.ndarray] = None
    ) -> "Reach":
        padding_start, padding_end, open_start, open_end, edge_start, edge_end = flags
        return Reach(
            intervals,
            padding_start,
            padding_end,
            open_start,
            open_end,
            via,
            edge_start or padding_start,
            edge_end or padding_end,
            entries,
        )

    def union(self, other: "Reach") -> "Reach":
        """Both reads together: positions and entries merged, each flag set where either has it."""
        flags = tuple(a or b for a, b in zip(self._flags(), other._flags()))
        entries = (
            self.entries
            if other.entries is None
            else other.entries
            if self.entries is None
            else self.entries | other.entries
        )
        return self._with(
            merge_intervals(self.intervals + other.intervals),
            flags,
            tuple(dict.fromkeys(self.via + other.via)),
            entries,
        )

    def carrying(self, earlier: "Reach") -> "Reach":
        """This reach, also flagged with what the path up to here already met."""
        flags = tuple(a or b for a, b in zip(self._flags(), earlier._flags()))
        return self._with(self.intervals, flags, tuple(dict.fromkeys(earlier.via + self.via)), self.entries)

    def meeting_ends(self, start: bool, end: bool) -> "Reach":
        """This reach, also flagged as meeting the axis' start (`start`) and / or end (`end`)."""
        return self._with(
            self.intervals, self._flags()[:4] + (self.edge_start or start, self.edge_end or end), self.via, self.entries
        )


def _strided(low: int, high: int, stride: int, offsets: tuple[int, ...]) -> Intervals:
    """{o * stride + c : low <= o <= high, c in offsets}, exactly, without listing long runs.

    When the offsets cover every residue modulo the stride, every position between
    `low * stride + max(offsets)` and `high * stride + min(offsets)` is read; only the
    two ends need listing.
    """
    smallest, largest = min(offsets), max(offsets)
    if len({c % stride for c in offsets}) == stride and (high - low) * stride > 2 * (largest - smallest):
        middle = (low * stride + largest, high * stride + smallest)
        span = -(-(largest - smallest) // stride)
        ends = [
            (o * stride + c, o * stride + c)
            for o in list(range(low, min(low + span, high) + 1)) + list(range(max(high - span, low), high + 1))
            for c in offsets
        ]
        return merge_intervals([middle] + ends)
    if (high - low + 1) * len(offsets) > ENUMERATION_LIMIT:
        raise NotUnderstood(f"a strided read with gaps over {high - low + 1} positions is too long to list")
    return merge_intervals((o * stride + c, o * stride + c) for o in range(low, high + 1) for c in offsets)


@dataclass(frozen=True)
class Same:
    """Position t reads position t: elementwise ops, layouts that keep the time axis."""

    input_length: int

    def read(self, positions: Intervals) -> Reach:
        """The same positions; those outside the input are dropped and flagged as padding."""
        kept, before, after = clip_intervals(positions, self.input_length)
        return Reach(kept, before, after)


@dataclass(frozen=True)
class Broadcast:
    """An input of time length 1 (or with no time axis) read by every output position."""

    def read(self, positions: Intervals) -> Reach:
        """Position 0, whatever positions are asked for."""
        return Reach(((0, 0),))


@dataclass(frozen=True)
class Window:
    """Output t reads `t * stride - pad_start + j * dilation`, j < kernel: convolution,
    pooling, unfolding, splitting time into patches. Positions outside the input are
    padding (zeros, or -inf for max pooling) and read nothing."""

    input_length: int
    kernel: int
    stride: int
    dilation: int
    pad_start: int

    def read(self, positions: Intervals) -> Reach:
        """The window taps of `positions`; taps outside the input read nothing and are flagged as padding."""
        offsets = tuple(j * self.dilation - self.pad_start for j in range(self.kernel))
        if self.stride == 1:  # each offset shifts the whole set: one merge instead of one per interval
            raw = merge_intervals((low + c, high + c) for low, high in positions for c in offsets)
        else:
            raw = merge_intervals(
                piece for low, high in positions for piece in _strided(low, high, self.stride, offsets)
            )
        kept, before, after = clip_intervals(raw, self.input_length)
        return Reach(kept, before, after)


@dataclass(frozen=True)
class TransposedWindow:
    """A transposed convolution: input i writes output `i * stride - padding + j * dilation`."""

    input_length: int
    kernel: int
    stride: int
    dilation: int
    padding: int

    def read(self, positions: Intervals) -> Reach:
        """The input positions that write `positions`; those outside the input are cut and flagged."""
        pieces = []
        for low, high in positions:
            for j in range(self.kernel):
                shift = self.padding - j * self.dilation
                pieces.append((-(-(low + shift) // self.stride), (high + shift) // self.stride))
        kept, before, after = clip_intervals(merge_intervals(pieces), self.input_length)
        return Reach(kept, before, after)


@dataclass(frozen=True)
class Pad:
    """Padding (negative: cropping) of the time axis in one of torch's four modes."""

    input_length: int
    pad_start: int
    pad_end: int
    mode: str  # constant | reflect | replicate | circular

    def read(self, positions: Intervals) -> Reach:
        """`positions` shifted by the pad; pad positions read what the mode copies (constant: nothing)."""
        n = self.input_length
        shifted = tuple((low - self.pad_start, high - self.pad_start) for low, high in positions)
        inside, before, after = clip_intervals(shifted, n)
        pieces = list(inside)
        for low, high in shifted:
            if low < 0:  # the part before the input
                a, b = low, min(high, -1)
                pieces += {"constant": [], "replicate": [(0, 0)], "reflect": [(-b, -a)], "circular": [(a + n, b + n)]}[
                    self.mode
                ]
            if high > n - 1:  # the part after it
                a, b = max(low, n), high
                pieces += {
                    "constant": [],
                    "replicate": [(n - 1, n - 1)],
                    "reflect": [(2 * (n - 1) - b, 2 * (n - 1) - a)],
                    "circular": [(a - n, b - n)],
                }[self.mode]
        return Reach(merge_intervals(pieces), before, after)


@dataclass(frozen=True)
class Shift:
    """Output t reads `start + t * step`: slicing, narrowing, one input of a concatenation."""

    input_length: int
    start: int
    step: int = 1

    def read(self, positions: Intervals) -> Reach:
        """Input positions `start + t * step`; those outside the input (another input of a cat) dropped."""
        if self.step == 1:
            raw = tuple((low + self.start, high + self.start) for low, high in positions)
        else:
            raw = merge_intervals(
                piece for low, high in positions for piece in _strided(low, high, self.step, (self.start,))
            )
        kept, _, _ = clip_intervals(raw, self.input_length)  # outside: another input of a cat
        return Reach(kept)


@dataclass(frozen=True)
class Reverse:
    """Output t reads `length - 1 - t` (flip along time)."""

    input_length: int

    def read(self, positions: Intervals) -> Reach:
        """The mirrored positions `length - 1 - t`."""
        last = self.input_length - 1
        return Reach(merge_intervals((last - high, last - low) for low, high in positions))


@dataclass(frozen=True)
class Merge:
    """Time merged with an inner axis of `factor`: output t reads input `t // factor`."""

    input_length: int
    factor: int

    def read(self, positions: Intervals) -> Reach:
        """Input positions `t // factor`."""
        return Reach(merge_intervals((low // self.factor, high // self.factor) for low, high in positions))


@dataclass(frozen=True)
class Select:
    """An output without a time axis that reads one input position (e.g. `x[..., t]`)."""

    position: int

    def read(self, positions: Intervals) -> Reach:
        """The one selected input position, whatever positions are asked for."""
        return Reach(((self.position, self.position),))


@dataclass(frozen=True)
class Gather:
    """Output t reads `sources[k][t]` for every k (-1: nothing): nearest and linear
    interpolation, index_select. Read off the op itself run on positions as values."""

    input_length: int
    sources: tuple[np.ndarray, ...] = field(compare=False)

    def read(self, positions: Intervals) -> Reach:
        """Every input position the sources pick for `positions` (-1 picks nothing), as intervals."""
        picked = [source[low : high + 1] for source in self.sources for low, high in positions]
        values = np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)
        values = values[values >= 0]
        if values.size == 0:
            return Reach(())
        mask = np.zeros(int(values[-1]) - int(values[0]) + 1, dtype=bool)
        mask[values - values[0]] = True
        return Reach(tuple((low + int(values[0]), high + int(values[0])) for low, high in mask_intervals(mask)))


@dataclass(frozen=True)
class Recurrence:
    """A recurrence along time (LSTM, GRU, RNN, cumulative sum): output t reads every
    input position up to t; both directions read everything. Open: the read reaches the
    axis start however long the input."""

    input_length: int
    op: str
    bidirectional: bool = False

    def read(self, positions: Intervals) -> Reach:
        """All positions up to the last asked, open at the start (bidirectional: all, open at both ends)."""
        if self.bidirectional:
            return Reach(((0, self.input_length - 1),), open_start=True, open_end=True, via=(self.op,))
        return Reach(((0, positions[-1][1]),), open_start=True, via=(self.op,))


@dataclass(frozen=True)
class Everything:
    """Global in time: a reduction or norm over time, attention without a mask, an FFT."""

    input_length: int
    op: str

    def read(self, positions: Intervals) -> Reach:
        """The whole input, open at both ends: the op is global in time."""
        return Reach(((0, self.input_length - 1),), open_start=True, open_end=True, via=(self.op,))


@dataclass(frozen=True)
class AttentionMask:
    """Query t reads the keys its concrete mask allows: `allowed[t]` (queries x keys)."""

    allowed: np.ndarray = field(compare=False)

    def read(self, positions: Intervals) -> Reach:
        """The keys the mask allows some asked query to read."""
        rows = np.zeros(self.allowed.shape[1], dtype=bool)
        for low, high in positions:
            rows |= self.allowed[low : high + 1].any(axis=0)
        return Reach(mask_intervals(rows))


def _rows(positions: Intervals, count: int) -> np.ndarray:
    rows = np.zeros(count, dtype=bool)
    for low, high in positions:
        rows[max(low, 0) : high + 1] = True
    return rows


@dataclass(frozen=True)
class PairRows:
    """Entry (q, k) of a product with two time axes (eager attention's `query @ key^T`)
    reads position q of its first operand."""

    def read(self, entries: np.ndarray) -> Reach:
        """The positions q of the first operand that the asked entries (q, k) read."""
        return Reach(mask_intervals(np.asarray(entries.any(axis=1))))


@dataclass(frozen=True)
class PairColumns:
    """Entry (q, k) of such a product reads position k of its second operand."""

    def read(self, entries: np.ndarray) -> Reach:
        """The positions k of the second operand that the asked entries (q, k) read."""
        return Reach(mask_intervals(np.asarray(entries.any(axis=0))))


@dataclass(frozen=True)
class PairSame:
    """Entry (q, k) reads entry (q, k): elementwise ops and layouts on two time axes.
    `constant`: entries the op overwrites with a constant (a masked fill), which read nothing."""

    constant: Optional[np.ndarray] = field(default=None, compare=False)

    def read(self, entries: np.ndarray) -> Reach:
        """The asked entries themselves, less those the op overwrites with a constant."""
        return Reach((), entries=entries if self.constant is None else entries & ~self.constant)


@dataclass(frozen=True)
class PairSoftmax:
    """Softmax over the key axis. `excluded[q, k]`: the input entry is a constant mask value
    so negative that `exp` of it minus the row's maximum is exactly 0 (-inf, or at most half
    the dtype's lowest value while the scores are finite); such an output entry is exactly 0
    and reads nothing, and no entry of row q reads it. A row excluded everywhere is uniform
    over all its keys and reads them all. With nothing excluded the read is global, like
    :class:`Everything`."""

    excluded: np.ndarray = field(compare=False)
    op = "softmax over every key (attention without a mask)"  # what opens both sides when nothing is excluded

    @functools.cached_property
    def unmasked(self) -> bool:
        """Nothing excluded: every query reads every key, however long the input."""
        return not self.excluded.any()

    @functools.cached_property
    def _kept(self) -> np.ndarray:
        return ~self.excluded

    def read(self, entries: np.ndarray) -> Reach:
        """Rows with an asked entry not excluded read all their entries not excluded (global if unmasked)."""
        rows = (entries & self._kept).any(axis=1)
        if self.unmasked:
            return Reach((), open_start=True, open_end=True, via=(self.op,), entries=rows[:, None] & self._kept)
        return Reach((), entries=rows[:, None] & self._kept)


@dataclass(frozen=True)
class PairContract:
    """`weights @ values`, contracting the key axis: output q reads entries (q, k) of the
    weights, for the keys k where `nonzero[q, k]` (elsewhere the weight is exactly 0)."""

    nonzero: np.ndarray = field(compare=False)

    def read(self, positions: Intervals) -> Reach:
        """The weights' entries (q, k) of the asked outputs q, where the weight is not exactly 0."""
        return Reach((), entries=_rows(positions, self.nonzero.shape[0])[:, None] & self.nonzero)
