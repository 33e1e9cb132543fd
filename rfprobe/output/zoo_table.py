"""The zoo as a table: one row per codec encoder, and the notes printed below it."""
from __future__ import annotations

from typing import Optional, Sequence

from rfprobe.arithmetic.geometry import format_ms
from rfprobe.output.report import format_table
from rfprobe.runs.zoo import CrossCheck, ZooRow


def _cell(value: Optional[int], unbounded: bool) -> str:
    return "unbounded" if unbounded else "-" if value is None else str(value)


def _ms_cell(value: Optional[int], row: ZooRow) -> str:
    return "-" if value is None or row.input_unit != "samples" else format_ms(value, row.sample_rate)


HEADERS = ("model", "family", "source", "kind", "rate Hz", "hop", "frames/s", "left", "right", "left ms",
           "right ms", "lookahead", "lookahead ms", "unbounded", "methods", "verdict")


def table_cells(row: ZooRow) -> list[str]:
    """The deterministic cells of a row (everything but time and memory)."""
    rate = row.frame_rate_hz
    return [row.name, row.family, row.source, row.kind, str(row.sample_rate),
            "-" if row.hop_samples is None else str(row.hop_samples),
            "-" if rate is None else f"{rate:g}",
            _cell(row.left_samples, row.left_unbounded), _cell(row.right_samples, row.right_unbounded),
            _ms_cell(row.left_samples, row), _ms_cell(row.right_samples, row),
            "-" if row.lookahead_samples is None else str(row.lookahead_samples),
            _ms_cell(row.lookahead_samples, row), row.sides(),
            f"{row.methods_agreeing}/{row.methods_total}" if row.methods_total else "-", row.verdict]


def zoo_table(rows: Sequence[ZooRow], timings: bool = True) -> str:
    headers = list(HEADERS) + (["time s", "peak MiB"] if timings else [])
    body = [table_cells(row) + ([f"{row.wall_s:.1f}", "-" if row.peak_memory_mib is None
                                 else f"{row.peak_memory_mib:.0f}"] if timings else []) for row in rows]
    return format_table(headers, body)


def zoo_notes(rows: Sequence[ZooRow], checks: Sequence[CrossCheck]) -> str:
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
