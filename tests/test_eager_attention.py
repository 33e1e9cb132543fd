"""Eager attention (matmul, additive mask, softmax, matmul), read by the analytic core and
measured by both probes: transformers' own Mimi transformer with a short sliding window,
and the full Mimi encoder (slow: its ~80 s past is probed end to end), also with
transformers' default SDPA attention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rfprobe import probe_module
from rfprobe.arithmetic.geometry import Side
from rfprobe.core.walk import walk_receptive_field

transformers = pytest.importorskip("transformers", reason='transformers is an optional extra: pip install -e ".[hf]"')


class FramesIn(nn.Module):
    """transformers' MimiTransformerModel after a conv of kernel 16, stride 16: frame f reads
    samples 16f .. 16f + 15 (hop 16)."""

    def __init__(self, layers: int, window: int) -> None:
        super().__init__()
        config = transformers.MimiConfig(
            hidden_size=8,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=16,
            num_hidden_layers=layers,
            sliding_window=window,
            attn_implementation="eager",
        )
        self.transformer = transformers.models.mimi.modeling_mimi.MimiTransformerModel(config)
        self.embed = nn.Conv1d(1, 8, kernel_size=16, stride=16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(x).transpose(1, 2)
        return self.transformer(hidden, use_cache=False).last_hidden_state.transpose(1, 2)


def _mimi_transformer(layers: int, window: int) -> nn.Module:
    torch.manual_seed(0)
    return FramesIn(layers, window).double().eval()


@pytest.mark.parametrize("layers, window", [(3, 5), (2, 9)])
def test_mimi_sliding_window_layers_reach_layers_times_window_minus_one_frames_back(layers, window):
    # By hand: query t sees keys t - (window - 1) .. t (transformers' sliding window is the
    # number of keys, the query's own included); each layer reaches window - 1 frames
    # further back and none forward. Output frame t (anchor 16t) reads frames
    # t - layers * (window - 1) .. t: samples 16 * (t - layers * (window - 1)) .. 16t + 15.
    verification = probe_module(_mimi_transformer(layers, window), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    for result in verification.results:
        field = result.receptive_field
        assert (field.left.samples, field.right.samples, field.hop_samples) == (16 * layers * (window - 1), 15, 16), (
            result.method
        )
        assert not field.left.unbounded and not field.left.at_least


def test_a_window_longer_than_the_input_still_gives_the_finite_past_once_the_input_is_longer():
    result = walk_receptive_field(_mimi_transformer(2, 300), channels=1)
    field = result.receptive_field
    assert (field.left.samples, field.right.samples) == (16 * 2 * 299, 15)
    assert result.evidence["trace_lengths_samples"][-1] > 16 * 2 * 299


_ROWS: dict = {}


def _row(name: str):
    from rfprobe.families import find
    from rfprobe.runs.zoo import run_row

    if name not in _ROWS:
        _ROWS[name] = run_row(find(name), tiny=True)
    return _ROWS[name]


@pytest.mark.slow  # about 1 minute on 2 idle cores (3 when busy): both probes run on 1.9 million samples
def test_mimi_encoder_past_is_finite_and_core_gradient_and_impulse_agree():
    from rfprobe.runs.zoo import PASS

    row, seanet = _row("mimi"), _row("mimi_seanet")
    assert row.verdict == PASS and row.methods_agreeing == row.methods_run == 3, row.reason
    assert not row.left_unbounded and not row.right_unbounded and not row.global_in_time
    config = transformers.MimiConfig()
    # By hand: the stride-2 downsample (kernel 4, causal: 2 frames of left padding) reads
    # SEANet frames 2n - 2 .. 2n + 1 around its anchor 2n; each of the attention layers
    # reaches sliding_window - 1 frames further back; then the SEANet's own past.
    attention_frames = config.num_hidden_layers * (config.sliding_window - 1)
    assert row.hop_samples == 2 * seanet.hop_samples
    assert row.left_samples == seanet.left_samples + (2 + attention_frames) * seanet.hop_samples
    assert row.right_samples == seanet.hop_samples + seanet.right_samples


@pytest.mark.slow  # as long again: moshi's own Mimi (its attention through SDPA, not eager)
def test_moshi_mimi_has_exactly_the_transformers_receptive_field_and_edge_supports():
    from rfprobe.runs.zoo import PASS, cross_checks

    pytest.importorskip("moshi", reason="moshi is an optional extra")
    ours, theirs = _row("mimi"), _row("mimi_moshi")
    assert theirs.verdict == PASS and theirs.methods_agreeing == theirs.methods_run == 3, theirs.reason
    (check,) = cross_checks([ours, theirs])
    assert not check.skipped and not check.differences, check.describe()


@pytest.mark.slow  # about 1 minute: both probes on 1.9 million samples
def test_mimi_with_transformers_default_sdpa_gets_the_same_finite_past():
    # With SDPA, transformers builds no sliding-window mask while the input is shorter than
    # the window (is_causal=True instead): the core must look past that before calling the
    # past open. The answer must be the eager row's, by every method.
    from rfprobe.families import Adapter, mimi

    config = transformers.MimiConfig(
        num_filters=2,
        hidden_size=16,
        num_attention_heads=2,
        num_key_value_heads=2,
        intermediate_size=32,
        codebook_dim=8,
        vector_quantization_hidden_dimension=8,
        upsample_groups=16,
    )
    torch.manual_seed(0)
    encoder = Adapter(transformers.MimiEncoderModel(config.encoder_config).eval(), mimi._latents).eval()
    assert encoder.inner.config._attn_implementation == "sdpa"
    verification = probe_module(encoder, channels=1, hop_samples=2 * mimi.SEANET_HOP)
    seanet = _row("mimi_seanet")
    left = seanet.left_samples + (2 + config.num_hidden_layers * (config.sliding_window - 1)) * seanet.hop_samples
    assert verification.verdict.passed, verification.verdict.reasons()
    for result in verification.results:
        field = result.receptive_field
        assert (field.left, field.right) == (Side(left), Side(seanet.hop_samples + seanet.right_samples)), result.method
