"""The zoo as a table: one row per codec encoder, and the notes printed below it."""

from __future__ import annotations

from typing import Optional, Sequence

from rfprobe.arithmetic.geometry import format_ms
from rfprobe.output.report import format_table
from rfprobe.runs.zoo import PASS, ImplementationComparison, ZooRow


def _cell(value: Optional[int], unbounded: bool) -> str:
    return "unbounded" if unbounded else "-" if value is None else str(value)


def _ms_cell(value: Optional[int], row: ZooRow) -> str:
    return "-" if value is None or row.input_unit != "samples" else format_ms(value, row.sample_rate)


HEADERS = (
    "model",
    "family",
    "source",
    "kind",
    "rate Hz",
    "hop",
    "frame Hz",
    "left",
    "right",
    "RF",
    "RF ms",
    "RF frames",
    "left ms",
    "right ms",
    "lookahead",
    "lookahead ms",
    "unbounded",
    "methods",
    "verdict",
)
SUMMARY_HEADERS = (
    "model",
    "family",
    "hop",
    "frame Hz",
    "left",
    "right",
    "RF",
    "RF ms",
    "RF frames",
    "lookahead ms",
    "verdict",
)


def _total_cells(row: ZooRow) -> list[str]:
    """The total receptive field (left + 1 + right) in samples, ms and frames; unbounded when
    a side is; "-" when nothing was measured."""
    total = row.receptive_field_samples
    if row.left_unbounded or row.right_unbounded or row.global_in_time:
        return ["unbounded"] * 3
    if total is None or not row.hop_samples:
        return ["-"] * 3
    return [str(total), _ms_cell(total, row), f"{total / row.hop_samples:.2f}"]


def _frame_rate_cell(row: ZooRow) -> str:
    """Frames per second of audio; "-" for a branch fed features, whose hop is not in samples."""
    rate = row.frame_rate_hz
    return "-" if rate is None or row.input_unit != "samples" else f"{rate:g}"


def table_cells(row: ZooRow) -> list[str]:
    """The deterministic cells of a row (everything but time and memory)."""
    return [
        row.name,
        row.family,
        row.source,
        row.kind,
        str(row.sample_rate),
        "-" if row.hop_samples is None else str(row.hop_samples),
        _frame_rate_cell(row),
        _cell(row.left_samples, row.left_unbounded),
        _cell(row.right_samples, row.right_unbounded),
        *_total_cells(row),
        _ms_cell(row.left_samples, row),
        _ms_cell(row.right_samples, row),
        "-" if row.lookahead_samples is None else str(row.lookahead_samples),
        _ms_cell(row.lookahead_samples, row),
        row.sides(),
        f"{row.methods_agreeing}/{row.methods_total}" if row.methods_total else "-",
        row.verdict,
    ]


def summary_cells(row: ZooRow) -> list[str]:
    """The front page's cells of a row: where a token's receptive field starts and ends, its total.
    A row that did not PASS shows no extents (its methods disagree: no number is the answer)."""
    extents = (
        [
            _cell(row.left_samples, row.left_unbounded),
            _cell(row.right_samples, row.right_unbounded),
            *_total_cells(row),
            _ms_cell(row.lookahead_samples, row),
        ]
        if row.verdict == PASS
        else ["-"] * 6
    )
    return [
        row.name,
        row.family,
        "-" if row.hop_samples is None else str(row.hop_samples),
        _frame_rate_cell(row),
        *extents,
        row.verdict,
    ]


def zoo_summary_table(rows: Sequence[ZooRow]) -> str:
    """The compact zoo table of the README's front page."""
    return format_table(list(SUMMARY_HEADERS), [summary_cells(row) for row in rows])


def zoo_table(rows: Sequence[ZooRow], timings: bool = True) -> str:
    """Every measured cell of every row, with the time and peak memory when `timings`."""
    headers = list(HEADERS) + (["time s", "peak MiB"] if timings else [])
    body = [
        table_cells(row)
        + (
            [f"{row.wall_s:.1f}", "-" if row.peak_memory_mib is None else f"{row.peak_memory_mib:.0f}"]
            if timings
            else []
        )
        for row in rows
    ]
    return format_table(headers, body)


def zoo_notes(rows: Sequence[ZooRow], checks: Sequence[ImplementationComparison]) -> str:
    """Below the table: units that are not samples, proofs of unbounded sides, reasons, cross-checks."""
    lines = []
    for row in rows:
        if row.input_unit != "samples":
            lines.append(f"{row.name}: extents in {row.input_unit}, not audio samples")
        if row.proof:
            lines.append(f"{row.name}: {row.sides()}: {row.proof}")
        if row.reason:
            lines.append(f"{row.name}: {row.verdict}: {row.reason}")
    lines += [check.describe() for check in checks]
    return "\n".join(lines)
