"""Mimi's streaming APIs against its offline (whole-file) calls, proven by running both; and
whether audiocraft's EnCodec has a streaming API at all (:func:`audiocraft_streaming_support`).

A streaming codec promises that audio fed a few frames at a time gives what the whole file
gives. Whether it does is a property of the code, not of the architecture: a causal
convolution is exact only if the streaming API carries its left context between calls, an
attention layer only if its key/value cache and its positions continue where the last call
stopped, and a transposed convolution only if its overlap is added into the next call's output.
So this module runs the real modules, the installed transformers `MimiModel` and moshi's
`moshi.models.compression.MimiModel`, at tiny width with random weights, in float64 on one torch
thread (so that no difference comes from kernels splitting work by input length), on a
deterministic chord (not noise: :func:`rfprobe.runs.signals.chord_signal`):

* encode: the whole input once, and the same input fed `step_frames` frames (1920 samples at
  24 kHz, the hop) per call with the API's caches carried from call to call. The codes are
  compared frame k with frame k, and so are the latents before quantization (the quantizer's
  nearest-code choice can hide a small latent difference, so codes alone would not say it).
* decode: the offline codes decoded whole, and decoded `step_frames` frames per call with the
  decoder's caches carried. The offline codes are decoded both ways, so that a difference in
  the audio is the decoder's own and not one carried over from the streamed encode. When the
  audio differs, the streamed audio is searched for a plain shift of the offline audio
  (streamed[n + d] == offline[n] over the overlap, torch.equal), which would be a delay.

The last step may hold a partial frame (an input length that is not a multiple of the hop);
it is fed as it is, and what the API did with it (raised, dropped it, gave a frame) is
reported. If it raised, the partial frame is fed once more padded with zeros to a whole frame
(what moshi's own offline `encode` does to a partial frame, and what its error asks a caller
to do). Nothing is called equal unless `torch.equal` says so.

transformers' eager attention takes its softmax in float32 even in a float64 model
(`eager_attention_forward` in modeling_mimi.py: `softmax(..., dtype=torch.float32)`), so a
whole-file row and a streamed row of attention weights can round apart at float32 precision.

The codebooks are drawn at random (both libraries build them as zeros, which k-means fills on
the first training batch: at init every latent would map to code 0 and any statement about
codes would hold vacuously).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from torch import nn

from rfprobe.errors import first_line
from rfprobe.probes.threads import one_thread
from rfprobe.runs.chunking import ROUNDING
from rfprobe.runs.codec_helpers import compare_codes
from rfprobe.runs.signals import chord_signal

SAMPLE_RATE = 24000
HOP_SAMPLES = 1920  # 24 kHz / 12.5 Hz: one code frame
MAX_DELAY_SEARCH_SAMPLES = 2 * HOP_SAMPLES  # shifts tried when the streamed audio differs
SEED = 0

# Rewrites the list of input chunks before they are streamed: for mutation tests, which feed
# the stream a wrong input and check that the comparison calls it a difference.
ChunkHook = Callable[[list[torch.Tensor]], list[torch.Tensor]]


@dataclass(frozen=True)
class StreamingFinding:
    """One streaming run set against the offline run of the same model on the same input."""

    codec: str
    api: str  # the calls compared, in words
    step_frames: int  # code frames fed per streaming call
    frames_offline: int
    frames_streamed: int
    codes_equal_frames: int  # frames k < min(both) whose codes are torch.equal
    first_differing_frame: Optional[int]  # first k < frames_offline not equal (or not streamed)
    max_latent_difference: float  # largest |streamed - offline| latent over the common frames
    audio_max_difference: Optional[float]  # largest |streamed - offline| sample over the common length
    delay_samples: Optional[int]  # streamed audio == offline audio shifted by this many samples
    failure: str  # "" unless the API raised on a whole-frame step (first line of the exception)
    length_samples: int = 0
    latents_equal: bool = False  # same shape and torch.equal
    audio_equal: Optional[bool] = None  # same length and torch.equal; None when not decoded
    audio_samples_offline: int = 0
    audio_samples_streamed: int = 0
    max_latent_magnitude: float = 0.0  # the offline latents' largest |value|, for scale
    max_audio_magnitude: float = 0.0
    tail: str = ""  # what the API did with the last, partial frame
    first_latent_differing_frame: Optional[int] = None  # among the common frames
    first_audio_differing_sample: Optional[int] = None  # among the common samples

    @property
    def codes_equal(self) -> bool:
        """As many frames streamed as offline, and every frame's codes equal."""
        return self.frames_streamed == self.frames_offline and self.codes_equal_frames == self.frames_offline

    @property
    def matches(self) -> bool:
        """Codes, latents and (when decoded) audio all torch.equal to the offline ones."""
        return not self.failure and self.codes_equal and self.latents_equal and self.audio_equal is not False

    @property
    def finding(self) -> str:
        """The finding in words: matches bit for bit, fails, or how codes, latents and audio differ."""
        if self.failure:
            return f"fails: {self.failure}"
        if self.matches:
            return "matches bit for bit"
        differing = self.frames_offline - self.codes_equal_frames
        if self.codes_equal:
            parts = [f"differs: codes equal on all {self.frames_offline} frames"]
        else:
            parts = [f"differs: {differing} of {self.frames_offline} frames"]
        if self.first_differing_frame is not None:
            parts[0] += f", first at frame {self.first_differing_frame}"
        if self.frames_streamed != self.frames_offline:
            parts[0] += f" (streamed {self.frames_streamed} frames)"
        if not self.latents_equal:
            parts.append(
                f"latents differ by up to {self.max_latent_difference:.3g} "
                f"({_scale(self.max_latent_difference, self.max_latent_magnitude)})"
            )
            if self.first_latent_differing_frame is not None:
                parts[-1] += f", first at frame {self.first_latent_differing_frame}"
        else:
            parts.append("latents equal")
        if self.audio_equal is False:
            audio = f"audio differs by up to {self.audio_max_difference:.3g} "
            audio += f"({_scale(self.audio_max_difference or 0.0, self.max_audio_magnitude)}"
            if self.audio_samples_streamed != self.audio_samples_offline:
                audio += f"; {self.audio_samples_streamed} samples streamed, {self.audio_samples_offline} offline"
            audio += ")"
            if self.first_audio_differing_sample is not None:
                audio += f", first at sample {self.first_audio_differing_sample}"
            if self.delay_samples is not None:
                audio += f", streamed = offline delayed by {self.delay_samples} samples"
            parts.append(audio)
        elif self.audio_equal:
            parts.append("audio equal")
        return "; ".join(parts)


