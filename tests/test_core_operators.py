"""The analytic core on one hand-built module per op class: exact answers derived by hand,
agreed by the gradient and impulse probes, and refusals by name."""

from __future__ import annotations

import pytest
import torch

from rfprobe import probe_module
from rfprobe.arithmetic.geometry import Side
from rfprobe.core import budget
from rfprobe.core.analysis import operator_receptive_field
from rfprobe.core.walk import walk_receptive_field

from operator_modules import (
    BiasedAttention,
    BidirectionalGRU,
    CausalDilatedStack,
    CircularPadThenRecurrence,
    CroppingResidual,
    EagerAttention,
    EagerMaskedFillWindow,
    EagerRelativeKeyBias,
    EagerSlidingWindowStack,
    LinearUpsampleThenStride,
    MaskOnlyWhenLonger,
    ReflectPadConv,
    RollAlongTime,
    SlidingWindowAttention,
    ReflectStartThroughRecurrence,
    UpsampleThenStride,
    WideConvThenRecurrent,
    WindowedAttention,
    WindowPooledAttention,
    build,
)

HAND_DERIVED = {  # (left, right, hop)
    "sliding window attention": (SlidingWindowAttention, (8, 0, 1)),
    "nearest upsample then strided conv": (UpsampleThenStride, (0, 1, 2)),
    "linear upsample then strided conv": (LinearUpsampleThenStride, (1, 2, 2)),
    "cropping residual": (CroppingResidual, (0, 18, 1)),
    "reflect padding": (ReflectPadConv, (3, 3, 1)),
    "attention within windows, pooled": (WindowPooledAttention, (0, 3, 4)),
    "eager sliding-window attention, 3 layers of window 5 after a stride-4 conv": (EagerSlidingWindowStack, (48, 3, 4)),
    "eager attention masked with masked_fill(-inf), 2 layers of |t - k| < 3": (EagerMaskedFillWindow, (4, 4, 1)),
    "eager attention with a relative-key position bias along the queries": (EagerRelativeKeyBias, (64, 79, 16)),
}


@pytest.mark.parametrize("name", sorted(HAND_DERIVED))
def test_core_gives_the_hand_derived_receptive_field(name):
    factory, (left, right, hop) = HAND_DERIVED[name]
    field = walk_receptive_field(build(factory), channels=1).receptive_field
    assert (field.left.samples, field.right.samples, field.hop_samples) == (left, right, hop)
    assert field.bounded and not field.left.at_least and not field.right.at_least


