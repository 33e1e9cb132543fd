"""X-codec 2: transformers' `Xcodec2Model`. Two branches, two rows:

* acoustic: `Xcodec2Encoder` (DAC-like blocks with anti-aliased SnakeBeta activations that
  upsample and low-pass filter; rates 2, 2, 4, 4, 5: hop 320 at 16 kHz);
* semantic: wav2vec2-BERT (16 conformer layers, global self-attention) over the mel
  features the feature extractor computes outside the model, then the semantic adapter.
  Its extents are in feature frames, not audio samples (the feature extractor is numpy).

Tiny width: encoder width 2, hidden 16, 2 heads; rates, kernels, layers unchanged.
"""

from __future__ import annotations

from torch import nn

from rfprobe.families import SnapshotBranch, ZooModel, require_transformers_class

TINY = dict(
    encoder_hidden_size=2,
    hidden_size=16,
    num_attention_heads=2,
    num_key_value_heads=2,
    head_dim=8,
    intermediate_size=32,
)
TINY_SEMANTIC = dict(
    hidden_size=16, num_attention_heads=2, intermediate_size=32, output_hidden_size=16, num_hidden_layers=16
)


def _config(config_name: str, tiny: bool):
    config_class = require_transformers_class(config_name)
    config = config_class(**(dict(TINY, semantic_model_config=TINY_SEMANTIC) if tiny else {}))
    # SDPA, which the analytic core reads: transformers passes wav2vec2-BERT's relative-position
    # bias (computed from the queries) to it as an additive mask.
    config.semantic_model_config._attn_implementation = "sdpa"
    return config


def acoustic(config_name: str, module_path: str, encoder_name: str, tiny: bool) -> nn.Module:
    """An X-codec 2 family model's acoustic encoder, from its config class and module path."""
    import importlib

    encoder_class = getattr(importlib.import_module(module_path), encoder_name)
    return encoder_class(_config(config_name, tiny)).eval()


class SemanticBranch(nn.Module):
    """(batch, mel features, frames) -> semantic encoder -> adapter -> (batch, dim, frames)."""

    def __init__(self, encoder: nn.Module, adapter: nn.Module):
        super().__init__()
        self.encoder, self.adapter = encoder, adapter

    def forward(self, features):
        """The semantic encoder's last hidden state on `features`, then the adapter: (batch, dim, frames)."""
        hidden = self.encoder(input_features=features.transpose(1, 2)).last_hidden_state.transpose(1, 2)
        return self.adapter(hidden)


SEMANTIC_CHANNELS = 160  # stacked mel features per frame, computed by the feature extractor outside the model


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """The acoustic encoder and the semantic branch (encoder + adapter) of an `Xcodec2Model` or a
    `NeuCodecModel`; the semantic branch reads feature frames, so it has no sample rate."""
    config = model.config
    rate = getattr(config, "input_sampling_rate", None) or config.sampling_rate
    return [
        SnapshotBranch("acoustic", model.acoustic_encoder.eval(), channels=1, sample_rate=rate),
        SnapshotBranch(
            "semantic",
            SemanticBranch(model.semantic_encoder, model.semantic_adapter).eval(),
            channels=SEMANTIC_CHANNELS,
            sample_rate=None,
            input_unit="feature frames",
            hop_samples=1,
        ),
    ]


def semantic(config_name: str, module_path: str, adapter_name: str, tiny: bool) -> nn.Module:
    """An X-codec 2 family model's semantic branch: the semantic model, then its adapter."""
    import importlib

    from transformers import AutoModel

    config = _config(config_name, tiny)
    adapter_class = getattr(importlib.import_module(module_path), adapter_name)
    return SemanticBranch(AutoModel.from_config(config.semantic_model_config), adapter_class(config)).eval()


def family_models(family: str, name: str, prefix: str, module_path: str) -> list[ZooModel]:
    """The acoustic and semantic rows of a codec with X-codec 2's layout (X-codec 2, NeuCodec):
    transformers classes `{prefix}Config`, `{prefix}Encoder` and `{prefix}SemanticAdapter`."""
    return [
        ZooModel(
            name=f"{name}_acoustic",
            family=family,
            package="transformers",
            sample_rate=16000,
            channels=1,
            kind="conv",
            hop_samples=320,
            build=lambda tiny: acoustic(f"{prefix}Config", module_path, f"{prefix}Encoder", tiny),
            note=f"{prefix}Encoder ({prefix}Model.acoustic_encoder)",
        ),
        ZooModel(
            name=f"{name}_semantic",
            family=family,
            package="transformers",
            sample_rate=16000,
            channels=SEMANTIC_CHANNELS,
            kind="attention",
            hop_samples=1,
            input_unit="feature frames",
            build=lambda tiny: semantic(f"{prefix}Config", module_path, f"{prefix}SemanticAdapter", tiny),
            note="wav2vec2-BERT on 160-dim stacked mel features + semantic adapter",
        ),
    ]


MODELS = family_models("X-codec 2", "xcodec2", "Xcodec2", "transformers.models.xcodec2.modeling_xcodec2")