def _scale(difference: float, magnitude: float) -> str:
    if magnitude == 0:
        return "the offline values are all zero"
    relative = difference / magnitude
    words = "float64 rounding" if relative <= ROUNDING else "more than rounding"
    return f"{relative:.1e} of the largest offline value: {words}"


# --- comparison -----------------------------------------------------------------------------


def _frames_compared(offline_codes: torch.Tensor, streamed_codes: torch.Tensor) -> tuple[int, Optional[int]]:
    """(frames k equal, first k not equal) over offline's frames; a frame not streamed differs."""
    comparison = compare_codes(streamed_codes, offline_codes)
    if comparison.differing_frames:
        return comparison.frames_equal, comparison.differing_frames[0]
    missing = comparison.frames_helper < comparison.frames_offline
    return comparison.frames_equal, (comparison.frames_compared if missing else None)


def _max_difference(offline: torch.Tensor, streamed: torch.Tensor) -> float:
    common = min(offline.shape[-1], streamed.shape[-1])
    if common == 0:
        return 0.0
    return float((offline[..., :common] - streamed[..., :common]).abs().max())


def _first_difference(offline: torch.Tensor, streamed: torch.Tensor) -> Optional[int]:
    """The first index along the last axis, among the common ones, where they are not equal."""
    common = min(offline.shape[-1], streamed.shape[-1])
    unequal = (offline[..., :common] != streamed[..., :common]).flatten(0, -2).any(dim=0)
    indices = unequal.nonzero()
    return int(indices[0]) if len(indices) else None


