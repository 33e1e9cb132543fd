"""Chunk plans proven by running: the chunked result equals the whole-file result bit for bit.

A plan (:mod:`rfprobe.arithmetic.chunking`) is built from the exact receptive field the
analytic core reads off the encoder (and the decoder's reads per phase); then the model runs on
the whole input and on every chunk, at two input lengths that are not multiples of the hop and
two chunk sizes, and the joined chunks must be ``torch.equal`` to the whole result (float64).
The plan is also shown minimal: one frame less of context on either side (one latent frame less
of overlap for decoding) must break equality somewhere, and the proof says where. A side that
is unbounded (an LSTM, attention without a window, a norm over time) has no exact plan: the
plan says so by name and nothing is called exact.

The proofs run torch on one intra-op thread. With several, torch's CPU kernels split their work
by the input's length, so a chunk and the whole file can round differently (by about 1e-16 in
float64) even where the chunk holds every sample a frame reads; each proof also runs the plan
once with the threads torch had, and says whether that was bit for bit too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence, Union

import contextlib
import math
import os
import time

import torch
from torch import nn

from rfprobe.arithmetic.chunking import DecodePlan, EncodePlan
from rfprobe.arithmetic.geometry import ReceptiveField
from rfprobe.errors import UsageError
from rfprobe.probes.randomness import ZEROED_DRAWS, random_draws, zeroed_random_draws
from rfprobe.probes.subject import probe_subject
from rfprobe.probes.threads import one_thread
from rfprobe.runs.chunked_runs import ROUNDING, Run, decode_in_chunks, encode_in_chunks

if TYPE_CHECKING:  # imported where they run (they build models)
    from rfprobe.runs.codec_helpers import HelperFinding
    from rfprobe.runs.context_price import ContextPrice
    from rfprobe.runs.output_lengths import LengthArithmetic


@dataclass(frozen=True)
class Comparison:
    """One chunked run against the whole-file run."""

    length: int  # input samples (encode) or latent frames (decode)
    chunk_frames: int
    equal: bool
    first_difference: Optional[int] = None  # the first frame (encode) or sample (decode) that differs
    differing: int = 0  # how many frames or samples differ
    total: int = 0
    max_relative_difference: float = 0.0  # largest |chunked - whole| over the whole result's largest magnitude

    def describe(self) -> str:
        """One line: length and chunk size, and equal bit for bit, or where and by how much it differs."""
        what = f"{self.length} long in chunks of {self.chunk_frames} frames"
        if self.equal:
            return f"{what}: equal bit for bit ({self.total} values)"
        return (
            f"{what}: differs at {self.differing} of {self.total}, first at {self.first_difference} "
            f"(by {self.max_relative_difference:.1e} of the largest value"
            f"{': rounding' if self.rounding else ''})"
        )

    @property
    def rounding(self) -> bool:
        """It differs, by no more than a few float64 ulps (kernels summing in another order)."""
        return not self.equal and 0 < self.max_relative_difference <= ROUNDING


@dataclass(frozen=True)
class PlanProof:
    """A plan, its runs, and the one-less plans that must break."""

    kind: str  # "encode" | "decode"
    plan: Optional[object]  # EncodePlan | DecodePlan, or None when no exact plan exists
    comparisons: tuple[Comparison, ...] = ()
    minimality: dict[str, Optional[Comparison]] = field(default_factory=dict)  # side -> first breaking run
    no_exact_plan: str = ""  # why no exact plan exists, by name
    threads: int = 1  # the proof's intra-op threads
    with_default_threads: Optional[Comparison] = None  # the plan's first run again, on torch's own thread count
    default_threads: int = 1
    # The random ops the model calls on every run (two runs of one input differ): then every run
    # of the proof had those draws zeroed (rfprobe.probes.randomness), and the finding says so.
    random_draws: tuple[str, ...] = ()

    @property
    def equal(self) -> bool:
        """Every chunked run equal to the whole file, bit for bit."""
        return not self.no_exact_plan and bool(self.comparisons) and all(c.equal for c in self.comparisons)

    @property
    def equal_up_to_rounding(self) -> bool:
        """Every chunked run equal, or off by float64 rounding only (the CPU's kernels rounding a
        chunk's edge by its length): the plan holds every sample; bit for bit is the kernels' part."""
        runs = self.comparisons
        return not self.no_exact_plan and bool(runs) and all(c.equal or c.rounding for c in runs)

    @property
    def minimal(self) -> bool:
        """Every one-less plan broke equality somewhere (a plan without context has none to take away)."""
        return all(c is not None for c in self.minimality.values())

    @property
    def exact(self) -> bool:
        """Equal bit for bit, and shown minimal."""
        return self.equal and self.minimal

    @property
    def finding(self) -> str:
        """The proof's answer in a few words."""
        if self.no_exact_plan:
            return f"none: {self.no_exact_plan}"
        if self.random_draws:
            return f"{random_draws_words(self.random_draws)}; with those draws as zeros: {self._deterministic_finding}"
        return self._deterministic_finding

    @property
    def _deterministic_finding(self) -> str:
        if self.exact:
            return "exact, minimal (proven)"
        if self.equal:
            return (
                "exact (proven); one frame less still equal: the outermost samples' influence is below "
                "float64 resolution"
            )
        if self.equal_up_to_rounding:
            return "equal up to rounding (a few ulps) at some chunk ends: not bit for bit"
        return "FAILED: the joined chunks differ from the whole file"

    def describe(self) -> list[str]:
        """The proof's lines: finding and plan, each run, each one-less run, the run on default threads."""
        if self.no_exact_plan:
            return [f"{self.kind}: no exact plan: {self.no_exact_plan}"]
        lines = [f"{self.kind}: {self.finding}: {self.plan}"] + [f"  {c.describe()}" for c in self.comparisons]
        for side, broken in self.minimality.items():
            lines.append(f"  one less on the {side}: " + (broken.describe() if broken else "STILL EQUAL (not minimal)"))
        if self.with_default_threads is not None and self.default_threads != self.threads:
            lines.append(
                f"  on {self.default_threads} threads: {self.with_default_threads.describe()}"
                + ("" if self.with_default_threads.equal else " (rounding: the kernels split work by length)")
            )
        return lines


def blas_mode() -> str:
    """Which matrix-product library the proofs ran on, and MKL's reproducibility mode when it is MKL
    (`MKL_CBWR`, read once at the process's first product: rfprobe.probes.threads.reproducible_blas)."""
    if not torch.backends.mkl.is_available():
        return "BLAS without MKL"
    return f"MKL_CBWR={os.environ.get('MKL_CBWR', '') or 'unset (MKL chooses its code path)'}"


def random_draws_words(draws: Sequence[str]) -> str:
    """Why a model that draws random numbers on every call has no chunk plan as it runs."""
    return (
        f"no plan as it runs: it draws random numbers on every call ({', '.join(draws)}), so two runs of the "
        "same input differ and no chunked run can equal a whole one"
    )


def _first_difference(chunked: torch.Tensor, whole: torch.Tensor) -> tuple[Optional[int], int, int]:
    """(first differing position along time, how many differ, how many in all)."""
    if chunked.shape != whole.shape:
        return 0, whole.shape[-1], whole.shape[-1]
    differs = (chunked != whole).flatten(0, -2).any(dim=0)
    positions = torch.nonzero(differs).flatten()
    return (int(positions[0]) if len(positions) else None), int(differs.sum()), whole.shape[-1]


def _compare(whole: torch.Tensor, chunked: torch.Tensor, length: int, chunk_frames: int) -> Comparison:
    first, differing, total = _first_difference(chunked, whole)
    scale = float(whole.abs().max()) or 1.0
    relative = float((chunked - whole).abs().max()) / scale if chunked.shape == whole.shape else float("inf")
    return Comparison(length, chunk_frames, first is None and differing == 0, first, differing, total, relative)


def encode_plan(field: ReceptiveField) -> tuple[Optional[EncodePlan], str]:
    """The encode plan of an exact receptive field, or why there is none."""
    if field.global_in_time:
        return None, "every frame reads the whole input (a norm or attention over all of time)"
    if field.left.unbounded or field.right.unbounded:
        side = "past" if field.left.unbounded else "future"
        return None, f"the {side} is unbounded (a recurrence or unwindowed attention carries all of it)"
    if field.left.at_least or field.right.at_least:
        return None, "the receptive field is only a lower bound (not proven)"
    return EncodePlan(field.hop_samples, field.left.samples, field.right.samples), ""


def _prove(
    kind: str,
    module: nn.Module,
    cases: list[tuple[int, torch.Tensor]],
    plan: Union[EncodePlan, DecodePlan],
    in_chunks: Callable[[Run, torch.Tensor, Any, int, int], torch.Tensor],
    sides: dict[str, int],
    chunk_sizes: Sequence[int],
    dtype: torch.dtype,
) -> PlanProof:
    """Run each case whole and in chunks of `plan` at each chunk size (on one thread, and once on
    torch's own thread count); then the one-less plan of every side with some context, which
    must break equality in at least one of those runs."""
    subject = probe_subject(module, "cpu", dtype)
    first_inputs = cases[0][1]
    with torch.no_grad():
        first, again = subject(first_inputs), subject(first_inputs)
    repeatable = first.shape == again.shape and torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)
    draws = () if repeatable else random_draws(subject, first_inputs)
    if draws and not all(draw in ZEROED_DRAWS for draw in draws):
        return PlanProof(
            kind,
            None,
            no_exact_plan=f"{random_draws_words(draws)}; a draw other than added noise "
            f"({', '.join(d for d in draws if d not in ZEROED_DRAWS)}) cannot be zeroed without changing the model",
        )
    if not repeatable and not draws:
        return PlanProof(
            kind,
            None,
            no_exact_plan="two runs of the same input differ, and no op that draws random numbers ran (state kept "
            "between calls, or a nondeterministic kernel): no chunked run can equal a whole one",
        )

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), zeroed_random_draws() if draws else contextlib.nullcontext():
            return subject(x)

    def runs(candidate: Any) -> Iterator[Comparison]:
        # Lazily: the default-thread check needs only the first run, a one-less plan only its
        # first breaking one (the proof's cost is mostly these chunked runs).
        for length, inputs, whole in wholes:
            for size in chunk_sizes:
                yield _compare(whole, in_chunks(run, inputs, candidate, whole.shape[-1], size), length, size)

    wholes = [(length, inputs, run(inputs)) for length, inputs in cases]
    default_run = next(runs(plan))
    with one_thread() as default_threads:
        wholes = [(length, inputs, run(inputs)) for length, inputs in cases]
        comparisons = list(runs(plan))
        minimality = {
            # a break is more than rounding: the kernels' last ulp proves nothing about the frame taken away
            side: next((c for c in runs(plan.one_less(side)) if not (c.equal or c.rounding)), None)
            for side, context in sides.items()
            if context > 0  # nothing to take away on a side without context
        }
    return PlanProof(
        kind,
        plan,
        tuple(comparisons),
        minimality,
        with_default_threads=default_run,
        default_threads=default_threads,
        random_draws=draws,
    )


