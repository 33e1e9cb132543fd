"""Context map: edge frames and padding, lookahead, taint-proven unbounded sides, effective RF."""
from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
import torch
from torch import nn

from conftest import SHIPPED, shipped_config, verified
from modules import StreamableRecurrent
from rfprobe.context import context_map, padded_frame_counts, probe_length
from rfprobe.edges import frame_count, frame_support
from rfprobe.empirical import plan_window
from rfprobe.encoder import build_encoder
from rfprobe.erf import effective_field, mass_widths
from rfprobe.formula import encoder_layers
from rfprobe.gradient_probe import frame_gradients
from rfprobe.gradient_probe import measured_supports as gradient_supports
from rfprobe.taint import prove_side
from rfprobe.verify import verify_config

SMALL = replace(shipped_config("seanet_s320_32khz_conv"), n_filters=4, dimension=4)


def measured_supports(config, length: int, frames: list[int]):
    supports, count = gradient_supports(build_encoder(config), config.channels, length, frames, seed=3)
    assert count == frame_count(encoder_layers(config), length)
    return supports


@pytest.mark.parametrize("causal, pad_mode", list(itertools.product([False, True], ["constant", "reflect", "replicate"])))
@pytest.mark.parametrize("length", [650, 3333, 5120])
def test_edge_frame_supports_equal_the_analytic_prediction(causal, pad_mode, length):
    config = replace(SMALL, causal=causal, pad_mode=pad_mode, n_residual_layers=2)
    layers = encoder_layers(config)
    frames = frame_count(layers, length)
    probed = sorted({0, 1, frames // 2, frames - 2, frames - 1})
    for frame, measured in zip(probed, measured_supports(config, length, probed)):
        assert measured == frame_support(layers, length, frame, pad_mode).intervals, frame


@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("length", [3200, 3333, 4001])
def test_padded_frame_counts_equal_analytic_and_measured(pad_mode, length):
    """A frame reads padding exactly when its measured support is not the interior one, shifted."""
    config = replace(SMALL, pad_mode=pad_mode)
    layers = encoder_layers(config)
    frames, k, m = padded_frame_counts(layers, length, pad_mode)
    field = verified("seanet_s320_32khz_conv").truth
    supports = measured_supports(config, length, list(range(frames)))
    interior = [s == ((f * field.hop_samples - field.left.samples, f * field.hop_samples + field.right.samples),)
                for f, s in enumerate(supports)]
    measured_k = next(i for i, ok in enumerate(interior) if ok)
    measured_m = next(i for i, ok in enumerate(reversed(interior)) if ok)
    assert (k, m) == (measured_k, measured_m)


def test_edge_supports_relative_to_the_end_do_not_depend_on_whole_hops_of_length():
    layers = encoder_layers(SMALL)
    hop = SMALL.hop_samples
    long, short = 20 * hop + 77, 9 * hop + 77
    shift = 11 * hop
    for back in range(4):
        a = frame_support(layers, long, frame_count(layers, long) - 1 - back, SMALL.pad_mode)
        b = frame_support(layers, short, frame_count(layers, short) - 1 - back, SMALL.pad_mode)
        assert [(x - shift, y - shift) for x, y in a.intervals] == list(b.intervals)


def test_probe_length_keeps_the_clip_length_modulo_the_hop():
    assert (320000 - probe_length(320000, 640, 2402, 3025)) % 640 == 0
    assert probe_length(3000, 640, 2402, 3025) == 3000


def test_reflect_padding_makes_a_causal_edge_frame_read_the_future():
    config = replace(SMALL, causal=True, pad_mode="reflect")
    support = frame_support(encoder_layers(config), 4000, 0, "reflect")
    assert support.last > config.hop_samples - 1  # beyond frame 0's own hop
    constant = frame_support(encoder_layers(replace(config, pad_mode="constant")), 4000, 0, "constant")
    assert constant.last == config.hop_samples - 1


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).causal])
def test_causal_configs_need_no_lookahead_beyond_their_hop(name):
    context = context_map(verified(name), clip_seconds=1.0)
    assert context.lookahead.after_hop_end_samples == 0


def test_musicgen_context_proves_its_unbounded_past_and_agrees_on_edges():
    context = context_map(verified("musicgen_32khz"))
    assert context.edges.all_agree
    (proof,) = context.taint
    assert proof.side == "past" and proof.proven
    assert all(distance > proof.local_reach_samples for distance in proof.distances_samples)
    assert context.lookahead.after_hop_end_samples == verified("musicgen_32khz").truth.right.samples - 639