def _equal(offline: torch.Tensor, streamed: torch.Tensor) -> bool:
    return offline.shape == streamed.shape and torch.equal(offline, streamed)


def find_delay_samples(offline: torch.Tensor, streamed: torch.Tensor, max_shift_samples: int) -> Optional[int]:
    """The d with streamed[..., n + d] == offline[..., n] (torch.equal) over their overlap, for
    |d| <= max_shift_samples with an overlap of at least half the offline length; smallest |d|
    first, so 0 when they are equal. None when no shift makes them equal."""
    length = offline.shape[-1]
    for shift in sorted(range(-max_shift_samples, max_shift_samples + 1), key=lambda d: (abs(d), d)):
        start = max(0, -shift)  # offline index n, streamed index n + shift
        stop = min(length, streamed.shape[-1] - shift)
        if stop - start < max(1, length // 2):
            continue
        if torch.equal(offline[..., start:stop], streamed[..., start + shift : stop + shift]):
            return shift
    return None


def _chunks(signal: torch.Tensor, step_samples: int) -> list[torch.Tensor]:
    return [signal[..., start : start + step_samples] for start in range(0, signal.shape[-1], step_samples)]


def _pad_to_frames(chunk: torch.Tensor) -> torch.Tensor:
    missing = -chunk.shape[-1] % HOP_SAMPLES
    return torch.nn.functional.pad(chunk, (0, missing))


@dataclass
class _Streamed:
    codes: torch.Tensor
    latents: torch.Tensor
    tail: str


def _stream_encode(
    step: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], chunks: list[torch.Tensor]
) -> _Streamed:
    """Feeds the chunks one call each; `step` returns one call's (codes, latents)."""
    codes, latents, tail = [], [], "no partial frame"
    for index, chunk in enumerate(chunks):
        partial = chunk.shape[-1] % HOP_SAMPLES != 0
        if not partial:
            chunk_codes, chunk_latents = step(chunk)
        else:
            if index != len(chunks) - 1:
                raise ValueError("only the last chunk may hold a partial frame")
            whole_frames = chunk.shape[-1] // HOP_SAMPLES
            try:
                chunk_codes, chunk_latents = step(chunk)
                tail = (
                    f"a last step of {chunk.shape[-1]} samples ({whole_frames} whole frames and "
                    f"{chunk.shape[-1] % HOP_SAMPLES} samples) gave {chunk_codes.shape[-1]} frames"
                )
                if chunk_codes.shape[-1] == whole_frames:
                    tail += ": the partial frame is dropped without an error"
            except Exception as error:  # the API's own refusal is the finding
                # `step` leaves the streaming state as it was before a call that raised, so the
                # same step is fed again, padded with zeros to whole frames
                chunk_codes, chunk_latents = step(_pad_to_frames(chunk))
                tail = (
                    f"a last step of {chunk.shape[-1]} samples raised ({type(error).__name__}: "
                    f"{first_line(error)}); fed again padded with zeros to whole frames, "
                    f"it gave {chunk_codes.shape[-1]}"
                )
        codes.append(chunk_codes)
        latents.append(chunk_latents)
    return _Streamed(torch.cat(codes, dim=-1), torch.cat(latents, dim=-1), tail)


