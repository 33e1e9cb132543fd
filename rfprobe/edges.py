"""Analytic edge supports: exactly which input samples each output frame reads for an input of
a given length, padding included.

`StreamableConv1d` pads every conv's input (see :mod:`rfprobe.padding`), plus extra zeros or
mirror on the right so the last window is full. With `pad_mode: constant` a frame near an
edge reads zeros: its support is clipped. With `reflect` (the published EnCodec checkpoints)
or `replicate`, it reads mirrored or repeated samples: its support gains samples, and in a
causal encoder an edge frame can then depend on *future* samples. This module propagates a
frame's support backwards through the encoder's layers, position sets as interval lists,
reproducing audiocraft's `pad1d` exactly (including its zero extension of very short inputs
before a reflection). Pure Python; no torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .formula import ConvSpec, LayerSpec, RecurrentSpec, ResidualSpec
from .padding import streamable_padding
from .core.intervals import merge_intervals

Intervals = tuple[tuple[int, int], ...]


def output_length(length: int, stride: int) -> int:
    """A `StreamableConv1d`'s output length: its extra padding makes it ceil(length / stride)."""
    return math.ceil(length / stride)


def frame_count(layers: Sequence[LayerSpec], length: int) -> int:
    for layer in layers:
        if isinstance(layer, ConvSpec):
            length = output_length(length, layer.stride)
    return length


@dataclass(frozen=True)
class _Reads:
    """What one conv's padded positions read, for an input of `length`."""

    spec: ConvSpec
    length: int
    pad_mode: str

    def geometry(self) -> tuple[int, int, int]:
        """(effective kernel, left padding, total right padding incl. the extra)."""
        effective = (self.spec.kernel - 1) * self.spec.dilation + 1
        pad_left, pad_right = streamable_padding(effective, self.spec.stride, self.spec.causal)
        frames = output_length(self.length, self.spec.stride)
        extra = (frames - 1) * self.spec.stride + effective - (pad_left + pad_right) - self.length
        return effective, pad_left, pad_right + extra

    def original(self, padded: Intervals) -> tuple[Intervals, bool, bool]:
        """Input indices read through padded positions; and whether left/right padding was read."""
        _, pad_left, pad_right = self.geometry()
        length = self.length
        # audiocraft's pad1d: a reflection wider than the input first appends zeros.
        zeros = max(pad_left, pad_right) - length + 1 if self.pad_mode == "reflect" and length <= max(pad_left, pad_right) else 0
        extended = length + zeros
        pieces: list[tuple[int, int]] = []
        touched_left = touched_right = False
        for low, high in padded:
            low, high = low - pad_left, high - pad_left  # indices into the unpadded input
            if low < 0:
                touched_left = True
                pieces += self._map_left(max(low, -pad_left), min(high, -1), extended)
            if high >= length:
                touched_right = True
                pieces += self._map_right(max(low, length), high, length, extended)
            if low < length and high >= 0:
                pieces.append((max(low, 0), min(high, length - 1)))
        return merge_intervals(piece for piece in pieces if piece[0] <= piece[1]), touched_left, touched_right

    def _map_left(self, low: int, high: int, extended: int) -> list[tuple[int, int]]:
        if self.pad_mode == "constant":
            return []
        if self.pad_mode == "replicate":
            return [(0, 0)]
        if self.pad_mode == "reflect":
            return [(-high, min(-low, self.length - 1))] if -high <= self.length - 1 else []
        return [(self.length + low, self.length + high)]  # circular

    def _map_right(self, low: int, high: int, length: int, extended: int) -> list[tuple[int, int]]:
        if self.pad_mode == "constant":
            return []
        if self.pad_mode == "replicate":
            return [(length - 1, length - 1)]
        if self.pad_mode == "reflect":
            pieces = []
            if low < extended:  # positions inside the zero extension read zeros
                low = extended
            if low <= high:
                first, last = 2 * (extended - 1) - high, 2 * (extended - 1) - low
                pieces.append((max(first, 0), min(last, length - 1)))
            return pieces
        return [(low - length, high - length)]  # circular


def _conv_back(spec: ConvSpec, positions: Intervals, length: int, pad_mode: str,
               touched: list[bool]) -> Intervals:
    reads = _Reads(spec, length, pad_mode)
    if spec.group_norm:  # GroupNorm over time: every output position reads every position
        positions = ((0, output_length(length, spec.stride) - 1),)
    padded = merge_intervals((low * spec.stride + j * spec.dilation, high * spec.stride + j * spec.dilation)
                             for j in range(spec.kernel) for low, high in positions)
    result, left, right = reads.original(padded)
    touched[0] |= left
    touched[1] |= right
    return result


@dataclass(frozen=True)
class FrameSupport:
    """Input samples one frame reads (intervals, inclusive), and whether it reads padding."""

    frame: int
    intervals: Intervals
    reads_left_padding: bool
    reads_right_padding: bool

    @property
    def first(self) -> int:
        return self.intervals[0][0]

    @property
    def last(self) -> int:
        return self.intervals[-1][1]


def frame_support(layers: Sequence[LayerSpec], length: int, frame: int, pad_mode: str) -> FrameSupport:
    """Exact input support of output `frame` for an input of `length` samples."""
    lengths = []  # input length of each top-level layer
    current = length
    for layer in layers:
        lengths.append(current)
        if isinstance(layer, ConvSpec):
            current = output_length(current, layer.stride)
    if not 0 <= frame < current:
        raise ValueError(f"frame {frame} outside 0..{current - 1}")
    positions: Intervals = ((frame, frame),)
    touched = [False, False]
    for layer, layer_length in zip(reversed(layers), reversed(lengths)):
        if isinstance(layer, ConvSpec):
            positions = _conv_back(layer, positions, layer_length, pad_mode, touched)
        elif isinstance(layer, ResidualSpec):
            branch = positions
            for spec in reversed(layer.branch):
                branch = _conv_back(spec, branch, layer_length, pad_mode, touched)
            skip = _conv_back(layer.shortcut, positions, layer_length, pad_mode, touched) if layer.shortcut else positions
            positions = merge_intervals(branch + skip)
        elif isinstance(layer, RecurrentSpec):
            last = positions[-1][1]
            positions = ((0, layer_length - 1),) if layer.bidirectional else ((0, last),)
    return FrameSupport(frame, positions, touched[0], touched[1])
