"""Any module: walk and probes without a config; the one-line pytest helper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modules import Flipper, PooledSmoothing, WideSideBranch, build, conv_then_recurrent
from rfprobe import probe_module
from rfprobe.frontends.cli import main
from rfprobe.errors import UsageError
from rfprobe.frontends.testing import UNBOUNDED, assert_receptive_field


def test_a_parallel_branch_wider_than_the_main_path_is_measured_by_walk_and_probes():
    verification = probe_module(build(WideSideBranch))
    assert verification.verdict.passed
    fields = [verification.result(m).receptive_field for m in ("module walk", "gradient", "impulse")]
    assert all((f.left.samples, f.right.samples, f.hop_samples) == (3, 6, 4) for f in fields)


def test_a_module_the_walk_cannot_read_is_still_probed_and_the_report_says_why():
    verification = probe_module(build(Flipper))
    walk = verification.result("module walk")
    assert not walk.ran and "aten.roll" in walk.unavailable_reason
    assert not verification.verdict.passed  # PASS needs the analytic core too
    assert verification.result("gradient").ran and verification.result("impulse").ran


def test_pooling_is_read_by_the_walk_and_agrees_with_the_probes():
    verification = probe_module(build(PooledSmoothing))
    assert verification.verdict.passed, verification.verdict.reasons()


def test_probes_that_agree_without_an_analytic_method_do_not_pass():
    from rfprobe.arithmetic.geometry import MethodResult
    from rfprobe.arithmetic.verdict import judge

    verification = probe_module(build(WideSideBranch))
    unread = MethodResult(method="module walk", receptive_field=None, unavailable_reason="layer x is not understood")
    probes = [verification.result("gradient"), verification.result("impulse")]
    verdict = judge([unread, *probes], required=("gradient", "impulse"))
    assert not verdict.passed  # PASS needs an analytic method and both probes
    assert any("module walk" in reason and "layer x" in reason for reason in verdict.reasons())


def test_probe_module_leaves_the_callers_module_untouched():
    module = WideSideBranch()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    probe_module(module)
    assert all(v.dtype == torch.float32 for v in module.state_dict().values())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_hop_and_channels_are_detected():
    verification = probe_module(build(PooledSmoothing))
    assert verification.truth.hop_samples == 2


def test_a_module_not_returning_batch_dim_frames_is_refused():
    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(1, 2, 3)

        def forward(self, x):
            return self.conv(x).flatten(1)

    with pytest.raises(UsageError, match=r"\(batch, dim, frames\)"):
        probe_module(Flat(), hop_samples=1)


def test_nan_weights_are_refused():
    module = WideSideBranch()
    with torch.no_grad():
        module.main.weight[0, 0, 0] = float("nan")
    with pytest.raises(UsageError, match="main.weight holds NaN"):
        probe_module(module)


def test_helper_passes_on_the_right_numbers():
    assert_receptive_field(build(WideSideBranch), samples=10, left=3, right=6, hop=4)


def test_helper_accepts_an_unbounded_side():
    assert_receptive_field(build(conv_then_recurrent), left=UNBOUNDED, right=2, hop=2)


def test_helper_fails_on_a_wrong_expectation_with_a_readable_diff():
    with pytest.raises(AssertionError) as caught:
        assert_receptive_field(build(WideSideBranch), samples=10, left=4, right=6, hop=4)
    message = str(caught.value)
    assert "left" in message and "<-- differs" in message
    assert "expected" in message and "measured" in message
    assert "down" in message  # the per-layer table names the layers


def test_cli_probes_a_module_factory(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    assert main(["--module", "modules:WideSideBranch", "--quiet"]) == 0
    assert "modules:WideSideBranch" in capsys.readouterr().out


def test_cli_unknown_factory_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    assert main(["--module", "modules:DoesNotExist"]) == 2
    assert "no callable DoesNotExist" in capsys.readouterr().err


def test_probe_module_reuses_the_walk_check_module_ran(monkeypatch):
    from rfprobe.runs import module_probe

    module = build(WideSideBranch)
    shape = module_probe.check_module(module, "test")
    assert shape.walk is not None and shape.walk.ran

    def no_second_walk(*args, **kwargs):
        raise AssertionError("the module walk ran twice")

    monkeypatch.setattr(module_probe.walk_method, "walk_receptive_field", no_second_walk)
    verification = probe_module(module, channels=shape.channels, hop_samples=shape.hop_samples, walk=shape.walk)
    assert verification.verdict.passed, verification.verdict.reasons()
    assert verification.result("module walk") is shape.walk


def test_a_pass_without_a_graph_is_estimated_from_the_widest_layer_not_all_layers():
    from rfprobe.runs.module_probe import check_module

    # 24 layers of 8 channels: a backward keeps all 24 outputs; the impulse's forward-mode
    # pass holds a few at a time. Counting all 24 for it would overestimate it eightfold.
    deep = nn.Sequential(nn.Conv1d(1, 8, 4, stride=4), *[nn.Conv1d(8, 8, 1) for _ in range(23)]).double()
    estimate = check_module(deep, "deep", channels=1).estimate
    assert "gradient" in estimate.largest_step, estimate.describe()


def test_the_answer_names_the_op_that_opened_a_side_of_any_module():
    from rfprobe.output.answer import answer_block

    block = answer_block(probe_module(build(conv_then_recurrent), channels=1))
    assert "unbounded past (LSTM (recurrence over time)" in block and "non-local layer" not in block


def test_the_answer_says_at_least_for_a_side_seen_to_reach_the_input_end():
    from rfprobe.arithmetic.geometry import ReceptiveField, Side
    from rfprobe.output.answer import rf_words

    past_open = ReceptiveField(left=Side(10, unbounded=True), right=Side(1575, at_least=True), hop_samples=8)
    bounded = ReceptiveField(left=Side(40, at_least=True), right=Side(3), hop_samples=8)
    assert "at least 1575 samples" in rf_words(past_open, 16000)
    assert rf_words(bounded, None).startswith("at least 44 samples") and "at least 40 before" in rf_words(bounded, None)
    assert "at least" not in rf_words(ReceptiveField(left=Side(40), right=Side(3), hop_samples=8), None)


def _probe_estimate(module: nn.Module, guess):
    import torch

    from rfprobe.runs.module_probe import _probe_cost

    seen = []
    _probe_cost(module, 1, guess, True, torch.device("cpu"), torch.float64, 1, seen.append)
    return seen


def test_the_probes_time_estimate_is_timed_at_the_probe_window_after_the_memory_check():
    from rfprobe.arithmetic.geometry import ReceptiveField, Side

    module = nn.Sequential(nn.Conv1d(1, 4, 8, stride=4), nn.Conv1d(4, 4, 3)).double()
    seen = _probe_estimate(module, ReceptiveField(left=Side(11), right=Side(4), hop_samples=4))
    assert seen[0].seconds is None  # memory first: a run refused for memory never times a pass
    assert seen[-1].seconds is not None and seen[-1].seconds > 0 and "doubling" not in seen[-1].seconds_basis


def test_a_side_bounded_only_from_below_is_estimated_for_every_doubling_of_the_window():
    from rfprobe.arithmetic.geometry import ReceptiveField, Side

    module = nn.Sequential(nn.Conv1d(1, 4, 8, stride=4), nn.Conv1d(4, 4, 3)).double()
    exact = _probe_estimate(module, ReceptiveField(left=Side(4000), right=Side(4), hop_samples=4))[-1]
    at_least = _probe_estimate(module, ReceptiveField(left=Side(4000, at_least=True), right=Side(4), hop_samples=4))[-1]
    assert "double 4 times" in at_least.seconds_basis
    # five runs, each at least twice the last: 31 times one run or more (timing noise aside, far above 1)
    assert at_least.seconds > 8 * exact.seconds, (at_least.seconds, exact.seconds)
