"""Whole codecs: encoder, decoder and quantizer built together from one config.

A `ZooModel` builds an encoder alone. A `CodecModel` (one per codec with a decoder) builds
the three parts of one model instance, so the decoder reads exactly the latents the encoder
writes (same config, same widths): `build(tiny)` returns `CodecParts`.

* `encoder`: (batch, channels, samples) -> (batch, latent_dim, frames), the latents before
  quantization (the zoo's encoder call).
* `decoder`: (batch, latent_dim, frames) -> (batch, channels, samples); output sample n is
  aligned with input sample n (the codec trims any extra samples at the end).
* `quantize`: latents -> dequantized latents through the codec's own quantizer, or None
  when its code path cannot run on a plain latent tensor here.

Widths follow the encoder rows (rfprobe.families.<family>); the decoders' tiny widths keep
every kernel, stride, dilation, padding, LSTM and attention window, and shrink only channels.

    >>> [codec.name for codec in CODECS][:2]
    ['dac_16khz', 'dac_16khz_descript']
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn

from rfprobe.errors import UsageError
from rfprobe.families import Adapter, ZooModel, find, require_transformers_class
from rfprobe.families import dac as dac_family
from rfprobe.families import encodec as encodec_family
from rfprobe.families import mimi as mimi_family
from rfprobe.families import snac as snac_family
from rfprobe.families import wavtokenizer as wavtokenizer_family
from rfprobe.families import xcodec as xcodec_family


@dataclass
class CodecParts:
    """The parts of one codec instance (see the module docstring for their calls)."""

    encoder: nn.Module
    decoder: nn.Module
    latent_dim: int
    hop_samples: int
    quantize: Optional[nn.Module] = None
    quantizer_note: str = ""  # why `quantize` is None, or what it runs
    quantizer_frames_multiple: int = 1  # `quantize` accepts only frame counts that are multiples of it


@dataclass(frozen=True)
class CodecModel:
    """A zoo codec with a decoder: `encoder_row` names its `ZooModel` (rate, channels, hop, package)."""

    encoder_row: str
    build: Callable[[bool], CodecParts] = field(repr=False)
    decoder_kind: str  # conv | conv+lstm | conv+attention
    note: str = ""

    @property
    def row(self) -> ZooModel:
        """The encoder's zoo row (rate, channels, hop, package)."""
        return find(self.encoder_row)

    @property
    def name(self) -> str:
        """The codec's name: its encoder row's."""
        return self.encoder_row


def seeded_codebooks(model: nn.Module, seed: int = 0) -> nn.Module:
    """`model` with distinct codebook entries, as training leaves them. transformers builds
    EnCodec's and Mimi's codebooks as zero buffers (k-means fills them on the first training
    batch), so at init every latent maps to code 0 and decodes to zeros: any statement about
    such a quantizer would hold vacuously."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            buffers = dict(module.named_buffers(recurse=False))
            if "embed" in buffers and "cluster_size" in buffers:  # EncodecEuclideanCodebook
                embed = buffers["embed"]
                embed.copy_(torch.randn(embed.shape, generator=generator, dtype=embed.dtype))
            elif "embed_sum" in buffers and "cluster_usage" in buffers:  # MimiEuclideanCodebook
                embed_sum = buffers["embed_sum"]
                embed_sum.copy_(torch.randn(embed_sum.shape, generator=generator, dtype=embed_sum.dtype))
                buffers["cluster_usage"].fill_(1.0)
                module._embed = None  # type: ignore[assignment]  # its cached embed_sum / cluster_usage
    return model


def _eval(parts: CodecParts) -> CodecParts:
    for module in (parts.encoder, parts.decoder, parts.quantize):
        if module is not None:
            module.eval()
    return parts


# --- DAC ------------------------------------------------------------------------------------
# Published decoders: width 1536, rates [8, 5, 4, 2] (16 and 24 kHz), [8, 8, 4, 2] (44 kHz).
DAC_DECODER_WIDTH, DAC_TINY_DECODER_WIDTH = dac_family.DECODER_WIDTH, dac_family.TINY_DECODER_WIDTH


def _dac_rates(rate_khz: int) -> list[int]:
    return list(reversed(dac_family.PUBLISHED[rate_khz]))


def _dequantized(quantizer: nn.Module, latents):
    return quantizer(latents)[0]


def dac_transformers(rate_khz: int, tiny: bool) -> CodecParts:
    """transformers' `DacModel(config)`: `.encoder`, `.decoder`, `.quantizer` (quantized_representation)."""
    config_class, model_class = require_transformers_class("DacConfig"), require_transformers_class("DacModel")
    width = dac_family.TINY_WIDTH if tiny else dac_family.FULL_WIDTH
    config = config_class(
        encoder_hidden_size=width,
        downsampling_ratios=list(dac_family.PUBLISHED[rate_khz]),
        upsampling_ratios=_dac_rates(rate_khz),
        hidden_size=width * 16,
        decoder_hidden_size=DAC_TINY_DECODER_WIDTH if tiny else DAC_DECODER_WIDTH,
        sampling_rate=dac_family.SAMPLE_RATES[rate_khz],
    )
    model = model_class(config)
    return _eval(
        CodecParts(
            model.encoder,
            model.decoder,
            width * 16,
            math.prod(dac_family.PUBLISHED[rate_khz]),
            Adapter(model.quantizer, _dequantized),
            "DacResidualVectorQuantizer: quantized_representation (straight-through)",
        )
    )


