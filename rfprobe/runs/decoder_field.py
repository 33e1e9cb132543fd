"""Decoder receptive fields and the round trip, for any decoder module and the zoo's codecs.

The decoder field (latent frames -> samples) and the round trip (samples -> samples) are both
read two independent ways, in float64:

* the analytic core: the real module runs under the core's trace (time last, as for an
  encoder: the decoder's input "samples" are latent frames, its output "frames" are samples)
  and the graph walks each output sample back to its inputs; the input doubles until no read
  is cut by an end of it (an end an LSTM or global op reaches whatever the length is, open);
* the gradient of chosen output samples with respect to the input (one batch row per phase),
  and for the decoder forward-mode AD from one latent frame (its influence).

Agreement is equality of every end; an unbounded end has to be unbounded in both (the probe
calls an end unbounded only if the dependence reaches the window's end on two windows, the
second twice as long). The probes check every phase where the analytic span changes, the
phases either side of it and both ends of the hop.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

import torch
from torch import nn

from rfprobe.arithmetic.decoding import DecoderField, RoundTrip, Span, max_extent, reach_from_reads
from rfprobe.core import budget
from rfprobe.core.sizing import frame_reach
from rfprobe.core.trace import Trace, trace_module
from rfprobe.probes.device import exact_zeros, forward_mode
from rfprobe.probes.subject import fold_weight_norms

START_FRAMES = 16
MAX_FRAMES = 1 << 12
# The longest a per-phase walk may take: one output sample's read, timed at phase 0, times the
# hop. The per-phase table is for decoders whose phases are cheap (a few seconds for DAC, EnCodec
# and SNAC here); past it the walk is refused by name, before the per-phase gradient, whose batch
# over a long window is what exhausts memory (Mimi's: 1920 phases over a 2009-frame window).
# probe_decoder_hop reads the whole hop at once, which is what a chunk plan needs.
PER_PHASE_WALK_LIMIT_S = 60.0
SKIPPED = "skipped: the encoder's latents decoded as they are"


class CannotDecide(RuntimeError):
    """A method cannot decide here; the message names the method and why."""


# reference(anchor frame, phase) -> the input position a read is reported relative to
Reference = Callable[[int, int], int]


def _latent_reference(anchor: int, phase: int) -> int:
    return anchor


def _sample_reference(hop: int) -> Reference:
    return lambda anchor, phase: anchor * hop + phase


def _doubling_traces(
    module: nn.Module,
    channels: int,
    input_per_frame: int,
    device: torch.device | str,
    dtype: torch.dtype,
    max_frames: int = MAX_FRAMES,
) -> Iterator[tuple[int, Trace]]:
    """(frames, trace) on inputs of START_FRAMES frames, doubled up to `max_frames`: the caller
    stops at the first trace whose reads meet no end of the input. A doubling whose largest
    tensor would exceed the core's memory budget (rfprobe.core.budget) is refused by name."""
    frames, previous = START_FRAMES, None
    while frames <= max_frames:
        length = frames * input_per_frame
        if previous is not None and (why := budget.over_budget(previous, length, torch.device(device))):
            raise CannotDecide(f"module walk: {why}")
        previous = trace_module(module, channels, length, device, dtype)
        yield frames, previous
        frames *= 2


def core_reads(
    module: nn.Module,
    channels: int,
    hop: int,
    input_per_frame: int,
    reference: Reference,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    max_frames: int = MAX_FRAMES,
) -> tuple[dict[int, Span], int, Trace]:
    """(phase -> the inputs output sample anchor x hop + phase reads, relative to
    `reference(anchor, phase)`; frames x hop minus the output length; the trace read) by the
    analytic core.

    The input is `frames x input_per_frame` long (1 for latent frames, hop for samples); the
    output must be frames x hop long, less at most one hop (a trimmed tail)."""
    for frames, trace in _doubling_traces(module, channels, input_per_frame, device, dtype, max_frames):
        shortfall = frames * hop - trace.output_length
        if not 0 <= shortfall < hop:
            raise CannotDecide(
                f"module walk: {frames} frames gave {trace.output_length} samples, not {frames} x {hop} "
                "(less at most one hop)"
            )
        anchor = frames // 2
        reads: dict[int, Span] = {}
        for phase in range(hop):
            started = time.perf_counter()
            reach = frame_reach(trace, anchor * hop + phase)
            if phase == 0 and (estimate := (time.perf_counter() - started) * hop) > PER_PHASE_WALK_LIMIT_S:
                raise CannotDecide(
                    f"module walk: reading its {hop} phases one by one on {frames} frames would take about "
                    f"{estimate:.0f} s here (one phase timed), past {PER_PHASE_WALK_LIMIT_S:.0f} s; the whole "
                    "hop's read at once (rfprobe.runs.decoder_field.probe_decoder_hop, rfprobe chunk) gives the "
                    "largest past and future over its phases"
                )
            if (reach.edge_start and not reach.open_start) or (reach.edge_end and not reach.open_end):
                break  # cut by an end of this input: try one twice as long
            origin = reference(anchor, phase)
            reads[phase] = Span(
                reach.intervals[0][0] - origin,
                reach.intervals[-1][1] - origin,
                low_unbounded=reach.open_start,
                high_unbounded=reach.open_end,
            )
        if len(reads) == hop:
            return reads, shortfall, trace
    raise CannotDecide(f"module walk: an output sample's read still meets an end of {frames} frames")


