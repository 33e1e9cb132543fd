"""Random SEANet architectures and random operator graphs for property-based checking
(needs `hypothesis`, a test extra).

The properties: for any architecture, formula == module walk == gradient == impulse; a side
is unbounded exactly when an LSTM (past) or a GroupNorm over time (both) is present; and for
any input length the analytic supports of the edge frames equal the measured ones. The
whole path a user runs (the command line, its report, JSON and plots) is fuzzed by
:mod:`rfprobe.frontends.whole_path`, over these architectures and over :func:`random_stack`
graphs of the op kinds the core knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from hypothesis import assume
from hypothesis import strategies as st
from torch import nn

from rfprobe.families.seanet.config import EncoderConfig, parse_config
from rfprobe.runs.verify import verify_config

MAX_HOP_SAMPLES = 2048  # keeps one check under a second on two CPU cores
PAD_MODES = ("constant", "reflect", "replicate", "circular")  # every pad mode StreamableConv1d takes
AGREEING_PAD_MODES = PAD_MODES[:3]
STACK_KINDS = (
    "conv",
    "dilated",
    "strided",
    "upsample then stride",
    "pool",
    "crop residual",
    "window attention",
    "lstm",
)


@st.composite
def architectures(draw: st.DrawFn, pad_modes: tuple[str, ...] = AGREEING_PAD_MODES) -> EncoderConfig:
    """Hyperparameters over the ranges of audiocraft's seanet section, small channel counts.
    `pad_modes`: by default those where every method must agree (circular padding carried by an
    LSTM is a limit rfprobe names, and fails its verdict); :data:`PAD_MODES` for all of them."""
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
        "pad_mode": draw(st.sampled_from(pad_modes)),
        "true_skip": draw(st.booleans()),
        "compress": compress,
        "lstm": draw(st.integers(0, 1)),
        "norm": draw(
            st.sampled_from(["weight_norm", "none"] if causal else ["weight_norm", "none", "time_group_norm"])
        ),
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
    """One random config and the problems the property check found in it (none: it passed)."""

    config: EncoderConfig
    problems: tuple[str, ...]


def edge_problems(config: EncoderConfig, length: int, module) -> list[str]:
    """The analytic core's supports of the first two and last two frames == gradient supports."""
    from rfprobe.core.clip import clip_edges
    from rfprobe.probes.gradient import measured_supports

    edges = clip_edges(
        module,
        config.channels,
        length,
        config.hop_samples,
        length,
        device=next(module.parameters()).device,
        dtype=next(module.parameters()).dtype,
    )
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
            problems.append(
                f"unbounded sides (left, right) measured {(truth.left.unbounded, truth.right.unbounded)}, "
                f"expected {(expected_left, expected_right)} from lstm={config.lstm}, norm={config.norm}"
            )
    if length is not None:
        problems += edge_problems(config, length, next(iter(verification.modules.values())))
    return Check(config=config, problems=tuple(problems))


@st.composite
def stack_specs(draw: st.DrawFn) -> list[dict]:
    """One to four layers of the op kinds the core reads, as plain data (JSON) for :func:`random_stack`."""
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(STACK_KINDS))
        layer: dict = {"kind": kind}
        if kind in ("conv", "dilated", "strided"):
            layer.update(
                kernel=draw(st.integers(1, 7)),
                stride=draw(st.integers(2, 3)) if kind == "strided" else 1,
                dilation=draw(st.integers(2, 4)) if kind == "dilated" else 1,
                padding=draw(st.sampled_from(["none", "centred", "causal", "reflect"])),
            )
        elif kind == "pool":
            layer.update(kernel=draw(st.integers(2, 3)))
        elif kind == "upsample then stride":  # x2, then a stride-4 conv: frames never outnumber samples
            layer.update(kernel=draw(st.sampled_from([2, 4, 6])))
        elif kind == "crop residual":
            layer.update(kernel=draw(st.integers(2, 7)) | 1, dilation=draw(st.integers(1, 3)))
        elif kind == "window attention":
            layer.update(window=draw(st.integers(2, 6)), causal=draw(st.booleans()))
        layers.append(layer)
    return layers


class _Layer(nn.Module):
    """One layer of a :func:`random_stack` (width 2 after the first)."""

    def __init__(self, spec: dict, channels: int) -> None:
        super().__init__()
        self.spec, kind = spec, spec["kind"]
        if kind in ("conv", "dilated", "strided"):
            self.conv = nn.Conv1d(channels, 2, spec["kernel"], stride=spec["stride"], dilation=spec["dilation"])
        elif kind == "crop residual":
            self.conv = nn.Conv1d(channels, 2, spec["kernel"], dilation=spec["dilation"])
            self.skip = nn.Conv1d(channels, 2, 1)
        elif kind == "window attention":
            self.conv = nn.Conv1d(channels, 2, 1)
        elif kind == "lstm":
            self.conv = nn.Conv1d(channels, 2, 1)
            self.lstm = nn.LSTM(2, 2, batch_first=True)
        elif kind == "upsample then stride":
            self.conv = nn.Conv1d(channels, 2, spec["kernel"], stride=4)
        elif kind == "pool":
            self.conv = nn.Conv1d(channels, 2, 1)

    def forward(self, x: "torch.Tensor") -> "torch.Tensor":
        import torch.nn.functional as F

        kind, spec = self.spec["kind"], self.spec
        if kind in ("conv", "dilated", "strided"):
            reach = (spec["kernel"] - 1) * spec["dilation"]
            pads = {
                "none": (0, 0),
                "centred": (reach - reach // 2, reach // 2),
                "causal": (reach, 0),
                "reflect": (reach - reach // 2, reach // 2),
            }[spec["padding"]]
            mode = "reflect" if spec["padding"] == "reflect" and max(pads) < x.shape[-1] else "constant"
            return torch.tanh(self.conv(F.pad(x, pads, mode=mode)))
        if kind == "crop residual":
            y = self.conv(x)
            crop = (x.shape[-1] - y.shape[-1]) // 2
            return self.skip(x)[..., crop : crop + y.shape[-1]] + y
        if kind == "upsample then stride":
            return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        if kind == "pool":
            return F.avg_pool1d(self.conv(x), spec["kernel"], stride=2)
        if kind == "window attention":
            h = self.conv(x).transpose(1, 2).unsqueeze(1)
            length = h.shape[2]
            query, key = torch.arange(length)[:, None], torch.arange(length)[None, :]
            mask = (key > query - spec["window"]) & (
                (key <= query) if spec["causal"] else (key < query + spec["window"])
            )
            return (h + F.scaled_dot_product_attention(h, h, h, attn_mask=mask)).squeeze(1).transpose(1, 2)
        outputs, _ = self.lstm(self.conv(x).transpose(1, 2))
        return outputs.transpose(1, 2)


def random_stack(specs: list[dict], seed: int = 0) -> nn.Module:
    """A module (batch, 1, time) -> (batch, 2, frames) of the layers `specs` (see :func:`stack_specs`)."""
    torch.manual_seed(seed)
    layers = [_Layer(spec, 1 if index == 0 else 2) for index, spec in enumerate(specs)]
    return nn.Sequential(*layers).double().eval()
