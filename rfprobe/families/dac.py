"""DAC (Descript Audio Codec): transformers' `DacModel` encoder and descript-audio-codec's `DAC`.

Published encoders: 16 kHz and 24 kHz use rates [2, 4, 5, 8] (hop 320), 44 kHz uses
[2, 4, 8, 8] (hop 512); all have encoder width 64 and latent 64 x 16 = 1024. Residual units
use dilations 1, 3, 9 with kernel 7, Snake activations, and crop their input to the
output's length (DAC's centred residual). Tiny width: encoder width 2 (latent 32).
"""

from __future__ import annotations

import math
import types

from torch import nn

from rfprobe.families import SnapshotBranch, ZooModel, require_transformers_class

PUBLISHED = {16: (2, 4, 5, 8), 24: (2, 4, 5, 8), 44: (2, 4, 8, 8)}
SAMPLE_RATES = {16: 16000, 24: 24000, 44: 44100}
FULL_WIDTH, TINY_WIDTH = 64, 2
# Published decoders: width 1536; 16 at tiny width (the width halves at each of its 4 blocks).
DECODER_WIDTH, TINY_DECODER_WIDTH = 1536, 16


def transformers_config(rate_khz: int, tiny: bool):
    """The `DacConfig` of the `dac_{rate_khz}khz` row (tiny: encoder width 2)."""
    return require_transformers_class("DacConfig")(
        encoder_hidden_size=TINY_WIDTH if tiny else FULL_WIDTH,
        downsampling_ratios=list(PUBLISHED[rate_khz]),
        sampling_rate=SAMPLE_RATES[rate_khz],
    )


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """`DacModel.encoder` (a `DacEncoder`), the part of `DacModel.encode` before the quantizer."""
    config = model.config
    return [
        SnapshotBranch(
            "encoder",
            model.encoder.eval(),
            channels=1,
            sample_rate=config.sampling_rate,
            hop_samples=math.prod(config.downsampling_ratios),
        )
    ]


def transformers_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """transformers' `DacEncoder`, the part of `DacModel.encode` before the quantizer."""
    require_transformers_class("DacModel")
    from transformers.models.dac.modeling_dac import DacEncoder

    return DacEncoder(transformers_config(rate_khz, tiny)).eval()


def _audiotools_placeholders() -> dict:
    """`dac/model/dac.py` imports audiotools for its `DAC` wrapper class (file I/O, loudness);
    Encoder, EncoderBlock and ResidualUnit never touch it."""
    audiotools, ml, base = (
        types.ModuleType(name) for name in ("audiotools", "audiotools.ml", "_rfprobe_dac.model.base")
    )
    audiotools.AudioSignal = object
    ml.BaseModel = nn.Module
    audiotools.ml = ml
    base.CodecMixin = object
    return {"audiotools": audiotools, "audiotools.ml": ml, "_rfprobe_dac.model.base": base}


def descript_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """descript-audio-codec's `dac.model.dac.Encoder`, the installed file itself (see installed_files)."""
    try:
        import dac  # noqa: F401  (the normal import, when audiotools is installed)
        from dac.model.dac import Encoder
    except Exception:
        from rfprobe.families.installed_files import load_files

        Encoder = load_files(
            "dac", "_rfprobe_dac", ["nn.layers", "nn.quantize", "model.dac"], placeholders=_audiotools_placeholders()
        )["model.dac"].Encoder
    width = TINY_WIDTH if tiny else FULL_WIDTH
    return Encoder(d_model=width, strides=list(PUBLISHED[rate_khz]), d_latent=width * 16).eval()


MODELS = [
    row
    for rate in (16, 24, 44)
    for row in (
        ZooModel(
            name=f"dac_{rate}khz",
            family="DAC",
            package="transformers",
            sample_rate=SAMPLE_RATES[rate],
            channels=1,
            kind="conv",
            hop_samples=math.prod(PUBLISHED[rate]),
            build=lambda tiny, rate=rate: transformers_encoder(rate, tiny),
            note="DacEncoder (DacModel's encoder)",
        ),
        ZooModel(
            name=f"dac_{rate}khz_descript",
            family="DAC",
            package="descript-audio-codec",
            sample_rate=SAMPLE_RATES[rate],
            channels=1,
            kind="conv",
            hop_samples=math.prod(PUBLISHED[rate]),
            build=lambda tiny, rate=rate: descript_encoder(rate, tiny),
            note="dac.model.dac.Encoder",
        ),
    )
]

# Public for the codec builders (rfprobe.families.codecs), which load the same files.
audiotools_placeholders = _audiotools_placeholders


def descript_codec(rate_khz: int, tiny: bool) -> nn.Module:
    """descript-audio-codec's whole `dac.model.dac.DAC`, with its own `CodecMixin` (compress,
    decompress, get_delay, get_output_length from dac/model/base.py) running on rfprobe's
    `TensorSignal` in place of audiotools' `AudioSignal` (see rfprobe.families.audio_signal)."""
    from rfprobe.families.audio_signal import ModelBase, TensorSignal
    from rfprobe.families.installed_files import load_files

    audiotools, ml = types.ModuleType("audiotools"), types.ModuleType("audiotools.ml")
    audiotools.AudioSignal = TensorSignal
    ml.BaseModel = ModelBase
    audiotools.ml = ml
    loaded = load_files(
        "dac",
        "_rfprobe_dac_codec",
        ["nn.layers", "nn.quantize", "model.base", "model.dac"],
        placeholders={"audiotools": audiotools, "audiotools.ml": ml},
    )
    width = TINY_WIDTH if tiny else FULL_WIDTH

    return (
        loaded["model.dac"]
        .DAC(
            encoder_dim=width,
            encoder_rates=list(PUBLISHED[rate_khz]),
            decoder_dim=TINY_DECODER_WIDTH if tiny else DECODER_WIDTH,
            decoder_rates=list(reversed(PUBLISHED[rate_khz])),
            sample_rate=SAMPLE_RATES[rate_khz],
        )
        .eval()
    )
