"""Check hand-made claims against what the real module computes.

A mismatching claim is a finding, not an error: it is reported as MISMATCH with both
values (and, when the claim carries its layer table, every layer where that table
departs from the module). By default it does not change the exit code; `--strict-claims`
makes it exit 1, for regression tests that pin a number.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Sequence

from .config import ClaimedLayer, Claims
from .geometry import LayerRow, ReceptiveField, round_half_up, samples_to_ms


@dataclass(frozen=True)
class ClaimCheck:
    quantity: str
    claimed: str
    actual: str
    matches: bool

    @property
    def label(self) -> str:
        return "match" if self.matches else "MISMATCH"


@dataclass(frozen=True)
class ClaimsReport:
    source: str
    checks: tuple[ClaimCheck, ...]
    layer_departures: tuple[str, ...]
    claimed_table_receptive_field: Optional[int]  # what the claimed layer table itself implies

    @property
    def all_match(self) -> bool:
        return all(check.matches for check in self.checks) and not self.layer_departures


def chain_receptive_field(layers: Sequence[ClaimedLayer]) -> int:
    """RF of a plain chain of convs: 1 + sum((kernel - 1) * dilation * jump_before)."""
    receptive_field, jump = 1, 1
    for layer in layers:
        receptive_field += (layer.kernel - 1) * layer.dilation * jump
        jump *= layer.stride
    return receptive_field


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _number_matches(claimed: float, actual: float) -> bool:
    """A claim stated to k decimals matches the true value rounded (half up) to k decimals."""
    return round_half_up(actual, _decimals(claimed)) == Decimal(repr(claimed))


def _layer_departures(claimed: Sequence[ClaimedLayer], actual: Sequence[LayerRow]) -> list[str]:
    """Compare the claimed table with the module's layers, position by position."""
    convs = [row for row in actual if row.kind == "conv"]
    departures = []
    for index in range(max(len(claimed), len(convs))):
        if index >= len(convs):
            departures.append(f"claimed layer '{claimed[index].name}' has no counterpart: the module has only "
                              f"{len(convs)} convolutions")
            continue
        row = convs[index]
        if index >= len(claimed):
            departures.append(f"module layer {row.name} (kernel {row.kernel} stride {row.stride} dilation "
                              f"{row.dilation}) is missing from the claim")
            continue
        layer = claimed[index]
        wrong = [(what, mine, theirs) for what, mine, theirs in
                 (("kernel", layer.kernel, row.kernel), ("stride", layer.stride, row.stride),
                  ("dilation", layer.dilation, row.dilation)) if mine != theirs]
        if wrong:
            said = " ".join(f"{what} {mine}" for what, mine, _ in wrong)
            real = " ".join(f"{what} {theirs}" for what, _, theirs in wrong)
            departures.append(f"layer '{layer.name}': claimed {said}, module {row.name} has {real}")
    for row in actual:
        if row.kind in ("lstm", "global"):
            departures.append(f"module layer {row.name} ({row.note}) is missing from the claim")
    return departures


def check_claims(claims: Claims, truth: ReceptiveField, sample_rate: int,
                 module_layers: Sequence[LayerRow]) -> ClaimsReport:
    """Every stated figure of `claims` against `truth` (the verified receptive field)."""
    checks: list[ClaimCheck] = []
    samples = truth.samples
    rf_text = truth.describe_samples()

    def add(quantity: str, claimed: Optional[float], actual: Optional[float], actual_text: str = "") -> None:
        if claimed is None:
            return
        matches = actual is not None and (claimed == actual if isinstance(claimed, int) else _number_matches(claimed, actual))
        if not actual_text:
            actual_text = str(round_half_up(actual, 2)) if isinstance(actual, float) else str(actual)
        checks.append(ClaimCheck(quantity, f"{claimed:g}" if isinstance(claimed, float) else str(claimed),
                                 actual_text, matches))

    hop = truth.hop_samples
    add("receptive_field_samples", claims.receptive_field_samples, samples, rf_text if samples is None else "")
    add("receptive_field_ms", claims.receptive_field_ms,
        None if samples is None else samples_to_ms(samples, sample_rate), rf_text if samples is None else "")
    add("receptive_field_tokens", claims.receptive_field_tokens,
        None if samples is None else samples / hop, rf_text if samples is None else "")
    add("left_samples", claims.left_samples, truth.left.to_json(), str(truth.left))
    add("right_samples", claims.right_samples, truth.right.to_json(), str(truth.right))
    add("hop_samples", claims.hop_samples, hop)
    add("frame_rate_hz", claims.frame_rate_hz, sample_rate / hop)
    departures = _layer_departures(claims.layers, module_layers) if claims.layers else []
    implied = chain_receptive_field(claims.layers) if claims.layers else None
    return ClaimsReport(source=claims.source, checks=tuple(checks), layer_departures=tuple(departures),
                        claimed_table_receptive_field=implied)
