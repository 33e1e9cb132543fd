"""A codec's own chunking helper against its whole-file call, with the cause of any difference
proven by running the helper again with that cause removed.

descript-audio-codec's `DAC.compress()` encodes a long file in windows of `win_duration`
seconds with the convolutions' padding turned off; `encode()` encodes it whole. The check runs
the installed `CodecMixin.compress` itself (dac/model/base.py) on a deterministic test signal
and compares its codes with `encode(preprocess(x))`'s, frame k with frame k. When they differ,
it reads the two numbers compress() chunks by from DAC's own helpers (the window's advance,
`get_output_length(window)`, and the input's padding, `delay` from `get_delay()`) and sets them
beside the two a frame-aligned chunking needs (the window's frames x hop, and the encoder's
left extent from rfprobe's analytic walk). Each cause named is then removed on the model
instance (the same compress() code, that one number changed) and the run repeated: a reason
is given only when removing it changes the result, and the frames that still differ are
checked to lie within the encoder's reach of the file's ends, where compress() reads zeros in
place of each convolution's own padding.

Everything runs in float64 on one torch thread (see :mod:`rfprobe.probes.threads`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional  # Any: a DAC instance (descript's class, its attributes untyped)

import torch

from rfprobe.errors import first_line
from rfprobe.probes.threads import one_thread
from rfprobe.runs.chunked_runs import ROUNDING
from rfprobe.runs.signals import chord_signal


@dataclass(frozen=True)
class FrameComparison:
    """A helper's frames set against the whole-file call's, frame k with frame k."""

    frames_helper: int
    frames_offline: int
    differing_frames: tuple[int, ...]  # among the first min(frames_helper, frames_offline)
    # Set when the helper's frames are not frame k for frame k (EnCodec's segments): how many of
    # them lie on the whole file's frame grid and were compared, each with the frame it lies on.
    aligned_frames: Optional[int] = None

    @property
    def frames_compared(self) -> int:
        """Frames set side by side: those on the whole file's grid, else the shorter count."""
        if self.aligned_frames is not None:
            return self.aligned_frames
        return min(self.frames_helper, self.frames_offline)

    @property
    def frames_equal(self) -> int:
        """Compared frames that are equal."""
        return self.frames_compared - len(self.differing_frames)

    @property
    def matches(self) -> bool:
        """The same frame count, and every compared frame equal."""
        return self.frames_helper == self.frames_offline and not self.differing_frames


def compare_codes(helper_codes: torch.Tensor, offline_codes: torch.Tensor) -> FrameComparison:
    """(batch, codebooks, frames) codes: a frame is equal when every codebook's index is."""
    compared = min(helper_codes.shape[-1], offline_codes.shape[-1])
    equal = (helper_codes[..., :compared] == offline_codes[..., :compared]).flatten(0, -2).all(dim=0)
    return FrameComparison(
        helper_codes.shape[-1], offline_codes.shape[-1], tuple((~equal).nonzero().flatten().tolist())
    )


