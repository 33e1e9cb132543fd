"""Check hand-made claims against what the real module computes.

A mismatching claim is a finding, not an error: it is reported as MISMATCH with both
values (and, when the claim carries its layer table, every layer where that table
departs from the module). By default it does not change the exit code; `--strict-claims`
makes it exit 1, for regression tests that pin a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Sequence, Union

from rfprobe.families.seanet.config import ClaimedLayer, Claims
from rfprobe.arithmetic.geometry import LayerRow, ReceptiveField, round_half_up, samples_to_ms


Number = Union[int, float]


@dataclass(frozen=True)
class ClaimCheck:
    """One stated figure against the module's. `actual` is None when the module's value is
    unbounded (then `actual_text` says so)."""

    quantity: str
    claimed: Number
    actual: Optional[Number]
    matches: bool
    actual_text: str

    @property
    def label(self) -> str:
        """The check in a word: match or MISMATCH."""
        return "match" if self.matches else "MISMATCH"

    @property
    def claimed_text(self) -> str:
        """The claimed figure as printed: a float in its shortest form (`:g`), an int as it is."""
        return f"{self.claimed:g}" if isinstance(self.claimed, float) else str(self.claimed)


@dataclass(frozen=True)
class LayerShape:
    """A convolution's kernel, stride and dilation, as a claimed layer table lists them."""

    kernel: int
    stride: int
    dilation: int


@dataclass(frozen=True)
class LayerDeparture:
    """Where a claimed layer table departs from the module, position by position.

    kind: `differs` (both have the layer, shapes differ), `missing_from_claim` (the module
    has a layer the claim leaves out), `missing_from_module` (the claim lists a layer the
    module does not have).
    """

    kind: str
    claimed_layer: Optional[str] = None
    module_layer: Optional[str] = None
    claimed: Optional[LayerShape] = None
    module: Optional[LayerShape] = None
    module_note: str = ""  # e.g. "2-layer unidirectional LSTM: past unbounded"
    module_convolutions: int = 0

    def __str__(self) -> str:
        if self.kind == "missing_from_module":
            return (
                f"claimed layer '{self.claimed_layer}' has no counterpart: the module has only "
                f"{self.module_convolutions} convolutions"
            )
        if self.kind == "missing_from_claim":
            detail = self.module_note or (
                f"kernel {self.module.kernel} stride {self.module.stride} dilation {self.module.dilation}"
            )
            return f"module layer {self.module_layer} ({detail}) is missing from the claim"
        wrong = [
            field
            for field in ("kernel", "stride", "dilation")
            if getattr(self.claimed, field) != getattr(self.module, field)
        ]
        said = " ".join(f"{field} {getattr(self.claimed, field)}" for field in wrong)
        real = " ".join(f"{field} {getattr(self.module, field)}" for field in wrong)
        return f"layer '{self.claimed_layer}': claimed {said}, module {self.module_layer} has {real}"


@dataclass(frozen=True)
class ClaimsReport:
    """A config's claims (a hand analysis) checked against the measured receptive field and layers."""

    source: str
    checks: tuple[ClaimCheck, ...]
    layer_departures: tuple[LayerDeparture, ...]
    claimed_table_receptive_field: Optional[int]  # what the claimed layer table itself implies
    errors: tuple[str, ...] = ()  # the departures grouped into plain-word errors

    @property
    def all_match(self) -> bool:
        """Every stated figure matches, and the claimed layer table departs from the module nowhere."""
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


def _layer_departures(claimed: Sequence[ClaimedLayer], actual: Sequence[LayerRow]) -> list[LayerDeparture]:
    """Compare the claimed table with the module's layers, position by position."""
    convs = [row for row in actual if row.kind == "conv"]
    departures = []
    for index in range(max(len(claimed), len(convs))):
        if index >= len(convs):
            departures.append(
                LayerDeparture(
                    "missing_from_module",
                    claimed_layer=claimed[index].name,
                    claimed=_shape(claimed[index]),
                    module_convolutions=len(convs),
                )
            )
            continue
        row = convs[index]
        if index >= len(claimed):
            departures.append(LayerDeparture("missing_from_claim", module_layer=row.name, module=_shape(row)))
            continue
        if _shape(claimed[index]) != _shape(row):
            departures.append(
                LayerDeparture(
                    "differs",
                    claimed_layer=claimed[index].name,
                    module_layer=row.name,
                    claimed=_shape(claimed[index]),
                    module=_shape(row),
                )
            )
    for name, (row, notes) in _non_local_layers(actual).items():
        departures.append(
            LayerDeparture("missing_from_claim", module_layer=name, module=_shape(row), module_note="; ".join(notes))
        )
    return departures


def _non_local_layers(actual: Sequence[LayerRow]) -> dict[str, tuple[LayerRow, list[str]]]:
    """LSTM / global layers by module name (one module may give several rows), with their notes."""
    layers: dict[str, tuple[LayerRow, list[str]]] = {}
    for row in actual:
        if row.kind in ("lstm", "global"):
            layers.setdefault(row.name, (row, []))[1].append(row.note or row.kind)
    return layers