def dac_descript(rate_khz: int, tiny: bool) -> CodecParts:
    """descript-audio-codec's `Encoder`, `Decoder` and `ResidualVectorQuantize`, as `DAC.__init__` builds them."""
    from rfprobe.families.installed_files import load_files

    try:
        from dac.model.dac import Decoder  # noqa: F401  (the normal import, when audiotools is installed)
        from dac.nn.quantize import ResidualVectorQuantize
    except Exception:
        loaded = load_files(
            "dac",
            "_rfprobe_dac",
            ["nn.layers", "nn.quantize", "model.dac"],
            placeholders=dac_family.audiotools_placeholders(),
        )
        Decoder, ResidualVectorQuantize = loaded["model.dac"].Decoder, loaded["nn.quantize"].ResidualVectorQuantize
    width = dac_family.TINY_WIDTH if tiny else dac_family.FULL_WIDTH
    latent = width * 16
    decoder = Decoder(latent, DAC_TINY_DECODER_WIDTH if tiny else DAC_DECODER_WIDTH, _dac_rates(rate_khz))
    quantizer = ResidualVectorQuantize(input_dim=latent, n_codebooks=9, codebook_size=1024, codebook_dim=8)
    return _eval(
        CodecParts(
            dac_family.descript_encoder(rate_khz, tiny),
            decoder,
            latent,
            math.prod(dac_family.PUBLISHED[rate_khz]),
            Adapter(quantizer, _dequantized),
            "ResidualVectorQuantize: z (straight-through)",
        )
    )


# --- EnCodec --------------------------------------------------------------------------------
def _encodec_quantize(model: nn.Module, latents):
    bandwidth = model.config.target_bandwidths[-1]
    return model.quantizer.decode(model.quantizer.encode(latents, bandwidth))


def encodec_transformers(rate_khz: int, tiny: bool) -> CodecParts:
    """transformers' `EncodecModel(config)`: `.encoder`, `.decoder`, its quantizer's encode then decode."""
    model = seeded_codebooks(
        require_transformers_class("EncodecModel")(encodec_family.transformers_config(rate_khz, tiny))
    )
    return _eval(
        CodecParts(
            model.encoder,
            model.decoder,
            model.config.hidden_size,
            math.prod(model.config.upsampling_ratios),
            Adapter(model, _encodec_quantize),
            "EncodecResidualVectorQuantizer encode -> decode (integer codes: no gradient flows through them)",
        )
    )


def _flashy_placeholder() -> types.ModuleType:
    """audiocraft's core_vq.py imports flashy (its training loop) for `flashy.distrib.broadcast_tensors`,
    called only by k-means initialisation and dead-code expiry in training: a stand-in that refuses."""

    def broadcast_tensors(*args, **kwargs):
        raise RuntimeError("flashy is not installed: rfprobe's stand-in runs audiocraft's quantizer at inference only")

    flashy, distrib = types.ModuleType("flashy"), types.ModuleType("flashy.distrib")
    distrib.broadcast_tensors = broadcast_tensors  # type: ignore[attr-defined]
    flashy.distrib = distrib  # type: ignore[attr-defined]
    return flashy


def _codes_and_back(quantizer: nn.Module, latents):
    """A quantizer's codes of `latents`, looked up again (encode then decode)."""
    return quantizer.decode(quantizer.encode(latents))


