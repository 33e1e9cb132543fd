"""Gradient and impulse probes measure what the module does, whatever the guess."""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest
import torch

from conftest import shipped_config
from modules import HoledStack, NormedFeatures, UnbatchableBackward, WideSideBranch, build, conv_then_recurrent
from rfprobe.probes import gradient as gradient_probe, impulse as impulse_probe
from rfprobe.probes.empirical import ObservedSupport, Observation, ProbeWindow, measure, nonzero_runs, plan_window
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.families.seanet.formula import formula_receptive_field
from rfprobe.arithmetic.geometry import ReceptiveField, Side
from rfprobe.core.walk import walk_receptive_field
from rfprobe.arithmetic.verdict import judge
from rfprobe.probes.run import run_probes as run_probes_on_seeds

CPU = dict(device=torch.device("cpu"), dtype=torch.float64)


def run_probes(factory, guess: ReceptiveField, channels: int = 1):
    modules = {seed: build(factory, seed) for seed in (0, 1)}
    gradient = measure(
        "gradient", functools.partial(gradient_probe.gradient_observation, channels=channels, **CPU), modules, guess
    )
    impulse = measure(
        "impulse",
        functools.partial(impulse_probe.impulse_observation, channels=channels, guess=guess, **CPU),
        modules,
        guess,
    )
    return gradient, impulse


@pytest.mark.parametrize("factory", [HoledStack, WideSideBranch], ids=["holes", "wide-branch"])
def test_probes_agree_with_the_walk_on_hand_built_modules(factory):
    walk = walk_receptive_field(build(factory)).receptive_field
    gradient, impulse = run_probes(factory, walk)
    for result in (gradient, impulse):
        field = result.receptive_field
        assert (field.left, field.right, field.hop_samples) == (walk.left, walk.right, walk.hop_samples), result.method


@pytest.mark.parametrize(
    "factory, channels",
    [(HoledStack, 1), (conv_then_recurrent, 1), (NormedFeatures, 4)],
    ids=["conv", "recurrent", "norm-over-channels"],
)
def test_gradient_of_two_frames_is_one_batched_backward_of_one_row(factory, channels):
    module = build(factory)
    inputs = gradient_probe.probe_input(channels, 40, 0, **CPU)
    both, _, how = gradient_probe.frame_gradients_and_how(module, inputs, [5, 6], projection_seed=1)
    assert how == gradient_probe.BATCHED_BACKWARD
    for row, frame in enumerate((5, 6)):
        alone, _ = gradient_probe.frame_gradients(module, inputs, [frame], projection_seed=1)
        assert torch.equal(both[row] != 0, alone[0] != 0)
        torch.testing.assert_close(both[row], alone[0], rtol=1e-12, atol=0)


def test_gradient_refuses_inputs_that_match_neither_one_row_nor_a_row_per_frame():
    inputs = gradient_probe.probe_input(1, 40, 0, **CPU).repeat(3, 1, 1)
    with pytest.raises(ValueError, match="3 rows for 2 frames"):
        gradient_probe.frame_gradients(build(HoledStack), inputs, [5, 6], projection_seed=1)


def test_gradient_falls_back_to_a_row_per_frame_when_the_backward_cannot_be_batched():
    module = build(UnbatchableBackward)
    inputs = gradient_probe.probe_input(1, 40, 0, **CPU)
    with pytest.raises(gradient_probe.NoBatchedBackward):
        gradient_probe._frame_gradients(module, inputs, [5, 6], 1, batched_backward=True)
    gradient, _, how = gradient_probe.frame_gradients_and_how(module, inputs, [5, 6], projection_seed=1)
    assert how.startswith("one row per frame (the backward could not be batched")
    assert [tuple((row != 0).any(dim=0).nonzero().flatten().tolist()) for row in gradient] == [
        (10, 11, 12),
        (12, 13, 14),
    ]  # by hand: kernel 3, stride 2