@dataclass(frozen=True)
class HelperFinding:
    """One codec helper run against the whole-file call; `reasons`, each proven by a rerun."""

    codec: str
    helper: str
    input_samples: int
    comparison: Optional[FrameComparison]  # None: the helper raised (`failure`)
    reasons: tuple[str, ...] = ()
    corrected: Optional[FrameComparison] = None  # the rerun with every cause in `reasons` removed
    corrected_with: str = ""
    residue: str = ""  # where the frames that still differ after the correction lie, and why
    frame_count: str = ""  # the helper's frame count as arithmetic on its own numbers, where it holds
    corrected_frame_count: str = ""
    failure: str = ""  # the helper's exception, first line
    facts: dict[str, int] = field(default_factory=dict)  # the numbers the reasons are made of

    @property
    def matches(self) -> bool:
        """The helper ran, and its frames match the whole-file call's."""
        return self.comparison is not None and self.comparison.matches

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HelperFinding:
        """The finding back from `dataclasses.asdict` JSON (the docs render from it)."""

        def comparison(value: Optional[dict[str, Any]]) -> Optional[FrameComparison]:
            if value is None:
                return None
            return FrameComparison(value["frames_helper"], value["frames_offline"], tuple(value["differing_frames"]))

        return cls(
            **{
                **data,
                "comparison": comparison(data["comparison"]),
                "corrected": comparison(data["corrected"]),
                "reasons": tuple(data["reasons"]),
            }
        )

    def describe(self) -> str:
        """One line: the helper, the input's length in samples (and seconds), and the finding."""
        rate = self.facts.get("sample_rate")
        seconds = "" if rate is None else f" ({self.input_samples / rate:g} s)"
        return f"{self.helper} on a chord of {self.input_samples} samples{seconds}, against encode(): {self.finding}"

    @property
    def finding(self) -> str:
        """ "matches", "differs: ..." or "fails: ...", with each proven reason and the rerun."""
        comparison = self.comparison
        if comparison is not None and comparison.matches:
            return "matches"
        if comparison is None:
            text = f"fails: {self.failure}"
        elif not comparison.differing_frames:
            text = (
                f"differs: {comparison.frames_helper} frames where the whole-file call gives "
                f"{comparison.frames_offline}{self.frame_count}; the {comparison.frames_compared} frames on "
                "the whole file's grid are equal"
            )
        else:
            first = comparison.differing_frames[0]
            text = (
                f"differs: {comparison.frames_compared - comparison.frames_equal} of "
                f"{comparison.frames_compared} frames in common differ, first at frame {first}; "
                f"{comparison.frames_helper} frames where the whole-file call gives "
                f"{comparison.frames_offline}{self.frame_count}"
            )
        if self.reasons:
            text += ", because " + "; and ".join(self.reasons)
        if self.corrected is not None:
            text += (
                f". With {self.corrected_with}: {self.corrected.frames_equal} of {self.corrected.frames_compared} "
                f"frames equal{'' if not self.residue else ', ' + self.residue}{self.corrected_frame_count}"
            )
        return text


def _ends_reach(frames: tuple[int, ...], total_frames: int, start_frames: int, end_frames: int) -> bool:
    return all(frame < start_frames or frame >= total_frames - end_frames for frame in frames)


def run_compress(
    model: Any,
    audio: torch.Tensor,
    win_seconds: float,
    advance_samples: Optional[int] = None,
    pad_samples: Optional[int] = None,
) -> torch.Tensor:
    """The codes of DAC's own `compress(audio, win_duration=win_seconds, normalize_db=None)`;
    `advance_samples` / `pad_samples` replace, on this instance and for this call only, the
    window advance (`get_output_length(window)`) and the input's zero padding (`delay`)."""
    from rfprobe.families.audio_signal import TensorSignal

    saved_delay, saved_padding = model.delay, model.padding
    try:
        if advance_samples is not None:
            model.get_output_length = lambda length: advance_samples
        if pad_samples is not None:
            model.delay = pad_samples
        signal = TensorSignal(audio.clone(), model.sample_rate)
        return model.compress(signal, win_duration=win_seconds, normalize_db=None).codes
    finally:
        model.__dict__.pop("get_output_length", None)
        # compress() turns the padding off and back on itself, but not when it raises.
        model.delay, model.padding = saved_delay, saved_padding


