"""The codec zoo: every encoder of rfprobe.families probed, one row each.

Each row runs `probe_module` on the encoder built with random weights (the receptive field
depends on the architecture only) and records left/right extents, hop, lookahead, the
basis of any unbounded side, how many methods agree, the verdict, wall time and peak
memory. `run_isolated` runs one row in its own Python process, so that its peak memory
(the process's maximum resident set minus what it held before building the model) and a
crash or hang belong to that row alone.

    >>> from rfprobe.families import find
    >>> row = run_row(find("mimi_seanet"), tiny=True)
    >>> row.verdict, row.hop_samples, row.lookahead_samples
    ('PASS', 960, 0)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from rfprobe.arithmetic.methods import EMPIRICAL, MODULE_WALK
from rfprobe.core import budget
from rfprobe.errors import UsageError, first_line
from rfprobe.runs.cost import CostEstimate, gib
from rfprobe.runs.position_field import POSITION_DEPENDENT, POSITION_PERIODS, read_one_period
from rfprobe.families import Unavailable, ZooModel, find, package_version
from rfprobe.arithmetic.geometry import Side
from rfprobe.arithmetic.lookahead import Lookahead, lookahead_of

PASS, FAIL, UNAVAILABLE, ERROR = "PASS", "FAIL", "UNAVAILABLE", "ERROR"
REFUSED = "REFUSED"  # not run: its estimate was over the memory budget or the time limit (the reason says)
WORKER_MARK = "rfprobe-zoo-row:"
EDGE_LENGTH_HOPS = 20  # cross-check clip: 20 hops, rounded up to both implementations' length rule

# (transformers row, original-package row): must see exactly the same input samples.
CROSS_CHECKS = (
    ("encodec_24khz", "encodec_24khz_audiocraft"),
    ("encodec_32khz", "encodec_32khz_audiocraft"),
    ("encodec_48khz", "encodec_48khz_audiocraft"),
    ("encodec_24khz", "encodec_24khz_facebook"),
    ("encodec_48khz", "encodec_48khz_facebook"),
    ("dac_16khz", "dac_16khz_descript"),
    ("dac_24khz", "dac_24khz_descript"),
    ("dac_44khz", "dac_44khz_descript"),
    ("mimi", "mimi_moshi"),
    ("mimi_seanet", "mimi_seanet_moshi"),
)


@dataclass
class ZooRow:
    """One zoo model's measured numbers (extents in the model's input unit, usually samples)."""

    name: str
    family: str
    source: str
    kind: str
    width: str  # tiny | full
    sample_rate: int
    input_unit: str = "samples"
    hop_samples: Optional[int] = None
    left_samples: Optional[int] = None  # None: unbounded (or not measured)
    right_samples: Optional[int] = None
    left_unbounded: bool = False
    right_unbounded: bool = False
    global_in_time: bool = False
    lookahead_samples: Optional[int] = None  # after the end of the frame's own hop
    methods_agreeing: int = 0
    methods_run: int = 0
    methods_total: int = 0
    verdict: str = ERROR
    reason: str = ""
    proof: str = ""
    wall_s: float = 0.0
    peak_memory_mib: Optional[float] = None
    edge_supports: Optional[dict] = None
    twin_of: Optional[str] = None
    note: str = ""
    # Set when which samples a frame reads depends on its position (see runs/position_field):
    # period_frames and one [position, left, right] per position of the period; left_samples
    # and right_samples are then the largest over the period.
    position_dependent: Optional[dict] = None

    @property
    def frame_rate_hz(self) -> Optional[float]:
        """Frames per second: the sample rate over the hop (None without a hop)."""
        return self.sample_rate / self.hop_samples if self.hop_samples else None

    @property
    def receptive_field_samples(self) -> Optional[int]:
        """The total width, left + 1 + right, in the input unit; None unless both sides are numbers."""
        if self.left_samples is None or self.right_samples is None:
            return None
        return self.left_samples + 1 + self.right_samples

    def sides(self) -> str:
        """Which sides are unbounded, in words ("past unbounded"), "global", or "-" for neither."""
        if self.global_in_time:
            return "global"
        sides = [
            side for side, unbounded in (("past", self.left_unbounded), ("future", self.right_unbounded)) if unbounded
        ]
        return " and ".join(sides) + " unbounded" if sides else "-"

    def to_json(self) -> dict:
        """Every field, plus the derived frame rate, total receptive field and sides."""
        return {
            **asdict(self),
            "frame_rate_hz": self.frame_rate_hz,
            "receptive_field_samples": self.receptive_field_samples,
            "sides": self.sides(),
        }

    @classmethod
    def from_json(cls, values: dict) -> "ZooRow":
        """The row :meth:`to_json` wrote (its derived values are derived again)."""
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _proof(verification) -> str:
    """Why a side is unbounded or global: analytic layers found, and growth seen by the probes."""
    parts = []
    walk = verification.result(MODULE_WALK)
    if walk is not None and walk.ran:
        found = [f"{row.note or row.kind} in {row.name}" for row in walk.layers if row.kind in ("lstm", "global")]
        if found:
            parts.append("module walk: " + ", ".join(found[:3]) + (" ..." if len(found) > 3 else ""))
    for method in EMPIRICAL:
        result = verification.result(method)
        growth = result.evidence.get("unbounded_growth") if result is not None and result.ran else None
        if growth:
            seed, seen = next(iter(growth.items()))
            sides = [
                f"{side} {' -> '.join(map(str, seen[key]))}"
                for side, key, unbounded in (
                    ("past", "left_seen_samples", result.receptive_field.left.unbounded),
                    ("future", "right_seen_samples", result.receptive_field.right.unbounded),
                )
                if unbounded
            ]
            parts.append(
                f"{method}: support reached the input's end at lengths "
                f"{', '.join(map(str, seen['lengths_samples'][-2:]))}, growing ({'; '.join(sides)})"
            )
    if not (walk is not None and walk.ran) and parts:
        parts.append("growth only: no analytic method ran, so not proven (the analytic core will settle it)")
    return "; ".join(parts)


def _agreeing(verification) -> tuple[int, int, int]:
    truth = verification.truth
    ran = [result for result in verification.results if result.ran]
    agreeing = sum(
        1
        for result in ran
        if truth is not None
        and result.receptive_field.left.agrees_with(truth.left)
        and result.receptive_field.right.agrees_with(truth.right)
        and result.receptive_field.hop_samples == truth.hop_samples
    )
    return agreeing, len(ran), len(verification.results)


def edge_length(model: ZooModel, hop_samples: int) -> int:
    """The clip length both implementations of a cross-checked pair are compared at."""
    multiple = model.length_multiple
    for pair in CROSS_CHECKS:
        if model.name in pair:
            for other in pair:
                multiple = math.lcm(multiple, find(other).length_multiple)
    length = EDGE_LENGTH_HOPS * hop_samples
    return -(-length // multiple) * multiple


def edge_supports(module: torch.nn.Module, model: ZooModel, hop_samples: int) -> dict:
    """Exact gradient supports of frames 0, 1, F-2 and F-1 of one clip (float64, CPU)."""
    from rfprobe.probes.gradient import measured_supports
    from rfprobe.probes.subject import probe_subject

    subject = probe_subject(module, "cpu", torch.float64)
    length = edge_length(model, hop_samples)
    with torch.no_grad():
        frames_total = subject(torch.zeros(1, model.channels, length, dtype=torch.float64)).shape[-1]
    frames = sorted({0, min(1, frames_total - 1), max(frames_total - 2, 0), frames_total - 1})
    supports, _ = measured_supports(subject, model.channels, length, frames, seed=0)
    return {
        "length_samples": length,
        "frames_total": frames_total,
        "supports": {str(frame): [list(interval) for interval in support] for frame, support in zip(frames, supports)},
    }


def _available_bytes() -> int:
    """Free memory now (MemAvailable on Linux; 8 GiB where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def row_cost_check(
    name: str, time_limit_s: Optional[float], started: float, memory_budget_bytes: int
) -> Callable[[CostEstimate], None]:
    """Refuses a row's probes, before they run, when their estimate is over the memory budget
    or would end past the row's time limit: the reason in GiB or seconds, never a time-out."""

    def check(estimate: CostEstimate) -> None:
        if estimate.peak_bytes > memory_budget_bytes:
            raise UsageError(
                f"{name}: the probes need about {estimate.describe()}, above the "
                f"{gib(memory_budget_bytes)} GiB budget (90 % of the free memory); --tiny gives the same "
                "receptive field"
            )
        if time_limit_s is not None and estimate.seconds is not None:
            left = time_limit_s - (time.perf_counter() - started)
            if estimate.seconds > left:
                raise UsageError(
                    f"{name}: the probes would take about {estimate.seconds:.0f} s ({estimate.seconds_basis}), past "
                    f"the {max(left, 0):.0f} s left of its {time_limit_s:.0f} s time limit; --tiny gives the same "
                    "receptive field, --timeout more time"
                )

    return check


def run_row(model: ZooModel, tiny: bool, device: str = "cpu", time_limit_s: Optional[float] = None) -> ZooRow:
    """Build and probe one zoo model in this process; never raises for a model's own failure.
    With `time_limit_s`, a row whose walk or probes would end past it is REFUSED up front."""
    from rfprobe.runs.module_probe import probe_module

    row = ZooRow(
        name=model.name,
        family=model.family,
        source=model.source(),
        kind=model.kind,
        width="tiny" if tiny else "full",
        sample_rate=model.sample_rate,
        input_unit=model.input_unit,
        twin_of=model.twin_of,
        note=model.note,
    )
    started, memory_before = time.perf_counter(), _peak_rss_mib()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    try:
        torch.manual_seed(0)
        module = model.build(tiny)
        check = row_cost_check(model.name, time_limit_s, started, int(0.9 * _available_bytes()))
        with budget.time_limit(time_limit_s) if time_limit_s is not None else contextlib.nullcontext():
            verification = probe_module(
                module,
                channels=model.channels,
                hop_samples=model.hop_samples,
                name=model.name,
                sample_rate=model.sample_rate,
                device=device,
                length_multiple=model.length_multiple,
                check_cost=check,
            )
    except Unavailable as error:
        row.verdict, row.reason = UNAVAILABLE, str(error)
    except UsageError as error:  # refused before its probes ran: too large or too long for the limit
        row.verdict, row.reason = REFUSED, str(error)
    except Exception as error:  # a model's own failure is its row's verdict, never the zoo's crash
        first = first_line(error)
        row.verdict, row.reason = ERROR, f"{type(error).__name__}: {first}"
    else:
        truth = verification.truth
        row.verdict = verification.verdict.label
        row.reason = "; ".join(verification.verdict.reasons())
        row.methods_agreeing, row.methods_run, row.methods_total = _agreeing(verification)
        if truth is not None:
            row.hop_samples = truth.hop_samples
            row.left_unbounded, row.right_unbounded = truth.left.unbounded, truth.right.unbounded
            row.left_samples = None if truth.left.unbounded else truth.left.samples
            row.right_samples = None if truth.right.unbounded else truth.right.samples
            row.global_in_time = truth.global_in_time
            row.lookahead_samples = lookahead_of(truth).after_hop_end_samples
            row.proof = _proof(verification) if not truth.bounded else ""
            if any(model.name in pair for pair in CROSS_CHECKS) and truth.hop_samples:
                try:
                    row.edge_supports = edge_supports(module, model, truth.hop_samples)
                except Exception as error:
                    row.edge_supports = {"error": f"{type(error).__name__}: {first_line(error)}"}
        if row.verdict != PASS and POSITION_DEPENDENT in row.reason:
            try:
                _read_position_dependent(row, module, model, check)
            except UsageError as error:  # its gradients would end past the row's time limit
                row.verdict, row.reason = REFUSED, f"{row.reason}; per-position reading refused: {error}"
    row.wall_s = round(time.perf_counter() - started, 2)
    if device.startswith("cuda"):
        row.peak_memory_mib = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    else:
        row.peak_memory_mib = round(_peak_rss_mib() - memory_before, 1)
    return row


def _read_position_dependent(
    row: ZooRow, module: torch.nn.Module, model: ZooModel, check_cost: Callable[[CostEstimate], None]
) -> None:
    """A row whose walk found position-dependent reads: one period of them by the walk and the
    gradient; PASS when they agree at every position (the row's extents: the largest).
    `check_cost` gets the gradients' estimated time before they run (it raises to refuse them)."""
    lengths = [multiple * max(model.length_multiple, 1) for multiple in POSITION_PERIODS]
    field = read_one_period(module, model.channels, lengths, check_cost)
    if field.period_frames is None:
        row.reason += f"; {field.describe()}"
        return
    row.hop_samples = field.hop_samples
    row.left_samples, row.right_samples = field.left_range_samples[1], field.right_range_samples[1]
    row.lookahead_samples = Lookahead(Side(row.right_samples), field.hop_samples).after_hop_end_samples
    row.position_dependent = {
        "period_frames": field.period_frames,
        "positions": [[reads.position, reads.left_samples, reads.right_samples] for reads in field.analytic],
        "differing_positions": list(field.differing_positions),
    }
    row.left_unbounded = row.right_unbounded = row.global_in_time = False
    # The two methods that read one period position by position: the walk and the gradient.
    row.methods_agreeing, row.methods_run, row.methods_total = (2 if field.agrees else 1), 2, 2
    row.verdict = PASS if field.agrees else FAIL
    row.reason = (
        field.describe() + "; the table shows the largest left and the largest right over the period (they "
        "fall at different positions); forward-mode impulses are not run per position"
    )


def _error_row(model: ZooModel, tiny: bool, reason: str, started: float) -> ZooRow:
    """The row of a model whose worker process gave no row (it timed out or crashed)."""
    return ZooRow(
        name=model.name,
        family=model.family,
        source=model.source(),
        kind=model.kind,
        width="tiny" if tiny else "full",
        sample_rate=model.sample_rate,
        verdict=ERROR,
        reason=reason,
        wall_s=round(time.perf_counter() - started, 2),
        twin_of=model.twin_of,
        note=model.note,
    )


def run_isolated(model: ZooModel, tiny: bool, timeout_s: float, device: str = "cpu") -> ZooRow:
    """`run_row` in a fresh Python process: per-model peak memory, and a crash or hang stays in its row."""
    root = str(Path(__file__).resolve().parents[2])
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    # The row's own limit stops it, with its reason, before the process is killed at timeout_s.
    command = [
        sys.executable,
        "-m",
        "rfprobe.runs.zoo",
        model.name,
        "--device",
        device,
        "--time-limit",
        f"{0.9 * timeout_s:g}",
    ] + (["--tiny"] if tiny else [])
    started = time.perf_counter()
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=environment)
    except subprocess.TimeoutExpired:
        return _error_row(model, tiny, f"timed out after {timeout_s:g} s", started)
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith(WORKER_MARK):
            return ZooRow(**json.loads(line[len(WORKER_MARK) :]))
    tail = (finished.stderr.strip().splitlines() or ["no output"])[-1]
    return _error_row(model, tiny, f"worker exited {finished.returncode}: {tail}", started)