def _finding(
    codec: str,
    api: str,
    step_frames: int,
    length_samples: int,
    offline_codes: torch.Tensor,
    offline_latents: torch.Tensor,
    streamed: _Streamed,
    offline_audio: Optional[torch.Tensor],
    streamed_audio: Optional[torch.Tensor],
) -> StreamingFinding:
    equal_frames, first_differing = _frames_compared(offline_codes, streamed.codes)
    audio_equal = delay = audio_difference = None
    audio_offline = audio_streamed = 0
    audio_magnitude = 0.0
    first_audio = None
    if offline_audio is not None and streamed_audio is not None:
        audio_equal = _equal(offline_audio, streamed_audio)
        audio_difference = _max_difference(offline_audio, streamed_audio)
        delay = 0 if audio_equal else find_delay_samples(offline_audio, streamed_audio, MAX_DELAY_SEARCH_SAMPLES)
        audio_offline, audio_streamed = offline_audio.shape[-1], streamed_audio.shape[-1]
        audio_magnitude = float(offline_audio.abs().max())
        first_audio = _first_difference(offline_audio, streamed_audio)
    return StreamingFinding(
        codec=codec,
        api=api,
        step_frames=step_frames,
        frames_offline=offline_codes.shape[-1],
        frames_streamed=streamed.codes.shape[-1],
        codes_equal_frames=equal_frames,
        first_differing_frame=first_differing,
        max_latent_difference=_max_difference(offline_latents, streamed.latents),
        audio_max_difference=audio_difference,
        delay_samples=delay,
        failure="",
        length_samples=length_samples,
        latents_equal=_equal(offline_latents, streamed.latents),
        audio_equal=audio_equal,
        audio_samples_offline=audio_offline,
        audio_samples_streamed=audio_streamed,
        max_latent_magnitude=float(offline_latents.abs().max()),
        max_audio_magnitude=audio_magnitude,
        tail=streamed.tail,
        first_latent_differing_frame=_first_difference(offline_latents, streamed.latents),
        first_audio_differing_sample=first_audio,
    )


def _failed(codec: str, api: str, step_frames: int, length_samples: int, error: Exception) -> StreamingFinding:
    return StreamingFinding(
        codec=codec,
        api=api,
        step_frames=step_frames,
        frames_offline=0,
        frames_streamed=0,
        codes_equal_frames=0,
        first_differing_frame=None,
        max_latent_difference=float("nan"),
        audio_max_difference=None,
        delay_samples=None,
        failure=f"{type(error).__name__}: {first_line(error)}",
        length_samples=length_samples,
    )


# --- transformers' MimiModel ----------------------------------------------------------------

TRANSFORMERS_API = (
    "MimiModel.encode(chunk, use_streaming=True, encoder_cache=, padding_cache=) and "
    "MimiModel.decode(codes, decoder_cache=, use_cache=True), caches carried between calls"
)


def transformers_mimi_model(seed: int = SEED) -> nn.Module:
    """transformers' `MimiModel` as rfprobe builds it (tiny config, eager attention), float64,
    eval, with random weights and random codebooks drawn from `seed`."""
    from rfprobe.families import mimi, require_transformers_class
    from rfprobe.families.codecs import seeded_codebooks

    torch.manual_seed(seed)
    model = require_transformers_class("MimiModel")(mimi.transformers_config(tiny=True))
    return seeded_codebooks(model.double(), seed).eval()


