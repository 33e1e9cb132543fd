"""Human-readable tables: the per-layer table, the edge-frame table and the summary table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from rfprobe.arithmetic.methods import FORMULA, GRADIENT, IMPULSE, MODULE_WALK
from rfprobe.arithmetic.geometry import LayerRow, MethodResult, ReceptiveField, format_ms, samples_to_ms
from rfprobe.runs.verify import METHODS, Verification

if TYPE_CHECKING:
    from rfprobe.runs.context import ContextMap
    from rfprobe.runs.seanet_decoder import DecoderReport


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, a dashed rule under the headers."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip()
        for line in [headers, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def _ms(samples: Optional[int], sample_rate: Optional[int]) -> str:
    return "-" if samples is None or not sample_rate else format_ms(samples, sample_rate)


def _quantity_cells(field: Optional[ReceptiveField], sample_rate: int) -> list[str]:
    if field is None:
        return ["n/a"] * 6
    samples = field.samples
    return [
        field.describe_samples(),
        str(field.left),
        str(field.right),
        str(field.hop_samples),
        _ms(samples, sample_rate) if samples is not None else field.describe_samples(),
        f"{samples / field.hop_samples:.2f}" if samples is not None else field.describe_samples(),
    ]


def layer_table(walk: MethodResult, formula: MethodResult) -> str:
    """The module's layers as the walk read them, with the formula's verdict per row."""
    by_name = {row.name: row for row in formula.layers}

    def formula_cell(row: LayerRow) -> str:
        theirs = by_name.get(row.name)
        if not by_name:  # no config formula for this subject (any module, transformers)
            return "-"
        if theirs is None:
            return "-" if row.kind != "conv" else "MISSING"
        # pad_right is left out: the walk's includes the extra padding for a full last window,
        # which depends on the input length the walk traced.
        fields_ = ("kernel", "stride", "dilation", "pad_left", "jump_in", "jump_out")
        wrong = [f"{f} {getattr(theirs, f)}" for f in fields_ if getattr(theirs, f) != getattr(row, f)]
        return "=" if not wrong else "DIFFERS: " + ", ".join(wrong)

    # After an LSTM (or a norm over time) the RF is unbounded: the running total is only the
    # convolutions' part and must not read as the RF.
    unbounded_from = next((i for i, row in enumerate(walk.layers) if row.kind in ("lstm", "global")), len(walk.layers))
    rows = [
        [
            row.name,
            row.kind,
            str(row.kernel),
            str(row.stride),
            str(row.dilation),
            f"{row.pad_left}/{row.pad_right}",
            str(row.jump_in),
            str(row.rf_increment),
            str(row.cumulative_rf) if i < unbounded_from else f"unbounded (convs {row.cumulative_rf})",
            str(row.jump_out),
            formula_cell(row),
            row.note,
        ]
        for i, row in enumerate(walk.layers)
    ]
    return format_table(
        [
            "layer",
            "kind",
            "kernel",
            "stride",
            "dilation",
            "pad L/R",
            "jump in",
            "+RF",
            "RF so far",
            "jump out",
            "formula",
            "note",
        ],
        rows,
    )


def _header(verification: Verification) -> list[str]:
    config = verification.config
    if config is None:
        truth = verification.truth
        hop = f"hop {truth.hop_samples} samples" if truth else "hop unknown"
        rate = f"{verification.sample_rate} Hz, " if verification.sample_rate else ""
        return [
            f"== {verification.name}  ({verification.source_path})",
            f"   any module: {rate}{hop}; no config formula",
        ]
    sample_rate, hop = config.sample_rate, config.hop_samples
    return [
        f"== {config.name}  ({verification.source_path})",
        f"   {config.description}" if config.description else "",
        f"   {sample_rate} Hz, ratios {list(config.ratios)} applied by the encoder as {list(reversed(config.ratios))}, "
        f"hop {hop} samples = {samples_to_ms(hop, sample_rate):.2f} ms, {sample_rate / hop:g} frames/s, "
        f"lstm {config.lstm}, causal {str(config.causal).lower()}, norm {config.norm}; "
        f"weights: {verification.settings.get('weights', 'random (per seed)')}",
    ]


def config_report(verification: Verification) -> str:
    """The verbose text report of one verified config: methods, layers, verdict and claims."""
    config = verification.config
    sample_rate = verification.sample_rate
    lines = _header(verification)
    walk, formula = verification.result(MODULE_WALK), verification.result(FORMULA)
    if walk is not None and walk.layers:
        lines += ["", layer_table(walk, formula or MethodResult(FORMULA, None))]
    claims = config.claims if config else None
    claimed = ["-"] * 6
    if claims is not None:

        def show(value: object) -> str:
            return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

        claimed = [
            show(claims.receptive_field_samples),
            show(claims.left_samples),
            show(claims.right_samples),
            show(claims.hop_samples),
            show(claims.receptive_field_ms),
            show(claims.receptive_field_tokens),
        ]
    columns = [claimed] + [
        _quantity_cells(r.receptive_field if r else None, sample_rate)
        for r in (verification.result(m) for m in METHODS)
    ]
    for result in verification.results:
        if not result.ran:
            lines.append(f"   {result.method} could not run: {result.unavailable_reason}")
    names = [
        "RF (samples)",
        "left of anchor (samples)",
        "right of anchor (samples)",
        "hop (samples)",
        "RF (ms)",
        "RF (tokens = RF / hop)",
    ]
    verdict = verification.verdict
    rows = [[name, *(column[i] for column in columns), verdict.label if i == 0 else ""] for i, name in enumerate(names)]
    lines += ["", format_table(["quantity", "claimed", *METHODS, "verdict"], rows)]
    gradient = verification.result(GRADIENT)
    if gradient is not None and gradient.ran:
        holes = gradient.receptive_field.holes
        lines.append(f"holes inside the RF (gradient, every sample inspected): {list(holes) if holes else 'none'}")
    impulse = verification.result(IMPULSE)
    if impulse is not None and impulse.ran:
        run = impulse.evidence["runs"][-1]
        shown = run["impulse_confirmations"]
        moves = [f"{shown[k]['sample']}" for k in ("first", "last") if k in shown]
        if impulse.receptive_field.left.unbounded:
            moves[0] += " (the input's start: the past is unbounded)"
        if impulse.receptive_field.right.unbounded:
            moves[-1] += " (the input's end: the future is unbounded)"
        still = "; a random perturbation of every sample outside them does not" if "outside" in shown else ""
        lines.append(
            f"impulse check (seed {run['seed']}, {run['length_samples']}-sample input, frame {run['frame']}, "
            f"anchor {run['anchor_sample']}): unit impulses at the ends of its support, samples "
            f"{' and '.join(moves)}, move the frame{still}"
        )
    for seed, growth in (gradient.evidence.get("unbounded_growth", {}) if gradient else {}).items():
        lines.append(
            f"unbounded side shown by growing the input (seed {seed}): lengths {growth['lengths_samples']} -> "
            f"left seen {growth['left_seen_samples']}, right seen {growth['right_seen_samples']} samples"
        )
    for reason in verdict.reasons():
        lines.append(f"FAIL: {reason}")
    if verification.claims is not None:
        report = verification.claims
        lines += ["", f"claims from {report.source or 'the config'}:"]
        if report.claimed_table_receptive_field is not None:
            lines.append(f"   the claimed layer table itself implies RF {report.claimed_table_receptive_field} samples")
        for check in report.checks:
            lines.append(
                f"   {check.label:8s} {check.quantity}: claimed {check.claimed_text}, module {check.actual_text}"
            )
        for departure in report.layer_departures:
            lines.append(f"   MISMATCH {departure}")
    return "\n".join(line for line in lines if line is not None)


def summary_table(verifications: Sequence[Verification]) -> str:
    """One row per config: the RF by each method, then the agreed left/right/hop and ms."""
    rows = []
    for verification in verifications:
        claims = verification.config.claims if verification.config else None
        claimed = str(claims.receptive_field_samples) if claims and claims.receptive_field_samples else "-"
        if verification.claims is not None and not verification.claims.all_match:
            claimed += " (MISMATCH)"
        cells = []
        for method in METHODS:
            result = verification.result(method)
            cells.append(result.receptive_field.describe_samples() if result and result.ran else "n/a")
        truth = verification.truth
        sample_rate = verification.sample_rate
        if truth is None:
            agreed = ["n/a"] * 4
        else:
            agreed = [
                str(truth.left),
                str(truth.right),
                str(truth.hop_samples),
                _ms(truth.samples, sample_rate) if truth.samples is not None else "-",
            ]
        rows.append([verification.name, claimed, *cells, *agreed, verification.verdict.label])
    return format_table(["config", "claimed RF", *METHODS, "left", "right", "hop", "RF ms", "verdict"], rows)


def _intervals(intervals: Sequence[Sequence[int]]) -> str:
    return ", ".join(f"{a}..{b}" for a, b in intervals)


def context_report(verification: Verification, context: "ContextMap") -> str:
    """The verbose text of a config's context map: edges, lookahead, proofs, effective RF."""
    rate = verification.sample_rate
    hop = verification.truth.hop_samples if verification.truth else verification.config.hop_samples
    edges = context.edges
    lookahead = context.lookahead
    lines = [
        f"context for a {edges.clip_samples / rate:g} s clip ({edges.clip_samples} samples, {edges.frames} frames), "
        f"pad_mode {edges.pad_mode}:"
    ]
    if lookahead.after_anchor.unbounded:
        lines.append("  lookahead: unbounded (the frame depends on all future audio)")
    else:
        after = lookahead.after_hop_end_samples
        lines.append(
            f"  lookahead: {lookahead.after_anchor.samples} samples "
            f"({format_ms(lookahead.after_anchor.samples, rate)} ms) "
            f"after the frame's anchor; {after} samples ({format_ms(after, rate)} ms) after the end of its own hop "
            "= the encoder's minimum algorithmic latency beyond one hop"
        )
    k, m, frames = edges.left_padded_frames, edges.right_padded_frames, edges.frames
    left = (
        f"all {frames} frames read the left padding (an unbounded past carries the signal's padded start "
        "into every frame)"
        if k == frames
        else f"frames 0..{k - 1} ({k} frames, {format_ms(k * hop, rate)} ms) read the left padding"
        if k
        else "no frame reads the left padding"
    )
    right = (
        f"frames {frames - m}..{frames - 1} ({m} frames, {format_ms(m * hop, rate)} ms) read the right padding"
        if m
        else "no frame reads the right padding"
    )
    lines.append(f"  padding: {left}; {right}")
    rows = [
        [
            row.role,
            str(row.frame),
            _intervals(row.analytic.intervals),
            str(row.probe_frame),
            _intervals(row.measured),
            "yes" if row.agrees else "NO",
            str(row.future_beyond_hop_samples),
        ]
        for row in edges.edge_frames
    ]
    table = format_table(
        [
            "frame",
            "index",
            "input samples it reads",
            f"same frame in a {edges.probe_length_samples}-sample test input",
            "samples it reads there (measured)",
            "as predicted",
            "reads past its own hop",
        ],
        rows,
    )
    lines.append(
        f"  the edge frames, predicted for the {edges.clip_samples}-sample clip and checked by the gradient on a "
        f"shorter input with the same length modulo the hop:"
    )
    lines += ["  " + line for line in table.splitlines()]
    for proof in context.taint:
        lengths = " and ".join(
            f"{distance} samples away at length {length}"
            for distance, length in zip(proof.distances_samples, proof.lengths_samples)
        )
        where = "sample 0 reaches the last frame" if proof.side == "past" else "the last sample reaches frame 0"
        lines.append(
            f"  {proof.side}: {proof.verdict}: a NaN at {where}, {lengths}; the local layers reach only "
            f"{proof.local_reach_samples} samples; {proof.control_note}"
        )
    erf = context.erf
    widths = ", ".join(
        f"{round(fraction * 100)} % within {width} samples ({format_ms(width, rate)} ms)"
        for fraction, width in erf.widths_samples.items()
    )
    weights = (
        "random weights, not trained ones"
        if verification.config is None or verification.settings.get("weights", "").startswith("random")
        else "trained weights from the checkpoint"
    )
    truth = verification.truth
    grown = truth is not None and (not truth.bounded or truth.global_in_time)
    window = (
        f"lower bounds: still growing at a {erf.window_samples}-sample window"
        if erf.lower_bound
        else f"over a {erf.window_samples}-sample window"
        + (
            " grown on the unbounded side until dropping the farthest half of its margin moved no width by "
            f"1 % (windows tried: {list(erf.windows_tried_samples)})"
            if grown
            else " holding the whole RF"
        )
    )
    lines.append(
        f"  effective RF ({weights}): {widths} of the |d frame / d sample| mass; "
        f"centroid {erf.centroid_offset_samples:+.0f} samples ({erf.centroid_offset_samples * 1000 / rate:+.2f} ms) "
        f"from the anchor; {window}, {len(erf.per_seed_widths)} seeds x {erf.draws_per_seed} inputs"
    )
    return "\n".join(lines)