def test_impulse_sees_through_a_norm_over_channels():
    # An all-ones impulse across the 4 channels is exactly what the LayerNorm removes.
    by_hand = ReceptiveField(left=Side(2), right=Side(2), hop_samples=1)
    gradient, impulse = run_probes(NormedFeatures, by_hand, channels=4)
    assert impulse.ran, impulse.unavailable_reason
    for result in (gradient, impulse):
        assert (result.receptive_field.left, result.receptive_field.right) == (Side(2), Side(2)), result.method


def test_gradient_reports_the_holes_the_walk_predicts():
    walk = walk_receptive_field(build(HoledStack)).receptive_field
    gradient, _ = run_probes(HoledStack, walk)
    assert gradient.receptive_field.holes == walk.holes == ((2, 3),)


def test_probes_find_the_truth_from_a_guess_that_is_too_small():
    walk = walk_receptive_field(build(WideSideBranch)).receptive_field
    tiny = ReceptiveField(left=Side(0), right=Side(0), hop_samples=walk.hop_samples)
    gradient, impulse = run_probes(WideSideBranch, tiny)
    for result in (gradient, impulse):
        assert (result.receptive_field.left, result.receptive_field.right) == (walk.left, walk.right)


def test_impulse_finds_the_truth_from_a_guess_that_is_too_wide():
    walk = walk_receptive_field(build(WideSideBranch)).receptive_field
    wide = ReceptiveField(left=Side(walk.left.samples + 3), right=Side(walk.right.samples + 5), hop_samples=4)
    _, impulse = run_probes(WideSideBranch, wide)
    assert (impulse.receptive_field.left, impulse.receptive_field.right) == (walk.left, walk.right)


def test_impulse_shows_both_ends_move_the_frame_and_everything_outside_does_not():
    walk = walk_receptive_field(build(WideSideBranch)).receptive_field
    _, impulse = run_probes(WideSideBranch, walk)
    for run in impulse.evidence["runs"]:
        confirmations = run["impulse_confirmations"]
        first, last = confirmations["first"]["sample"], confirmations["last"]["sample"]
        assert confirmations["first"]["moves_frame"] and confirmations["last"]["moves_frame"]
        assert confirmations["outside"]["samples"] == [[0, first - 1], [last + 1, run["length_samples"] - 1]]
        assert not confirmations["outside"]["moves_frame"]


def test_a_recurrent_past_is_reported_unbounded_by_both_probes():
    walk = walk_receptive_field(build(conv_then_recurrent)).receptive_field
    for result in run_probes(conv_then_recurrent, walk):
        assert result.receptive_field.left.unbounded and not result.receptive_field.right.unbounded
        assert result.receptive_field.right == walk.right


def test_a_bounded_side_wider_than_the_window_is_not_mistaken_for_unbounded():
    """A guess of zero makes the first window far too short; growth must settle on the bounded truth."""
    config = shipped_config("encodec_24khz_causal_conv")
    modules = {0: build_encoder(config, 0)}
    zero = ReceptiveField(left=Side(0), right=Side(0), hop_samples=config.hop_samples)
    result = measure(
        "gradient", functools.partial(gradient_probe.gradient_observation, channels=1, **CPU), modules, zero
    )
    formula = formula_receptive_field(config).receptive_field
    assert not result.receptive_field.left.unbounded
    assert result.receptive_field.left == formula.left


def test_seeds_that_disagree_make_the_method_fail():
    def probe(module, window: ProbeWindow, seed: int) -> Observation:
        last = window.anchor + 3 + seed  # seed 1 sees one more sample
        return Observation(
            window,
            seed,
            ObservedSupport(window.anchor - 2, last),
            ObservedSupport(window.anchor - 2 + window.hop_samples, last + window.hop_samples),
            100,
        )

    result = measure("fake", probe, {0: None, 1: None}, ReceptiveField(Side(2), Side(3), 4))
    assert not result.ran and "seeds disagree" in result.unavailable_reason


