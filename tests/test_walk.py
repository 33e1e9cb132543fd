"""The module walk reads the real layers, combines branches as unions, and refuses what it does not know."""

from __future__ import annotations

import pytest
import torch
from conftest import shipped_config, verified
from modules import Flipper, HoledStack, WideSideBranch, build, conv_then_recurrent
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.core.walk import walk_receptive_field


def test_walk_reads_padding_from_streamable_forward_not_the_inner_conv():
    walk = verified("musicgen_32khz_conv").result("module walk")
    first = walk.layers[0]
    encoder = build_encoder(shipped_config("musicgen_32khz_conv"))
    assert encoder.model[0].conv.conv.padding == (0,)  # what attribute readers see
    assert first.pad_left == 3 and first.pad_right >= 3  # right: 3, plus the extra for a full last window


def test_walk_lists_the_layers_the_module_executes_in_order():
    names = [row.name for row in verified("musicgen_32khz").result("module walk").layers]
    assert names[0] == "model.0" and names[-1] == "model.15"
    assert "model.13" in names  # the LSTM


def test_an_lstm_row_and_the_rows_after_it_carry_the_convs_finite_part_not_a_length_dependent_span():
    rows = verified("musicgen_32khz").result("module walk").layers
    twin = verified("musicgen_32khz_conv").result("module walk").receptive_field
    lstm = next(i for i, row in enumerate(rows) if row.kind == "lstm")
    assert rows[lstm].cumulative_rf == rows[lstm - 1].cumulative_rf  # an LSTM adds no conv reach
    assert rows[-1].cumulative_rf == twin.samples  # the convs alone: the conv-only twin's RF


def test_an_unbounded_pasts_finite_part_is_what_the_convs_alone_reach_even_in_a_causal_encoder():
    for name in ("musicgen_32khz", "encodec_24khz_causal"):
        left = verified(name).result("module walk").receptive_field.left
        twin = verified(f"{name}_conv").result("module walk").receptive_field.left
        assert left.unbounded and not twin.unbounded
        assert left.samples == twin.samples, name


def test_walk_finds_a_hole_between_dilated_taps():
    field = walk_receptive_field(build(HoledStack)).receptive_field
    assert field.holes == ((2, 3),)
    assert (field.left.samples, field.right.samples, field.hop_samples) == (1, 6, 2)


def test_walk_takes_the_union_of_a_wider_parallel_branch():
    field = walk_receptive_field(build(WideSideBranch)).receptive_field
    # main [-1, 1]; side [-3, 3]; union [-3, 3]; then down k4 s4 reads 0..3 steps: [-3, 6]
    assert (field.left.samples, field.right.samples, field.hop_samples) == (3, 6, 4)


def test_walk_refuses_an_operation_it_does_not_know_and_names_it():
    result = walk_receptive_field(build(Flipper))
    assert not result.ran
    assert "aten.roll" in result.unavailable_reason


def test_walk_refuses_more_frames_than_samples():
    import torch.nn as nn

    result = walk_receptive_field(nn.Sequential(nn.Conv1d(1, 1, 3), nn.Upsample(scale_factor=2)).double())
    assert not result.ran
    assert "more frames than samples" in result.unavailable_reason


def test_walk_reads_the_hop_off_interior_frames_only():
    # Hop 1920 and 4096 samples: 3 frames; frame 0 (the past is open) and frame 1 are read
    # whole, frame 2 reads past the input's end (1920..5759) and must not set the hop.
    import torch.nn as nn

    from modules import StreamableRecurrent

    module = nn.Sequential(nn.Conv1d(1, 4, kernel_size=3840, stride=1920, padding=1920), StreamableRecurrent(4))
    field = walk_receptive_field(build(lambda: module)).receptive_field
    assert field.left.unbounded and (field.right.samples, field.hop_samples) == (1919, 1920)


def test_walk_marks_a_recurrent_layer_past_unbounded():
    field = walk_receptive_field(build(conv_then_recurrent)).receptive_field
    assert field.left.unbounded and not field.right.unbounded


def test_walk_marks_a_bidirectional_recurrent_layer_unbounded_both_ways():
    field = walk_receptive_field(build(lambda: conv_then_recurrent(bidirectional=True))).receptive_field
    assert field.left.unbounded and field.right.unbounded


def test_walk_calls_time_group_norm_global():
    from dataclasses import replace

    config = replace(shipped_config("seanet_s320_32khz_conv"), norm="time_group_norm", n_filters=8)
    field = walk_receptive_field(build_encoder(config)).receptive_field
    assert field.global_in_time and field.describe_samples() == "global"


def test_an_op_refused_because_its_input_was_refused_names_the_first_refusal():
    from rfprobe.core.readers import NotUnderstood
    from rfprobe.core.trace import trace_module

    class UnknownOpThenConv(torch.nn.Module):
        """kthvalue over channels (no rule) loses the time axis; the conv after it then cannot
        find one: the answer must name kthvalue, the cause, not the conv, its consequence."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(2, 2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            picked = torch.kthvalue(torch.cat([x, x], 1), 1, dim=1, keepdim=True).values
            return self.conv(picked.expand(-1, 2, -1))

    with pytest.raises(NotUnderstood, match="^aten.kthvalue"):
        trace = trace_module(UnknownOpThenConv().double(), 1, 20, dtype=torch.float64)
        trace.graph.reach(trace.output_node, ((0, 0),))