def decoder_sentences(report: "DecoderReport", sample_rate: int) -> tuple[str, str]:
    """How many latent frames one output sample reads, and how many samples one frame reaches."""
    counts: dict[object, int] = {}
    for span in report.reads_by_phase.values():
        counts[span.count] = counts.get(span.count, 0) + 1
    if None in counts:
        sample_line = "one output sample depends on every past latent frame (unbounded: LSTM)"
    else:
        parts = ", ".join(
            f"{count} frames for {phases} of {report.hop_samples} positions in the hop"
            for count, phases in sorted(counts.items())
        )
        sample_line = (
            f"one output sample depends on {' or '.join(str(c) for c in sorted(counts))} latent frames ({parts})"
        )
    reach = report.reach
    if reach.count is None:
        frame_line = f"one latent frame influences output samples {reach.describe('relative to its anchor')}"
    else:
        frame_line = (
            f"one latent frame influences {reach.count} output samples ({format_ms(reach.count, sample_rate)} ms): "
            f"from {-reach.low} before its anchor (frame x hop) to {reach.high} after"
        )
    return sample_line, frame_line


def decoder_text(report: "DecoderReport", sample_rate: int, trim_right_ratio: float) -> str:
    """The text of a SEANet decoder's reads per hop position and one frame's reach."""
    sample_line, frame_line = decoder_sentences(report, sample_rate)
    measured = ", ".join(f"{phase}: {span.describe('frames')}" for phase, span in report.measured_reads.items())
    return "\n".join(
        [
            f"decoder (SEANetDecoder with the same hyperparameters, trim_right_ratio {trim_right_ratio:g}):",
            f"  {sample_line}",
            f"  {frame_line}",
            f"  measured: gradient of output samples at hop positions {measured}; forward-mode AD of one latent frame "
            f"{report.measured_reach.describe('samples') if report.measured_reach else 'n/a'}: "
            + (
                "agrees with the transposed-conv arithmetic" if report.agrees else "DISAGREES with the arithmetic: FAIL"
            ),
        ]
    )
