"""The answer first: a few lines per subject, in words, before any table.

    musicgen_32khz_conv (32 kHz, ratios [8,5,4,4], no LSTM, non-causal): PASS, 4/4 methods agree
      RF         5428 samples = 169.63 ms = 8.48 tokens: 2402 before the frame's anchor, 3025 after
      ...

Per-layer tables, edge tables and probe evidence are in :mod:`rfprobe.output.report` (`--verbose`).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Optional

from rfprobe.families.seanet.claims import ClaimsReport
from rfprobe.arithmetic.methods import MODULE_WALK
from rfprobe.arithmetic.geometry import ReceptiveField, format_ms, samples_to_ms
from rfprobe.output.report import decoder_sentences
from rfprobe.runs.verify import Verification

if TYPE_CHECKING:
    from rfprobe.probes.erf import EffectiveField
    from rfprobe.runs.context import ContextMap
    from rfprobe.runs.position_field import PositionField
    from rfprobe.runs.seanet_decoder import DecoderReport
    from rfprobe.runs.hf_encodec import CrossCheck

INDENT = "  "
LABEL_WIDTH = 11
RF_QUANTITIES = ("receptive_field_samples", "receptive_field_ms", "receptive_field_tokens")
QUANTITY_WORDS = {
    "left_samples": "left {} samples",
    "right_samples": "right {} samples",
    "hop_samples": "hop {} samples",
    "frame_rate_hz": "{} frames/s",
}
CORRECT_WORDS = {"left_samples": "left", "right_samples": "right", "hop_samples": "hop", "frame_rate_hz": "frame rate"}
LINE_WIDTH = 100  # the default output is read in a terminal: no line wider than this
LEGEND = (
    "PASS = the methods (config formula, module walk, gradient, impulse) agree to the sample;\n"
    "it says nothing about a claim. A claim MISMATCH means the claim is wrong. Effective RF: the\n"
    "widths holding 50/90/99 % of the |gradient| mass, with random weights unless trained ones are given.\n"
    "A frame's anchor is input sample frame x hop; tokens = RF samples / hop."
)
VERBOSE_HINT = "Per-layer tables, edge frames and evidence: --verbose."


def wrapped(line: str, width: int = LINE_WIDTH) -> str:
    """`line` folded at `width` columns, continuation lines indented under its text."""
    if len(line) <= width:
        return line
    body = len(line) - len(line.lstrip(" "))
    indent = " " * (len(INDENT) + LABEL_WIDTH if line.startswith(INDENT) else body + 2)
    return textwrap.fill(line, width=width, subsequent_indent=indent, break_on_hyphens=False)


def _line(label: str, text: str) -> str:
    """One answer line: the label in its column, then at least one space (a long label such
    as "vs audiocraft" pushes the text right rather than running into it)."""
    return f"{INDENT}{label:<{LABEL_WIDTH - 1}} {text}"


def verdict_words(verification: Verification) -> str:
    """PASS/FAIL in words: what agreed, or what did not."""
    ran = [result.method for result in verification.results if result.ran]
    position = verification.position
    if position is not None and verification.verdict.passed:
        period = position.period_frames
        return f"PASS: the module walk and the gradient agree at every position of its {period}-frame period"
    if verification.verdict.passed:
        return (
            f"PASS, {len(ran)}/{len(ran)} methods agree"
            if len(ran) == len(verification.results)
            else f"PASS: {', '.join(ran)} agree"
        )
    return "FAIL: " + "; ".join(verification.verdict.reasons() or ["the methods do not agree"])


def _title(verification: Verification) -> str:
    config = verification.config
    if config is None:
        rate = f"{verification.sample_rate} Hz, " if verification.sample_rate else ""
        model_type = verification.provenance.get("model_type")  # an --hf-model snapshot's
        what = f"Hugging Face {model_type} snapshot" if model_type else "any module"
        return f"{verification.name} ({rate}{what}, no config formula): {verdict_words(verification)}"
    lstm = f"{config.lstm}-layer LSTM" if config.lstm else "no LSTM"
    ratios = ",".join(map(str, config.ratios))
    return (
        f"{config.name} ({config.sample_rate / 1000:g} kHz, ratios [{ratios}], {lstm}, "
        f"{'causal' if config.causal else 'non-causal'}): {verdict_words(verification)}"
    )


def _unbounded_cause(verification: Verification) -> str:
    config = verification.config
    if config is not None and config.norm == "time_group_norm":
        return "GroupNorm over time"
    if config is not None and config.lstm:
        return "the LSTM"
    walk = verification.result(MODULE_WALK)
    opened_by = walk.evidence.get("unbounded_because", []) if walk is not None and walk.ran else []
    return opened_by[0] if opened_by else "a non-local layer"  # the op the analytic core found open


def rf_words(field: ReceptiveField, sample_rate: Optional[int], cause: str = "a non-local layer") -> str:
    """The receptive field in one phrase; never a finite number where a side is unbounded."""

    def samples(count: int, at_least: bool = False) -> str:
        bound = "at least " if at_least else ""  # a side a probe saw reach the input's end, unproven
        return f"{bound}{count} samples" + (f" ({format_ms(count, sample_rate)} ms)" if sample_rate else "")

    if field.global_in_time:
        return f"global: every frame depends on the whole input ({cause})"
    if field.left.unbounded and field.right.unbounded:
        return f"unbounded both ways: every frame depends on all the audio ({cause})"
    if field.left.unbounded:
        return (
            f"unbounded past ({cause}: all earlier audio); "
            f"{samples(field.right.samples, field.right.at_least)} after its anchor"
        )
    if field.right.unbounded:
        return (
            f"unbounded future ({cause}: all later audio); "
            f"{samples(field.left.samples, field.left.at_least)} before its anchor"
        )
    total = field.samples
    ms = f" = {format_ms(total, sample_rate)} ms" if sample_rate else ""
    bound = "at least " if field.lower_bound_only else ""
    return (
        f"{bound}{total} samples{ms} = {total / field.hop_samples:.2f} tokens: "
        f"{'at least ' if field.left.at_least else ''}{field.left.samples} before the frame's anchor, "
        f"{'at least ' if field.right.at_least else ''}{field.right.samples} after"
    )


def _hop_words(field: ReceptiveField, sample_rate: Optional[int], context: Optional["ContextMap"]) -> str:
    hop = field.hop_samples
    text = f"{hop} samples" + (
        f" ({format_ms(hop, sample_rate)} ms, {sample_rate / hop:g} frames/s)" if sample_rate else ""
    )
    if context is not None:
        lookahead = context.lookahead
        if lookahead.after_anchor.unbounded:
            text += "; lookahead unbounded (the frame depends on all future audio)"
        else:
            beyond = lookahead.after_hop_end_samples
            text += (
                f"; lookahead {beyond} samples ({format_ms(beyond, sample_rate)} ms) past its own hop"
                if sample_rate
                else f"; lookahead {beyond} samples past its own hop"
            )
    return text


def effective_words(verification: Verification, erf: "EffectiveField") -> str:
    """The effective RF's mass widths in samples and ms, and which weights it was measured on."""
    rate = verification.sample_rate
    fractions = sorted(erf.widths_samples)
    widths = [erf.widths_samples[f] for f in fractions]
    weights = "trained weights" if verification.settings.get("weights", "").startswith("trained") else "random weights"
    bound = "at least " if erf.lower_bound else ""
    text = (
        f"{'/'.join(str(round(f * 100)) for f in fractions)} % of the mass within {bound}"
        f"{'/'.join(map(str, widths))} samples ({'/'.join(f'{samples_to_ms(w, rate):.1f}' for w in widths)} ms)"
    )
    if weights != "random weights":
        text += f", {weights}"
    if erf.lower_bound:  # the window grew to its limit and the widths still moved
        text += f"; lower bounds: still growing at a {erf.window_samples}-sample window"
    return text


