"""The price of context where no chunk plan is exact: the error against the context added.

An encoder with an unbounded past (an LSTM), or one that reads all of its input (a norm or
attention over all of time), has no exact chunk plan, and neither has a decoder with an
unbounded side (:mod:`rfprobe.runs.chunking` names why). What a user still chooses is how much
context each chunk carries; this measures what each choice costs, on a deterministic chord with
onsets (:mod:`rfprobe.runs.signals`), not white noise:

* encoding: chunks carry `c` frames of context on each open side (a bounded side gets its exact
  extent), and the joined latents are compared with the whole file's: the largest and the RMS
  difference relative to the largest latent, and the frames whose codes change, through the
  codec's own quantizer on both (a frame's codes differ where its dequantized latent does: the
  codebook entries are distinct);
* decoding: the whole file's (quantized) latents are decoded in chunks with `c` frames of
  overlap on each open side, and the joined audio is compared with the whole decode.

A curve is a measurement on one signal with one draw of weights, never a plan: nothing here is
called exact, and "codes stop changing" holds for the contexts tried, at that signal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import nn

from rfprobe.arithmetic.chunking import DecodePlan, EncodePlan
from rfprobe.probes.subject import probe_subject
from rfprobe.probes.threads import one_thread
from rfprobe.runs.chunked_runs import decode_in_chunks, encode_in_chunks
from rfprobe.runs.signals import chord_signal

CONTEXT_SECONDS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
SIGNAL_CHUNKS = 8  # the signal holds this many chunks past the largest context on both sides
SIGNAL_WORDS = "a chord with onsets (rfprobe.runs.signals.chord_signal)"


@dataclass(frozen=True)
class PricePoint:
    """One context: how far the chunked result is from the whole file's."""

    context_frames: int
    context_seconds: float
    max_relative_error: float  # largest |chunked - whole| / largest |whole|
    rms_relative_error: float  # RMS of (chunked - whole) / RMS of whole
    changed_code_frames: Optional[int]  # frames whose codes differ (None: no quantizer ran)
    frames: int  # frames compared (encoding) or frames decoded (decoding)


@dataclass(frozen=True)
class ContextPrice:
    """A curve of :class:`PricePoint` over the contexts tried, for one way of chunking."""

    kind: str  # "encode" or "decode"
    open_sides: str  # "past", "future" or "past and future": where the context is varied
    bounded_side_frames: Optional[int]  # the exact context of the bounded side, if one is
    chunk_frames: int
    signal_seconds: float
    quantizer: str  # what gave the codes, or why there are none
    points: tuple[PricePoint, ...]
    signal: str = SIGNAL_WORDS
    frames_per_second: float = 0.0
    failure: str = ""  # why the curve was not measured (refused on time, or the model raised)

    @classmethod
    def not_measured(cls, kind: str, chunk_frames: int, why: str) -> "ContextPrice":
        """A curve that was not measured, and why."""
        return cls(kind, "", None, chunk_frames, 0.0, "", (), failure=why)

    def point_at(self, seconds: float) -> Optional[PricePoint]:
        """The point measured for a nominal context of `seconds` (its whole frames), if any."""
        frames = round(seconds * self.frames_per_second)
        return next((point for point in self.points if point.context_frames == frames), None)

    @property
    def codes_stop_changing_frames(self) -> Optional[int]:
        """The least context tried from which on no frame's codes change (None: they still change
        at the largest, or no quantizer ran)."""
        if any(point.changed_code_frames is None for point in self.points):
            return None
        settled = None
        for point in reversed(self.points):
            if point.changed_code_frames:
                break
            settled = point.context_frames
        return settled

    def describe(self) -> list[str]:
        """The report's lines: what was varied, then one line per context (or why none was measured)."""
        if self.failure:
            return [f"  price of context ({self.kind}; no plan is exact): not measured: {self.failure}"]
        bounded = (
            "" if self.bounded_side_frames is None else f" (the bounded side: its exact {self.bounded_side_frames})"
        )
        source = "codes" if self.kind == "encode" else "latents"
        lines = [
            f"  price of context ({self.kind}; no plan is exact): {self.open_sides} context varied{bounded}, chunks "
            f"of {self.chunk_frames} frames, {self.signal_seconds:.2f} s of {self.signal}, random weights (a trained "
            f"codec may remember longer); {source}: {self.quantizer}"
        ]
        for point in self.points:
            codes = (
                ""
                if point.changed_code_frames is None
                else f", codes changed on {point.changed_code_frames} of {point.frames} frames"
            )
            lines.append(
                f"    {point.context_frames:>4} frames ({point.context_seconds:.3f} s): largest error "
                f"{point.max_relative_error:.1e}, RMS {point.rms_relative_error:.1e} of the signal{codes}"
            )
        settled = self.codes_stop_changing_frames
        if settled is not None:
            lines.append(f"    codes equal to the whole file's from {settled} frames of context on (of those tried)")
        elif self.points and self.points[-1].changed_code_frames:
            lines.append("    codes still change at the largest context tried")
        return lines


