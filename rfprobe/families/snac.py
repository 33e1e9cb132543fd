"""SNAC (multi-scale neural audio codec): the `snac` package's `SNAC(...).encoder`.

Only the constructor defaults are used (44.1 kHz, rates 3, 3, 7, 7, depthwise convs, local
attention over non-overlapping windows of 32 frames): the published checkpoints' configs
live on a hub that cannot be reached here. `SNAC.preprocess` pads the input to a multiple of
hop x lcm(vq_strides[0], window); the encoder itself needs the frame count to be a multiple
of the window, hence the length rule. Tiny width: encoder_dim 4 (one 64-wide head at the end).
"""
from __future__ import annotations

import math

from torch import nn

from . import Unavailable, ZooModel

RATES, WINDOW = (3, 3, 7, 7), 32


def snac_encoder(tiny: bool) -> nn.Module:
    try:
        from snac import SNAC
    except Exception as error:
        raise Unavailable(f"snac cannot be imported ({type(error).__name__}: {error})") from None
    return SNAC(**({"encoder_dim": 4} if tiny else {})).encoder.eval()


MODELS = [ZooModel(name="snac_init_defaults", family="SNAC", package="snac", sample_rate=44100, channels=1,
                   kind="conv+attention", hop_samples=math.prod(RATES), length_multiple=math.prod(RATES) * WINDOW,
                   build=snac_encoder, note="SNAC() constructor defaults; local attention in windows of 32 frames")]