def claim_lines(report: ClaimsReport) -> list[str]:
    """The claim's verdict in words, what it got wrong and right, and why (its errors)."""
    if report.all_match:
        return [_line("claim", f"matches ({report.source or 'the config'}): every stated figure is right")]
    lines = [_line("claim", f"MISMATCH, the claim is wrong ({report.source or 'the config'})")]
    checks = {check.quantity: check for check in report.checks}
    wrong, right = [], []
    rf_checks = [checks[q] for q in RF_QUANTITIES if q in checks]
    if rf_checks and not all(c.matches for c in rf_checks):
        units = ("samples", "ms", "tokens")
        claimed = ", ".join(f"{c.claimed_text} {units[RF_QUANTITIES.index(c.quantity)]}" for c in rf_checks)
        true = rf_checks[0].actual_text if rf_checks[0].actual is None else ", ".join(c.actual_text for c in rf_checks)
        wrong.append(f"RF {claimed} (true: {true})")
    elif rf_checks:
        right.append("RF")
    for quantity, words in QUANTITY_WORDS.items():
        check = checks.get(quantity)
        if check is not None:
            if check.matches:
                right.append(CORRECT_WORDS[quantity])
            else:
                wrong.append(words.format(check.claimed_text) + f" (true: {check.actual_text})")
    parts = [
        part
        for part in ("says " + ", ".join(wrong) if wrong else "", "correct: " + ", ".join(right) if right else "")
        if part
    ]
    together = _line("", "; ".join(parts))
    lines += [together] if len(together) <= LINE_WIDTH else [_line("", part) for part in parts]
    if report.errors:
        lines.append(
            _line("", f"its layer table is wrong in {len(report.errors)} way{'s' if len(report.errors) > 1 else ''}:")
        )
        lines += [_line("", f"{number}. {error}") for number, error in enumerate(report.errors, 1)]
    return lines