class Underflowing(nn.Module):
    """A strided conv, then a recurrence whose memory fades by ~1e-30 per step: the gradient
    from the last frame to early samples underflows to exactly 0 in float64."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 4, kernel_size=4, stride=4)
        self.recurrent = StreamableRecurrent(4)
        with torch.no_grad():
            lstm = self.recurrent.lstm
            lstm.weight_hh_l0.mul_(1e-30)
            lstm.bias_hh_l0[4:8] = -70.0  # forget gate ~ 4e-31

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recurrent(self.conv(x))


def test_taint_proves_an_unbounded_past_where_the_gradient_underflows():
    torch.manual_seed(0)
    module = Underflowing().double()
    length = 400
    inputs = torch.randn(1, 1, length, dtype=torch.float64)
    gradient, frames = frame_gradients(module, inputs, [frames_last := length // 4 - 1], projection_seed=0)
    assert (gradient[0, 0, :8] == 0).all()  # the gradient claims the start does not matter
    control = nn.Conv1d(1, 4, kernel_size=4, stride=4).double()
    proof = prove_side(module, control, "past", local_left=0, local_right=3, hop=4, channels=1, other_side_bounded=True)
    assert proof.proven


def test_taint_says_bounded_for_a_conv_stack():
    module = build_encoder(SMALL)
    proof = prove_side(module, module, "past", 1203, 1514, 320, 1, other_side_bounded=True)
    assert not proof.proven and proof.control_ok and proof.verdict.startswith("bounded")


def test_taint_control_catches_a_backend_that_spreads_nans():
    class Spreading(nn.Module):  # stands in for an FFT convolution: everything mixes
        def forward(self, x):
            return x[..., ::4] + x.sum(dim=-1, keepdim=True) * 0

    proof = prove_side(Spreading(), Spreading(), "past", 0, 3, 4, 1, other_side_bounded=True)
    assert not proof.control_ok and not proof.proven and "unreliable" in proof.verdict


def test_time_group_norm_is_global_for_the_taint_probe_too():
    verification = verify_config(replace(SMALL, norm="time_group_norm"))
    assert verification.verdict.passed and verification.truth.global_in_time
    context = context_map(verification, clip_seconds=1.0)
    assert {proof.side for proof in context.taint} == {"past", "future"}
    assert all(proof.proven for proof in context.taint)
    assert context.erf.lower_bound  # every sample weighs on the mean: the widths grow with any window


@pytest.mark.parametrize("name", ["musicgen_32khz_conv", "encodec_24khz_causal_conv"])
def test_effective_widths_are_nested_inside_the_receptive_field(name):
    erf = context_map(verified(name), clip_seconds=1.0).erf
    widths = [erf.widths_samples[f] for f in (0.5, 0.9, 0.99)]
    assert widths == sorted(widths) and widths[-1] <= verified(name).truth.samples


ERF_SEED_TOLERANCE = 0.10  # widths from two weight seeds differ by less than 10 %


def test_effective_widths_are_stable_across_seeds():
    erf = context_map(verified("musicgen_32khz_conv"), clip_seconds=1.0).erf
    first, second = erf.per_seed_widths.values()
    for fraction in first:
        assert abs(first[fraction] - second[fraction]) <= ERF_SEED_TOLERANCE * first[fraction]


def test_mass_widths_of_a_known_profile():
    profile = [0, 1, 1, 1, 1, 0]
    assert mass_widths(profile, (0.5, 0.99)) == {0.5: 2, 0.99: 4}


ERF_WINDOW_TOLERANCE = 0.02  # other input draws on a longer window: sampling noise only


def test_effective_widths_through_an_lstm_hold_the_mass_of_a_twice_longer_past():
    config = replace(SMALL, lstm=1)
    verification = verify_config(config)
    erf = context_map(verification, clip_seconds=1.0).erf
    assert not erf.lower_bound and erf.window_samples == erf.windows_tried_samples[-1]
    local = verification.result("formula").receptive_field
    # A past longer by the whole window used: more than twice the margin the widths were measured with.
    window = plan_window(local.left.samples + erf.window_samples, local.right.samples, local.hop_samples)
    longer = effective_field(verification.modules, window, config.channels, torch.device("cpu"), torch.float64)
    for fraction, width in erf.widths_samples.items():
        assert abs(longer.widths_samples[fraction] - width) <= ERF_WINDOW_TOLERANCE * width, fraction