@pytest.mark.parametrize("name", sorted(HAND_DERIVED))
def test_core_gradient_and_impulse_agree_and_pass(name):
    factory, (left, right, hop) = HAND_DERIVED[name]
    verification = probe_module(build(factory), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    for result in verification.results:
        field = result.receptive_field
        assert (field.left.samples, field.right.samples, field.hop_samples) == (left, right, hop), result.method


def test_a_causal_dilated_stack_has_a_past_of_exactly_65535_samples_never_unbounded():
    field = walk_receptive_field(build(CausalDilatedStack), channels=1).receptive_field
    assert (field.left.samples, field.right.samples, field.hop_samples) == (65535, 0, 1)
    assert not field.left.unbounded and not field.left.at_least


def test_the_causal_dilated_stack_is_measured_not_called_unbounded_by_the_probes():
    verification = probe_module(build(lambda: CausalDilatedStack(layers=12)), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    assert all(
        r.receptive_field.left.samples == 4095 and not r.receptive_field.left.unbounded for r in verification.results
    )


def test_a_bidirectional_gru_makes_both_sides_unbounded_and_names_the_recurrence():
    result = walk_receptive_field(build(BidirectionalGRU), channels=1)
    field = result.receptive_field
    assert field.left.unbounded and field.right.unbounded and field.hop_samples == 1
    assert any("GRU" in reason for reason in result.evidence["unbounded_because"])


def test_an_op_without_a_rule_is_refused_by_name():
    result = walk_receptive_field(build(RollAlongTime), channels=1)
    assert not result.ran and "aten.roll" in result.unavailable_reason


def test_a_causal_eager_mask_stops_growing_at_the_memory_budget_and_says_at_least(monkeypatch):
    # A causal mask read off a tensor reaches the first key at every length: the input
    # doubles until its attention weights (frames squared) would pass the budget.
    monkeypatch.setattr(budget, "memory_budget_bytes", lambda device: 1 << 26)
    result = walk_receptive_field(build(lambda: EagerSlidingWindowStack(layers=1, window=1 << 30)), channels=1)
    field = result.receptive_field
    assert field.left.at_least and not field.left.unbounded and field.right.samples == 3
    assert "two time axes" in result.evidence["sizing_stopped"]
    assert result.evidence["trace_lengths_samples"][-1] < 1 << 16


def test_eager_attention_without_a_mask_is_global():
    result = walk_receptive_field(build(EagerAttention), channels=1)
    field = result.receptive_field
    assert result.ran and field.global_in_time and field.left.unbounded and field.right.unbounded
    assert any("softmax over every key" in why for why in result.evidence["unbounded_because"])
    assert [row.kind for row in result.layers] == ["conv", "global"]


def test_a_sliding_window_masked_only_on_long_inputs_is_measured_not_called_unbounded():
    # Traces of 256 and 512 frames both run causal attention without a mask; only past
    # 600 frames does the model build its window. The past is 599 frames of 16 samples.
    verification = probe_module(build(MaskOnlyWhenLonger), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    for result in verification.results:
        field = result.receptive_field
        assert (field.left, field.right, field.hop_samples) == (Side(599 * 16), Side(15), 16), result.method


def test_attention_within_windows_is_not_global_even_when_the_first_trace_holds_one_window():
    # 64 samples: one window, whose reshape looks like the time axis kept whole and whose
    # attention looks global; at 128 samples there are two windows, and no side is open.
    result = operator_receptive_field(build(WindowedAttention), 1, dtype=torch.float64, start_length_samples=64)
    assert not result.ran
    assert "depends on its position" in result.unavailable_reason and "global" not in result.unavailable_reason


def test_a_finite_attention_bias_computed_from_the_input_is_global_and_passes():
    verification = probe_module(build(BiasedAttention), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    walk = verification.result("module walk")
    assert walk.receptive_field.global_in_time
    assert any("finite bias" in reason for reason in walk.evidence["unbounded_because"])


def test_an_attention_bias_from_the_input_that_excludes_keys_is_refused():
    result = walk_receptive_field(build(lambda: BiasedAttention(exclude_after=3)), channels=1)
    assert not result.ran and "excludes keys" in result.unavailable_reason


def test_without_an_analytic_method_a_module_does_not_pass():
    verification = probe_module(build(RollAlongTime), channels=1)
    assert not verification.verdict.passed
    assert any("module walk" in reason for reason in verification.verdict.reasons())


def test_an_open_sides_finite_part_wider_than_the_sized_input_is_read_on_a_longer_one():
    result = operator_receptive_field(
        build(WideConvThenRecurrent), channels=1, dtype=torch.float64, start_length_samples=64
    )
    field = result.receptive_field
    assert (field.left, field.right, field.hop_samples) == (Side(60, unbounded=True), Side(4), 1)
    assert result.evidence["trace_lengths_samples"][-1] > 64


def test_probes_leave_an_open_past_room_for_the_padding_it_carries_in():
    verification = probe_module(build(ReflectStartThroughRecurrence), channels=1)
    assert verification.verdict.passed, verification.verdict.reasons()
    assert all(
        result.receptive_field.right == Side(0) and result.receptive_field.left.unbounded
        for result in verification.results
    )


def test_circular_padding_wrapped_by_a_recurrence_is_refused_by_name_not_sized_forever():
    result = walk_receptive_field(build(CircularPadThenRecurrence), channels=1)
    assert not result.ran
    assert "circular padding" in result.unavailable_reason and "LSTM" in result.unavailable_reason


class _CodebookDistances(torch.nn.Module):
    """A vector quantizer's nearest-code step as Mimi writes it: torch.cdist to a codebook."""

    def __init__(self, feature_axis_is_time: bool = False, against_itself: bool = False) -> None:
        super().__init__()
        self.codebook = torch.nn.Parameter(torch.randn(6, 4))
        self.feature_axis_is_time, self.against_itself = feature_axis_is_time, against_itself

    def forward(self, x):  # (1, 4, frames)
        if self.feature_axis_is_time:  # rows are channels, features are frames: reads all of time
            probes = torch.ones(5, x.shape[-1], dtype=x.dtype)
            return x * torch.cdist(x[0], probes).sum()
        rows = x[0].transpose(0, 1)  # (frames, 4)
        other = rows if self.against_itself else self.codebook.to(x.dtype)
        distances = torch.cdist(rows, other)  # (frames, 6) or (frames, frames)
        if self.against_itself:
            return distances.min(dim=-1).values.view(1, 1, -1)
        codes = distances.argmin(dim=-1)
        return torch.nn.functional.embedding(codes, self.codebook.to(x.dtype)).transpose(0, 1).unsqueeze(0)


def test_distances_to_a_codebook_keep_each_frame_apart():
    field = walk_receptive_field(_CodebookDistances(), channels=4).receptive_field
    assert field is not None and (field.left.samples, field.right.samples, field.hop_samples) == (0, 0, 1)


def test_distances_along_the_time_axis_read_all_of_it():
    walked = walk_receptive_field(_CodebookDistances(feature_axis_is_time=True), channels=4)
    field = walked.receptive_field
    assert field is not None and field.global_in_time, walked.unavailable_reason


def test_distances_between_two_operands_varying_in_time_are_refused_by_name():
    walked = walk_receptive_field(_CodebookDistances(against_itself=True), channels=4)
    assert walked.receptive_field is None and "both vary in time" in walked.unavailable_reason