def probe_phases(reads: dict[int, Span], reference: Reference = _latent_reference) -> list[int]:
    """Both ends of the hop, and every phase where the span, taken relative to the frame's
    anchor (not to the sample: a round trip's span relative to the sample moves every phase),
    changes from the phase before it, with that phase before it."""
    hop = len(reads)

    def anchored(phase: int) -> Span:
        shift = reference(0, phase) - reference(0, 0)
        span = reads[phase]
        return Span(span.low + shift, span.high + shift, span.low_unbounded, span.high_unbounded)

    changed = {p for p in range(1, hop) if anchored(p) != anchored(p - 1)}
    return sorted({0, hop - 1} | changed | {p - 1 for p in changed})


def gradient_reads(
    module: nn.Module,
    channels: int,
    hop: int,
    input_per_frame: int,
    reference: Reference,
    phases: Sequence[int],
    extent_frames: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    trace: Optional[Trace] = None,
) -> dict[int, Span]:
    """The gradient probe: batch row r differentiates output sample middle x hop + phases[r]
    with respect to a random input of 2 x extent_frames + 3 frames; an end of the window the
    dependence reaches is marked unbounded (to be confirmed on a longer window). `trace` (the
    core's, of this module) sizes the rows per backward to the memory budget."""
    frames = 2 * extent_frames + 3
    middle = frames // 2
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(len(phases), channels, frames * input_per_frame, generator=generator, dtype=torch.float64)
    inputs = inputs.to(device=device, dtype=dtype)
    group = len(phases)
    if trace is not None:  # as many rows per backward as the core's memory budget allows
        row_bytes = budget.predicted_largest_bytes(trace, frames * input_per_frame)
        allowed = budget.memory_budget_bytes(torch.device(device))
        if row_bytes > allowed:
            raise CannotDecide(
                f"gradient: one output sample's backward over {frames} frames would make a tensor of about "
                f"{row_bytes / 2**30:.1f} GiB (the budget is {allowed / 2**30:.2f} GiB, 1/32 of the free memory)"
            )
        group = max(1, min(len(phases), int(allowed // max(row_bytes, 1))))
    gradients = []
    for start in range(0, len(phases), group):
        rows_inputs = inputs[start : start + group].detach().requires_grad_(True)
        positions = [middle * hop + p for p in phases[start : start + group]]
        with exact_zeros():
            output = module(rows_inputs)
            rows = torch.arange(len(positions), device=output.device)
            picked = output[rows, :, torch.tensor(positions, device=output.device)]
            if not picked.requires_grad:  # e.g. integer codes between encoder and decoder carry no gradient
                raise CannotDecide("gradient: the output has no gradient path to the input")
            (part,) = torch.autograd.grad(picked.sum(), rows_inputs, allow_unused=True)
        if part is None:
            raise CannotDecide("gradient: the output has no gradient path to the input")
        gradients.append(part)
    gradient = torch.cat(gradients)
    reads = {}
    last = inputs.shape[-1] - 1
    for row, phase in enumerate(phases):
        used = (gradient[row] != 0).any(dim=0).nonzero().flatten().tolist()
        if not used:  # e.g. integer codes between encoder and decoder carry no gradient
            raise CannotDecide(f"gradient: output sample at phase {phase} has no gradient to any input")
        origin = reference(middle, phase)
        reads[phase] = Span(
            used[0] - origin, used[-1] - origin, low_unbounded=used[0] == 0, high_unbounded=used[-1] == last
        )
    return reads


def influence_of_one_frame(
    decoder: nn.Module,
    latent_dim: int,
    hop: int,
    extent_frames: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> Span:
    """Forward-mode AD: the output samples one latent frame moves, relative to its frame x hop."""
    from torch.func import jvp

    frames = 2 * extent_frames + 3
    middle = frames // 2
    generator = torch.Generator().manual_seed(1)
    latent = torch.randn(1, latent_dim, frames, generator=generator, dtype=torch.float64).to(device=device, dtype=dtype)
    tangent = torch.zeros_like(latent)
    tangent[0, :, middle] = torch.randn(latent_dim, generator=generator, dtype=torch.float64).to(tangent)
    with forward_mode():
        _, moved = jvp(decoder, (latent,), (tangent,))
    reached = (moved[0] != 0).any(dim=0).nonzero().flatten().tolist()
    return Span(
        reached[0] - middle * hop,
        reached[-1] - middle * hop,
        low_unbounded=reached[0] == 0,
        high_unbounded=reached[-1] == moved.shape[-1] - 1,
    )


def _both(short: Span, long: Span) -> Span:
    """The longer window's span, an end unbounded only if it met the window's end in both."""
    return Span(
        long.low, long.high, short.low_unbounded and long.low_unbounded, short.high_unbounded and long.high_unbounded
    )


def _extent_frames(reads: dict[int, Span], input_per_frame: int) -> int:
    widest = max(max(abs(s.low), abs(s.high)) for s in reads.values())
    return math.ceil(widest / input_per_frame) + 2


def measured_reads(
    module: nn.Module,
    channels: int,
    hop: int,
    input_per_frame: int,
    reference: Reference,
    analytic: dict[int, Span],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    trace: Optional[Trace] = None,
) -> dict[int, Span]:
    """The gradient probe at :func:`probe_phases`, on a window clear of the analytic extent;
    an end reached is retried on a window twice as long before it counts as unbounded."""
    phases = probe_phases(analytic, reference)
    extent = _extent_frames(analytic, input_per_frame)
    options = dict(device=device, dtype=dtype, trace=trace)
    reads = gradient_reads(module, channels, hop, input_per_frame, reference, phases, extent, **options)
    if any(s.low_unbounded or s.high_unbounded for s in reads.values()):
        longer = gradient_reads(module, channels, hop, input_per_frame, reference, phases, 2 * extent, **options)
        reads = {phase: _both(span, longer[phase]) for phase, span in reads.items()}
    return reads


def probe_decoder(
    decoder: nn.Module,
    latent_dim: int,
    hop: int,
    name: str = "decoder",
    sample_rate: int = 0,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> DecoderField:
    """Any decoder (batch, latent_dim, frames) -> (batch, channels, samples): analytic reads per
    phase and one frame's influence, against the gradient and forward-mode probes."""
    decoder = fold_weight_norms(decoder.to(device=device, dtype=dtype).eval())
    reads, shortfall, trace = core_reads(decoder, latent_dim, hop, 1, _latent_reference, device, dtype)
    measured = measured_reads(decoder, latent_dim, hop, 1, _latent_reference, reads, device, dtype, trace)
    extent = _extent_frames(reads, 1)
    influence = influence_of_one_frame(decoder, latent_dim, hop, extent, device, dtype)
    if influence.low_unbounded or influence.high_unbounded:
        influence = _both(influence, influence_of_one_frame(decoder, latent_dim, hop, 2 * extent, device, dtype))
    return DecoderField(
        name=name,
        hop_samples=hop,
        sample_rate=sample_rate,
        reads_by_phase=reads,
        influence=reach_from_reads(reads, hop),
        measured_reads=measured,
        measured_influence=influence,
        output_shortfall_samples=shortfall,
    )


@dataclass(frozen=True)
class DecoderHopReads:
    """The latent frames that the output samples of one whole hop read together, relative to
    its frame k: the union over the hop's phases, so its ends are exactly the max over phases
    of the past and the future (what a chunked decode must overlap), without the per-phase
    table. For decoders whose per-phase walk is too long to run (Mimi: a hop of 1920 phases,
    each read back through 8 attention layers), analytic and by the gradient."""

    name: str
    hop_samples: int
    analytic: Span  # latent frames relative to k
    measured: Optional[Span]  # the gradient of the hop's samples
    frames_traced: int = 0

    @property
    def past_frames(self) -> Optional[int]:
        """Latent frames before k that the hop reads (analytic); None: unbounded past."""
        return max_extent([self.analytic], past=True)

    @property
    def future_frames(self) -> Optional[int]:
        """Latent frames after k that the hop reads (analytic: its lookahead); None: unbounded future."""
        return max_extent([self.analytic], past=False)

    @property
    def agrees(self) -> bool:
        """The gradient's span agrees with the analytic one (never when none was measured)."""
        return self.analytic.agrees_with(self.measured)


def core_hop_reads(
    module: nn.Module, channels: int, hop: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64
) -> tuple[Span, int]:
    """The analytic core's union read of one hop of output samples (latent frames relative to
    the hop's frame), on an input doubled until that read meets no end; and the frames traced."""
    for frames, trace in _doubling_traces(module, channels, 1, device, dtype):
        anchor = frames // 2
        reach = trace.graph.reach(trace.output_node, ((anchor * hop, anchor * hop + hop - 1),))
        cut_start = reach.edge_start and not reach.open_start
        cut_end = reach.edge_end and not reach.open_end
        if not (cut_start or cut_end):
            span = Span(
                reach.intervals[0][0] - anchor,
                reach.intervals[-1][1] - anchor,
                low_unbounded=reach.open_start,
                high_unbounded=reach.open_end,
            )
            return span, frames
    raise CannotDecide(f"module walk: one hop's read still meets an end of {frames} frames")


def gradient_hop_reads(
    module: nn.Module,
    channels: int,
    hop: int,
    extent_frames: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> Span:
    """The gradient of one hop of output samples (random weights per sample, so no two cancel)
    with respect to a random input of 2 x extent_frames + 3 latent frames."""
    frames = 2 * extent_frames + 3
    middle = frames // 2
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(1, channels, frames, generator=generator, dtype=torch.float64)
    inputs = inputs.to(device=device, dtype=dtype).requires_grad_(True)
    with exact_zeros():
        output = module(inputs)
        hop_samples = output[..., middle * hop : middle * hop + hop]
        weights = torch.randn(hop_samples.shape, generator=generator, dtype=torch.float64).to(hop_samples)
        (gradient,) = torch.autograd.grad((hop_samples * weights).sum(), inputs, allow_unused=True)
    if gradient is None:
        raise CannotDecide("gradient: the output has no gradient path to the input")
    used = (gradient[0] != 0).any(dim=0).nonzero().flatten().tolist()
    if not used:
        raise CannotDecide("gradient: one hop of output has no gradient to any input frame")
    return Span(used[0] - middle, used[-1] - middle, low_unbounded=used[0] == 0, high_unbounded=used[-1] == frames - 1)


def probe_decoder_hop(
    decoder: nn.Module,
    latent_dim: int,
    hop: int,
    name: str = "decoder",
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> DecoderHopReads:
    """A decoder's union read of one hop (:class:`DecoderHopReads`), walk against gradient; an
    end the gradient reaches is retried on a window twice as long before it counts as unbounded."""
    decoder = fold_weight_norms(decoder.to(device=device, dtype=dtype).eval())
    analytic, frames = core_hop_reads(decoder, latent_dim, hop, device, dtype)
    extent = max(abs(analytic.low), abs(analytic.high)) + 2
    measured = gradient_hop_reads(decoder, latent_dim, hop, extent, device, dtype)
    if measured.low_unbounded or measured.high_unbounded:
        measured = _both(measured, gradient_hop_reads(decoder, latent_dim, hop, 2 * extent, device, dtype))
    return DecoderHopReads(name, hop, analytic, measured, frames)


class RoundTripModule(nn.Module):
    """decode(quantize(encode(x))), or decode(encode(x)) without a quantizer."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, quantize: Optional[nn.Module] = None):
        super().__init__()
        self.encoder, self.decoder, self.quantize = encoder, decoder, quantize

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """decode(quantize(encode(inputs))), or decode(encode(inputs)) without a quantizer."""
        latents = self.encoder(inputs)
        return self.decoder(self.quantize(latents) if self.quantize is not None else latents)


def probe_round_trip(
    module: nn.Module,
    channels: int,
    hop: int,
    name: str = "round trip",
    sample_rate: int = 0,
    quantizer: str = SKIPPED,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> RoundTrip:
    """Any samples -> samples module with a hop (a round trip): the input samples each output
    phase reads, relative to the output sample, analytic against the gradient probe."""
    module = fold_weight_norms(module.to(device=device, dtype=dtype).eval())
    reference = _sample_reference(hop)
    reads, _, trace = core_reads(module, channels, hop, hop, reference, device, dtype)
    try:
        measured, undecided = measured_reads(module, channels, hop, hop, reference, reads, device, dtype, trace), ""
    except CannotDecide as why:  # integer codes (no straight-through): the gradient sees nothing
        measured, undecided = {}, str(why)
    return RoundTrip(
        name=name,
        hop_samples=hop,
        sample_rate=sample_rate,
        quantizer=quantizer,
        reads_by_phase=reads,
        measured_reads=measured,
        undecided=undecided,
    )


def codec_decoder_field(name: str, tiny: bool = True, device: torch.device | str = "cpu") -> DecoderField:
    """The zoo codec `name`'s decoder field (rfprobe.families.codecs)."""
    from rfprobe.families.codecs import find_codec

    codec = find_codec(name)
    torch.manual_seed(0)
    parts = codec.build(tiny)
    return probe_decoder(parts.decoder, parts.latent_dim, parts.hop_samples, name, codec.row.sample_rate, device)


def codec_round_trip(
    name: str, tiny: bool = True, quantized: bool = False, device: torch.device | str = "cpu"
) -> RoundTrip:
    """The zoo codec `name`'s round trip: through its own quantizer when `quantized`."""
    from rfprobe.families.codecs import find_codec

    codec = find_codec(name)
    torch.manual_seed(0)
    parts = codec.build(tiny)
    if quantized and parts.quantize is None:
        raise ValueError(f"{name}: no quantizer path ({parts.quantizer_note})")
    module = RoundTripModule(parts.encoder, parts.decoder, parts.quantize if quantized else None)
    return probe_round_trip(
        module,
        codec.row.channels,
        parts.hop_samples,
        name,
        codec.row.sample_rate,
        parts.quantizer_note if quantized else SKIPPED,
        device,
    )


@dataclass
class DecoderZooRow:
    """One codec's decoder and round-trip numbers, flat, for the zoo table and JSON (None: unbounded)."""

    name: str
    hop_samples: int
    sample_rate: int
    decoder_past_frames: Optional[int]
    decoder_future_frames: Optional[int]
    influence_low_samples: Optional[int]
    influence_high_samples: Optional[int]
    decoder_agrees: bool
    round_trip_left_samples: Optional[int]
    round_trip_right_samples: Optional[int]
    latency_ms: Optional[float]  # the round trip's right extent: buffering + lookahead (None: unbounded)
    buffering_ms: Optional[float]  # of it, the wait for the rest of a frame's hop
    lookahead_ms: Optional[float]  # of it, the input needed beyond the frame's own hop
    round_trip_agrees: bool
    quantizer: str
    round_trip_note: str = ""  # why the round trip was not measured (its fields are then None)


def decoder_zoo_row(name: str, tiny: bool = True, device: torch.device | str = "cpu") -> DecoderZooRow:
    """Decoder field and latent round trip of one codec, as one flat record. A round trip a method
    cannot decide (its walk over budget: Mimi's) leaves the decoder's numbers and names why."""
    from rfprobe.core.readers import NotUnderstood

    field_ = codec_decoder_field(name, tiny, device)
    influence = field_.influence
    decoder = dict(
        name=name,
        hop_samples=field_.hop_samples,
        sample_rate=field_.sample_rate,
        decoder_past_frames=field_.past_frames,
        decoder_future_frames=field_.future_frames,
        influence_low_samples=None if influence.low_unbounded else influence.low,
        influence_high_samples=None if influence.high_unbounded else influence.high,
        decoder_agrees=field_.agrees,
    )
    try:
        trip = codec_round_trip(name, tiny, device=device)
    except (NotUnderstood, CannotDecide) as error:
        return DecoderZooRow(
            **decoder,
            round_trip_left_samples=None,
            round_trip_right_samples=None,
            latency_ms=None,
            buffering_ms=None,
            lookahead_ms=None,
            round_trip_agrees=False,
            quantizer=SKIPPED,
            round_trip_note=str(error),
        )
    return DecoderZooRow(
        **decoder,
        round_trip_left_samples=trip.left_samples,
        round_trip_right_samples=trip.right_samples,
        latency_ms=trip.ms(trip.latency_samples),
        buffering_ms=trip.ms(trip.buffering_samples),
        lookahead_ms=trip.ms(trip.lookahead_samples),
        round_trip_agrees=trip.agrees,
        quantizer=trip.quantizer,
    )
