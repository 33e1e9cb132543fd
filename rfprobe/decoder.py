"""The decoder: how many latent frames one output sample depends on, and how many output
samples one latent frame influences, analytic and measured.

`SEANetDecoder` applies the ratios in the given order (no reversal), each with a
`StreamableConvTranspose1d` of kernel 2r and stride r. A transposed conv makes a full
output of (L - 1) * s + k samples, y_full[u] = sum_i x[i] w[u - i s], then trims k - s
samples: `(k - s) // 2` on the right and the rest on the left when non-causal; when causal,
`ceil((k - s) * trim_right_ratio)` on the right and the rest on the left. So output sample t
reads inputs i with 0 <= t + left - i s <= k - 1, and input i reaches outputs
[i s - left, i s - left + k - 1].
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch

from .config import EncoderConfig
from .device import exact_zeros
from .formula import ConvSpec, RecurrentSpec, ResidualSpec
from .padding import streamable_padding


@dataclass(frozen=True)
class TransposedSpec:
    name: str
    kernel: int
    stride: int
    causal: bool
    trim_right_ratio: float = 1.0

    def trims(self) -> tuple[int, int]:
        total = self.kernel - self.stride
        right = math.ceil(total * self.trim_right_ratio) if self.causal else total // 2
        return total - right, right


DecoderSpec = Union[ConvSpec, ResidualSpec, RecurrentSpec, TransposedSpec]


def decoder_layers(config: EncoderConfig, trim_right_ratio: float = 1.0) -> list[DecoderSpec]:
    """The layers `SEANetDecoder(**config)` executes, in order, named by module path."""
    causal = config.causal
    layers: list[DecoderSpec] = [ConvSpec("model.0", config.kernel_size, causal=causal)]
    index = 0
    if config.lstm:
        index += 1
        layers.append(RecurrentSpec(f"model.{index}", config.lstm))
    for ratio in config.ratios:
        index += 2  # activation, then the transposed conv
        layers.append(TransposedSpec(f"model.{index}", 2 * ratio, ratio, causal, trim_right_ratio))
        for residual in range(config.n_residual_layers):
            index += 1
            name = f"model.{index}"
            branch = (ConvSpec(f"{name}.block.1", config.residual_kernel_size, dilation=config.dilation_base ** residual,
                               causal=causal), ConvSpec(f"{name}.block.3", 1, causal=causal))
            shortcut = None if config.true_skip else ConvSpec(f"{name}.shortcut", 1, causal=causal)
            layers.append(ResidualSpec(name, branch, shortcut))
    index += 2
    layers.append(ConvSpec(f"model.{index}", config.last_kernel_size, causal=causal))
    return layers


def _conv_reads(spec: ConvSpec, low: int, high: int) -> tuple[int, int]:
    effective = (spec.kernel - 1) * spec.dilation + 1
    pad_left, _ = streamable_padding(effective, spec.stride, spec.causal)
    return low * spec.stride - pad_left, high * spec.stride - pad_left + effective - 1


def _conv_reaches(spec: ConvSpec, low: int, high: int) -> tuple[int, int]:
    effective = (spec.kernel - 1) * spec.dilation + 1
    pad_left, _ = streamable_padding(effective, spec.stride, spec.causal)
    return low + pad_left - (effective - 1), high + pad_left  # stride 1 in the decoder


@dataclass(frozen=True)
class Span:
    """An interval with possibly unbounded ends."""

    low: int
    high: int
    low_unbounded: bool = False
    high_unbounded: bool = False

    @property
    def count(self) -> Optional[int]:
        return None if self.low_unbounded or self.high_unbounded else self.high - self.low + 1

    def agrees_with(self, other: Optional["Span"]) -> bool:
        """Equal ends; an unbounded end only has to be unbounded in both."""
        if other is None:
            return False
        return all((mine_unbounded and theirs_unbounded) or
                   (not mine_unbounded and not theirs_unbounded and mine == theirs)
                   for mine, theirs, mine_unbounded, theirs_unbounded in (
                       (self.low, other.low, self.low_unbounded, other.low_unbounded),
                       (self.high, other.high, self.high_unbounded, other.high_unbounded)))

    def describe(self, unit: str) -> str:
        low = "unbounded past" if self.low_unbounded else f"{self.low:+d}"
        high = "unbounded future" if self.high_unbounded else f"{self.high:+d}"
        return f"[{low} .. {high}] {unit}"


def latent_frames_read(layers: Sequence[DecoderSpec], sample: int) -> Span:
    """Latent frames output `sample` depends on (interior: no edge effects)."""
    low, high, unbounded = sample, sample, False
    for layer in reversed(layers):
        if isinstance(layer, ConvSpec):
            low, high = _conv_reads(layer, low, high)
        elif isinstance(layer, ResidualSpec):
            branch = (low, high)
            for spec in reversed(layer.branch):
                branch = _conv_reads(spec, *branch)
            low, high = min(low, branch[0]), max(high, branch[1])
        elif isinstance(layer, TransposedSpec):
            left, _ = layer.trims()
            low = -((-(low + left - layer.kernel + 1)) // layer.stride)  # ceil
            high = (high + left) // layer.stride
        else:
            unbounded = True
    return Span(low, high, low_unbounded=unbounded)


def output_samples_reached(layers: Sequence[DecoderSpec], frame: int) -> Span:
    """Output samples latent `frame` influences (interior)."""
    low, high, unbounded = frame, frame, False
    for layer in layers:
        if isinstance(layer, ConvSpec):
            low, high = _conv_reaches(layer, low, high)
        elif isinstance(layer, ResidualSpec):
            branch = (low, high)
            for spec in layer.branch:
                branch = _conv_reaches(spec, *branch)
            low, high = min(low, branch[0]), max(high, branch[1])
        elif isinstance(layer, TransposedSpec):
            left, _ = layer.trims()
            low, high = low * layer.stride - left, high * layer.stride - left + layer.kernel - 1
        else:
            unbounded = True
    return Span(low, high, high_unbounded=unbounded)


@dataclass(frozen=True)
class DecoderReport:
    hop_samples: int
    reads_by_phase: dict[int, Span]  # phase within the hop -> latent frames, relative to the sample's frame
    reach: Span  # output samples relative to the latent frame's anchor (frame x hop)
    measured_reads: dict[int, Span]
    measured_reach: Optional[Span]

    @property
    def agrees(self) -> bool:
        return all(self.reads_by_phase[p].agrees_with(span) for p, span in self.measured_reads.items()) \
            and self.reach.agrees_with(self.measured_reach)


def analytic_decoder(config: EncoderConfig, trim_right_ratio: float = 1.0) -> tuple[dict[int, Span], Span]:
    layers = decoder_layers(config, trim_right_ratio)
    hop = config.hop_samples
    anchor_frame = 10_000  # far from both ends: interior
    reads = {}
    for phase in range(hop):
        span = latent_frames_read(layers, anchor_frame * hop + phase)
        reads[phase] = Span(span.low - anchor_frame, span.high - anchor_frame, span.low_unbounded)
    reach = output_samples_reached(layers, anchor_frame)
    reach = Span(reach.low - anchor_frame * hop, reach.high - anchor_frame * hop, high_unbounded=reach.high_unbounded)
    return reads, reach


def build_decoder(config: EncoderConfig, trim_right_ratio: float = 1.0, seed: int = 0,
                  device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64) -> torch.nn.Module:
    import warnings

    from .audiocraft_source import load_audiocraft

    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        decoder = load_audiocraft().seanet.SEANetDecoder(**config.seanet_kwargs(), trim_right_ratio=trim_right_ratio)
    return decoder.to(device=device, dtype=dtype).eval()


def measure_decoder(config: EncoderConfig, phases: Sequence[int], trim_right_ratio: float = 1.0,
                    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64,
                    extent_frames: int = 8) -> tuple[dict[int, Span], Span]:
    """Gradient (output sample -> latent frames) and forward-mode AD (latent frame -> samples)."""
    from torch.func import jvp

    decoder = build_decoder(config, trim_right_ratio, device=device, dtype=dtype)
    hop = config.hop_samples
    frames = 2 * extent_frames + 3
    middle = frames // 2
    generator = torch.Generator().manual_seed(0)
    latent = torch.randn(len(phases), config.dimension, frames, generator=generator, dtype=torch.float64)
    latent = latent.to(device=device, dtype=dtype).requires_grad_(True)
    with exact_zeros():
        output = decoder(latent)
        rows = torch.arange(len(phases), device=output.device)
        picked = output[rows, :, torch.tensor([middle * hop + p for p in phases], device=output.device)]
        (gradient,) = torch.autograd.grad(picked.sum(), latent)
    reads = {}
    for row, phase in enumerate(phases):
        used = (gradient[row] != 0).any(dim=0).nonzero().flatten().tolist()
        reads[phase] = _span(used, middle)
    tangent = torch.zeros_like(latent[:1])
    tangent[0, :, middle] = torch.randn(config.dimension, generator=generator, dtype=torch.float64).to(tangent)
    with exact_zeros(), torch.no_grad():
        _, moved = jvp(decoder, (latent[:1].detach(),), (tangent,))
    reached = (moved[0] != 0).any(dim=0).nonzero().flatten().tolist()
    length = moved.shape[-1]
    # The window keeps a bounded support `extent_frames` clear of both ends, so reaching an
    # end of the input means the dependence runs on past it.
    reach = Span(reached[0] - middle * hop, reached[-1] - middle * hop, high_unbounded=reached[-1] == length - 1)
    return reads, reach


def _span(used: list[int], middle: int) -> Span:
    low, high = min(used), max(used)
    return Span(low - middle, high - middle, low_unbounded=low == 0)


def decoder_report(config: EncoderConfig, trim_right_ratio: float = 1.0, device: torch.device | str = "cpu",
                   dtype: torch.dtype = torch.float64) -> DecoderReport:
    reads, reach = analytic_decoder(config, trim_right_ratio)
    counts = {phase: span.count for phase, span in reads.items()}
    hop = config.hop_samples
    # Every phase where the analytic count changes, plus both ends of the hop.
    chosen = sorted({0, hop - 1} | {p for p in range(1, hop) if counts[p] != counts[p - 1]}
                    | {p - 1 for p in range(1, hop) if counts[p] != counts[p - 1]})
    extent = max(max(abs(s.low), abs(s.high)) for s in reads.values()) + 2
    measured_reads, measured_reach = measure_decoder(config, chosen, trim_right_ratio, device, dtype, extent)
    return DecoderReport(hop_samples=hop, reads_by_phase=reads, reach=reach, measured_reads=measured_reads,
                         measured_reach=measured_reach)
