"""SNAC (multi-scale neural audio codec): the `snac` package's `SNAC(...).encoder`.

Two rows:

* `snac_24khz`: the published speech model's config (hubertsiuzdak/snac_24khz: 24 kHz,
  encoder_dim 48, rates 2, 4, 8, 8, depthwise convs, no attention); the hub cannot be
  reached here, so the config is written out below. A convolutional encoder, hop 512.
* `snac_init_defaults`: the constructor defaults (44.1 kHz, rates 3, 3, 7, 7, depthwise
  convs, local attention over non-overlapping windows of 32 frames, as the 32 and 44 kHz
  music models). Which samples a frame reads depends on its place in its window: frames of
  one window read the same samples, so no single receptive field holds for every frame,
  and the core says so. `SNAC.preprocess` pads the input to a multiple of hop x
  lcm(vq_strides[0], window); the encoder itself needs the frame count to be a multiple of
  the window, hence the length rule.

Tiny width: encoder_dim 4 (one 64-wide attention head at the end of the windowed one).
"""

from __future__ import annotations

import math

from torch import nn

from rfprobe.families import Unavailable, ZooModel

RATES, WINDOW = (3, 3, 7, 7), 32
# hubertsiuzdak/snac_24khz config.json, encoder part (the decoder does not change the encoder).
SNAC_24KHZ = dict(
    sampling_rate=24000,
    encoder_dim=48,
    encoder_rates=[2, 4, 8, 8],
    decoder_dim=1024,
    decoder_rates=[8, 8, 4, 2],
    attn_window_size=None,
    codebook_size=4096,
    codebook_dim=8,
    vq_strides=[4, 2, 1],
    noise=True,
    depthwise=True,
)


TINY_ENCODER_DIM = 4


def build_snac(**config):
    """snac's `SNAC(**config)` (Unavailable when snac cannot be imported)."""
    try:
        from snac import SNAC
    except Exception as error:
        raise Unavailable(f"snac cannot be imported ({type(error).__name__}: {error})") from None
    return SNAC(**config)


def snac_encoder(tiny: bool) -> nn.Module:
    """The encoder of SNAC() with its constructor defaults (44.1 kHz, local attention windows of 32 frames)."""
    return build_snac(**({"encoder_dim": TINY_ENCODER_DIM} if tiny else {})).encoder.eval()


def snac_24khz_config(tiny: bool) -> dict:
    """hubertsiuzdak/snac_24khz's configuration, its encoder at tiny width when `tiny`."""
    return {**SNAC_24KHZ, **({"encoder_dim": TINY_ENCODER_DIM} if tiny else {})}


def snac_24khz_encoder(tiny: bool) -> nn.Module:
    """The encoder of hubertsiuzdak/snac_24khz's configuration."""
    return build_snac(**snac_24khz_config(tiny)).encoder.eval()


MODELS = [
    ZooModel(
        name="snac_24khz",
        family="SNAC",
        package="snac",
        sample_rate=24000,
        channels=1,
        kind="conv",
        hop_samples=math.prod(SNAC_24KHZ["encoder_rates"]),
        build=snac_24khz_encoder,
        note="hubertsiuzdak/snac_24khz config (speech); no attention",
    ),
    ZooModel(
        name="snac_init_defaults",
        family="SNAC",
        package="snac",
        sample_rate=44100,
        channels=1,
        kind="conv+attention",
        hop_samples=math.prod(RATES),
        length_multiple=math.prod(RATES) * WINDOW,
        build=snac_encoder,
        note="SNAC() constructor defaults; local attention in windows of 32 frames",
    ),
]
