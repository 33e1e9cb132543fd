"""The analytic core can fail: fed a wrong rule, the verdict (or the edge check) catches it."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from rfprobe import probe_module
from rfprobe.probes import gradient as gradient_probe
from rfprobe.core import budget, readers
from rfprobe.core.call import Output
from rfprobe.core.registry import replaced_rule
from rfprobe.core.sizing import frame_reach
from rfprobe.core.trace import trace_module
from rfprobe.probes.empirical import measure
from rfprobe.probes.gradient import measured_supports
from rfprobe.arithmetic.verdict import judge
from rfprobe.core.walk import walk_receptive_field

import torch
import torch.nn.functional as F
from torch import nn

from operator_modules import EagerSlidingWindowStack, ReflectPadConv, SlidingWindowAttention, UpsampleThenStride, build


class ReflectedPast(nn.Module):
    """Reflect-pads 3 samples on the left only, then a kernel-2 conv: frame 0 reads the
    mirrored samples 2 and 3, which constant padding would not read."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (3, 0), mode="reflect"))


def test_an_attention_window_off_by_one_fails_the_verdict(monkeypatch):
    original = readers.AttentionMask.read

    def wider(self, positions):
        reach = original(self, positions)
        low, high = reach.intervals[0][0], reach.intervals[-1][1]
        return readers.Reach(((max(low - 1, 0), high),))

    monkeypatch.setattr(readers.AttentionMask, "read", wider)
    verification = probe_module(build(SlidingWindowAttention), channels=1)
    assert not verification.verdict.passed
    assert any("left" in reason for reason in verification.verdict.reasons())


def test_an_eager_attention_mask_read_one_key_wider_fails_the_verdict(monkeypatch):
    original = readers.PairSoftmax.read

    def wider(self, entries):
        reach = original(self, entries)
        widened = reach.entries.copy()
        widened[:, :-1] |= reach.entries[:, 1:]  # each row also reads the key before its first
        return readers.Reach((), entries=widened)

    monkeypatch.setattr(readers.PairSoftmax, "read", wider)
    verification = probe_module(build(EagerSlidingWindowStack), channels=1)
    assert not verification.verdict.passed
    assert any("left" in reason for reason in verification.verdict.reasons())


def test_eager_attention_weights_taken_as_never_zero_fail_the_verdict(monkeypatch):
    def never_zero(call):
        return [replace(output, zeros=None) for output in original(call)]

    # Every key read: the input would grow forever; a small budget stops it after one trace.
    monkeypatch.setattr(budget, "memory_budget_bytes", lambda device: 1 << 22)
    module = build(lambda: EagerSlidingWindowStack(layers=1, window=3))
    with replaced_rule("_softmax", never_zero, pairs=True) as original:
        walk = walk_receptive_field(module, channels=1)
    assert walk.receptive_field.left.at_least
    # The gradient probe alone (the impulse probe's bisection over the walk's wide guess is slow).
    gradient = measure(
        gradient_probe.METHOD,
        functools.partial(
            gradient_probe.gradient_observation, channels=1, device=torch.device("cpu"), dtype=torch.float64
        ),
        {0: module},
        walk.receptive_field,
    )
    assert gradient.receptive_field.left.samples == 8  # by hand: one layer of window 3, hop 4
    assert not judge([walk, gradient], required=(walk.method, gradient.method)).passed


def test_an_ignored_upsampling_factor_fails_the_verdict(monkeypatch):
    def identity(call):
        _, info = call.tracked_args()[0]
        out = call.outputs[0]
        return [Output(info.time_dim, out.shape[-1], [(info.node, readers.Same(info.length))])]

    with replaced_rule("upsample_nearest1d", identity):
        verification = probe_module(build(UpsampleThenStride), channels=1)
    assert not verification.verdict.passed


def _edge_supports(module, length):
    trace = trace_module(module, 1, length, dtype=module.conv.weight.dtype)
    analytic = [frame_reach(trace, frame).intervals for frame in (0, trace.output_length - 1)]
    measured, _ = measured_supports(module, 1, length, [0, trace.output_length - 1], seed=0)
    return analytic, list(measured)


def test_edge_frames_of_reflect_padding_match_the_gradient():
    for factory in (ReflectPadConv, ReflectedPast):
        analytic, measured = _edge_supports(build(factory), 64)
        assert analytic == measured, factory.__name__


def test_reflect_treated_as_constant_is_caught_at_the_edges(monkeypatch):
    original = readers.Pad.read

    def as_constant(self, positions):
        return original(readers.Pad(self.input_length, self.pad_start, self.pad_end, "constant"), positions)

    monkeypatch.setattr(readers.Pad, "read", as_constant)
    analytic, measured = _edge_supports(build(ReflectedPast), 64)
    assert analytic != measured


def test_gather_reads_only_the_sources_it_is_given():
    reader = readers.Gather(10, (np.array([0, 0, 1, 1, 2, 2]),))
    assert reader.read(((2, 3),)).intervals == ((1, 1),)