def context_frames_tried(sample_rate: int, hop_samples: int, seconds: Sequence[float] = CONTEXT_SECONDS) -> list[int]:
    """CONTEXT_SECONDS in whole frames, each once, in order.

    >>> context_frames_tried(24000, 320)
    [0, 2, 4, 8, 15, 38, 75, 150]
    """
    return sorted({round(s * sample_rate / hop_samples) for s in seconds})


def _contexts_and_signal(
    sample_rate: int, hop_samples: int, chunk_frames: int, channels: int
) -> tuple[list[int], torch.Tensor]:
    """The contexts tried (frames), and the chord: SIGNAL_CHUNKS chunks past the largest on both sides."""
    contexts = context_frames_tried(sample_rate, hop_samples)
    frames = SIGNAL_CHUNKS * chunk_frames + 2 * contexts[-1]
    return contexts, chord_signal(frames * hop_samples, sample_rate, channels)


def _over_time(kind: str, whole_seconds: float, wholes: float, max_seconds: Optional[float]) -> str:
    """Why the curve is refused: its chunked runs, `wholes` times the whole run that took
    `whole_seconds`, would end past `max_seconds` ("" when they would not)."""
    estimate = whole_seconds * wholes
    if max_seconds is None or estimate <= max_seconds:
        return ""
    return (
        f"its chunked {kind} runs would take about {estimate:.0f} s here (one whole run timed, scaled), past "
        f"--max-seconds {max_seconds:g}"
    )


def _open_sides(left_open: bool, right_open: bool) -> str:
    return "past and future" if left_open and right_open else "past" if left_open else "future"


def _errors(chunked: torch.Tensor, whole: torch.Tensor) -> tuple[float, float]:
    difference = chunked - whole
    peak = float(whole.abs().max()) or 1.0
    rms = float(whole.pow(2).mean().sqrt()) or 1.0
    return float(difference.abs().max()) / peak, float(difference.pow(2).mean().sqrt()) / rms


def _changed_frames(quantize: Optional[nn.Module], chunked: torch.Tensor, whole: torch.Tensor) -> Optional[int]:
    if quantize is None:
        return None
    return int((quantize(chunked) != quantize(whole)).flatten(0, -2).any(dim=0).sum())


