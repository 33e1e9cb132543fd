"""The context map of one config: lookahead, edge frames and padding, unbounded sides proven
by taint, and the effective receptive field. Built on a core :class:`Verification`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import torch

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.core.clip import ClipEdges, FrameSupport, clip_edges, edge_probe_length
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.probes.erf import EffectiveField, grown_effective_field
from rfprobe.families.seanet.formula import formula_receptive_field
from rfprobe.probes.gradient import measured_supports
from rfprobe.arithmetic.lookahead import Lookahead, lookahead_of
from rfprobe.probes.subject import fold_weight_norms, probe_subject
from rfprobe.probes.taint import TaintProof, prove_side
from rfprobe.arithmetic.geometry import ReceptiveField
from rfprobe.arithmetic.methods import FORMULA, MODULE_WALK
from rfprobe.runs.timings import timed
from rfprobe.runs.verify import Verification, analytic_extents

DEFAULT_CLIP_SECONDS = 10.0
SHOWN_FRAMES_PER_END = 12  # the most frames a picture of one end of the clip draws


@dataclass(frozen=True)
class EdgeFrame:
    """One edge frame of the clip: its analytic reads, and the gradient's on the shorter probe input."""

    role: str
    frame: int  # index in the clip
    analytic: FrameSupport  # at the clip length (the analytic core)
    probe_frame: int  # index at the probe length
    analytic_at_probe: FrameSupport
    measured: tuple[tuple[int, int], ...]  # gradient support at the probe length
    future_beyond_hop_samples: int  # samples read after the frame's own hop (clip)

    @property
    def agrees(self) -> bool:
        """The gradient's support at the probe length is exactly the analytic one there."""
        return self.measured == self.analytic_at_probe.intervals


@dataclass(frozen=True)
class EdgeReport:
    """The clip's two ends: which frames read padding, and each edge frame checked by the gradient."""

    clip_samples: int
    frames: int
    pad_mode: str
    left_padded_frames: int  # frames 0..k-1 read left padding
    right_padded_frames: int  # frames F-m..F-1 read right padding
    probe_length_samples: int
    edge_frames: tuple[EdgeFrame, ...]
    shown: tuple[tuple[FrameSupport, ...], tuple[FrameSupport, ...]] = ((), ())  # frames a plot draws, per end

    @property
    def all_agree(self) -> bool:
        """Every edge frame's gradient support agrees with its analytic one."""
        return all(frame.agrees for frame in self.edge_frames)


@dataclass(frozen=True)
class ContextMap:
    """What a verified config's frames need around them: lookahead, edges, taint proofs, effective RF."""

    lookahead: Lookahead
    edges: EdgeReport
    taint: tuple[TaintProof, ...]
    erf: EffectiveField


def edge_report(
    config: EncoderConfig,
    clip_samples: int,
    device: torch.device,
    dtype: torch.dtype,
    module: Optional[torch.nn.Module] = None,
    extents: Optional[ReceptiveField] = None,
) -> EdgeReport:
    """The clip's edge frames, read by the analytic core, each checked against the gradient's
    support of the same frame on the shorter input the core read. `extents` (the core's
    receptive field; by default the config formula's) size that input."""
    local = extents if extents is not None else formula_receptive_field(config).receptive_field
    hop = local.hop_samples
    module = module if module is not None else fold_weight_norms(build_encoder(config, 0, device, dtype))
    length = edge_probe_length(clip_samples, hop, local.left.samples, local.right.samples)
    edges = clip_edges(module, config.channels, clip_samples, hop, length, device=device, dtype=dtype)
    frames, k, m = edges.frames, edges.left_padded_frames, edges.right_padded_frames
    roles = (("frame 0", 0), ("first interior", k), ("last interior", frames - m - 1), ("last frame", frames - 1))
    chosen: dict[int, str] = {}
    for role, frame in roles:
        if 0 <= frame < frames:
            chosen[frame] = f"{chosen[frame]} = {role}" if frame in chosen else role
    supports = {frame: edges.support(frame) for frame in chosen}
    # Frames near the start keep their index on the shorter input; frames near the end keep
    # their distance from the last frame.
    at_probe = {frame: edges.traced_frame(frame)[0] for frame in chosen}
    measured, _ = measured_supports(
        module, config.channels, length, list(at_probe.values()), seed=10, device=device, dtype=dtype
    )
    rows = []
    for (frame, role), support in zip(chosen.items(), measured):
        analytic = supports[frame]
        rows.append(
            EdgeFrame(
                role=role,
                frame=frame,
                analytic=analytic,
                probe_frame=at_probe[frame],
                analytic_at_probe=edges.traced_support(at_probe[frame]),
                measured=support,
                future_beyond_hop_samples=max(analytic.last - (frame * hop + hop - 1), 0),
            )
        )
    return EdgeReport(
        clip_samples=clip_samples,
        frames=frames,
        pad_mode=config.pad_mode,
        left_padded_frames=k,
        right_padded_frames=m,
        probe_length_samples=length,
        edge_frames=tuple(rows),
        shown=_shown_frames(edges),
    )