@dataclass(frozen=True)
class ImplementationComparison:
    """Two implementations of one codec: same extents, hop and edge-frame supports, or findings."""

    transformers: str
    original: str
    differences: tuple[str, ...] = ()
    skipped: str = ""  # why it could not be compared (a row unavailable or failed)

    def to_json(self) -> dict:
        """Every field, for the zoo's JSON (the differences as a list)."""
        return {
            "transformers": self.transformers,
            "original": self.original,
            "differences": list(self.differences),
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, values: dict) -> "ImplementationComparison":
        """The comparison back from `to_json`'s dict."""
        return cls(values["transformers"], values["original"], tuple(values["differences"]), values["skipped"])

    def describe(self) -> str:
        """One line: identical, not compared (and why), or each difference."""
        pair = f"{self.transformers} vs {self.original}"
        if self.skipped:
            return f"{pair}: not compared ({self.skipped})"
        if not self.differences:
            return f"{pair}: identical (left, right, hop, global, edge-frame supports)"
        return f"{pair}: DIFFERENT: " + "; ".join(self.differences)


def cross_checks(rows: Sequence[ZooRow]) -> list[ImplementationComparison]:
    """transformers' rows against the original packages' rows of the same model (CROSS_CHECKS)."""
    by_name = {row.name: row for row in rows}
    checks = []
    for theirs, original in CROSS_CHECKS:
        a, b = by_name.get(theirs), by_name.get(original)
        if a is None or b is None:
            continue
        not_run = [f"{row.name} {row.verdict}" for row in (a, b) if row.hop_samples is None]
        if not_run:
            checks.append(ImplementationComparison(theirs, original, skipped=", ".join(not_run)))
            continue
        differences = [
            f"{quantity}: {theirs} {getattr(a, quantity)}, {original} {getattr(b, quantity)}"
            for quantity in (
                "left_samples",
                "right_samples",
                "left_unbounded",
                "right_unbounded",
                "hop_samples",
                "global_in_time",
            )
            if getattr(a, quantity) != getattr(b, quantity)
        ]
        edges_a, edges_b = a.edge_supports or {}, b.edge_supports or {}
        if "error" in edges_a or "error" in edges_b or not edges_a or not edges_b:
            differences.append(
                f"edge supports not measured ({edges_a.get('error') or edges_b.get('error') or 'missing'})"
            )
        elif edges_a != edges_b:
            if edges_a["frames_total"] != edges_b["frames_total"]:
                differences.append(
                    f"frames for {edges_a['length_samples']} samples: {theirs} {edges_a['frames_total']}, "
                    f"{original} {edges_b['frames_total']}"
                )
            for frame in sorted(set(edges_a["supports"]) | set(edges_b["supports"]), key=int):
                sa, sb = edges_a["supports"].get(frame), edges_b["supports"].get(frame)
                if sa != sb:
                    differences.append(
                        f"frame {frame} of a {edges_a['length_samples']}-sample clip: {theirs} reads "
                        f"{sa}, {original} reads {sb}"
                    )
        checks.append(ImplementationComparison(theirs, original, tuple(differences)))
    return checks