def encode_price(
    encoder: nn.Module,
    channels: int,
    sample_rate: int,
    hop_samples: int,
    left: Optional[int],
    right: Optional[int],
    chunk_frames: int,
    quantize: Optional[nn.Module] = None,
    quantizer: str = "none run",
    max_seconds: Optional[float] = None,
) -> ContextPrice:
    """The encode curve: `left` / `right` are the encoder's exact extents in samples, None where
    that side is open (the context there is varied). Past `max_seconds` (one whole run timed,
    scaled to every chunked run) it is not measured, and says so."""
    if left is not None and right is not None:
        raise ValueError("both sides are bounded: the exact plan has no price (rfprobe.runs.chunking)")
    contexts, signal = _contexts_and_signal(sample_rate, hop_samples, chunk_frames, channels)
    encoder = probe_subject(encoder, "cpu", torch.float64)
    quantize = None if quantize is None else probe_subject(quantize, "cpu", torch.float64)

    def plan_at(context: int) -> EncodePlan:
        return EncodePlan(
            hop_samples,
            context * hop_samples if left is None else left,
            context * hop_samples if right is None else right,
        )

    points = []
    with torch.no_grad(), one_thread():
        started = time.perf_counter()
        whole = encoder(signal)
        chunked_samples = sum(
            chunk.input_end_samples - chunk.input_start_samples
            for context in contexts
            for chunk in plan_at(context).chunks(signal.shape[-1], whole.shape[-1], chunk_frames)
        )
        if why := _over_time("encode", time.perf_counter() - started, chunked_samples / signal.shape[-1], max_seconds):
            return ContextPrice.not_measured("encode", chunk_frames, why)
        for context in contexts:
            chunked = encode_in_chunks(encoder, signal, plan_at(context), whole.shape[-1], chunk_frames)
            max_error, rms_error = _errors(chunked, whole)
            points.append(
                PricePoint(
                    context,
                    context * hop_samples / sample_rate,
                    max_error,
                    rms_error,
                    _changed_frames(quantize, chunked, whole),
                    whole.shape[-1],
                )
            )
    exact = EncodePlan(hop_samples, left or 0, right or 0)
    bounded = exact.context_frames if left is not None else exact.right_context_frames if right is not None else None
    return ContextPrice(
        "encode",
        _open_sides(left is None, right is None),
        bounded,
        chunk_frames,
        signal.shape[-1] / sample_rate,
        quantizer if quantize is not None else "none (no quantizer runs here)",
        tuple(points),
        frames_per_second=sample_rate / hop_samples,
    )


def decode_price(
    encoder: nn.Module,
    decoder: nn.Module,
    channels: int,
    sample_rate: int,
    hop_samples: int,
    past_frames: Optional[int],
    future_frames: Optional[int],
    chunk_frames: int,
    quantize: Optional[nn.Module] = None,
    quantizer: str = "none run",
    max_seconds: Optional[float] = None,
) -> ContextPrice:
    """The decode curve on the chord's own latents (quantized where the codec's quantizer runs):
    `past_frames` / `future_frames` are the decoder's exact reads, None where that side is open.
    Past `max_seconds` (one whole decode timed, scaled to every chunked run) it is not measured."""
    if past_frames is not None and future_frames is not None:
        raise ValueError("both sides are bounded: the exact plan has no price (rfprobe.runs.chunking)")
    contexts, signal = _contexts_and_signal(sample_rate, hop_samples, chunk_frames, channels)
    encoder, decoder = (probe_subject(module, "cpu", torch.float64) for module in (encoder, decoder))

    def plan_at(context: int) -> DecodePlan:
        return DecodePlan(
            hop_samples,
            context if past_frames is None else past_frames,
            context if future_frames is None else future_frames,
        )

    points = []
    with torch.no_grad(), one_thread():
        latents = encoder(signal)
        if quantize is not None:
            latents = probe_subject(quantize, "cpu", torch.float64)(latents)
        started = time.perf_counter()
        whole = decoder(latents)
        chunked_frames = sum(
            chunk.latent_end_frames - chunk.latent_start_frames
            for context in contexts
            for chunk in plan_at(context).chunks(latents.shape[-1], whole.shape[-1], chunk_frames)
        )
        if why := _over_time("decode", time.perf_counter() - started, chunked_frames / latents.shape[-1], max_seconds):
            return ContextPrice.not_measured("decode", chunk_frames, why)
        for context in contexts:
            max_error, rms_error = _errors(
                decode_in_chunks(decoder, latents, plan_at(context), whole.shape[-1], chunk_frames), whole
            )
            points.append(
                PricePoint(context, context * hop_samples / sample_rate, max_error, rms_error, None, latents.shape[-1])
            )
    bounded = past_frames if past_frames is not None else future_frames
    return ContextPrice(
        "decode",
        _open_sides(past_frames is None, future_frames is None),
        bounded,
        chunk_frames,
        signal.shape[-1] / sample_rate,
        f"the chord's, through {quantizer}" if quantize is not None else "the chord's, unquantized",
        tuple(points),
        frames_per_second=sample_rate / hop_samples,
    )