def _shape(layer: Union[ClaimedLayer, LayerRow]) -> LayerShape:
    return LayerShape(layer.kernel, layer.stride, layer.dilation)


def explain_errors(claimed: Sequence[ClaimedLayer], actual: Sequence[LayerRow], unbounded: str = "") -> list[str]:
    """The departures of a claimed layer table, grouped into errors a person would name.

    Strided layers are compared as a sequence (a reversed ratio list is one error, not four
    wrong strides); stride-1 layers with the same wrong kernel are one error; each layer the
    claim leaves out (an LSTM) is one error.
    """
    convs = [row for row in actual if row.kind == "conv"]
    pairs = list(zip(claimed, convs))
    errors = []
    claimed_strides = [layer.stride for layer in claimed if layer.stride > 1]
    module_strides = [row.stride for row in convs if row.stride > 1]
    if claimed_strides != module_strides:
        if claimed_strides[::-1] == module_strides:
            errors.append(f"the ratios are reversed: the module downsamples by {module_strides}, not {claimed_strides}")
        else:
            errors.append(
                f"the strides differ: the module downsamples by {module_strides}, the claim by {claimed_strides}"
            )
    strided = [(layer, row) for layer, row in pairs if layer.stride > 1 or row.stride > 1]
    if any(layer.kernel != row.kernel for layer, row in strided):
        module_kernels = [row.kernel for _, row in strided]
        claimed_kernels = sorted({layer.kernel for layer, _ in strided})
        rule = " (2 x the stride)" if all(row.kernel == 2 * row.stride for _, row in strided) else ""
        errors.append(
            f"the downsampling convs have kernels {module_kernels}{rule}, not {' or '.join(map(str, claimed_kernels))}"
        )
    groups: dict[tuple[LayerShape, LayerShape], list[str]] = {}
    for layer, row in pairs:
        if layer.stride == 1 and row.stride == 1 and _shape(layer) != _shape(row):
            groups.setdefault((_shape(layer), _shape(row)), []).append(layer.name)
    for (said, real), names in groups.items():
        what = " and ".join(
            f"{field} {getattr(real, field)}, not {getattr(said, field)}"
            for field in ("kernel", "dilation")
            if getattr(said, field) != getattr(real, field)
        )
        others = f" and {len(names) - 1} more like it" if len(names) > 1 else ""
        errors.append(f"'{names[0]}'{others} {'have' if others else 'has'} {what}")
    if len(claimed) != len(convs):
        errors.append(f"the claim lists {len(claimed)} convolutions, the module has {len(convs)}")
    for name, (_, notes) in _non_local_layers(actual).items():
        effect = f", which makes the {unbounded} unbounded" if unbounded else ""
        errors.append(f"it leaves out {name} ({'; '.join(notes)}){effect}")
    return errors


def check_claims(
    claims: Claims, truth: ReceptiveField, sample_rate: int, module_layers: Sequence[LayerRow]
) -> ClaimsReport:
    """Every stated figure of `claims` against `truth` (the verified receptive field)."""
    checks: list[ClaimCheck] = []
    samples = truth.samples
    rf_text = truth.describe_samples()

    def add(quantity: str, claimed: Optional[float], actual: Optional[float], actual_text: str = "") -> None:
        if claimed is None:
            return
        matches = actual is not None and (
            claimed == actual if isinstance(claimed, int) else _number_matches(claimed, actual)
        )
        if not actual_text:
            actual_text = str(round_half_up(actual, 2)) if isinstance(actual, float) else str(actual)
        checks.append(ClaimCheck(quantity, claimed, actual, matches, actual_text))

    hop = truth.hop_samples
    add("receptive_field_samples", claims.receptive_field_samples, samples, rf_text if samples is None else "")
    add(
        "receptive_field_ms",
        claims.receptive_field_ms,
        None if samples is None else samples_to_ms(samples, sample_rate),
        rf_text if samples is None else "",
    )
    add(
        "receptive_field_tokens",
        claims.receptive_field_tokens,
        None if samples is None else samples / hop,
        rf_text if samples is None else "",
    )
    add("left_samples", claims.left_samples, truth.left.to_json(), str(truth.left))
    add("right_samples", claims.right_samples, truth.right.to_json(), str(truth.right))
    add("hop_samples", claims.hop_samples, hop)
    add("frame_rate_hz", claims.frame_rate_hz, sample_rate / hop)
    departures = _layer_departures(claims.layers, module_layers) if claims.layers else []
    implied = chain_receptive_field(claims.layers) if claims.layers else None
    sides = [side for side, open_ in (("past", truth.left.unbounded), ("future", truth.right.unbounded)) if open_]
    errors = explain_errors(claims.layers, module_layers, " and ".join(sides)) if claims.layers else []
    return ClaimsReport(
        source=claims.source,
        checks=tuple(checks),
        layer_departures=tuple(departures),
        claimed_table_receptive_field=implied,
        errors=tuple(errors),
    )
