"""The JSON report, schema version 2 (`rfprobe/output/schema/report.schema.json` writes it down).

Rules the schema holds to: configs (every subject: config, checkpoint, module) keyed by name;
snake_case keys (`module_walk`, never "module walk"); numbers as JSON numbers; an unbounded
side is `null` samples plus an explicit `*_unbounded: true`; claim departures as data, not
sentences.

    >>> report = run_json([], {"how_loaded": "installed_files"})
    >>> report["schema_version"], report["configs"]
    (3, {})

"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from rfprobe import __version__
from rfprobe.arithmetic.geometry import ReceptiveField, samples_to_ms
from rfprobe.runs.verify import Verification

if TYPE_CHECKING:
    from rfprobe.families.seanet.claims import ClaimsReport, LayerDeparture
    from rfprobe.probes.erf import EffectiveField
    from rfprobe.runs.hf_model import HfModelResult
    from rfprobe.runs.position_field import PositionField
    from rfprobe.runs.context import ContextMap
    from rfprobe.runs.seanet_decoder import DecoderReport, Span
    from rfprobe.runs.hf_encodec import CrossCheck

SCHEMA_VERSION = 3  # 2: the hf_model block (every subject; null unless --hf-model); 3: position_dependent
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "report.schema.json"


def load_schema() -> dict:
    """The JSON Schema every report validates against (shipped inside the package)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def json_key(method: str) -> str:
    """A method name as a JSON key: "module walk" -> "module_walk"."""
    return method.replace(" ", "_")


def field_json(field: Optional[ReceptiveField], sample_rate: Optional[int]) -> Optional[dict]:
    """A receptive field; an unbounded side has null samples and `*_unbounded: true`."""
    if field is None:
        return None
    samples = field.samples
    return {
        "receptive_field_samples": samples,
        "unbounded": samples is None,
        "left_samples": field.left.to_json(),
        "left_unbounded": field.left.unbounded,
        "right_samples": field.right.to_json(),
        "right_unbounded": field.right.unbounded,
        "global_in_time": field.global_in_time,
        "hop_samples": field.hop_samples,
        "frame_rate_hz": sample_rate / field.hop_samples if sample_rate else None,
        "receptive_field_ms": None if samples is None or not sample_rate else samples_to_ms(samples, sample_rate),
        "receptive_field_tokens": None if samples is None else samples / field.hop_samples,
        "holes": [list(hole) for hole in field.holes],
    }


def _departure_json(departure: "LayerDeparture") -> dict:
    return {
        "kind": departure.kind,
        "claimed_layer": departure.claimed_layer,
        "module_layer": departure.module_layer,
        "claimed": None if departure.claimed is None else asdict(departure.claimed),
        "module": None if departure.module is None else asdict(departure.module),
        "module_note": departure.module_note or None,
        "text": str(departure),
    }


def claims_json(report: "ClaimsReport") -> dict:
    """The claims block of the JSON report: each claim beside the measured value."""
    return {
        "source": report.source,
        "all_match": report.all_match,
        "claimed_table_receptive_field_samples": report.claimed_table_receptive_field,
        "checks": [
            {
                "quantity": c.quantity,
                "claimed": c.claimed,
                "actual": c.actual,
                "actual_unbounded": c.actual is None,
                "matches": c.matches,
            }
            for c in report.checks
        ],
        "layer_departures": [_departure_json(d) for d in report.layer_departures],
        "errors": list(report.errors),
    }


def _span_json(span: "Span") -> dict:
    return {
        "low": None if span.low_unbounded else span.low,
        "high": None if span.high_unbounded else span.high,
        "low_unbounded": span.low_unbounded,
        "high_unbounded": span.high_unbounded,
        "count": span.count,
    }


