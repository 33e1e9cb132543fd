"""DAC (Descript Audio Codec): transformers' `DacModel` encoder and descript-audio-codec's `DAC`.

Published encoders: 16 kHz and 24 kHz use rates [2, 4, 5, 8] (hop 320), 44 kHz uses
[2, 4, 8, 8] (hop 512); all have encoder width 64 and latent 64 x 16 = 1024. Residual units
use dilations 1, 3, 9 with kernel 7, Snake activations, and crop their input to the
output's length (DAC's centred residual). Tiny width: encoder width 2 (latent 32).
"""
from __future__ import annotations

import math

from torch import nn

from . import Unavailable, ZooModel, require_transformers_class

PUBLISHED = {16: (2, 4, 5, 8), 24: (2, 4, 5, 8), 44: (2, 4, 8, 8)}
SAMPLE_RATES = {16: 16000, 24: 24000, 44: 44100}
FULL_WIDTH, TINY_WIDTH = 64, 2


def transformers_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """transformers' `DacEncoder`, the part of `DacModel.encode` before the quantizer."""
    config_class = require_transformers_class("DacConfig")
    require_transformers_class("DacModel")
    from transformers.models.dac.modeling_dac import DacEncoder

    config = config_class(encoder_hidden_size=TINY_WIDTH if tiny else FULL_WIDTH,
                          downsampling_ratios=list(PUBLISHED[rate_khz]), sampling_rate=SAMPLE_RATES[rate_khz])
    return DacEncoder(config).eval()


def descript_encoder(rate_khz: int, tiny: bool) -> nn.Module:
    """descript-audio-codec's `DAC(...).encoder` (the `dac` package, imported without its CLI)."""
    try:
        from dac.model.dac import Encoder
    except Exception as error:  # missing package or one of its imports
        raise Unavailable(f"descript-audio-codec cannot be imported ({type(error).__name__}: {error})") from None
    width = TINY_WIDTH if tiny else FULL_WIDTH
    return Encoder(d_model=width, strides=list(PUBLISHED[rate_khz]), d_latent=width * 16).eval()


MODELS = [
    row for rate in (16, 24, 44) for row in (
        ZooModel(name=f"dac_{rate}khz", family="DAC", package="transformers", sample_rate=SAMPLE_RATES[rate],
                 channels=1, kind="conv", hop_samples=math.prod(PUBLISHED[rate]),
                 build=lambda tiny, rate=rate: transformers_encoder(rate, tiny),
                 note="DacEncoder (DacModel's encoder)"),
        ZooModel(name=f"dac_{rate}khz_descript", family="DAC", package="descript-audio-codec",
                 sample_rate=SAMPLE_RATES[rate], channels=1, kind="conv", hop_samples=math.prod(PUBLISHED[rate]),
                 build=lambda tiny, rate=rate: descript_encoder(rate, tiny), note="dac.model.dac.Encoder"),
    )
]