def machine_line(tiny: bool) -> str:
    """The zoo table's machine line: width, CPU, threads and the packages' versions."""
    return (
        f"{'tiny' if tiny else 'full'} width; {platform.machine()}, {torch.get_num_threads()} torch threads; "
        f"torch {torch.__version__}, transformers {package_version('transformers')}, "
        f"audiocraft {package_version('audiocraft')}"
    )


def run_zoo(
    models: Sequence[ZooModel],
    tiny: bool,
    timeout_s: float,
    device: str = "cpu",
    progress: Callable[[str], None] = print,
    isolated: bool = True,
) -> list[ZooRow]:
    """One row per model, each in its own process unless not `isolated`, with progress lines."""
    rows = []
    for index, model in enumerate(models, 1):
        progress(f"[{index}/{len(models)}] {model.name} ({model.source()}) ...")
        row = run_isolated(model, tiny, timeout_s, device) if isolated else run_row(model, tiny, device)
        progress(f"[{index}/{len(models)}] {model.name}: {row.verdict} in {row.wall_s:.1f} s")
        rows.append(row)
    return rows


def _worker(argv: Sequence[str]) -> int:
    """`python -m rfprobe.runs.zoo NAME [--tiny] [--device D]`: one row as a JSON line."""
    import argparse
    import warnings

    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(prog="python -m rfprobe.runs.zoo")
    parser.add_argument("name")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--time-limit", type=float, default=None)
    arguments = parser.parse_args(argv)
    row = run_row(find(arguments.name), arguments.tiny, arguments.device, arguments.time_limit)
    print(WORKER_MARK + json.dumps(asdict(row), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
