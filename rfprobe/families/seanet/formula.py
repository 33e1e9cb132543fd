"""Analytic receptive field from the config alone: pure arithmetic, no torch.

Two steps, kept apart so that a wrong architecture can be fed to the same arithmetic:

* :func:`encoder_layers` describes what `SEANetEncoder.__init__` builds, which the hand
  analysis in the seed gets wrong in four ways: the ratios are applied in *reverse*
  order; each downsampling conv has kernel `2 * ratio` and stride `ratio` (not
  `kernel_size`); a residual block is one conv of `residual_kernel_size` with dilation
  `dilation_base ** j` then a kernel-1 conv, added to an identity (or kernel-1) skip;
  and `lstm > 0` puts a unidirectional LSTM before the last conv, unbounding the past.
* :func:`receptive_field_of` does the arithmetic. `StreamableConv1d` pads inside its
  forward (see :mod:`rfprobe.families.seanet.padding`); a conv with jump J (product of the strides before
  it), effective kernel K and left padding p adds `p * J` samples to the left extent and
  `(K - 1 - p) * J` to the right one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence, Union

from rfprobe.arithmetic.methods import FORMULA
from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.arithmetic.geometry import ConvLayer, LayerRow, MethodResult, ReceptiveField, Side
from rfprobe.families.seanet.padding import streamable_padding

METHOD = FORMULA


@dataclass(frozen=True)
class ConvSpec(ConvLayer):
    """A `StreamableConv1d`; `group_norm` when it is followed by GroupNorm over time."""

    causal: bool = False
    group_norm: bool = False


@dataclass(frozen=True)
class ResidualSpec:
    """`shortcut(x) + branch(x)`; `shortcut` None is the identity."""

    name: str
    branch: tuple[ConvSpec, ...]
    shortcut: Optional[ConvSpec] = None


@dataclass(frozen=True)
class RecurrentSpec:
    """An RNN along time: the past (and with `bidirectional` the future) becomes unbounded."""

    name: str
    num_layers: int
    bidirectional: bool = False


LayerSpec = Union[ConvSpec, ResidualSpec, RecurrentSpec]


def encoder_layers(config: EncoderConfig) -> list[LayerSpec]:
    """The layers `SEANetEncoder(**config)` executes, in order, named by module path."""
    causal = config.causal
    n_blocks = len(config.ratios) + 2

    def group_norm(disabled: bool) -> bool:
        return config.norm == "time_group_norm" and not disabled

    layers: list[LayerSpec] = [
        ConvSpec(
            "model.0", config.kernel_size, causal=causal, group_norm=group_norm(config.disable_norm_outer_blocks >= 1)
        )
    ]
    index = 0
    for block, ratio in enumerate(reversed(config.ratios)):
        norm = group_norm(config.disable_norm_outer_blocks >= block + 2)
        for residual in range(config.n_residual_layers):
            index += 1
            name = f"model.{index}"
            branch = (
                ConvSpec(
                    f"{name}.block.1",
                    config.residual_kernel_size,
                    dilation=config.dilation_base**residual,
                    causal=causal,
                    group_norm=norm,
                ),
                ConvSpec(f"{name}.block.3", 1, causal=causal, group_norm=norm),
            )
            shortcut = None if config.true_skip else ConvSpec(f"{name}.shortcut", 1, causal=causal, group_norm=norm)
            layers.append(ResidualSpec(name, branch, shortcut))
        index += 2  # the activation, then the downsampling conv
        layers.append(ConvSpec(f"model.{index}", 2 * ratio, stride=ratio, causal=causal, group_norm=norm))
    if config.lstm:
        index += 1
        layers.append(RecurrentSpec(f"model.{index}", config.lstm))
    index += 2
    layers.append(
        ConvSpec(
            f"model.{index}",
            config.last_kernel_size,
            causal=causal,
            group_norm=group_norm(config.disable_norm_outer_blocks == n_blocks),
        )
    )
    return layers


@dataclass
class _Extent:
    left: int = 0
    right: int = 0
    jump: int = 1
    left_unbounded: bool = False
    right_unbounded: bool = False

    @property
    def width(self) -> int:
        return self.left + self.right + 1


def _conv(spec: ConvSpec, extent: _Extent, rows: list[LayerRow]) -> tuple[int, int]:
    """Apply a conv to `extent`; return the samples it added (left, right)."""
    effective = (spec.kernel - 1) * spec.dilation + 1
    pad_left, pad_right = streamable_padding(effective, spec.stride, spec.causal)
    added = (pad_left * extent.jump, (effective - 1 - pad_left) * extent.jump)
    jump_in = extent.jump
    extent.left += added[0]
    extent.right += added[1]
    extent.jump *= spec.stride
    if spec.group_norm:
        extent.left_unbounded = extent.right_unbounded = True
    rows.append(
        LayerRow(
            name=spec.name,
            kind="conv",
            kernel=spec.kernel,
            stride=spec.stride,
            dilation=spec.dilation,
            pad_left=pad_left,
            pad_right=pad_right,
            jump_in=jump_in,
            rf_increment=(effective - 1) * jump_in,
            cumulative_rf=extent.width,
            jump_out=extent.jump,
            note="followed by GroupNorm over time: global" if spec.group_norm else ("causal" if spec.causal else ""),
        )
    )
    return added


def receptive_field_of(layers: Sequence[LayerSpec]) -> MethodResult:
    """Receptive field and layer table of a layer list; pure arithmetic."""
    extent = _Extent()
    rows: list[LayerRow] = []
    group_norm = False
    for layer in layers:
        if isinstance(layer, ConvSpec):
            _conv(layer, extent, rows)
            group_norm |= layer.group_norm
        elif isinstance(layer, ResidualSpec):
            paths = [(layer.branch, []), ((layer.shortcut,) if layer.shortcut else (), [])]
            sides = []
            for path, path_rows in paths:
                branch = _Extent(jump=extent.jump)
                for spec in path:
                    _conv(spec, branch, path_rows)
                    group_norm |= spec.group_norm
                if branch.jump != extent.jump:
                    raise ValueError(f"{layer.name}: a residual branch may not change the time grid")
                sides.append(branch)
            # Both paths contain the anchor (their extents are >= 0), so their union is one
            # interval: the wider path on each side.
            extent.left += max(side.left for side in sides)
            extent.right += max(side.right for side in sides)
            extent.left_unbounded |= any(side.left_unbounded for side in sides)
            extent.right_unbounded |= any(side.right_unbounded for side in sides)
            for _, path_rows in paths:
                # A residual branch's rows show the RF after the whole block.
                rows += [replace(row, cumulative_rf=extent.width) for row in path_rows]
        else:
            extent.left_unbounded = True
            extent.right_unbounded |= layer.bidirectional
            rows.append(
                LayerRow(
                    name=layer.name,
                    kind="lstm",
                    jump_in=extent.jump,
                    jump_out=extent.jump,
                    cumulative_rf=extent.width,
                    note=f"{layer.num_layers}-layer {'bi' if layer.bidirectional else 'uni'}directional LSTM: "
                    f"past{' and future' if layer.bidirectional else ''} unbounded",
                )
            )
    receptive_field = ReceptiveField(
        left=Side(extent.left, extent.left_unbounded),
        right=Side(extent.right, extent.right_unbounded),
        hop_samples=extent.jump,
        global_in_time=group_norm,
    )
    return MethodResult(method=METHOD, receptive_field=receptive_field, layers=rows)


def formula_receptive_field(config: EncoderConfig) -> MethodResult:
    """The encoder's receptive field and layer table, from `config` alone."""
    return receptive_field_of(encoder_layers(config))