def dac_compress_finding(model: Any, win_seconds: float, length_samples: int, codec: str) -> HelperFinding:
    """descript's `DAC.compress(x, win_duration=win_seconds)` against `DAC.encode`, on
    `model` (a `dac.model.dac.DAC`, e.g. rfprobe.families.dac.descript_codec) in float64."""
    from rfprobe.core.walk import walk_receptive_field

    rate, hop = model.sample_rate, int(model.hop_length)
    audio = chord_signal(length_samples, rate)

    with one_thread(), torch.no_grad():
        offline = model.encode(model.preprocess(audio, rate))[1]
        comparison: Optional[FrameComparison] = None
        failure = ""
        try:
            comparison = compare_codes(run_compress(model, audio, win_seconds), offline)
        except Exception as error:  # the helper's own failure is the finding
            failure = first_line(error)
        if comparison is not None and comparison.matches:
            return HelperFinding(
                codec,
                f"DAC.compress(win_duration={win_seconds})",
                length_samples,
                comparison,
                facts={"sample_rate": rate},
            )
        # The window compress() cuts (its own arithmetic: win_duration rounded up to whole hops),
        # and how many frames one window gives: the encoder without padding on that window.
        window_samples = math.ceil(int(win_seconds * rate) / hop) * hop
        advance_samples = int(model.get_output_length(window_samples))
        delay_samples = int(model.delay)
        walked = walk_receptive_field(model.encoder, channels=1)
        if walked.receptive_field is None:  # the reasons below are made of the encoder's extents
            raise RuntimeError(f"the walk of DAC's encoder did not run: {walked.unavailable_reason}")
        extent = walked.receptive_field
        aligned_pad_samples = extent.left.samples
        frames_per_window = _frames_per_unpadded_window(model, window_samples)

        reasons: list[str] = []
        corrections: list[str] = []
        overrides: dict[str, int] = {}
        if advance_samples <= 0:
            reasons.append(
                f"the next window starts get_output_length({window_samples}) = {advance_samples} samples later "
                "(that helper counts every convolution of encoder and decoder without padding: the decoded "
                f"length of the window, not positive below {_shortest_window(model, hop)} samples), so "
                "range(0, n, advance) starts no window and there are no codes to join"
            )
            corrections.append(f"the advance set to {frames_per_window * hop} samples")
            overrides["advance_samples"] = frames_per_window * hop
        elif advance_samples != frames_per_window * hop:
            reasons.append(
                f"each window of {window_samples} samples gives {frames_per_window} frames "
                f"({frames_per_window * hop} samples of hop) but the next window starts "
                f"get_output_length({window_samples}) = {advance_samples} samples later (that helper "
                "counts every convolution of encoder and decoder: it is the decoded length of the "
                "window), so windows overlap and frames repeat"
            )
            corrections.append(f"the advance set to {frames_per_window * hop} samples")
            overrides["advance_samples"] = frames_per_window * hop
        if aligned_pad_samples is not None and delay_samples != aligned_pad_samples:
            reasons.append(
                f"the input is zero-padded by delay = {delay_samples} samples (get_delay(): half of what "
                "the unpadded encoder and decoder together lose), while a window's first frame lands on "
                f"encode()'s frame grid only with the encoder's left extent, {aligned_pad_samples} samples: "
                f"every window is off the grid by {delay_samples - aligned_pad_samples} samples "
                f"({(delay_samples - aligned_pad_samples) / hop:.2f} frames)"
            )
            corrections.append(f"the pad set to {aligned_pad_samples} samples")
            overrides["pad_samples"] = aligned_pad_samples
        corrected, residue = None, ""
        if corrections:
            corrected = compare_codes(run_compress(model, audio, win_seconds, **overrides), offline)
            # A cause stays named only if putting it back (the others still removed) loses frames.
            reasons = [
                reason
                for reason, key in zip(reasons, overrides)
                if _loses_frames(_frames_equal_or_none(model, audio, win_seconds, offline, overrides, key), corrected)
            ]
            start_frames = -(-extent.left.samples // hop) if extent.left.samples is not None else 0
            end_frames = -(-extent.right.samples // hop) if extent.right.samples is not None else 0
            if corrected.differing_frames and _ends_reach(
                corrected.differing_frames, corrected.frames_compared, start_frames, end_frames
            ):
                residue = (
                    f"the rest ({', '.join(map(str, corrected.differing_frames))}) within the encoder's reach of "
                    f"the file's ends ({start_frames} frames at the start, {end_frames} at the end), where "
                    "compress() reads zeros in place of each convolution's own padding"
                )
            elif corrected.differing_frames:
                residue = f"frames {', '.join(map(str, corrected.differing_frames))} still differ, not only at the ends"
        return HelperFinding(
            codec,
            f"DAC.compress(win_duration={win_seconds})",
            length_samples,
            comparison,
            reasons=tuple(reasons),
            corrected=corrected,
            corrected_with=" and ".join(corrections),
            residue=residue,
            frame_count=""
            if comparison is None
            else _window_count(comparison.frames_helper, length_samples, advance_samples, frames_per_window),
            corrected_frame_count=""
            if corrected is None
            else _window_count(
                corrected.frames_helper,
                length_samples,
                overrides.get("advance_samples", advance_samples),
                frames_per_window,
            ),
            failure=failure,
            facts={
                "sample_rate": rate,
                "window_samples": window_samples,
                "advance_samples": advance_samples,
                "frames_per_window": frames_per_window,
                "delay_samples": delay_samples,
                "aligned_pad_samples": aligned_pad_samples or 0,
            },
        )


@dataclass(frozen=True)
class DecodeHelperFinding:
    """A codec's own chunked decoder (DAC's `decompress`) against the whole-file `decode`, sample by sample."""

    codec: str
    helper: str
    against: str
    input_samples: int
    sample_rate: int
    samples_helper: Optional[int]  # None: the helper raised
    samples_offline: int
    differing_samples: int  # among the common samples, by more than float64 rounding (ROUNDING of the peak)
    first_differing_sample: Optional[int]
    max_relative_difference: float  # over the common samples, relative to the offline peak
    chunk_samples: int  # the helper decodes this many samples' codes per call
    failure: str = ""
    reason: str = ""
    rounding_samples: int = 0  # common samples that differ by float64 rounding only

    @property
    def finding(self) -> str:
        """ "matches" (bit for bit, same length), "differs: ...", or "fails: ..."."""
        if self.samples_helper is None:
            return f"fails: {self.failure}" + (f"; {self.reason}" if self.reason else "")
        common = min(self.samples_helper, self.samples_offline)
        if self.differing_samples == self.rounding_samples == 0 and self.samples_helper == self.samples_offline:
            return "matches bit for bit"
        parts = [f"differs: {self.samples_helper} samples where {self.against} gives {self.samples_offline}"]
        if self.differing_samples:
            parts.append(
                f"{self.differing_samples} of the {common} in common differ, first at sample "
                f"{self.first_differing_sample}, by up to {self.max_relative_difference:.2g} of the offline peak"
            )
        else:
            parts.append(
                f"the {common} in common are equal{' up to float64 rounding' if self.rounding_samples else ''}"
            )
        if self.differing_samples and self.rounding_samples:
            parts[-1] += f" (and {self.rounding_samples} more by float64 rounding)"
        return "; ".join(parts) + (f": {self.reason}" if self.reason and self.differing_samples else "")

    def describe(self) -> str:
        """One line: the helper, the input, the finding."""
        seconds = self.input_samples / self.sample_rate
        return (
            f"{self.helper} on a chord of {self.input_samples} samples ({seconds:g} s), against {self.against}: "
            f"{self.finding}"
        )


def compare_decoded(
    codec: str,
    helper: str,
    against: str,
    audio: torch.Tensor,
    rate: int,
    chunk_samples: int,
    run: Callable[[], torch.Tensor],
    offline: torch.Tensor,
    reason: str,
) -> DecodeHelperFinding:
    """`run()` (a helper's decode) against `offline` (the whole-file decode), sample by sample: a
    difference beyond ROUNDING of the offline peak counts, one within it is rounding; an exception
    from `run` is the finding."""
    same = dict(
        codec=codec,
        helper=helper,
        against=against,
        input_samples=audio.shape[-1],
        sample_rate=rate,
        samples_offline=offline.shape[-1],
        chunk_samples=chunk_samples,
        reason=reason,
    )
    try:
        decoded = run()
    except Exception as error:  # the helper's own failure is the finding
        return DecodeHelperFinding(
            **same,
            samples_helper=None,
            differing_samples=0,
            first_differing_sample=None,
            max_relative_difference=0.0,
            failure=first_line(error),
        )
    common = min(decoded.shape[-1], offline.shape[-1])
    difference = (decoded[..., :common] - offline[..., :common]).abs().flatten(0, -2).amax(dim=0)
    peak = float(offline.abs().max()) or 1.0
    positions = torch.nonzero(difference > ROUNDING * peak).flatten()
    return DecodeHelperFinding(
        **same,
        samples_helper=decoded.shape[-1],
        differing_samples=len(positions),
        first_differing_sample=int(positions[0]) if len(positions) else None,
        max_relative_difference=float(difference.max()) / peak,
        rounding_samples=int(((difference > 0) & (difference <= ROUNDING * peak)).sum()),
    )


def dac_decompress_findings(
    model: Any, win_seconds: float, length_samples: int, codec: str
) -> tuple[DecodeHelperFinding, ...]:
    """descript's `DAC.decompress` against `DAC.decode` of `encode()`'s codes, twice: on what
    `compress(x, win_duration=win_seconds)` wrote (the round trip users run), and on a file holding
    encode()'s own codes in compress()'s chunk length (decompress alone, its codes the offline ones).
    The reasons say how the helper runs (its code path), not a cause proven by a rerun. The model's
    `padding` is as it was on return, whatever the helpers raised."""
    from rfprobe.families.audio_signal import TensorSignal

    rate, hop = model.sample_rate, int(model.hop_length)
    audio = chord_signal(length_samples, rate)
    original_padding = model.padding
    helper = f"DAC.decompress(DAC.compress(x, win_duration={win_seconds}))"
    against = "decode(encode(x))"

    def restored(run: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        # compress() and decompress() set model.padding and put it back only when they return
        def call() -> torch.Tensor:
            try:
                return run()
            finally:
                model.padding = original_padding

        return call

    with one_thread(), torch.no_grad():
        codes = model.encode(model.preprocess(audio, rate))[1]
        offline = model.decode(model.quantizer.from_codes(codes)[0])
        signal = TensorSignal(audio.clone(), rate)
        try:
            written = restored(lambda: model.compress(signal, win_duration=win_seconds, normalize_db=None))()
        except Exception as error:
            failed = compare_decoded(codec, helper, against, audio, rate, 0, lambda e=error: _raise(e), offline, "")
            return (replace(failed, failure=f"compress() raised: {first_line(error)}"),)
        chunk_samples = written.chunk_length * hop
        findings = [
            compare_decoded(
                codec,
                helper,
                against,
                audio,
                rate,
                chunk_samples,
                restored(lambda: model.decompress(written).audio_data),
                offline,
                "how it runs: compress() writes other codes than encode() (the helper finding above), and "
                "decompress() decodes each chunk of them alone, its padding off",
            )
        ]
        own = type(written)(
            codes=codes,
            chunk_length=written.chunk_length,
            original_length=written.original_length,
            input_db=written.input_db,
            channels=written.channels,
            sample_rate=written.sample_rate,
            padding=True,
            dac_version=written.dac_version,
        )
        model.padding = True  # as decompress() sets it for this file
        one_chunk = model.decode(model.quantizer.from_codes(codes[..., : written.chunk_length])[0])
        model.padding = original_padding
        shortfall = chunk_samples - int(one_chunk.shape[-1])
        findings.append(
            compare_decoded(
                codec,
                f"DAC.decompress of encode()'s own codes in chunks of {written.chunk_length} frames (padding on)",
                against,
                audio,
                rate,
                chunk_samples,
                restored(lambda: model.decompress(own).audio_data),
                offline,
                "how it runs: each chunk is decoded alone, without the latent frames before and after it that "
                "its edge samples read"
                + (
                    f", and {shortfall} samples short of its {written.chunk_length} frames x {hop} (every later "
                    "sample lands that much earlier)"
                    if shortfall
                    else ""
                ),
            )
        )
    return tuple(findings)


def _raise(error: Exception) -> torch.Tensor:
    raise error


# EnCodec 48 kHz's published segmenting: facebookresearch encodec's `encodec_model_48khz`
# (segment=1., audio_normalize=True, the class's default overlap 0.01) and its Hugging Face
# config (chunk_length_s 1.0, overlap 0.01, normalize true); rfprobe's architecture file
# configs/transformers/encodec_48khz.json leaves them out (they do not change the encoder).
ENCODEC_48KHZ_SEGMENTING = {"chunk_length_s": 1.0, "overlap": 0.01, "normalize": True}


def _segments(model: Any, audio: torch.Tensor, **config: Any) -> tuple[torch.Tensor, int, list[torch.Tensor]]:
    """transformers' `EncodecModel.encode(audio)` codes (segments, batch, codebooks, frames)
    with `config` set on the model's config for this call only, its segment stride, and each
    segment's latents (the encoder's outputs, read by a hook: the codes are discrete)."""
    saved = {key: getattr(model.config, key) for key in config}
    latents: list[torch.Tensor] = []
    hook = model.encoder.register_forward_hook(lambda module, inputs, output: latents.append(output))
    try:
        for key, value in config.items():
            setattr(model.config, key, value)
        stride = model.config.chunk_stride or audio.shape[-1]
        return model.encode(audio)[0], stride, latents
    finally:
        hook.remove()
        for key, value in saved.items():
            setattr(model.config, key, value)


def _latent_difference(segments: list[torch.Tensor], stride_samples: int, hop: int, whole: torch.Tensor) -> float:
    """The largest difference between a segment's latents and the whole file's, over the frames
    on the file's grid, relative to the whole file's largest latent."""
    largest = 0.0
    for index, latents in enumerate(segments):
        offset = index * stride_samples
        if offset % hop:
            continue
        first = offset // hop
        count = min(latents.shape[-1], whole.shape[-1] - first)
        difference = (latents[..., :count] - whole[..., first : first + count]).abs().max().item()
        largest = max(largest, difference)
    return largest / whole.abs().max().item()


def _compare_segments(segments: torch.Tensor, stride_samples: int, hop: int, whole: torch.Tensor) -> FrameComparison:
    """Each segment's frame j lies at sample offset + j x hop; where that is on the whole
    file's grid (offset a multiple of the hop) it is compared with the whole file's frame there."""
    differing, aligned = [], 0
    whole_frames = whole.shape[-1]
    for index in range(segments.shape[0]):
        offset = index * stride_samples
        if offset % hop:
            continue
        first = offset // hop
        count = min(segments.shape[-1], whole_frames - first)
        aligned += count
        equal = (segments[index, ..., :count] == whole[..., first : first + count]).flatten(0, -2).all(dim=0)
        differing += [first + j for j in (~equal).nonzero().flatten().tolist()]
    return FrameComparison(segments.shape[0] * segments.shape[-1], whole_frames, tuple(sorted(set(differing))), aligned)


def encodec_segments_finding(model: Any, length_samples: int, codec: str) -> HelperFinding:
    """transformers' `EncodecModel.encode` with EnCodec 48 kHz's own segmenting (1 s segments,
    1 % overlap, each scaled by its own RMS) against the same model encoding the whole file
    at once (`chunk_length_s=None`), frame by frame where a segment's frames lie on the file's
    frame grid; `model` in float64 (e.g. `EncodecModel(transformers_config(48, tiny))`)."""
    from rfprobe.core.walk import walk_receptive_field

    rate, hop = model.config.sampling_rate, int(model.config.hop_length)
    chord = chord_signal(length_samples, rate)
    audio = torch.cat([chord, 0.5 * chord.roll(rate // 10, dims=-1)], dim=1)[:, : model.config.audio_channels]
    segmenting = ENCODEC_48KHZ_SEGMENTING
    helper = f"EncodecModel.encode (segments of {segmenting['chunk_length_s']:g} s, overlap {segmenting['overlap']:g})"
    with one_thread(), torch.no_grad():
        whole_codes, _, (whole_latents,) = _segments(model, audio, chunk_length_s=None, overlap=None, normalize=True)
        whole = whole_codes[0]
        segments, stride, segment_latents = _segments(model, audio, **ENCODEC_48KHZ_SEGMENTING)
        comparison = _compare_segments(segments, stride, hop, whole)
        latent_difference = _latent_difference(segment_latents, stride, hop, whole_latents)
        if comparison.matches:
            return HelperFinding(codec, helper, length_samples, comparison, facts={"sample_rate": rate})
        segment_count = segments.shape[0]
        off_grid = sum(1 for index in range(segment_count) if (index * stride) % hop)
        reasons = []
        if off_grid:
            reasons.append(
                f"segments advance {stride} samples ({stride / hop:g} hops of {hop}): {off_grid} of "
                f"{segment_count} segments start off the whole file's frame grid, and their "
                f"{comparison.frames_helper - comparison.frames_compared} frames lie between the file's "
                "frames (compared with none)"
            )
        # The per-segment scale: remove it (normalize off in both calls) and run again.
        unscaled_codes, _, (unscaled_latents,) = _segments(
            model, audio, chunk_length_s=None, overlap=None, normalize=False
        )
        unscaled_segments, _, unscaled_segment_latents = _segments(
            model, audio, **{**ENCODEC_48KHZ_SEGMENTING, "normalize": False}
        )
        unscaled = _compare_segments(unscaled_segments, stride, hop, unscaled_codes[0])
        unscaled_difference = _latent_difference(unscaled_segment_latents, stride, hop, unscaled_latents)
        if unscaled.frames_equal > comparison.frames_equal or unscaled_difference < latent_difference:
            reasons.append(
                "each segment is divided by its own RMS (normalize), the whole file by the file's: "
                f"the latents on the grid differ by up to {latent_difference:.1e} of their largest value "
                f"with it, {unscaled_difference:.1e} without"
            )
        walked = walk_receptive_field(model.encoder, channels=model.config.audio_channels)
        whole_input = _whole_input_words(walked.receptive_field)
        residue = ""
        if unscaled.differing_frames:
            listed = ", ".join(map(str, unscaled.differing_frames[:8]))
            residue = f"frames {listed}{' ...' if len(unscaled.differing_frames) > 8 else ''} still differ" + (
                f": {whole_input}, so a segment, which holds less than the file, cannot give the file's frames"
                if whole_input
                else ""
            )
        elif unscaled_difference > 0:
            residue = (
                f"the latents still differ by up to {unscaled_difference:.1e} of their largest value"
                + (f" ({whole_input})" if whole_input else "")
                + ", which these codes round away; other weights can change codes"
            )
        return HelperFinding(
            codec,
            helper,
            length_samples,
            comparison,
            reasons=tuple(reasons),
            corrected=unscaled,
            corrected_with="normalize off in both calls",
            residue=residue,
            facts={"sample_rate": rate, "stride_samples": stride, "segments": segment_count, "off_grid": off_grid},
        )


def _whole_input_words(reach: Any) -> str:
    """Why every frame of an encoder reads all of its input, from the walk's receptive field."""
    if reach is None:
        return ""
    causes = []
    if reach.global_in_time:
        causes.append("a norm or attention over all of time")
    sides = [side for side, extent in (("past", reach.left), ("future", reach.right)) if extent.unbounded]
    if sides:
        causes.append("an unbounded " + " and ".join(sides))
    if not causes:
        return ""
    return f"every frame of this encoder reads the whole input (rfprobe's walk: {' and '.join(causes)})"


HELPER_FILE_SECONDS = 3.3  # the file length of the trackers' reports (3.3 s at 44.1 kHz)


def codec_helper_findings(name: str, tiny: bool, window_seconds: float) -> tuple[HelperFinding, ...]:
    """Every chunking helper that zoo codec `name`'s own package ships, run against its
    whole-file call on a HELPER_FILE_SECONDS chord (none known: an empty tuple)."""
    if name == "encodec_48khz":
        from rfprobe.families import require_transformers_class
        from rfprobe.families.codecs import seeded_codebooks
        from rfprobe.families.encodec import transformers_config

        torch.manual_seed(0)
        model = seeded_codebooks(require_transformers_class("EncodecModel")(transformers_config(48, tiny)))
        model = model.double().eval()
        return (encodec_segments_finding(model, round(HELPER_FILE_SECONDS * 48000), name),)
    model = _descript_dac(name, tiny)
    if model is None:
        return ()
    return (dac_compress_finding(model, window_seconds, round(HELPER_FILE_SECONDS * model.sample_rate), name),)


def _descript_dac(name: str, tiny: bool) -> Optional[Any]:
    """descript's whole DAC of zoo name `dac_<rate>khz_descript` in float64 (weights drawn under
    seed 0), or None for any other name."""
    if not (name.startswith("dac_") and name.endswith("_descript")):
        return None
    from rfprobe.families.dac import descript_codec

    rate_khz = int(name.split("_")[1].removesuffix("khz"))
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # dac's weight_norm, deprecated in torch
        return descript_codec(rate_khz, tiny).double()


def codec_decode_helper_findings(name: str, tiny: bool, window_seconds: float) -> tuple[DecodeHelperFinding, ...]:
    """Every chunked decoder that zoo codec `name`'s own package ships (DAC's decompress), run
    against its whole-file decode on a HELPER_FILE_SECONDS chord (none known: an empty tuple)."""
    model = _descript_dac(name, tiny)
    if model is None:
        return ()
    return dac_decompress_findings(model, window_seconds, round(HELPER_FILE_SECONDS * model.sample_rate), name)


def _frames_equal_or_none(
    model: Any, audio: torch.Tensor, win_seconds: float, offline: torch.Tensor, overrides: dict[str, int], kept: str
) -> Optional[int]:
    """Frames equal with every override but `kept` (None: compress() then raises)."""
    others = {key: value for key, value in overrides.items() if key != kept}
    try:
        return compare_codes(run_compress(model, audio, win_seconds, **others), offline).frames_equal
    except Exception:  # the failure the cause produces, already reported as the finding
        return None


def _loses_frames(frames_equal: Optional[int], corrected: FrameComparison) -> bool:
    return frames_equal is None or frames_equal < corrected.frames_equal


def _shortest_window(model: Any, hop: int) -> int:
    """The shortest window (whole hops, as compress() rounds) whose get_output_length is positive."""
    window = hop
    while model.get_output_length(window) <= 0:
        window += hop
    return window


def _window_count(frames: int, length_samples: int, advance_samples: int, frames_per_window: int) -> str:
    """compress() starts a window every `advance_samples` of the file and zero-pads the last
    one to a whole window: `ceil(length / advance)` windows of `frames_per_window` frames."""
    windows = -(-length_samples // advance_samples) if advance_samples > 0 else 0
    if windows * frames_per_window != frames:
        return ""
    return (
        f" (ceil({length_samples} / {advance_samples}) = {windows} windows x {frames_per_window} frames: "
        "the last window is zero-padded to a whole one)"
    )


def _frames_per_unpadded_window(model: Any, window_samples: int) -> int:
    """What compress() gets from one window: the encoder run with its padding off (compress()
    sets `model.padding = False` itself), on a window of zeros."""
    saved = model.padding
    try:
        model.padding = False
        return int(model.encoder(torch.zeros(1, 1, window_samples, dtype=next(model.parameters()).dtype)).shape[-1])
    finally:
        model.padding = saved
