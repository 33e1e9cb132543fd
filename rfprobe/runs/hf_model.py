"""`--hf-model DIR`: the encoder(s) of a local Hugging Face snapshot, probed like `--module`.

Each encoder branch of the snapshot (:mod:`rfprobe.families.hf_snapshots`) is checked and
probed by :mod:`rfprobe.runs.module_probe` (module walk, gradient, impulse; PASS needs all
three to agree). With the snapshot's own (trained) weights the effective receptive field
is measured beside the exact one: the widths holding 50/90/99 % of the |gradient| mass
(:mod:`rfprobe.probes.erf`), on those weights, so it says where the trained encoder looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch

from rfprobe.arithmetic.methods import MODULE_WALK
from rfprobe.families import SnapshotBranch
from rfprobe.families.hf_snapshots import Snapshot, load_snapshot
from rfprobe.probes.erf import EffectiveField, grown_effective_field
from rfprobe.probes.run import DEFAULT_SEEDS
from rfprobe.probes.subject import probe_subject
from rfprobe.runs.cost import CostEstimate
from rfprobe.runs.module_probe import ModuleShape, check_module, probe_module
from rfprobe.runs.verify import Verification


@dataclass
class HfModelResult:
    """One encoder branch of a snapshot: its verification and, with trained weights, its effective RF."""

    snapshot: Snapshot
    branch: SnapshotBranch
    verification: Verification
    effective: Optional[EffectiveField] = None  # None: random weights, a feature-frame input, or no walk


def subject_name(snapshot: Snapshot, branch: SnapshotBranch) -> str:
    """The directory's name, and the branch's where the codec has more than one encoder."""
    return snapshot.name if len(snapshot.branches) == 1 else f"{snapshot.name}:{branch.name}"


def check_snapshot(
    snapshot: Snapshot,
    option: str = "--hf-model",
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    check_cost: Callable[[CostEstimate], None] = lambda estimate: None,
) -> list[ModuleShape]:
    """Every branch checked as `--module` checks a module (channels, hop, cost, finite output),
    before any probe runs; a problem is a UsageError naming the snapshot and branch."""
    return [
        check_module(
            branch.module,
            f"{option} {snapshot.directory} ({branch.name})",
            channels=branch.channels,
            hop_samples=branch.hop_samples,
            device=device,
            dtype=dtype,
            check_cost=check_cost,
        )
        for branch in snapshot.branches
    ]


def _effective(
    branch: SnapshotBranch, verification: Verification, device: torch.device, dtype: torch.dtype
) -> Optional[EffectiveField]:
    """The effective RF on the snapshot's weights, its window sized by the module walk's extents
    (an open side's finite part is its local reach, and the window grows on that side)."""
    walk = verification.result(MODULE_WALK)
    truth = verification.truth
    if walk is None or not walk.ran or truth is None or branch.sample_rate is None:
        return None
    extents = walk.receptive_field
    subject = probe_subject(branch.module, device, dtype)
    seeds = verification.settings.get("seeds") or list(DEFAULT_SEEDS)
    return grown_effective_field(
        dict.fromkeys(seeds, subject),
        extents.left.samples,
        extents.right.samples,
        extents.hop_samples,
        grow_past=truth.left.unbounded or truth.global_in_time,
        grow_future=truth.right.unbounded or truth.global_in_time,
        channels=branch.channels,
        device=device,
        dtype=dtype,
    )


def probe_snapshot(
    snapshot: Snapshot,
    shapes: Optional[Sequence[ModuleShape]] = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    seeds: Sequence[int] = DEFAULT_SEEDS,
) -> list[HfModelResult]:
    """Probe every branch of a loaded snapshot. `shapes`: what :func:`check_snapshot` found
    (its module walks are reused); without them each branch is checked first."""
    device = torch.device(device)
    shapes = list(shapes) if shapes is not None else check_snapshot(snapshot, device=device, dtype=dtype)
    results = []
    for branch, shape in zip(snapshot.branches, shapes):
        verification = probe_module(
            branch.module,
            channels=shape.channels,
            hop_samples=shape.hop_samples,
            name=subject_name(snapshot, branch),
            sample_rate=branch.sample_rate,
            device=device,
            dtype=dtype,
            seeds=seeds,
            length_multiple=branch.length_multiple,
            walk=shape.walk,
        )
        verification.source_path = str(snapshot.directory)
        verification.provenance.update(
            model_type=snapshot.model_type, transformers_version=snapshot.transformers_version
        )
        verification.settings["weights"] = snapshot.weights_note
        effective = _effective(branch, verification, device, dtype) if snapshot.trained else None
        results.append(HfModelResult(snapshot, branch, verification, effective))
    return results


def probe_hf_model(
    name: str,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    seeds: Sequence[int] = DEFAULT_SEEDS,
) -> list[HfModelResult]:
    """The Python API of `--hf-model`: load the snapshot `name` (a directory, or a model in the
    local hub cache) and probe each of its encoders; one result per branch.

    Bad input (no such snapshot, no config.json, an unknown model_type, weights that do not
    match the config, non-finite weights) raises :class:`rfprobe.errors.UsageError`.
    """
    snapshot = load_snapshot(name, seed=seeds[0])
    return probe_snapshot(snapshot, device=device, dtype=dtype, seeds=seeds)
