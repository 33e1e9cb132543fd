"""Position-dependent receptive fields: one period per position, walk against gradient."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rfprobe.runs.position_field import PositionField, PositionReads, find_period, position_dependent_field

WINDOW_FRAMES, HOP = 4, 2


class WindowedMean(nn.Module):
    """Strided frames (hop 2), then each frame the mean of its fixed window of 4 frames."""

    def __init__(self, weight_hole: bool = False) -> None:
        super().__init__()
        self.weight_hole = weight_hole

    def forward(self, x):
        frames = nn.functional.avg_pool1d(x, HOP)  # (batch, 1, n / 2)
        if self.weight_hole:  # a zero weight on one frame of every window: its gradient is zero
            mask = torch.ones(WINDOW_FRAMES, dtype=x.dtype)
            mask[1] = 0.0
            frames = frames * mask.repeat(frames.shape[-1] // WINDOW_FRAMES)
        batch = x.shape[0]
        windows = frames.view(batch, 1, -1, WINDOW_FRAMES).mean(dim=-1, keepdim=True)
        return windows.expand(batch, 1, -1, WINDOW_FRAMES).reshape(batch, 1, -1)


def test_a_windowed_mean_has_the_period_of_its_window_and_both_methods_agree():
    field = position_dependent_field(WindowedMean(), channels=1, length_samples=128)
    assert field.period_frames == WINDOW_FRAMES and field.agrees and field.hop_samples == HOP
    # position p reads its window: p frames back, WINDOW - 1 - p frames ahead (2 samples each)
    assert [(reads.left_samples, reads.right_samples) for reads in field.analytic] == [
        (HOP * p, HOP * (WINDOW_FRAMES - 1 - p) + HOP - 1) for p in range(WINDOW_FRAMES)
    ]


def test_a_gradient_that_differs_from_the_walk_at_one_position_is_caught():
    """A zero weight: the walk still sees the read (a product with a constant), the gradient not."""
    field = position_dependent_field(WindowedMean(weight_hole=True), channels=1, length_samples=128)
    assert field.period_frames == WINDOW_FRAMES and not field.agrees
    assert field.differing_positions and "DIFFER" in field.describe()


def test_a_convolution_has_period_one():
    conv = nn.Conv1d(1, 1, 5, stride=2, padding=2, bias=False)
    field = position_dependent_field(conv, channels=1, length_samples=64)
    assert field.period_frames == 1 and field.agrees
    assert (field.analytic[0].left_samples, field.analytic[0].right_samples) == (2, 2)


@pytest.mark.fast
def test_a_period_must_hold_over_two_whole_periods():
    reads = {k: ((-(k % 3), 0),) for k in range(10)}
    assert find_period(reads, 5) == 3
    assert find_period({k: reads[k] for k in range(5)}, 5) is None  # fewer than two periods seen


@pytest.mark.fast
def test_tables_one_sample_apart_do_not_agree():
    right = (PositionReads(0, ((-2, 1),)),)
    short = (PositionReads(0, ((-2, 0),)),)
    assert PositionField(2, 1, 0, right, right).agrees
    assert not PositionField(2, 1, 0, right, short).agrees


def test_the_period_gradients_time_is_checked_before_they_run():
    seen = []
    field = position_dependent_field(WindowedMean(), channels=1, length_samples=128, check_cost=seen.append)
    assert field.agrees and len(seen) == 1
    assert seen[0].seconds > 0 and f"{WINDOW_FRAMES} frames" in seen[0].largest_step


def test_a_refusing_cost_check_stops_the_period_gradients():
    from rfprobe.errors import UsageError

    def refuse(estimate):
        raise UsageError(f"about {estimate.seconds:.0f} s is too long")

    with pytest.raises(UsageError, match="too long"):
        position_dependent_field(WindowedMean(), channels=1, length_samples=128, check_cost=refuse)


def test_probe_module_passes_a_position_dependent_module_when_walk_and_gradient_agree_per_position():
    from rfprobe.output.answer import answer_block
    from rfprobe.runs.module_probe import probe_module

    verification = probe_module(WindowedMean(), channels=1, hop_samples=HOP, length_multiple=2 * WINDOW_FRAMES * HOP)
    assert verification.position is not None and verification.position.period_frames == WINDOW_FRAMES
    assert verification.verdict.passed
    text = answer_block(verification)
    assert "agree at every position" in text and "by position" in text


def test_probe_module_fails_a_position_dependent_module_whose_gradient_differs_at_a_position():
    from rfprobe.runs.module_probe import probe_module

    verification = probe_module(
        WindowedMean(weight_hole=True), channels=1, hop_samples=HOP, length_multiple=2 * WINDOW_FRAMES * HOP
    )
    assert verification.position is not None and not verification.verdict.passed
    assert any("reads at position" in reason for reason in verification.verdict.reasons())


def test_a_position_dependent_subject_validates_against_the_json_schema():
    import jsonschema

    from rfprobe.output.report_json import load_schema, run_json, subject_json
    from rfprobe.runs.module_probe import probe_module

    verification = probe_module(WindowedMean(), channels=1, hop_samples=HOP, length_multiple=2 * WINDOW_FRAMES * HOP)
    report = run_json([subject_json(verification)], {})
    jsonschema.validate(report, load_schema())
    entry = report["configs"][verification.name]["position_dependent"]
    assert entry["agrees"] and len(entry["positions"]) == WINDOW_FRAMES


class PaddedWindowMean(nn.Module):
    """A strided conv (hop 32), then each frame the mean of its window of 4 frames (the frames
    zero-padded to whole windows, so any input length is accepted)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv1d(1, 2, 32, stride=32)

    def forward(self, x):
        frames = self.conv(x)
        count = frames.shape[-1]
        padded = nn.functional.pad(frames, (0, -count % WINDOW_FRAMES))
        batch, channels, length = padded.shape
        windows = padded.view(batch, channels, length // WINDOW_FRAMES, WINDOW_FRAMES).mean(dim=-1, keepdim=True)
        return windows.expand(-1, -1, -1, WINDOW_FRAMES).reshape(batch, channels, length)[..., :count]


def test_probe_module_reads_the_period_on_inputs_sized_by_the_hop_with_no_length_multiple():
    from rfprobe.runs.module_probe import probe_module

    verification = probe_module(PaddedWindowMean(), channels=1, hop_samples=32)
    assert verification.position is not None and verification.position.period_frames == WINDOW_FRAMES
    assert verification.verdict.passed, verification.verdict.reasons()
    # the frame-pair probes are not run on a position-dependent module: the period is read instead
    assert all(not result.ran for result in verification.results[1:])