def audiocraft_quantizer(dimension: int) -> nn.Module:
    """audiocraft's `ResidualVectorQuantizer(dimension)` with its defaults (8 codebooks of 1024),
    from its installed files (audiocraft/__init__.py pulls its training stack), codebooks drawn
    at random (its k-means would fill them on the first training batch)."""
    from rfprobe.families.installed_files import load_files

    loaded = load_files(
        "audiocraft",
        "_rfprobe_audiocraft_quantization",
        ["quantization.base", "quantization.core_vq", "quantization.vq"],
        placeholders={"flashy": _flashy_placeholder()},
    )
    return seeded_codebooks(loaded["quantization.vq"].ResidualVectorQuantizer(dimension=dimension))


def audiocraft_codec(config, tiny: bool) -> CodecParts:
    """audiocraft's `SEANetEncoder`, `SEANetDecoder` and `ResidualVectorQuantizer` of one SEANet
    config (EnCodec as audiocraft builds it, MusicGen's and AudioGen's compression models)."""
    from rfprobe.families.seanet.encoder import build_decoder

    config = encodec_family.sized(config, tiny)
    encoder = encodec_family.audiocraft_encoder(config, tiny=False)
    decoder = build_decoder(config, seed=1)
    return _eval(
        CodecParts(
            encoder,
            decoder,
            config.dimension,
            config.hop_samples,
            Adapter(audiocraft_quantizer(config.dimension), _codes_and_back),
            "audiocraft ResidualVectorQuantizer encode -> decode (8 codebooks of 1024, codebooks drawn at random; "
            "integer codes: no gradient)",
        )
    )


# --- Mimi -----------------------------------------------------------------------------------
def _mimi_audio(inner: nn.Module, latents):
    return inner(latents).audio_values


def _mimi_quantize(model: nn.Module, latents):
    # MimiModel.encode and .decode transpose the codes to (quantizers, batch, frames) and back
    return model.quantizer.decode(model.quantizer.encode(latents).transpose(0, 1))


def mimi_transformers(tiny: bool) -> CodecParts:
    """transformers' `MimiModel(config)`: `.encoder` latents, `.decoder` (upsample, decoder
    transformer, SEANet decoder) audio values, the split RVQ's encode then decode."""
    model = seeded_codebooks(require_transformers_class("MimiModel")(mimi_family.transformers_config(tiny)))
    return _eval(
        CodecParts(
            Adapter(model.encoder, mimi_family.latents_of),
            Adapter(model.decoder, _mimi_audio),
            model.config.hidden_size,
            mimi_family.FULL_HOP,
            Adapter(model, _mimi_quantize),
            "MimiSplitResidualVectorQuantizer encode -> decode (integer codes: no gradient)",
        )
    )


# --- SNAC -----------------------------------------------------------------------------------
SNAC_TINY_DECODER_WIDTH = 32  # halves through its 4 blocks to 2 channels; depthwise groups stay whole


def snac_24khz(tiny: bool) -> CodecParts:
    """snac's `SNAC(**hubertsiuzdak/snac_24khz config)`: `.encoder`, `.decoder` (with its NoiseBlocks,
    which draw fresh noise on every call) and the multi-rate `ResidualVectorQuantize` (levels
    average-pooled over 4, 2 and 1 frames, straight-through)."""
    config = {**snac_family.snac_24khz_config(tiny), **({"decoder_dim": SNAC_TINY_DECODER_WIDTH} if tiny else {})}
    model = snac_family.build_snac(**config)
    return _eval(
        CodecParts(
            model.encoder,
            model.decoder,
            model.latent_dim,
            int(model.hop_length),
            Adapter(model.quantizer, _dequantized),
            f"ResidualVectorQuantize at strides {config['vq_strides']} (each level average-pools that many frames; "
            "straight-through)",
            quantizer_frames_multiple=math.lcm(*config["vq_strides"]),
        )
    )


# --- X-codec --------------------------------------------------------------------------------
def _xcodec_quantize(model: nn.Module, latents):
    return model.quantizer.decode(model.quantizer.encode(latents, model.config.target_bandwidths[-1]))


def xcodec_transformers(tiny: bool) -> CodecParts:
    """transformers' `XcodecModel(config)` as its encode() and decode() run: audio to the latents its
    quantizer takes (acoustic and semantic branches mixed by `fc`: the semantic branch's global
    attention reaches every latent), `fc2` and the acoustic decoder back, its RVQ between."""
    model = seeded_codebooks(xcodec_family.build_model(tiny))
    return _eval(
        CodecParts(
            Adapter(model, xcodec_family.latents_before_quantizer),
            Adapter(model, xcodec_family.audio_from_latents),
            model.fc.out_features,
            model.config.hop_length,
            Adapter(model, _xcodec_quantize),
            "XcodecResidualVectorQuantization encode -> decode at its largest bandwidth (integer codes: no gradient)",
        )
    )


