"""PocketTTS's audio tokenizer: transformers' `PocketTTSAudioTokenizerEncoderModel`, a Mimi-like
causal SEANet, 2 transformer layers with sliding-window attention (250), then a downsample.
Tiny width: 2 filters, hidden 16, 2 heads; ratios, window and layer count unchanged.
"""

from __future__ import annotations

from torch import nn

from rfprobe.families import Adapter, ZooModel, require_transformers_class


def _latents(inner: nn.Module, inputs):
    return inner(inputs).latents


def transformers_encoder(tiny: bool) -> nn.Module:
    config_class = require_transformers_class("PocketTTSAudioTokenizerEncoderConfig")
    encoder_class = require_transformers_class("PocketTTSAudioTokenizerEncoderModel")
    values = dict(attn_implementation="eager")
    if tiny:
        values.update(
            num_filters=2,
            hidden_size=16,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=32,
            upsample_groups=16,
            latent_dim=8,
        )
    return Adapter(encoder_class(config_class(**values)).eval(), _latents).eval()


def transformers_seanet(tiny: bool) -> nn.Module:
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
