"""The zoo's decoder table: one `DecoderZooRow` (rfprobe.runs.decoder_field) a line.

Unbounded sides are named ("unbounded"), never a number; latencies are in ms at the codec's
sample rate. Columns: decoder past / future latent frames (max over phases), one latent
frame's influence in samples relative to frame x hop, the round trip's left / right input
samples (max over phases), and its latency (the right extent) with its two parts: waiting for
the rest of the frame's hop, and the lookahead beyond it (rfprobe.arithmetic.decoding).
"""

from __future__ import annotations

from typing import Optional, Sequence

from rfprobe.output.report import format_table
from rfprobe.runs.decoder_field import DecoderZooRow

HEADERS = (
    "model",
    "hop",
    "dec past fr",
    "dec future fr",
    "1 frame -> samples",
    "rt left",
    "rt right",
    "latency ms",
    "hop wait ms",
    "lookahead ms",
    "agree",
)


def _n(value: Optional[int]) -> str:
    return "unbounded" if value is None else str(value)


def _ms(value: Optional[float]) -> str:
    return "unbounded" if value is None else f"{value:.1f}"


def decoder_cells(row: DecoderZooRow) -> list[str]:
    """One row's cells, in HEADERS order."""
    low = "unbounded" if row.influence_low_samples is None else f"{row.influence_low_samples:+d}"
    high = "unbounded" if row.influence_high_samples is None else f"{row.influence_high_samples:+d}"
    trip = "not measured" if row.round_trip_note else ("yes" if row.round_trip_agrees else "NO")
    agree = "decoder " + ("yes" if row.decoder_agrees else "NO") + ", rt " + trip
    decoder = [row.name, str(row.hop_samples), _n(row.decoder_past_frames), _n(row.decoder_future_frames)]
    if row.round_trip_note:  # its round trip's numbers were not measured: never "unbounded"
        return [*decoder, f"[{low} .. {high}]", *["-"] * 5, agree]
    return [
        *decoder,
        f"[{low} .. {high}]",
        _n(row.round_trip_left_samples),
        _n(row.round_trip_right_samples),
        _ms(row.latency_ms),
        _ms(row.buffering_ms),
        _ms(row.lookahead_ms),
        agree,
    ]


def decoder_table(rows: Sequence[DecoderZooRow]) -> str:
    """A fixed-width text table of the rows."""
    return format_table(list(HEADERS), [decoder_cells(row) for row in rows])