# --- WavTokenizer ---------------------------------------------------------------------------
# the encoder row's tiny widths, and a decoder narrow enough for tiny runs (2 layers, 4 groups)
WAVTOKENIZER_TINY = {
    **wavtokenizer_family.TINY,
    **dict(decoder_hidden_size=32, decoder_intermediate_size=64, decoder_num_layers=2, decoder_attention_num_groups=4),
}


def _wavtokenizer_audio(model: nn.Module, latents):
    # WavTokenizerModel.decode after its codebook lookup: the Vocos backbone (bandwidth id 0, as at
    # inference), then the inverse-STFT head
    bandwidth_id = torch.tensor([0], device=latents.device)
    return model.head(model.backbone(latents, bandwidth_id))


def wavtokenizer_transformers(tiny: bool) -> CodecParts:
    """transformers' `WavTokenizerModel(config)`: its encoder (the zoo row's), its single-codebook VQ,
    and the decoder its decode() runs on the codebook's latents (Vocos backbone with attention, ISTFT head)."""
    model = seeded_codebooks(
        require_transformers_class("WavTokenizerModel")(
            require_transformers_class("WavTokenizerConfig")(**(WAVTOKENIZER_TINY if tiny else {}))
        )
    )
    return _eval(
        CodecParts(
            model.encoder_model.encoder,
            Adapter(model, _wavtokenizer_audio),
            model.config.codebook_dim,
            model.hop_length,
            Adapter(model.encoder_model.quantizer, _codes_and_back),
            "WavTokenizerVectorQuantization encode -> decode (one codebook; integer codes: no gradient)",
        )
    )


CODECS: list[CodecModel] = [
    *[
        codec
        for rate in (16, 24, 44)
        for codec in (
            CodecModel(
                f"dac_{rate}khz",
                lambda tiny, rate=rate: dac_transformers(rate, tiny),
                "conv",
                note=f"DacModel decoder, rates {_dac_rates(rate)}",
            ),
            CodecModel(
                f"dac_{rate}khz_descript",
                lambda tiny, rate=rate: dac_descript(rate, tiny),
                "conv",
                note=f"dac.model.dac.Decoder, rates {_dac_rates(rate)}",
            ),
        )
    ],
    *[
        CodecModel(
            f"encodec_{rate}khz",
            lambda tiny, rate=rate: encodec_transformers(rate, tiny),
            "conv+lstm",
            note="EncodecModel(config).decoder",
        )
        for rate in (24, 32, 48)
    ],
    *[
        CodecModel(
            f"encodec_{rate}khz_audiocraft",
            lambda tiny, rate=rate: audiocraft_codec(encodec_family.audiocraft_config(rate), tiny),
            "conv+lstm",
            note="audiocraft SEANetDecoder",
        )
        for rate in (24, 32, 48)
    ],
    *[
        CodecModel(
            name,
            lambda tiny, name=name: audiocraft_codec(encodec_family.shipped_config(name), tiny),
            "conv+lstm",
            note="audiocraft SEANetDecoder of the compression model",
        )
        for name in ("musicgen_32khz", "audiogen_16khz")
    ],
    CodecModel(
        "snac_24khz",
        snac_24khz,
        "conv",
        note="snac.layers.Decoder, rates [8, 8, 4, 2], NoiseBlocks (fresh noise on every call)",
    ),
    CodecModel(
        "xcodec_acoustic",
        xcodec_transformers,
        "conv",
        note="XcodecModel: fc2 then the acoustic decoder; its latents mix the global semantic branch",
    ),
    CodecModel(
        "wavtokenizer",
        wavtokenizer_transformers,
        "conv+attention",
        note="WavTokenizerModel decoder: Vocos backbone (ConvNeXt, attention), ISTFT head",
    ),
    CodecModel(
        "mimi",
        mimi_transformers,
        "conv+attention",
        note="MimiModel.decoder: upsample, 8 sliding-window (250) layers, SEANet decoder; not yet "
        "measured: its tiny trace did not finish in 15 min on 2 shared CPU cores",
    ),
]


def find_codec(name: str) -> CodecModel:
    """The codec whose encoder row is `name`, or a UsageError listing them."""
    for codec in CODECS:
        if codec.name == name:
            return codec
    raise UsageError(f"{name}: no decoder for this zoo model; choose from {', '.join(c.name for c in CODECS)}")
