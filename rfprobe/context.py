"""The context map of one config: lookahead, edge frames and padding, unbounded sides proven
by taint, and the effective receptive field. Built on a core :class:`Verification`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch

from . import edges
from .config import EncoderConfig
from .encoder import build_encoder
from .erf import EffectiveField, grown_effective_field
from .formula import encoder_layers, formula_receptive_field
from .gradient_probe import measured_supports
from .lookahead import Lookahead, lookahead_of
from .module_probe import copy_module
from .taint import TaintProof, prove_side
from .verify import Verification

DEFAULT_CLIP_SECONDS = 10.0


@dataclass(frozen=True)
class EdgeFrame:
    role: str
    frame: int  # index in the clip
    analytic: edges.FrameSupport  # at the clip length
    probe_frame: int  # index at the probe length
    analytic_at_probe: edges.FrameSupport
    measured: tuple[tuple[int, int], ...]  # gradient support at the probe length
    future_beyond_hop_samples: int  # samples read after the frame's own hop (clip)

    @property
    def agrees(self) -> bool:
        return self.measured == self.analytic_at_probe.intervals


@dataclass(frozen=True)
class EdgeReport:
    clip_samples: int
    frames: int
    pad_mode: str
    left_padded_frames: int  # frames 0..k-1 read left padding
    right_padded_frames: int  # frames F-m..F-1 read right padding
    probe_length_samples: int
    edge_frames: tuple[EdgeFrame, ...]

    @property
    def all_agree(self) -> bool:
        return all(frame.agrees for frame in self.edge_frames)


@dataclass(frozen=True)
class ContextMap:
    lookahead: Lookahead
    edges: EdgeReport
    taint: tuple[TaintProof, ...]
    erf: EffectiveField


def padded_frame_counts(layers, length: int, pad_mode: str) -> tuple[int, int, int]:
    """(frames, k, m): frames 0..k-1 read the left padding, F-m..F-1 the right padding.

    Scans inwards from each end and stops at the first frame that does not: reading the
    padding of one end is monotone in the distance from that end.
    """
    frames = edges.frame_count(layers, length)

    def count(order, reads) -> int:
        return next((i for i, frame in enumerate(order) if not reads(edges.frame_support(layers, length, frame,
                                                                                             pad_mode))), frames)

    left = count(range(frames), lambda support: support.reads_left_padding)
    right = count(range(frames - 1, -1, -1), lambda support: support.reads_right_padding)
    return frames, left, right


def probe_length(clip_samples: int, hop: int, left: int, right: int) -> int:
    """A shorter input with the clip's length modulo the hop: frames near each edge then see
    the same layer lengths modulo every stride, so their supports relative to that edge are
    the clip's (the analytic supports are compared at this length too)."""
    minimum = 2 * (left + right) + 8 * hop
    if clip_samples <= minimum:
        return clip_samples
    return clip_samples - ((clip_samples - minimum) // hop) * hop


def edge_report(config: EncoderConfig, clip_samples: int, device: torch.device, dtype: torch.dtype,
                module: Optional[torch.nn.Module] = None) -> EdgeReport:
    layers = encoder_layers(config)
    local = formula_receptive_field(config).receptive_field  # local layers only: sizes the probe input
    hop = local.hop_samples
    frames, k, m = padded_frame_counts(layers, clip_samples, config.pad_mode)
    length = probe_length(clip_samples, hop, local.left.samples, local.right.samples)
    probe_frames = edges.frame_count(layers, length)
    # Frames near the start keep their index at the probe length; frames near the end keep
    # their distance from the last frame.
    roles = (("frame 0", 0, 0), ("first interior", k, k), ("last interior", frames - m - 1, probe_frames - m - 1),
             ("last frame", frames - 1, probe_frames - 1))
    chosen: dict[int, tuple[str, int]] = {}
    for role, frame, probe_frame in roles:
        if 0 <= frame < frames:
            previous = chosen.get(frame, ("", probe_frame))[0]
            chosen[frame] = (f"{previous} = {role}" if previous else role, probe_frame)
    module = module if module is not None else build_encoder(config, 0, device, dtype)
    measured, _ = measured_supports(module, config.channels, length, [probe for _, probe in chosen.values()],
                                    seed=10, device=device, dtype=dtype)
    rows = []
    for (frame, (role, probe_frame)), support in zip(chosen.items(), measured):
        analytic = edges.frame_support(layers, clip_samples, frame, config.pad_mode)
        rows.append(EdgeFrame(
            role=role, frame=frame, analytic=analytic, probe_frame=probe_frame,
            analytic_at_probe=edges.frame_support(layers, length, probe_frame, config.pad_mode),
            measured=support, future_beyond_hop_samples=max(analytic.last - (frame * hop + hop - 1), 0)))
    return EdgeReport(clip_samples=clip_samples, frames=frames, pad_mode=config.pad_mode, left_padded_frames=k,
                      right_padded_frames=m, probe_length_samples=length, edge_frames=tuple(rows))


def taint_proofs(config: EncoderConfig, truth_left_unbounded: bool, truth_right_unbounded: bool,
                 module: Optional[torch.nn.Module] = None) -> tuple[TaintProof, ...]:
    local = formula_receptive_field(config).receptive_field
    # Taint runs on CPU in float64 whatever the probes used (see rfprobe.taint).
    module = build_encoder(config, 0, "cpu", torch.float64) if module is None \
        else copy_module(module).to("cpu", torch.float64)
    twin = replace(config, lstm=0, norm="none" if config.norm == "time_group_norm" else config.norm)
    control = build_encoder(twin, 0, "cpu", torch.float64)
    proofs = []
    for side, unbounded, other in (("past", truth_left_unbounded, truth_right_unbounded),
                                   ("future", truth_right_unbounded, truth_left_unbounded)):
        if unbounded:
            proofs.append(prove_side(module, control, side, local.left.samples, local.right.samples,
                                     local.hop_samples, config.channels, other_side_bounded=not other))
    return tuple(proofs)


def context_map(verification: Verification, clip_seconds: float = DEFAULT_CLIP_SECONDS,
                device: torch.device = torch.device("cpu"), dtype: torch.dtype = torch.float64) -> ContextMap:
    config = verification.config
    local = formula_receptive_field(config).receptive_field
    truth = verification.truth or local
    clip_samples = round(clip_seconds * config.sample_rate)
    modules = verification.modules or {seed: build_encoder(config, seed, device, dtype) for seed in (0, 1)}
    first = next(iter(modules.values()))
    return ContextMap(
        lookahead=lookahead_of(truth),
        edges=edge_report(config, clip_samples, device, dtype, first),
        taint=taint_proofs(config, truth.left.unbounded, truth.right.unbounded, first),
        erf=grown_effective_field(modules, local.left.samples, local.right.samples, local.hop_samples,
                                  grow_past=truth.left.unbounded or truth.global_in_time,
                                  grow_future=truth.right.unbounded or truth.global_in_time,
                                  channels=config.channels, device=device, dtype=dtype))