def test_each_probe_runs_on_its_own_seed():
    modules = {seed: build(HoledStack, seed) for seed in (0, 1)}
    gradient, impulse = run_probes_on_seeds(
        modules, walk_receptive_field(modules[0]).receptive_field, channels=1, **CPU
    )
    assert (gradient.evidence["seeds"], impulse.evidence["seeds"]) == ([0], [1])


def test_a_draw_that_hides_a_dependence_fails_the_verdict_instead_of_passing():
    """Seed 1's dilated conv has its second tap zeroed: that draw sees 5 samples less future.
    The impulse runs on it, the gradient on seed 0, so the probes disagree."""
    modules = {seed: build(HoledStack, seed) for seed in (0, 1)}
    with torch.no_grad():
        modules[1].dilated.weight[:, :, 1] = 0.0
    walk = walk_receptive_field(modules[0])
    gradient, impulse = run_probes_on_seeds(modules, walk.receptive_field, channels=1, **CPU)
    assert gradient.receptive_field.right.samples - impulse.receptive_field.right.samples == 5
    assert not judge([walk, gradient, impulse], required=(walk.method, gradient.method, impulse.method)).passed


def test_seeds_that_see_the_same_lower_bound_agree_on_it():
    def probe(module, window: ProbeWindow, seed: int) -> Observation:  # reaches both ends of every window
        end = window.length_samples - 1
        return Observation(window, seed, ObservedSupport(0, end), ObservedSupport(0, end), window.length_samples // 4)

    result = measure("fake", probe, {0: None, 1: None}, ReceptiveField(Side(2), Side(3), 4))
    assert result.ran, result.unavailable_reason
    assert result.receptive_field.left.at_least and result.receptive_field.right.at_least


def test_nonzero_runs_reports_span_and_holes():
    assert nonzero_runs([False, True, True, False, False, True, False]) == (1, 5, ((3, 4),))


def test_probe_window_keeps_both_frames_a_margin_clear_of_the_ends():
    window = plan_window(left_samples=100, right_samples=50, hop_samples=16)
    assert window.anchor - 100 >= 16
    assert window.length_samples - 1 - (window.anchor + 16 + 50) >= 16


def test_float32_probes_agree_with_float64():
    config = replace(shipped_config("seanet_s320_32khz_conv"), n_filters=8)
    formula = formula_receptive_field(config).receptive_field
    modules = {0: build_encoder(config, 0, dtype=torch.float32)}
    result = measure(
        "gradient",
        functools.partial(
            gradient_probe.gradient_observation, channels=1, device=torch.device("cpu"), dtype=torch.float32
        ),
        modules,
        formula,
    )
    assert (result.receptive_field.left, result.receptive_field.right) == (formula.left, formula.right)


def test_time_group_norm_is_global_for_both_probes():
    config = replace(shipped_config("seanet_s320_32khz_conv"), norm="time_group_norm", n_filters=8)
    formula = formula_receptive_field(config).receptive_field
    modules = {seed: build_encoder(config, seed) for seed in (0, 1)}
    start = formula
    for result in (
        measure("gradient", functools.partial(gradient_probe.gradient_observation, channels=1, **CPU), modules, start),
        measure(
            "impulse",
            functools.partial(impulse_probe.impulse_observation, channels=1, guess=formula, **CPU),
            modules,
            start,
        ),
    ):
        assert result.receptive_field.global_in_time
        assert result.receptive_field.hop_samples == config.hop_samples


def test_a_forward_mode_failure_switches_the_impulse_probe_to_exact_differences():
    """A module whose forward works but whose JVP cannot run: the impulse probe falls back and says so."""

    class NoForwardAD(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class Opaque(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 2, 3, padding=1)

        def forward(self, x):
            return NoForwardAD.apply(self.conv(x))

    from rfprobe import probe_module

    verification = probe_module(Opaque(), hop_samples=1)
    impulse = verification.result("impulse")
    assert impulse.ran and impulse.receptive_field == verification.result("gradient").receptive_field
    assert all("exact differences" in run["perturbation"] for run in impulse.evidence["runs"])
