"""PocketTTS's audio tokenizer: transformers' `PocketTTSAudioTokenizerEncoderModel`, a Mimi-like
causal SEANet, 2 transformer layers with sliding-window attention (250), then a downsample.
Tiny width: 2 filters, hidden 16, 2 heads; ratios, window and layer count unchanged.
"""

from __future__ import annotations

from torch import nn

from rfprobe.families import Adapter, SnapshotBranch, Unavailable, ZooModel, require_transformers_class

ATTENTION = "eager"  # so that forward-mode AD (the impulse probe) runs through it
TINY = dict(
    num_filters=2,
    hidden_size=16,
    num_attention_heads=2,
    num_key_value_heads=2,
    intermediate_size=32,
    upsample_groups=16,
    latent_dim=8,
)


def _latents(inner: nn.Module, inputs):
    return inner(inputs).latents


def encoder_branch(encoder_model: nn.Module) -> SnapshotBranch:
    """A `PocketTTSAudioTokenizerEncoderModel` read at its `.latents`."""
    config = encoder_model.config
    return SnapshotBranch(
        "encoder",
        Adapter(encoder_model.eval(), _latents).eval(),
        channels=config.audio_channels,
        sample_rate=config.sampling_rate,
    )


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """The encoder of a `PocketTTSAudioTokenizerModel` snapshot (model_type pocket_tts_audio_tokenizer)
    or of an encoder-only one (pocket_tts_audio_tokenizer_encoder)."""
    if model.config.model_type == "pocket_tts_audio_tokenizer_encoder":
        return [encoder_branch(model)]
    if model.encoder is None:
        raise Unavailable("this PocketTTS tokenizer snapshot has no encoder (its config says encoder_config: null)")
    return [encoder_branch(model.encoder)]


def transformers_encoder(tiny: bool) -> nn.Module:
    """transformers' PocketTTS audio tokenizer encoder, audio to latent frames."""
    config_class = require_transformers_class("PocketTTSAudioTokenizerEncoderConfig")
    encoder_class = require_transformers_class("PocketTTSAudioTokenizerEncoderModel")
    config = config_class(attn_implementation=ATTENTION, **(TINY if tiny else {}))
    return encoder_branch(encoder_class(config)).module


def transformers_seanet(tiny: bool) -> nn.Module:
    """The SEANet part of transformers' PocketTTS audio tokenizer encoder."""
    return transformers_encoder(tiny).inner.encoder_seanet


MODELS = [
    ZooModel(
        name="pocket_tts_tokenizer",
        family="PocketTTS",
        package="transformers",
        sample_rate=24000,
        channels=1,
        kind="conv+attention",
        build=transformers_encoder,
        note="PocketTTSAudioTokenizerEncoderModel(...).latents",
    ),
    ZooModel(
        name="pocket_tts_seanet",
        family="PocketTTS",
        package="transformers",
        sample_rate=24000,
        channels=1,
        kind="conv",
        twin_of="pocket_tts_tokenizer",
        build=transformers_seanet,
        note="conv-only twin: the SEANet part alone",
    ),
]