def _random_cases(rows: int, lengths: Sequence[int], seed: int, dtype: torch.dtype) -> list[tuple[int, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [(length, torch.randn(1, rows, length, generator=generator, dtype=dtype)) for length in lengths]


def prove_encode_plan(
    encoder: nn.Module,
    channels: int,
    plan: EncodePlan,
    lengths: Sequence[int],
    chunk_sizes: Sequence[int],
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> PlanProof:
    """Encode random inputs of `lengths` samples whole and as `plan` chunks them (see :func:`_prove`)."""
    return _prove(
        "encode",
        encoder,
        _random_cases(channels, lengths, seed, dtype),
        plan,
        encode_in_chunks,
        {"left": plan.context_frames, "right": plan.right_context_frames},
        chunk_sizes,
        dtype,
    )


def prove_decode_plan(
    decoder: nn.Module,
    latent_dim: int,
    plan: DecodePlan,
    frame_counts: Sequence[int],
    chunk_sizes: Sequence[int],
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> PlanProof:
    """Decode random latents of `frame_counts` frames whole and as `plan` chunks them (see :func:`_prove`)."""
    return _prove(
        "decode",
        decoder,
        _random_cases(latent_dim, frame_counts, seed, dtype),
        plan,
        decode_in_chunks,
        {"past": plan.past_frames, "future": plan.future_frames},
        chunk_sizes,
        dtype,
    )


@dataclass(frozen=True)
class CodecChunking:
    """A zoo codec's encode and decode plans, each proven by running (or why none is exact)."""

    name: str
    sample_rate: int
    hop_samples: int
    chunk_frames: int
    encode: PlanProof
    decode: Optional[PlanProof]  # None: the zoo has no decoder for this codec
    decode_note: str = ""
    helpers: tuple[HelperFinding, ...] = ()  # the codec's own chunking helpers against its encode()
    lengths: Optional[LengthArithmetic] = None  # frames for n samples, samples for f frames, the trim
    kernels: str = field(default_factory=blas_mode)  # the BLAS the proofs ran on (rounding is its part)
    encode_price: Optional[ContextPrice] = None  # where no encode plan is exact: error against context
    decode_price: Optional[ContextPrice] = None  # where no decode plan is exact

    def describe(self) -> list[str]:
        """The report's lines: the hop, both plans and how to apply them, the lengths, the codec's helpers."""
        hop_ms = 1000 * self.hop_samples / self.sample_rate
        lines = [
            f"{self.name}: hop {self.hop_samples} samples ({hop_ms:.2f} ms), chunks of {self.chunk_frames} frames; "
            f"proofs on one thread, {self.kernels}"
        ]
        lines += self.encode.describe()
        if self.encode_price is not None:
            lines += self.encode_price.describe()
        if isinstance(self.encode.plan, EncodePlan):
            plan = self.encode.plan
            lines.append(
                f"  encode each chunk with {plan.left_context_samples} samples ({plan.context_frames} frames) "
                f"before its first frame and {plan.right_context_samples} samples "
                f"({plan.right_context_frames} frames) after its last frame's hop; drop "
                f"{plan.context_frames} frames at the start of each chunk's output (none at the file's start)"
            )
        if self.decode is None:
            lines.append(f"decode: {self.decode_note}")
        else:
            lines += self.decode.describe()
            if self.decode_price is not None:
                lines += self.decode_price.describe()
            if isinstance(self.decode.plan, DecodePlan):
                plan = self.decode.plan
                lines.append(
                    f"  decode each chunk with {plan.past_frames} latent frames before it and "
                    f"{plan.future_frames} after; crop {plan.past_frames * plan.hop_samples} samples at the "
                    "start of each chunk's output (none at the file's start)"
                )
        if self.lengths is not None:
            lengths = self.lengths
            lines.append(
                f"lengths (tiny width: the same kernels and strides): frames for n samples = "
                f"{lengths.encode_formula}; samples for f frames = {lengths.decode_formula}"
                + (
                    ""
                    if lengths.decode_trim_samples is None
                    else f" (decoded audio is {lengths.decode_trim_samples} samples short of f x hop)"
                )
                + f"; shortest input for one frame: {lengths.shortest_input_for_one_frame_samples} samples"
                + ("" if lengths.passed else f"; MISMATCHES {list(lengths.mismatches)}")
            )
        lines += [f"own helper: {helper.describe()}" for helper in self.helpers]
        return lines


def proof_lengths(plan: EncodePlan, chunk_frames: int) -> list[int]:
    """Two input lengths, neither a multiple of the hop, each long enough for interior chunks."""
    reach = plan.left_context_samples + plan.right_context_samples
    base = reach + 3 * chunk_frames * plan.hop_samples
    return [base + plan.hop_samples // 3 + 1, base + 2 * chunk_frames * plan.hop_samples + plan.hop_samples - 1]


def decode_proof_frames(plan: DecodePlan, chunk_frames: int) -> list[int]:
    """Two latent lengths for a decode proof, each long enough for interior chunks (not multiples
    of the chunk, so the last chunk is a short one)."""
    reach = plan.past_frames + plan.future_frames
    return [reach + 3 * chunk_frames + 1, reach + 5 * chunk_frames + 2]


def chunk_frames_for(seconds: float, sample_rate: int, hop_samples: int) -> int:
    """Whole frames in `seconds`; a chunk shorter than one frame is refused."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"--chunk-seconds {seconds:g}: must be a positive number of seconds")
    frames = round(seconds * sample_rate / hop_samples)
    if frames < 1:
        raise UsageError(
            f"--chunk-seconds {seconds:g}: shorter than one frame ({hop_samples} samples, "
            f"{1000 * hop_samples / sample_rate:.2f} ms); pass at least {hop_samples / sample_rate:.4g}"
        )
    return frames


def proof_seconds(
    run: Run,
    rows: int,
    lengths: Sequence[int],
    chunk_sizes: Sequence[int],
    chunk_inputs: Callable[[int, int], int],
    sides: int,
) -> float:
    """About how long proving a plan takes here, before it runs: one timed forward pass (on
    at most 65536 input positions) scaled to every whole run and, at worst, every chunked run
    of the plan and of its `sides` one-less plans. `chunk_inputs(length, size)`: the input
    positions the chunked runs of one case read."""
    probe = min(max(lengths), 1 << 16)
    inputs = torch.zeros(1, rows, probe, dtype=torch.float64)
    with torch.no_grad(), one_thread():
        started = time.perf_counter()
        run(inputs)
        per_position = (time.perf_counter() - started) / probe
    chunked = sum(chunk_inputs(length, size) for length in lengths for size in chunk_sizes)
    return per_position * (2 * sum(lengths) + (2 + sides) * chunked)


def _check_proof_time(kind: str, name: str, estimate_s: float, max_seconds: Optional[float]) -> None:
    if max_seconds is not None and estimate_s > max_seconds:
        raise UsageError(
            f"{name}: proving its {kind} plan would take about {estimate_s:.0f} s here (every whole and "
            f"chunked run), past --max-seconds {max_seconds:g}; raise --max-seconds, or choose longer "
            "--chunk-seconds (fewer chunks)"
        )


def codec_chunking(name: str, tiny: bool, chunk_seconds: float, max_seconds: Optional[float] = None) -> CodecChunking:
    """Plans for zoo model `name`: the encoder's from its exact receptive field (the module walk),
    the decoder's from its reads per phase (where the zoo has its decoder); both proven."""
    from rfprobe.core.readers import NotUnderstood
    from rfprobe.core.walk import walk_receptive_field
    from rfprobe.families import find
    from rfprobe.families.codecs import CODECS
    from rfprobe.runs.codec_helpers import codec_helper_findings
    from rfprobe.runs.decoder_field import CannotDecide, probe_decoder_hop

    from rfprobe.runs.context_price import decode_price, encode_price

    model = find(name)
    torch.manual_seed(0)
    encoder = probe_subject(model.build(tiny), "cpu", torch.float64)
    open_extents: Optional[tuple[Optional[int], Optional[int]]] = None  # no exact encode plan: its sides
    walk = walk_receptive_field(
        encoder, model.channels, length_multiple=model.length_multiple, hop_samples=model.hop_samples
    )
    if walk.receptive_field is None:
        encode = PlanProof("encode", None, no_exact_plan=f"the module walk cannot read it ({walk.unavailable_reason})")
        hop = model.hop_samples or 0
        chunk_frames = chunk_frames_for(chunk_seconds, model.sample_rate, hop) if hop else 1
    else:
        hop = walk.receptive_field.hop_samples
        plan, why = encode_plan(walk.receptive_field)
        chunk_frames = chunk_frames_for(chunk_seconds, model.sample_rate, hop)
        if plan is None or model.length_multiple > 1:
            why = why or f"it accepts only inputs of a multiple of {model.length_multiple} samples"
            encode = PlanProof("encode", None, no_exact_plan=why)
            if plan is None and not (walk.receptive_field.left.at_least or walk.receptive_field.right.at_least):
                open_extents = _open_extents(walk.receptive_field)
        else:
            lengths, sizes = proof_lengths(plan, chunk_frames), [chunk_frames, chunk_frames + 3]
            estimate = proof_seconds(
                encoder,
                model.channels,
                lengths,
                sizes,
                lambda length, size: sum(
                    chunk.input_end_samples - chunk.input_start_samples
                    for chunk in plan.chunks(length, length // plan.hop_samples, size)
                ),
                sides=2,
            )
            _check_proof_time("encode", name, estimate, max_seconds)
            encode = prove_encode_plan(encoder, model.channels, plan, lengths, sizes)
    helpers = codec_helper_findings(name, tiny, chunk_seconds)
    codec = next((c for c in CODECS if c.encoder_row == name), None)
    if codec is None:
        price = None
        if open_extents is not None:
            extents = open_extents
            price = measured_price(
                "encode",
                chunk_frames,
                lambda: encode_price(
                    encoder,
                    model.channels,
                    model.sample_rate,
                    hop,
                    *open_extents,
                    chunk_frames,
                    max_seconds=max_seconds,
                ),
            )
        return CodecChunking(
            name,
            model.sample_rate,
            hop,
            chunk_frames,
            encode,
            None,
            "the zoo has no decoder for this model",
            helpers,
            encode_price=price,
        )
    torch.manual_seed(0)
    parts = codec.build(tiny)
    prices: dict[str, ContextPrice] = {}
    if open_extents is not None:  # the codec's own encoder and quantizer: its latents, its codes
        extents = open_extents
        prices["encode_price"] = measured_price(
            "encode",
            chunk_frames,
            lambda: encode_price(
                parts.encoder,
                model.channels,
                model.sample_rate,
                hop,
                *extents,
                chunk_frames,
                parts.quantize,
                parts.quantizer_note,
                max_seconds=max_seconds,
            ),
        )
    # One hop's union read: exactly the largest past and future over phases, all a plan needs.
    try:
        field = probe_decoder_hop(parts.decoder, parts.latent_dim, parts.hop_samples, name)
        undecided = ""
    except (NotUnderstood, CannotDecide) as error:
        field, undecided = None, str(error)
    if field is None:
        decode = PlanProof("decode", None, no_exact_plan=f"the decoder's reads cannot be decided ({undecided})")
    elif field.past_frames is None or field.future_frames is None:
        both = field.past_frames is None and field.future_frames is None
        side = "past and future are" if both else "past is" if field.past_frames is None else "future is"
        decode = PlanProof("decode", None, no_exact_plan=f"the decoder's {side} unbounded")
        if field.agrees:
            reads = field
            prices["decode_price"] = measured_price(
                "decode",
                chunk_frames,
                lambda: decode_price(
                    parts.encoder,
                    parts.decoder,
                    model.channels,
                    model.sample_rate,
                    parts.hop_samples,
                    reads.past_frames,
                    reads.future_frames,
                    chunk_frames,
                    parts.quantize,
                    parts.quantizer_note,
                    max_seconds=max_seconds,
                ),
            )
    elif not field.agrees:
        decode = PlanProof("decode", None, no_exact_plan="the decoder's analytic reads and its probes disagree")
    else:
        plan = DecodePlan(parts.hop_samples, field.past_frames, field.future_frames)
        frames = decode_proof_frames(plan, chunk_frames)
        sizes = [chunk_frames, chunk_frames + 3]
        estimate = proof_seconds(
            parts.decoder.double(),
            parts.latent_dim,
            frames,
            sizes,
            lambda count, size: sum(
                chunk.latent_end_frames - chunk.latent_start_frames
                for chunk in plan.chunks(count, count * plan.hop_samples, size)
            ),
            sides=2,
        )
        _check_proof_time("decode", name, estimate, max_seconds)
        decode = prove_decode_plan(parts.decoder, parts.latent_dim, plan, frames, sizes)
    from rfprobe.runs.output_lengths import codec_lengths

    return CodecChunking(
        name,
        model.sample_rate,
        hop,
        chunk_frames,
        encode,
        decode,
        helpers=helpers,
        lengths=codec_lengths(name),
        **prices,
    )


def measured_price(kind: str, chunk_frames: int, measure: Callable[[], ContextPrice]) -> ContextPrice:
    """`measure()`, or a curve marked not measured with the model's error: the price of context
    is a supplement to the report, and a model that raises on a short chunk must not end it."""
    from rfprobe.errors import first_line, is_out_of_memory
    from rfprobe.runs.context_price import ContextPrice

    try:
        return measure()
    except Exception as error:
        if is_out_of_memory(error):
            raise
        return ContextPrice.not_measured(kind, chunk_frames, f"the model raised ({first_line(error)})")


def _open_extents(field_: ReceptiveField) -> tuple[Optional[int], Optional[int]]:
    """(left, right) in samples, None for an open side (a global field: both open)."""
    if field_.global_in_time:
        return None, None
    return (
        None if field_.left.unbounded else field_.left.samples,
        None if field_.right.unbounded else field_.right.samples,
    )