def decoder_json(report: "DecoderReport") -> dict:
    """The decoder block of the JSON report."""
    return {
        "latent_frames_read_by_hop_position": [
            {"hop_position": p, **_span_json(s)} for p, s in sorted(report.reads_by_phase.items())
        ],
        "output_samples_reached_by_one_latent_frame": _span_json(report.reach),
        "measured_reads": [{"hop_position": p, **_span_json(s)} for p, s in sorted(report.measured_reads.items())],
        "measured_reach": _span_json(report.measured_reach) if report.measured_reach else None,
        "agrees": report.agrees,
    }


def effective_json(erf: "EffectiveField", sample_rate: int, weights: str) -> dict:
    """The effective RF: each mass fraction's width (samples, ms) and interval, on which weights."""
    return {
        "mass": [
            {
                "fraction": fraction,
                "width_samples": width,
                "width_ms": samples_to_ms(width, sample_rate),
                "interval_from_anchor_samples": list(erf.intervals_samples[fraction]),
                "per_seed_width_samples": [widths[fraction] for widths in erf.per_seed_widths.values()],
            }
            for fraction, width in sorted(erf.widths_samples.items())
        ],
        "centroid_offset_samples": erf.centroid_offset_samples,
        "window_samples": erf.window_samples,
        "windows_tried_samples": list(erf.windows_tried_samples),
        "lower_bound": erf.lower_bound,
        "weights": weights,
    }


def hf_model_json(result: "HfModelResult", weights: str) -> dict:
    """Which snapshot, branch and weights an `--hf-model` subject is, and its effective RF."""
    snapshot, branch = result.snapshot, result.branch
    return {
        "directory": str(snapshot.directory),
        "model_type": snapshot.model_type,
        "family": snapshot.family,
        "branch": branch.name,
        "input_unit": branch.input_unit,
        "weights": weights,
        "weights_file": snapshot.weights_file,
        "weights_note": snapshot.weights_note,
        "transformers_version": snapshot.transformers_version,
        "effective_receptive_field": None
        if result.effective is None
        else effective_json(result.effective, branch.sample_rate, weights),
    }


def context_json(context: "ContextMap", sample_rate: int, weights: str) -> dict:
    """The context block of the JSON report: edges, lookahead, effective RF (and which weights)."""
    edges, lookahead, erf = context.edges, context.lookahead, context.erf
    after = lookahead.after_anchor
    return {
        "lookahead": {
            "after_anchor_samples": after.to_json(),
            "after_anchor_unbounded": after.unbounded,
            "after_anchor_ms": None if after.unbounded else samples_to_ms(after.samples, sample_rate),
            "after_hop_end_samples": None if after.unbounded else lookahead.after_hop_end_samples,
        },
        "edges": {
            "clip_samples": edges.clip_samples,
            "frames": edges.frames,
            "pad_mode": edges.pad_mode,
            "left_padded_frames": edges.left_padded_frames,
            "right_padded_frames": edges.right_padded_frames,
            "probe_length_samples": edges.probe_length_samples,
            "all_agree": edges.all_agree,
            "edge_frames": [
                {
                    "role": row.role,
                    "frame": row.frame,
                    "support": [list(i) for i in row.analytic.intervals],
                    "reads_left_padding": row.analytic.reads_left_padding,
                    "reads_right_padding": row.analytic.reads_right_padding,
                    "probe_frame": row.probe_frame,
                    "support_at_probe_length": [list(i) for i in row.analytic_at_probe.intervals],
                    "measured_support_at_probe_length": [list(i) for i in row.measured],
                    "agrees": row.agrees,
                    "samples_past_own_hop": row.future_beyond_hop_samples,
                }
                for row in edges.edge_frames
            ],
        },
        "unbounded_sides": [
            {
                "side": proof.side,
                "verdict": proof.verdict,
                "proven": proof.proven,
                "lengths_samples": list(proof.lengths_samples),
                "distances_samples": list(proof.distances_samples),
                "reached": list(proof.reached),
                "local_reach_samples": proof.local_reach_samples,
                "control_ok": proof.control_ok,
                "control_note": proof.control_note,
            }
            for proof in context.taint
        ],
        "effective_receptive_field": effective_json(erf, sample_rate, weights),
    }


