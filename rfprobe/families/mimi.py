"""Mimi (Moshi, Sesame CSM, Kyutai TTS): transformers' `MimiEncoderModel` and moshi's `MimiModel`.

The encoder is a causal SEANet (ratios 4, 5, 6, 8: hop 960 at 24 kHz), then 8 transformer
layers with causal sliding-window attention over 250 frames at 25 Hz, then a stride-2
downsample (12.5 Hz, hop 1920). Its conv-only twin is the SEANet part alone. Tiny width:
2 filters, hidden size 16, 2 heads; ratios, kernels, sliding window and the number of
layers are unchanged. Attention is eager so that forward-mode AD (the impulse probe) runs.
"""

from __future__ import annotations

import copy

from torch import nn

from rfprobe.families import Adapter, SnapshotBranch, Unavailable, ZooModel, require_transformers_class

SAMPLE_RATE = 24000
SEANET_HOP, FULL_HOP = 960, 1920


# Eager attention, so that forward-mode AD (the impulse probe) runs through it.
ATTENTION = "eager"
TINY = dict(
    num_filters=2,
    hidden_size=16,
    num_attention_heads=2,
    num_key_value_heads=2,
    intermediate_size=32,
    codebook_dim=8,
    vector_quantization_hidden_dimension=8,
    upsample_groups=16,
)


def transformers_config(tiny: bool, **overrides):
    """The `MimiConfig` of the `mimi` row (tiny: see the module docstring), with `overrides`."""
    return require_transformers_class("MimiConfig")(
        attn_implementation=ATTENTION, **(TINY if tiny else {}), **overrides
    )


def _latents(inner: nn.Module, inputs):
    return inner(inputs).latents


def encoder_branch(encoder_model: nn.Module) -> SnapshotBranch:
    """A `MimiEncoderModel` (SEANet, transformer, downsample) read at its `.latents` (before quantization)."""
    config = encoder_model.config
    return SnapshotBranch(
        "encoder",
        Adapter(encoder_model.eval(), _latents).eval(),
        channels=config.audio_channels,
        sample_rate=config.sampling_rate,
    )


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """The encoder of a `MimiModel` snapshot (model_type mimi) or a `MimiEncoderModel` one (mimi_encoder)."""
    if model.config.model_type == "mimi_encoder":
        return [encoder_branch(model)]
    if model.encoder is None:
        raise Unavailable("this Mimi snapshot has no encoder (its config says encoder_config: null)")
    return [encoder_branch(model.encoder)]


def transformers_encoder(tiny: bool) -> nn.Module:
    """`MimiEncoderModel`: SEANet, transformer, downsample; its `.latents` (before quantization)."""
    encoder_class = require_transformers_class("MimiEncoderModel")
    return encoder_branch(encoder_class(transformers_config(tiny).encoder_config)).module


def transformers_seanet(tiny: bool) -> nn.Module:
    """The SEANet part alone (`MimiEncoderModel.encoder_seanet`)."""
    return transformers_encoder(tiny).inner.encoder_seanet


def _moshi_mimi(tiny: bool):
    """moshi's `get_mimi(None, config)`: its published config, uninitialised weights drawn at random."""
    try:
        from moshi.models import loaders
    except Exception as error:
        raise Unavailable(f"moshi cannot be imported ({type(error).__name__}: {error})") from None
    config = copy.deepcopy(loaders._mimi_config)
    if tiny:
        config["seanet"].update(n_filters=2, dimension=16)
        config["transformer"].update(
            d_model=16, num_heads=2, dim_feedforward=32, input_dimension=16, output_dimensions=[16]
        )
        config["quantizer"].update(dimension=8, input_dimension=16, output_dimension=16)
    return loaders.get_mimi(None, config)


def _moshi_latents(inner: nn.Module, inputs):
    # MimiModel.encode quantizes; the latents before quantization are what `_encode_to_unquantized_latent` returns
    return inner._encode_to_unquantized_latent(inputs)


def moshi_encoder(tiny: bool) -> nn.Module:
    """moshi's Mimi, audio to latent frames before quantization (SEANet, transformer, downsample)."""
    return Adapter(_moshi_mimi(tiny), _moshi_latents).eval()


def moshi_seanet(tiny: bool) -> nn.Module:
    """moshi's Mimi SEANet encoder alone, without its transformer and downsample."""
    return _moshi_mimi(tiny).encoder.eval()


MODELS = [
    ZooModel(
        name="mimi",
        family="Mimi",
        package="transformers",
        sample_rate=SAMPLE_RATE,
        channels=1,
        kind="conv+attention",
        hop_samples=FULL_HOP,
        build=transformers_encoder,
        note="MimiEncoderModel(...).latents: SEANet + 8 sliding-window (250) layers + stride-2 downsample",
    ),
    ZooModel(
        name="mimi_seanet",
        family="Mimi",
        package="transformers",
        sample_rate=SAMPLE_RATE,
        channels=1,
        kind="conv",
        hop_samples=SEANET_HOP,
        twin_of="mimi",
        build=transformers_seanet,
        note="conv-only twin: MimiEncoderModel.encoder_seanet",
    ),
    ZooModel(
        name="mimi_moshi",
        family="Mimi",
        package="moshi",
        sample_rate=SAMPLE_RATE,
        channels=1,
        kind="conv+attention",
        hop_samples=FULL_HOP,
        length_multiple=FULL_HOP,
        build=moshi_encoder,
        note="moshi MimiModel, unquantized latents",
    ),
    ZooModel(
        name="mimi_seanet_moshi",
        family="Mimi",
        package="moshi",
        sample_rate=SAMPLE_RATE,
        channels=1,
        kind="conv",
        hop_samples=SEANET_HOP,
        twin_of="mimi_moshi",
        length_multiple=SEANET_HOP,
        build=moshi_seanet,
        note="conv-only twin: moshi SEANetEncoder",
    ),
]

# Public for the codec builders (rfprobe.families.codecs): the same config and latents call.
latents_of = _latents
