"""Random SEANet architectures for property-based checking (needs `hypothesis`, a test extra).

The properties: for any architecture, formula == module walk == gradient == impulse; a side
is unbounded exactly when an LSTM (past) or a GroupNorm over time (both) is present; and for
any input length the analytic supports of the edge frames equal the measured ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from hypothesis import assume
from hypothesis import strategies as st

from rfprobe.families.seanet.config import EncoderConfig, parse_config
from rfprobe.runs.verify import verify_config

MAX_HOP_SAMPLES = 2048  # keeps one check under a second on two CPU cores


@st.composite
def architectures(draw: st.DrawFn) -> EncoderConfig:
    """Hyperparameters over the ranges of audiocraft's seanet section, small channel counts."""
    ratios = draw(st.lists(st.integers(1, 10), min_size=1, max_size=5))
    hop = 1
    for ratio in ratios:
        hop *= ratio
    assume(hop <= MAX_HOP_SAMPLES)
    causal = draw(st.booleans())
    compress = draw(st.integers(1, 4))
    raw = {
        "sample_rate": 16000,
        "channels": draw(st.integers(1, 2)),
        "dimension": 3,
        "n_filters": draw(st.integers(compress, 4)),
        "n_residual_layers": draw(st.integers(0, 3)),
        "ratios": ratios,
        "kernel_size": draw(st.integers(1, 9)),
        "last_kernel_size": draw(st.integers(1, 9)),
        "residual_kernel_size": draw(st.integers(1, 7)),
        "dilation_base": draw(st.integers(1, 3)),
        "causal": causal,
        "pad_mode": draw(st.sampled_from(["constant", "reflect", "replicate"])),
        "true_skip": draw(st.booleans()),
        "compress": compress,
        "lstm": draw(st.integers(0, 1)),
        "norm": draw(st.sampled_from(["weight_norm", "none"] if causal else ["weight_norm", "none", "time_group_norm"])),
    }
    return parse_config(raw, where="fuzzed architecture", default_name="fuzzed")


@st.composite
def architectures_and_lengths(draw: st.DrawFn) -> tuple[EncoderConfig, int]:
    """An architecture and an input length (in hops plus any remainder) for the edge property."""
    config = draw(architectures())
    hops = draw(st.integers(2, 12))
    return config, hops * config.hop_samples + draw(st.integers(0, config.hop_samples - 1))


@dataclass(frozen=True)
class Check:
    config: EncoderConfig
    problems: tuple[str, ...]


def edge_problems(config: EncoderConfig, length: int, module) -> list[str]:
    """The analytic core's supports of the first two and last two frames == gradient supports."""
    from rfprobe.core.clip import clip_edges
    from rfprobe.probes.gradient import measured_supports

    edges = clip_edges(module, config.channels, length, config.hop_samples, length,
                       device=next(module.parameters()).device, dtype=next(module.parameters()).dtype)
    frames_total = edges.frames
    frames = sorted({0, min(1, frames_total - 1), max(frames_total - 2, 0), frames_total - 1})
    supports, count = measured_supports(module, config.channels, length, frames, seed=length)
    problems = [] if count == frames_total else [f"{count} frames for {length} samples, analytic {frames_total}"]
    for frame, measured in zip(frames, supports):
        analytic = edges.support(frame).intervals
        if measured != analytic:
            problems.append(f"frame {frame} of {length} samples: measured {list(measured)}, analytic {list(analytic)}")
    return problems


def check_architecture(config: EncoderConfig, length: Optional[int] = None) -> Check:
    """Verify one architecture (and, given a length, its edge frames); list every broken property."""
    verification = verify_config(config)
    problems = [f"verdict FAIL: {reason}" for reason in verification.verdict.reasons()]
    truth = verification.truth
    if truth is not None:
        global_norm = config.norm == "time_group_norm"
        expected_left, expected_right = bool(config.lstm) or global_norm, global_norm
        if (truth.left.unbounded, truth.right.unbounded) != (expected_left, expected_right):
            problems.append(f"unbounded sides (left, right) measured {(truth.left.unbounded, truth.right.unbounded)}, "
                            f"expected {(expected_left, expected_right)} from lstm={config.lstm}, norm={config.norm}")
    if length is not None:
        problems += edge_problems(config, length, next(iter(verification.modules.values())))
    return Check(config=config, problems=tuple(problems))