def cross_check_json(check: "CrossCheck") -> dict:
    """The transformers-against-audiocraft cross-check block of the JSON report."""
    return {
        "identical": check.identical,
        "length_samples": check.length_samples,
        "edge_frames": list(check.edge_frames),
        "differences": list(check.differences),
        "audiocraft_subject": check.audiocraft.name,
    }


def subject_json(
    verification: Verification,
    context: Optional["ContextMap"] = None,
    decoder: Optional["DecoderReport"] = None,
    cross_check: Optional["CrossCheck"] = None,
    hf_model: Optional["HfModelResult"] = None,
) -> dict:
    """One subject's entry; `hf_model` is set for a subject of `--hf-model` (its snapshot, weights, effective RF)."""
    config = verification.config
    sample_rate = verification.sample_rate
    weights = "trained" if str(verification.settings.get("weights", "")).startswith("trained") else "random"
    return {
        "name": verification.name,
        "source_path": verification.source_path,
        "sample_rate_hz": sample_rate,
        "hyperparameters": None if config is None else {k: v for k, v in asdict(config).items() if k != "claims"},
        "provenance": verification.provenance,
        "settings": {**verification.settings, "weights": weights},
        "verdict": {
            "passed": verification.verdict.passed,
            "label": verification.verdict.label,
            "meaning": "PASS: the methods agree to the sample (it says nothing about a claim)",
            "reasons": verification.verdict.reasons(),
        },
        "receptive_field": field_json(verification.truth, sample_rate),
        "methods": {
            json_key(result.method): {
                "ran": result.ran,
                "unavailable_reason": result.unavailable_reason or None,
                "receptive_field": field_json(result.receptive_field, sample_rate),
                "layers": [asdict(row) for row in result.layers],
                "evidence": result.evidence,
            }
            for result in verification.results
        },
        "claims": None if verification.claims is None else claims_json(verification.claims),
        "context": None if context is None else context_json(context, sample_rate, weights),
        "decoder": None if decoder is None else decoder_json(decoder),
        "cross_check": None if cross_check is None else cross_check_json(cross_check),
        "hf_model": None if hf_model is None else hf_model_json(hf_model, weights),
        "position_dependent": None if verification.position is None else position_json(verification.position),
    }


def position_json(field: "PositionField") -> dict:
    """A position-dependent field: its period, and each position's reads by the walk and the gradient."""
    return {
        "hop_samples": field.hop_samples,
        "period_frames": field.period_frames,
        "first_frame": field.first_frame,
        "agrees": field.agrees,
        "reason": field.reason or None,
        "positions": [
            {
                "position": walked.position,
                "left_samples": walked.left_samples,
                "right_samples": walked.right_samples,
                "walk_intervals": [list(i) for i in walked.intervals],
                "gradient_intervals": [list(i) for i in measured.intervals],
            }
            for walked, measured in zip(field.analytic, field.gradient)
        ],
    }


def run_json(subjects: Sequence[dict], provenance: dict) -> dict:
    """The whole report: schema version, how audiocraft was loaded, subjects by name."""
    by_name: dict[str, dict] = {}
    for subject in subjects:
        name, suffix = subject["name"], 2
        while name in by_name:  # two subjects with one name (two checkpoints in different folders)
            name, suffix = f"{subject['name']}#{suffix}", suffix + 1
        by_name[name] = subject
    failed = [name for name, s in by_name.items() if not s["verdict"]["passed"]]
    wrong = [name for name, s in by_name.items() if s["claims"] is not None and not s["claims"]["all_match"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "rfprobe_version": __version__,
        "audiocraft": provenance,
        "summary": {"passed": len(by_name) - len(failed), "failed": failed, "claims_mismatching": wrong},
        "configs": by_name,
    }