def _position_lines(field: "PositionField") -> list[str]:
    """A position-dependent field: the period and ranges, then each position's reads (by the walk)."""
    lines = [_line("RF", field.describe())]
    if field.period_frames is not None:
        lines.append(_line("hop", f"{field.hop_samples} samples; frame k is at position k mod {field.period_frames}"))
        reads = ", ".join(f"{r.position}: {r.intervals[0][0]:+d}..{r.intervals[-1][1]:+d}" for r in field.analytic)
        lines.append(_line("by position", f"samples read around the anchor k x hop: {reads}"))
    return lines


def answer_block(
    verification: Verification,
    context: Optional["ContextMap"] = None,
    decoder: Optional["DecoderReport"] = None,
    cross_check: Optional["CrossCheck"] = None,
    effective: Optional["EffectiveField"] = None,
    weights: Optional[str] = None,
) -> str:
    """A subject's answer: what it sees, whether the methods agree, whether the claim holds.

    `effective`: an effective RF measured without a context map (a snapshot's trained encoder;
    a context map's own wins); `weights`: which weights were probed, in words (a line of its own).
    """
    lines = [_title(verification)]
    if weights is not None:
        lines.append(_line("weights", weights))
    truth = verification.truth
    rate = verification.sample_rate
    if verification.position is not None:
        lines += _position_lines(verification.position)
    elif truth is not None:
        lines.append(_line("RF", rf_words(truth, rate, _unbounded_cause(verification))))
        lines.append(_line("hop", _hop_words(truth, rate, context)))
    if context is not None:
        effective = context.erf
    if effective is not None:
        lines.append(_line("effective", effective_words(verification, effective)))
    if decoder is not None:
        sample_line, frame_line = decoder_sentences(decoder, rate)
        lines.append(_line("decoder", sample_line))
        lines.append(
            _line(
                "",
                f"{frame_line}; "
                + ("arithmetic and probes agree" if decoder.agrees else "arithmetic and probes DISAGREE (FAIL)"),
            )
        )
    if cross_check is not None:
        lines.append(
            _line(
                "vs audiocraft",
                "identical RF, left, right, hop and edge supports"
                if cross_check.identical
                else "DIFFERENT: " + "; ".join(cross_check.differences),
            )
        )
    if verification.claims is not None:
        lines += claim_lines(verification.claims)
    return "\n".join(wrapped(line) for line in lines)
