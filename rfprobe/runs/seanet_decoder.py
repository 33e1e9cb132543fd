"""The decoder: how many latent frames one output sample depends on, and how many output
samples one latent frame influences, from the analytic core and measured.

The analytic side runs the real `SEANetDecoder` under the core's trace (its transposed convs,
their trims, the LSTM and the residual blocks are read by the core's exact rules, not by
arithmetic written for this decoder) and reads, for every position within one hop of an
interior output frame, the latent frames it depends on. One latent frame's influence is the
inverse of those reads: output sample n x hop + p reads latent frames n + low_p .. n + high_p,
so latent frame j reaches the samples m x hop + p for m in -high_p .. -low_p (relative to
j x hop). The probes measure both directions independently: a gradient from chosen output
samples, and forward-mode AD from one latent frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.encoder import build_decoder
from rfprobe.arithmetic.decoding import Span, reach_from_reads  # noqa: F401  (Span: re-exported)
from rfprobe.core.sizing import frame_reach
from rfprobe.core.trace import trace_module
from rfprobe.probes.device import exact_zeros, forward_mode
from rfprobe.probes.subject import fold_weight_norms

START_FRAMES = 16
MAX_FRAMES = 1 << 12


@dataclass(frozen=True)
class DecoderReport:
    """audiocraft's SEANetDecoder: latent frames read per output phase and one frame's reach, walk and probe."""

    hop_samples: int
    reads_by_phase: dict[int, Span]  # phase within the hop -> latent frames, relative to the sample's frame
    reach: Span  # output samples relative to the latent frame's anchor (frame x hop)
    measured_reads: dict[int, Span]
    measured_reach: Optional[Span]

    @property
    def agrees(self) -> bool:
        """Walk and probe agree: the reads at every measured phase, and one frame's reach."""
        return all(
            self.reads_by_phase[p].agrees_with(span) for p, span in self.measured_reads.items()
        ) and self.reach.agrees_with(self.measured_reach)


def core_reads_by_phase(
    decoder: torch.nn.Module,
    dimension: int,
    hop: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> dict[int, Span]:
    """Latent frames each position within the hop of an interior output frame reads, relative
    to that frame, by the analytic core. The latent input doubles until no read is cut by an
    end of it (an end an LSTM reaches whatever the length is open, not cut)."""
    frames = START_FRAMES
    while True:
        trace = trace_module(decoder, dimension, frames, device, dtype)
        if trace.output_length != frames * hop:
            raise ValueError(f"{frames} latent frames gave {trace.output_length} samples, not {frames} x {hop}")
        anchor = frames // 2
        reads: dict[int, Span] = {}
        for phase in range(hop):
            reach = frame_reach(trace, anchor * hop + phase)
            cut = (reach.edge_start and not reach.open_start) or (reach.edge_end and not reach.open_end)
            if cut:
                break
            reads[phase] = Span(
                reach.intervals[0][0] - anchor,
                reach.intervals[-1][1] - anchor,
                low_unbounded=reach.open_start,
                high_unbounded=reach.open_end,
            )
        if len(reads) == hop:
            return reads
        if 2 * frames > MAX_FRAMES:
            raise ValueError(f"an output sample's read still meets an end of {frames} latent frames")
        frames *= 2


def analytic_decoder(
    config: EncoderConfig,
    trim_right_ratio: float = 1.0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    decoder: Optional[torch.nn.Module] = None,
) -> tuple[dict[int, Span], Span]:
    """(reads by position within the hop, one latent frame's reach), by the analytic core."""
    decoder = decoder if decoder is not None else build_decoder(config, trim_right_ratio, device=device, dtype=dtype)
    reads = core_reads_by_phase(decoder, config.dimension, config.hop_samples, device, dtype)
    return reads, reach_from_reads(reads, config.hop_samples)


def measure_decoder(
    config: EncoderConfig,
    phases: Sequence[int],
    trim_right_ratio: float = 1.0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    extent_frames: int = 8,
    decoder: Optional[torch.nn.Module] = None,
) -> tuple[dict[int, Span], Span]:
    """Gradient (output sample -> latent frames) and forward-mode AD (latent frame -> samples)."""
    from torch.func import jvp

    decoder = decoder if decoder is not None else build_decoder(config, trim_right_ratio, device=device, dtype=dtype)
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
    with forward_mode():
        _, moved = jvp(decoder, (latent[:1].detach(),), (tangent,))
    reached = (moved[0] != 0).any(dim=0).nonzero().flatten().tolist()
    length = moved.shape[-1]
    # The window keeps a bounded support `extent_frames` clear of both ends, so reaching an
    # end of the input means the dependence runs on past it.
    reach = Span(reached[0] - middle * hop, reached[-1] - middle * hop, high_unbounded=reached[-1] == length - 1)
    return reads, reach


def _both(short: Span, long: Span) -> Span:
    """The longer window's span, an end unbounded only if it met the window's end in both."""
    return Span(
        long.low, long.high, short.low_unbounded and long.low_unbounded, short.high_unbounded and long.high_unbounded
    )


def _span(used: list[int], middle: int) -> Span:
    low, high = min(used), max(used)
    return Span(low - middle, high - middle, low_unbounded=low == 0)


def decoder_report(
    config: EncoderConfig,
    trim_right_ratio: float = 1.0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> DecoderReport:
    """The decoder's reads per phase and one frame's reach, from the walk and from the gradient."""
    # One module for every method, weight norms folded as for every probe (rfprobe.probes.subject).
    decoder = fold_weight_norms(build_decoder(config, trim_right_ratio, device=device, dtype=dtype))
    reads, reach = analytic_decoder(config, trim_right_ratio, device, dtype, decoder)
    counts = {phase: span.count for phase, span in reads.items()}
    hop = config.hop_samples
    # Every phase where the analytic count changes, plus both ends of the hop.
    chosen = sorted(
        {0, hop - 1}
        | {p for p in range(1, hop) if counts[p] != counts[p - 1]}
        | {p - 1 for p in range(1, hop) if counts[p] != counts[p - 1]}
    )
    extent = max(max(abs(s.low), abs(s.high)) for s in reads.values()) + 2
    measured_reads, measured_reach = measure_decoder(config, chosen, trim_right_ratio, device, dtype, extent, decoder)
    if measured_reach.high_unbounded or any(span.low_unbounded for span in measured_reads.values()):
        # Reaching the window's end once proves nothing: an end counts as unbounded only when the
        # dependence reaches it again on a window twice as long (and `agrees` needs the core's
        # recurrence too); otherwise the longer window's bounded extent stands.
        longer_reads, longer_reach = measure_decoder(
            config, chosen, trim_right_ratio, device, dtype, 2 * extent, decoder
        )
        measured_reads = {phase: _both(span, longer_reads[phase]) for phase, span in measured_reads.items()}
        measured_reach = _both(measured_reach, longer_reach)
    return DecoderReport(
        hop_samples=hop, reads_by_phase=reads, reach=reach, measured_reads=measured_reads, measured_reach=measured_reach
    )