def _shown_frames(
    edges: ClipEdges, most: int = SHOWN_FRAMES_PER_END
) -> tuple[tuple[FrameSupport, ...], tuple[FrameSupport, ...]]:
    """The frames a picture of each end shows: those reading that end's padding and three more,
    at most `most` and never more than the traced input holds near that end (behind an
    unbounded side every frame reads that end's padding)."""
    start = min(edges.left_padded_frames + 3, most, edges.start_frames)
    end = min(edges.right_padded_frames + 3, most, edges.end_frames)
    return (
        tuple(edges.support(frame) for frame in range(start)),
        tuple(edges.support(frame) for frame in range(edges.frames - end, edges.frames)),
    )


def taint_proofs(
    config: EncoderConfig,
    truth_left_unbounded: bool,
    truth_right_unbounded: bool,
    module: Optional[torch.nn.Module] = None,
    extents: Optional[ReceptiveField] = None,
) -> tuple[TaintProof, ...]:
    """NaN-taint proofs of the unbounded sides, against the config's conv-only twin.
    `extents` (the core's; by default the formula's) give the local reach on each side."""
    local = extents if extents is not None else formula_receptive_field(config).receptive_field
    if not (truth_left_unbounded or truth_right_unbounded):
        return ()
    # Taint runs on CPU in float64 whatever the probes used (see rfprobe.probes.taint).
    if module is None:
        module = fold_weight_norms(build_encoder(config, 0, "cpu", torch.float64))
    elif not _on_cpu_in_float64(module):
        module = probe_subject(module, "cpu", torch.float64)
    twin = replace(config, lstm=0, norm="none" if config.norm == "time_group_norm" else config.norm)
    control = fold_weight_norms(build_encoder(twin, 0, "cpu", torch.float64))
    proofs = []
    for side, unbounded, other in (
        ("past", truth_left_unbounded, truth_right_unbounded),
        ("future", truth_right_unbounded, truth_left_unbounded),
    ):
        if unbounded:
            proofs.append(
                prove_side(
                    module,
                    control,
                    side,
                    local.left.samples,
                    local.right.samples,
                    local.hop_samples,
                    config.channels,
                    other_side_bounded=not other,
                )
            )
    return tuple(proofs)


def _on_cpu_in_float64(module: torch.nn.Module) -> bool:
    """Whether taint can run `module` as it is (taint only reads it: no copy is needed)."""
    return all(
        t.device.type == "cpu" and (t.dtype == torch.float64 or not t.is_floating_point())
        for t in [*module.parameters(), *module.buffers()]
    )


def context_map(
    verification: Verification,
    clip_seconds: float = DEFAULT_CLIP_SECONDS,
    device: torch.device = torch.device("cpu"),
    dtype: torch.dtype = torch.float64,
) -> ContextMap:
    """Edges, lookahead, taint and effective RF of a verified config, every window sized by
    the analytic core's extents (see :func:`rfprobe.runs.verify.analytic_extents`)."""
    config = verification.config
    extents = analytic_extents(verification.result(FORMULA), verification.result(MODULE_WALK))
    truth = verification.truth or extents
    clip_samples = round(clip_seconds * config.sample_rate)
    modules = verification.modules or {
        seed: fold_weight_norms(build_encoder(config, seed, device, dtype)) for seed in (0, 1)
    }
    first = next(iter(modules.values()))
    with timed("edges"):
        edges = edge_report(config, clip_samples, device, dtype, first, extents)
    with timed("taint"):
        taint = taint_proofs(config, truth.left.unbounded, truth.right.unbounded, first, extents)
    with timed("effective RF"):
        erf = grown_effective_field(
            modules,
            extents.left.samples,
            extents.right.samples,
            extents.hop_samples,
            grow_past=truth.left.unbounded or truth.global_in_time,
            grow_future=truth.right.unbounded or truth.global_in_time,
            channels=config.channels,
            device=device,
            dtype=dtype,
        )
    return ContextMap(lookahead=lookahead_of(truth), edges=edges, taint=taint, erf=erf)
