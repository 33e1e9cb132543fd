"""Plain results shared by every method: sides, receptive fields, layer rows.

All positions are in input samples. A frame's *anchor* is `frame_index * hop_samples`;
its left extent is how many samples before the anchor it depends on, its right extent
how many after. RF = left + 1 + right. A side made unbounded by a non-local layer (an
LSTM's past, a norm over time) has no finite extent; we never report a number for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional


@dataclass(frozen=True)
class Side:
    """One side of a receptive field.

    `samples` is the exact extent when bounded. When `unbounded`, `samples` is only the
    part contributed by local layers (analytic) or what the input length allowed us to see
    (measured); comparisons ignore it. `at_least`: the side reached the end of every input
    tried and nothing proved it unbounded, so `samples` is only a lower bound: it never
    agrees with anything, and a verdict with such a side does not PASS.
    """

    samples: int
    unbounded: bool = False
    at_least: bool = False

    def agrees_with(self, other: "Side") -> bool:
        """Equal extents, or both unbounded; a lower bound only (`at_least`) never agrees."""
        if self.at_least or other.at_least:
            return False
        if self.unbounded or other.unbounded:
            return self.unbounded and other.unbounded
        return self.samples == other.samples

    def __str__(self) -> str:
        if self.at_least:
            return f"at least {self.samples} (not proven unbounded)"
        return "unbounded" if self.unbounded else str(self.samples)

    def to_json(self) -> Optional[int]:
        """The extent in samples for JSON; None when the side is unbounded."""
        return None if self.unbounded else self.samples


@dataclass(frozen=True)
class ReceptiveField:
    """Which input samples one output frame depends on, relative to its anchor.

    `holes` are the maximal runs of samples inside [-left, +right] the frame does NOT
    depend on, as inclusive (first, last) offsets from the anchor.
    """

    left: Side
    right: Side
    hop_samples: int
    holes: tuple[tuple[int, int], ...] = ()
    global_in_time: bool = False  # every output depends on the whole input (e.g. GroupNorm over time)

    @property
    def bounded(self) -> bool:
        """Neither side is unbounded (so `samples` is a number)."""
        return not (self.left.unbounded or self.right.unbounded)

    @property
    def lower_bound_only(self) -> bool:
        """A side is "at least" what was seen: the field is not a complete answer."""
        return self.left.at_least or self.right.at_least

    @property
    def samples(self) -> Optional[int]:
        """RF width in samples, or None when a side is unbounded."""
        if not self.bounded:
            return None
        return self.left.samples + 1 + self.right.samples

    def describe_samples(self) -> str:
        """The width in samples as text, "global", or which sides are unbounded ("unbounded past")."""
        if self.global_in_time:
            return "global"
        if not self.bounded:
            return "unbounded " + (
                "past"
                if self.left.unbounded and not self.right.unbounded
                else "future"
                if not self.left.unbounded
                else "past and future"
            )
        return str(self.samples)


@dataclass(frozen=True)
class ConvLayer:
    """A convolution along time, as any method or claim names it: kernel, stride and dilation
    in the steps of its own input. The formula's layers, a claimed layer table's rows and the
    per-layer tables (:class:`LayerRow`) all describe convs with this record."""

    name: str
    kernel: int
    stride: int = 1
    dilation: int = 1

    @property
    def effective_kernel(self) -> int:
        """Input steps one output spans: (kernel - 1) x dilation + 1."""
        return (self.kernel - 1) * self.dilation + 1


@dataclass(frozen=True)
class LayerRow:
    """One layer as a method sees it, with the running totals after it.

    Kernel, stride and dilation are those of the conv itself; pad_left/pad_right are the
    paddings actually applied before it, in that layer's own input steps. `rf_increment`
    is (effective kernel - 1) * jump_in: the samples this layer adds to the RF.
    `cumulative_rf` is the RF of this layer's output positions so far (local part).
    """

    name: str
    kind: str  # conv | lstm | global | pointwise | add
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    pad_left: int = 0
    pad_right: int = 0
    jump_in: int = 1
    rf_increment: int = 0
    cumulative_rf: int = 1
    jump_out: int = 1
    note: str = ""

    @property
    def conv(self) -> ConvLayer:
        """The conv this row describes (kind "conv")."""
        return ConvLayer(self.name, self.kernel, self.stride, self.dilation)


@dataclass
class MethodResult:
    """What one method found; `receptive_field` is None when the method could not run."""

    method: str
    receptive_field: Optional[ReceptiveField]
    layers: list[LayerRow] = field(default_factory=list)
    unavailable_reason: str = ""
    evidence: dict = field(default_factory=dict)

    @property
    def ran(self) -> bool:
        """Whether the method ran (it found a receptive field)."""
        return self.receptive_field is not None


def samples_to_ms(samples: float, sample_rate: int) -> float:
    """Samples at `sample_rate` Hz, in milliseconds."""
    return 1000.0 * samples / sample_rate


def round_half_up(value: float, decimals: int) -> Decimal:
    """Round as people do by hand (169.625 -> 169.63), not half-to-even."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_ms(samples: int, sample_rate: int) -> str:
    """Milliseconds to two decimals, rounded half up (as people round by hand)."""
    return str(round_half_up(samples_to_ms(samples, sample_rate), 2))