def transformers_mimi_streaming(
    step_frames: int,
    length_samples: int,
    model: Optional[nn.Module] = None,
    alter_chunks: Optional[ChunkHook] = None,
) -> StreamingFinding:
    """transformers' Mimi fed `step_frames` frames per call, against its whole-file calls."""
    model = transformers_mimi_model() if model is None else model
    hop_samples = int(model.config.sampling_rate / model.config.frame_rate)
    if hop_samples != HOP_SAMPLES:
        raise ValueError(f"the config's hop is {hop_samples} samples, not {HOP_SAMPLES}")
    signal = chord_signal(length_samples, SAMPLE_RATE)
    with one_thread(), torch.no_grad():
        offline_codes = model.encode(signal).audio_codes
        offline_latents = model.encoder(signal).latents
        offline_audio = model.decode(offline_codes).audio_values
        chunks = _chunks(signal, step_frames * HOP_SAMPLES)
        chunks = alter_chunks(chunks) if alter_chunks is not None else chunks
        caches: dict[str, Any] = {"encoder": None, "padding": None, "decoder": None}

        def encode_step(chunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            # MimiModel.encode returns only the codes; the latents are the encoder's output, so
            # the encoder is called and its latents quantized exactly as encode() does
            # a call that raises may have updated the first layers' caches already: put them back
            saved = copy.deepcopy((caches["encoder"], caches["padding"]))
            try:
                output = model.encoder(
                    chunk, cache=caches["encoder"], padding_cache=caches["padding"], use_streaming=True
                )
            except Exception:
                caches["encoder"], caches["padding"] = saved
                raise
            caches["encoder"], caches["padding"] = output.cache, output.padding_cache
            codes = model.quantizer.encode(output.latents).transpose(0, 1)
            return codes, output.latents

        try:
            streamed = _stream_encode(encode_step, chunks)
            audio = []
            for start in range(0, offline_codes.shape[-1], step_frames):
                # use_cache=True: the decoder transformer returns its key/value cache (the
                # config's use_cache is False); the convolutions have no streaming state here
                output = model.decode(
                    offline_codes[..., start : start + step_frames], decoder_cache=caches["decoder"], use_cache=True
                )
                caches["decoder"] = output.decoder_cache
                audio.append(output.audio_values)
        except Exception as error:
            return _failed("mimi (transformers)", TRANSFORMERS_API, step_frames, length_samples, error)
    return _finding(
        "mimi (transformers)",
        TRANSFORMERS_API,
        step_frames,
        length_samples,
        offline_codes,
        offline_latents,
        streamed,
        offline_audio,
        torch.cat(audio, dim=-1),
    )


# --- moshi's MimiModel ----------------------------------------------------------------------

MOSHI_API = "with MimiModel.streaming(1): encode(chunk) / _encode_to_unquantized_latent(chunk) / decode(codes)"


def moshi_mimi_model(seed: int = SEED) -> nn.Module:
    """moshi's `get_mimi(None, config)` with its published kwargs at tiny width (context 250,
    ratios, kernels, frame rate unchanged), float64, eval, random weights and codebooks."""
    from moshi.models import loaders

    config = copy.deepcopy(loaders._mimi_config)
    config["seanet"].update(n_filters=4, dimension=32)
    config["transformer"].update(
        d_model=32, num_heads=2, num_layers=2, dim_feedforward=64, input_dimension=32, output_dimensions=[32]
    )
    config["quantizer"].update(dimension=8, input_dimension=32, output_dimension=32)
    torch.manual_seed(seed)
    model = loaders.get_mimi(None, config).double().eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # the tiny encoder's latents are far smaller than unit-variance codebook entries, so
        # with randn entries nearly every latent maps to the same code and a code comparison
        # would see almost nothing: each residual quantizer's entries are drawn at the spread
        # of its own projected input, measured on a noise signal (as k-means init would place them)
        noise = torch.randn(1, 1, 8 * HOP_SAMPLES, generator=generator, dtype=torch.float64)
        latents = model._encode_to_unquantized_latent(noise)
        for quantizer in (model.quantizer.rvq_first, model.quantizer.rvq_rest):
            spread = float(quantizer.input_proj(latents).std())
            for module in quantizer.modules():
                buffers = dict(module.named_buffers(recurse=False))
                if "embedding_sum" in buffers and "cluster_usage" in buffers:  # moshi's EuclideanCodebook
                    embedding_sum = buffers["embedding_sum"]
                    drawn = torch.randn(embedding_sum.shape, generator=generator, dtype=embedding_sum.dtype)
                    embedding_sum.copy_(spread * drawn)
                    buffers["cluster_usage"].fill_(1.0)
                    buffers["_initialized"].fill_(1.0)
                    module._embedding = None  # its cached embedding_sum / cluster_usage
                    module._cached_initialized = False
    return model


def moshi_mimi_streaming(
    step_frames: int,
    length_samples: int,
    model: Optional[nn.Module] = None,
    alter_chunks: Optional[ChunkHook] = None,
) -> StreamingFinding:
    """moshi's Mimi fed `step_frames` frames per call inside `.streaming(1)`, against its
    whole-file calls. Raises ImportError when moshi cannot be imported."""
    model = moshi_mimi_model() if model is None else model
    if model.frame_size != HOP_SAMPLES:
        raise ValueError(f"the model's frame size is {model.frame_size} samples, not {HOP_SAMPLES}")
    signal = chord_signal(length_samples, SAMPLE_RATE)
    with one_thread(), torch.no_grad():
        offline_latents = model._encode_to_unquantized_latent(signal)
        offline_codes = model.quantizer.encode(offline_latents)
        if not torch.equal(offline_codes, model.encode(signal)):  # the latents are encode()'s own
            raise AssertionError("moshi's encode() is not quantizer.encode(_encode_to_unquantized_latent())")
        offline_audio = model.decode(offline_codes)
        chunks = _chunks(signal, step_frames * HOP_SAMPLES)
        chunks = alter_chunks(chunks) if alter_chunks is not None else chunks

        def encode_step(chunk: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            latents = model._encode_to_unquantized_latent(chunk)
            return model.quantizer.encode(latents), latents

        try:
            with model.streaming(1):
                streamed = _stream_encode(encode_step, chunks)
            with model.streaming(1):
                audio = [
                    model.decode(offline_codes[..., start : start + step_frames])
                    for start in range(0, offline_codes.shape[-1], step_frames)
                ]
        except Exception as error:
            return _failed("mimi (moshi)", MOSHI_API, step_frames, length_samples, error)
    return _finding(
        "mimi (moshi)",
        MOSHI_API,
        step_frames,
        length_samples,
        offline_codes,
        offline_latents,
        streamed,
        offline_audio,
        torch.cat(audio, dim=-1),
    )


@dataclass(frozen=True)
class StreamingSupport:
    """Whether a library's codec modules have a streaming API at all: which of them are instances
    of its streaming base class."""

    library: str
    model: str
    base_class: str
    modules: int
    streaming_modules: tuple[str, ...]  # class names of the modules that stream

    @property
    def finding(self) -> str:
        """The finding in words."""
        if self.streaming_modules:
            return (
                f"{len(self.streaming_modules)} of its {self.modules} modules are instances of {self.base_class}: "
                f"{', '.join(self.streaming_modules)}"
            )
        return (
            f"no streaming API: none of its {self.modules} modules is an instance of {self.base_class}, so it runs "
            "on whole inputs only; to encode or decode a stream, chunk it (the chunk plans above)"
        )

    @classmethod
    def of(cls, library: str, model: str, base: type, parts: Sequence[nn.Module]) -> "StreamingSupport":
        """Every module of `parts`, checked against the streaming base class `base`."""
        modules = [module for part in parts for module in part.modules()]
        return cls(
            library=library,
            model=model,
            base_class=f"{base.__module__.replace('_rfprobe_audiocraft', 'audiocraft')}.{base.__qualname__}",
            modules=len(modules),
            streaming_modules=tuple(sorted({type(m).__name__ for m in modules if isinstance(m, base)})),
        )


def audiocraft_streaming_support(name: str = "encodec_24khz_audiocraft") -> StreamingSupport:
    """audiocraft's SEANet encoder and decoder of zoo codec `name` (its EnCodec as audiocraft builds
    it), checked module by module against `audiocraft.modules.streaming.StreamingModule`."""
    from rfprobe.families.codecs import find_codec
    from rfprobe.families.seanet.source import load_audiocraft

    source = load_audiocraft()
    parts = find_codec(name).build(True)
    return StreamingSupport.of(
        f"audiocraft {source.version}",
        f"{name}: SEANetEncoder and SEANetDecoder",
        source.sibling("streaming").StreamingModule,
        [parts.encoder, parts.decoder],
    )
