"""WavTokenizer: transformers' `WavTokenizerEncoder` (an EnCodec-style SEANet with a 2-layer
LSTM, reflect padding, non-causal; ratios 4, 5, 5, 6: hop 600 at 24 kHz, 40 tokens/s).
Tiny width: 2 filters, 8-wide latent; kernels, ratios, padding and LSTM layers unchanged.
"""

from __future__ import annotations

from torch import nn

from rfprobe.families import SnapshotBranch, ZooModel, require_transformers_class


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """The `WavTokenizerEncoder` of a `WavTokenizerModel` (model_type wavtokenizer) or of a
    `WavTokenizerEncoderModel` (wavtokenizer_encoder) snapshot: the part of encode() before the quantizer."""
    encoder_model = model if model.config.model_type == "wavtokenizer_encoder" else model.encoder_model
    config = model.config
    return [
        SnapshotBranch(
            "encoder", encoder_model.encoder.eval(), channels=config.audio_channels, sample_rate=config.sampling_rate
        )
    ]


TINY = dict(num_filters=2, hidden_size=8, codebook_dim=8)  # tiny width: 2 filters, 8 latent channels


def transformers_encoder(tiny: bool) -> nn.Module:
    """transformers' WavTokenizer encoder, audio to latent frames."""
    config_class = require_transformers_class("WavTokenizerConfig")
    from transformers.models.wavtokenizer.modeling_wavtokenizer import WavTokenizerEncoder

    return WavTokenizerEncoder(config_class(**(TINY if tiny else {}))).eval()


MODELS = [
    ZooModel(
        name="wavtokenizer",
        family="WavTokenizer",
        package="transformers",
        sample_rate=24000,
        channels=1,
        kind="conv+lstm",
        build=transformers_encoder,
        note="WavTokenizerEncoder (the part of encode() before the quantizer)",
    )
]
