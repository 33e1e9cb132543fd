"""X-codec: transformers' `XcodecModel`. Two branches, reported as two rows:

* acoustic: a DAC encoder (rates 8, 5, 4, 2 as Xcodec keeps them: hop 320 at 16 kHz);
* semantic: HuBERT over the waveform padded by hop/2 on each side, the mean of its hidden
  states, then Xcodec's conv `SemanticEncoder`. `XcodecModel.encode` runs HuBERT under
  `torch.no_grad()`; the row replays those four lines with gradients on (same modules,
  same order) so the probes can see through it. HuBERT's global self-attention (and its
  GroupNorm over time in the first feature conv) make this branch global.

Tiny width: DAC width 2; HuBERT hidden 16, 2 heads, 8-wide feature convs (kernels, strides
and the 12 layers unchanged).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rfprobe.families import Adapter, SnapshotBranch, ZooModel, require_transformers_class

# decoder_hidden_size halves through the acoustic decoder's 4 blocks: 32 keeps every block's channels
TINY_ACOUSTIC = {"encoder_hidden_size": 2, "hidden_size": 8, "decoder_hidden_size": 32}
TINY_SEMANTIC = {"hidden_size": 16, "num_attention_heads": 2, "intermediate_size": 32, "conv_dim": [8] * 7}


def build_model(tiny: bool):
    """transformers' X-codec model from its default config (or the tiny one), in eval mode."""
    config_class = require_transformers_class("XcodecConfig")
    model_class = require_transformers_class("XcodecModel")
    config = config_class(
        **(dict(acoustic_model_config=TINY_ACOUSTIC, semantic_model_config=TINY_SEMANTIC) if tiny else {})
    )
    # transformers' default attention (SDPA), which the analytic core reads; eager attention's
    # query x key product has two time axes, which it refuses.
    config.semantic_model_config._attn_implementation = "sdpa"
    return model_class(config).eval()


def snapshot_branches(model: nn.Module) -> list[SnapshotBranch]:
    """An `XcodecModel`'s two encoders: the acoustic DAC encoder and the semantic branch."""
    rate = model.config.sample_rate
    return [
        SnapshotBranch("acoustic", model.acoustic_encoder.eval(), channels=1, sample_rate=rate),
        SnapshotBranch("semantic", Adapter(model.eval(), _semantic).eval(), channels=1, sample_rate=rate),
    ]


def acoustic_encoder(tiny: bool) -> nn.Module:
    """X-codec's acoustic encoder, audio to acoustic latent frames."""
    return build_model(tiny).acoustic_encoder


def _semantic(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    # XcodecModel._extract_semantic_features + encoder_semantic, without its torch.no_grad()
    padded = F.pad(inputs[:, 0, :], (model.pad, model.pad))
    hidden_states = model.semantic_model(padded, output_hidden_states=True).hidden_states
    return model.encoder_semantic(torch.stack(hidden_states, dim=1).mean(dim=1).transpose(1, 2))


def latents_before_quantizer(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """What `XcodecModel.encode` hands its quantizer (its lines, the semantic branch without its
    no_grad): both branches concatenated and mixed by `fc`; the acoustic input is padded by hop/2
    on each side when its frames would not match the semantic branch's, as encode() decides."""
    e_semantic = _semantic(model, inputs)
    if model._get_conv1d_output_lengths(inputs.shape[2], model.acoustic_encoder) != e_semantic.shape[2]:
        e_acoustic = model.acoustic_encoder(F.pad(inputs, (model.pad, model.pad)))
    else:
        e_acoustic = model.acoustic_encoder(inputs)
    embeddings = torch.cat([e_acoustic, e_semantic], dim=1)
    return model.fc(embeddings.transpose(1, 2)).transpose(1, 2)


def audio_from_latents(model: nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """`XcodecModel.decode` after its codebook lookup: `fc2` back to the acoustic width, then the
    acoustic decoder."""
    return model.acoustic_decoder(model.fc2(latents.transpose(1, 2)).transpose(1, 2))


def semantic_branch(tiny: bool) -> nn.Module:
    """X-codec's semantic branch, audio to semantic latent frames, as encode() computes it (without its no_grad)."""
    return Adapter(build_model(tiny), _semantic).eval()


MODELS = [
    ZooModel(
        name="xcodec_acoustic",
        family="X-codec",
        package="transformers",
        sample_rate=16000,
        channels=1,
        kind="conv",
        hop_samples=320,
        build=acoustic_encoder,
        note="XcodecModel.acoustic_encoder (DAC)",
    ),
    ZooModel(
        name="xcodec_semantic",
        family="X-codec",
        package="transformers",
        sample_rate=16000,
        channels=1,
        kind="attention",
        hop_samples=320,
        build=semantic_branch,
        note="HuBERT (mean of hidden states) + SemanticEncoder",
    ),
]
