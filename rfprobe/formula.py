"""Analytic receptive field from the config alone: pure arithmetic, no torch.

This mirrors what `SEANetEncoder.__init__` builds, which the hand analysis in the seed
gets wrong in four ways:

* the ratios are applied in *reverse* order (`self.ratios = list(reversed(ratios))`);
* each downsampling conv has kernel `2 * ratio` and stride `ratio` (not `kernel_size`);
* a residual block is one conv of `residual_kernel_size` with dilation
  `dilation_base ** j`, then a kernel-1 conv, added to an identity (or kernel-1) skip;
* `lstm > 0` puts a unidirectional LSTM before the last conv: the past becomes unbounded.

`StreamableConv1d` pads inside its forward: with effective kernel K = (k - 1) * d + 1 and
stride s it pads K - s in total; all on the left when causal, otherwise
`(K - s) - (K - s) // 2` on the left and `(K - s) // 2` on the right. A layer with
jump J (product of the strides before it) then adds `pad_left * J` samples to the left
extent and `(K - 1 - pad_left) * J` to the right one.
"""
from __future__ import annotations

from dataclasses import replace

from .config import EncoderConfig
from .geometry import LayerRow, MethodResult, ReceptiveField, Side
from .padding import streamable_padding

METHOD = "formula"


class _Accumulator:
    """Running left/right extents and jump along the encoder's main path."""

    def __init__(self) -> None:
        self.left = 0
        self.right = 0
        self.jump = 1
        self.left_unbounded = False
        self.right_unbounded = False
        self.rows: list[LayerRow] = []

    def conv(self, name: str, kernel: int, stride: int, dilation: int, causal: bool,
             group_norm: bool = False, apply: bool = True) -> tuple[int, int]:
        """Record a conv row; return its (left, right) contribution in samples.

        `apply=False` records a row of a residual branch without moving the main path.
        """
        effective = (kernel - 1) * dilation + 1
        pad_left, pad_right = streamable_padding(effective, stride, causal)
        left_samples = pad_left * self.jump
        right_samples = (effective - 1 - pad_left) * self.jump
        jump_in = self.jump
        if apply:
            self.left += left_samples
            self.right += right_samples
            self.jump *= stride
        note = ""
        if group_norm:
            self.left_unbounded = self.right_unbounded = True
            note = "GroupNorm over time: global"
        self.rows.append(LayerRow(
            name=name, kind="global" if group_norm else "conv", kernel=kernel, stride=stride,
            dilation=dilation, pad_left=pad_left, pad_right=pad_right, jump_in=jump_in,
            rf_increment=(effective - 1) * jump_in, cumulative_rf=self.left + self.right + 1,
            jump_out=self.jump, note=note))
        return left_samples, right_samples


def formula_receptive_field(config: EncoderConfig) -> MethodResult:
    """The encoder's receptive field and layer table, from `config` alone."""
    acc = _Accumulator()
    ratios = list(reversed(config.ratios))
    n_blocks = len(ratios) + 2

    def norm_of(disabled: bool) -> bool:
        return config.norm == "time_group_norm" and not disabled

    index = 0
    acc.conv(f"model.{index}", config.kernel_size, 1, 1, config.causal,
             group_norm=norm_of(config.disable_norm_outer_blocks >= 1))
    for block, ratio in enumerate(ratios):
        block_group_norm = norm_of(config.disable_norm_outer_blocks >= block + 2)
        for residual in range(config.n_residual_layers):
            index += 1
            dilation = config.dilation_base ** residual
            branch_left, branch_right = acc.conv(
                f"model.{index}.block.1", config.residual_kernel_size, 1, dilation, config.causal,
                group_norm=block_group_norm, apply=False)
            acc.conv(f"model.{index}.block.3", 1, 1, 1, config.causal, group_norm=block_group_norm, apply=False)
            if not config.true_skip:
                acc.conv(f"model.{index}.shortcut", 1, 1, 1, config.causal, group_norm=block_group_norm, apply=False)
            # Branch and skip both contain the anchor (their extents are >= 0), so their
            # union is one interval: the wider of the two on each side; the skip's is 0.
            acc.left += branch_left
            acc.right += branch_right
            _refresh_branch_rows(acc, index)
        index += 2  # the activation, then the downsampling conv
        acc.conv(f"model.{index}", 2 * ratio, ratio, 1, config.causal, group_norm=block_group_norm)
    if config.lstm:
        index += 1
        acc.left_unbounded = True
        acc.rows.append(LayerRow(
            name=f"model.{index}", kind="lstm", jump_in=acc.jump, jump_out=acc.jump,
            cumulative_rf=acc.left + acc.right + 1,
            note=f"{config.lstm}-layer unidirectional LSTM: past unbounded"))
    index += 2
    acc.conv(f"model.{index}", config.last_kernel_size, 1, 1, config.causal,
             group_norm=norm_of(config.disable_norm_outer_blocks == n_blocks))
    receptive_field = ReceptiveField(
        left=Side(acc.left, acc.left_unbounded), right=Side(acc.right, acc.right_unbounded),
        hop_samples=acc.jump, global_in_time=acc.left_unbounded and acc.right_unbounded and config.norm == "time_group_norm")
    return MethodResult(method=METHOD, receptive_field=receptive_field, layers=acc.rows)


def _refresh_branch_rows(acc: _Accumulator, index: int) -> None:
    """After a residual block is applied, its rows show the block's cumulative RF."""
    prefix = f"model.{index}."
    acc.rows = [replace(row, cumulative_rf=acc.left + acc.right + 1) if row.name.startswith(prefix) else row
                for row in acc.rows]
