"""How to chunk and stream each codec: the docs' table, rendered from the data the tool writes
(`docs/data/codec_use_tiny.json`: `rfprobe chunk` proofs and the zoo's decoder rows)."""

from __future__ import annotations

from typing import Any, Optional

from rfprobe.output.report import format_table
from rfprobe.runs.chunking import ROUNDING
from rfprobe.runs.context_price import CONTEXT_SECONDS, ContextPrice, PricePoint

HEADERS = (
    "codec",
    "hop",
    "enc ctx left",
    "enc ctx right",
    "encode plan",
    "dec overlap past/future fr",
    "crop samples",
    "decode plan",
    "latency samples (ms)",
    "of it hop wait ms",
)


def _plan_cell(proof: Optional[dict]) -> str:
    """The proof's finding, as `PlanProof.finding` words it (recomputed from its JSON)."""
    if proof is None:
        return "no decoder here"
    if proof["no_exact_plan"]:
        return f"none: {proof['no_exact_plan']}"
    if proof.get("random_draws"):  # the long words are PlanProof.finding's; the table says it short
        draws = ", ".join(proof["random_draws"])
        return f"none as it runs (fresh {draws} every call); draws zeroed: " + _plan_cell({**proof, "random_draws": []})
    equal = bool(proof["comparisons"]) and all(run["equal"] for run in proof["comparisons"])
    if equal and all(proof["minimality"].values()):
        return "exact, minimal (proven)"
    if equal:
        return "exact; one frame less still equal (edge influence below float64 resolution)"
    if all(run["equal"] or run["max_relative_difference"] <= ROUNDING for run in proof["comparisons"]):
        return "equal up to rounding at some chunk ends: not bit for bit"
    return "FAILED: chunks differ from the whole file"


def _samples_ms(samples: int, rate: int) -> str:
    return f"{samples} ({1000 * samples / rate:.2f} ms)"


def codec_use_cells(chunking: dict[str, Any], decoder: Optional[dict[str, Any]]) -> list[str]:
    """One codec's cells from its `CodecChunking` and `DecoderZooRow` as JSON."""
    rate, encode, decode = chunking["sample_rate"], chunking["encode"], chunking["decode"]
    plan = encode["plan"]
    left = right = "-"
    if plan is not None:
        hop = plan["hop_samples"]
        frames_left = -(-plan["left_samples"] // hop)
        frames_right = max(-(-(plan["right_samples"] + 1) // hop) - 1, 0)
        left = f"{_samples_ms(frames_left * hop, rate)}, {frames_left} fr"
        right = f"{_samples_ms(frames_right * hop, rate)}, {frames_right} fr"
    overlap = crop = "-"
    if decode is not None and decode["plan"] is not None:
        overlap = f"{decode['plan']['past_frames']} / {decode['plan']['future_frames']}"
        crop = str(decode["plan"]["past_frames"] * decode["plan"]["hop_samples"])
    latency = buffering = "-"
    if decoder is not None and decoder.get("round_trip_note"):
        latency = buffering = "not measured"  # its round trip could not be decided: never "unbounded"
    elif decoder is not None:
        right_samples = decoder["round_trip_right_samples"]
        latency = "unbounded" if right_samples is None else f"{right_samples} ({decoder['latency_ms']:.2f})"
        buffering = "unbounded" if decoder["buffering_ms"] is None else f"{decoder['buffering_ms']:.2f}"
    return [
        chunking["name"],
        str(chunking["hop_samples"]),
        left,
        right,
        _plan_cell(encode),
        overlap,
        crop,
        _plan_cell(decode),
        latency,
        buffering,
    ]


def codec_use_table(data: dict[str, Any]) -> str:
    """The table of every codec in `data` ({"chunking": [...], "decoders": [...]})."""
    decoders = {row["name"]: row for row in data["decoders"]}
    rows = [codec_use_cells(chunking, decoders.get(chunking["name"])) for chunking in data["chunking"]]
    return format_table(list(HEADERS), rows)


def codec_helper_lines(data: dict[str, Any]) -> str:
    """The codecs' own chunking helpers against their whole-file calls, one item each, from
    `data["helpers"]` (`HelperFinding`s as JSON), then their chunked decoders (`data["decode_helpers"]`)."""
    from rfprobe.runs.codec_helpers import DecodeHelperFinding, HelperFinding

    encoders = [
        f"* `{finding.codec}`: {finding.describe()}"
        for finding in map(HelperFinding.from_json, data.get("helpers", []))
    ]
    decoders = [
        f"* `{finding.codec}`: {finding.describe()}"
        for finding in (DecodeHelperFinding(**entry) for entry in data.get("decode_helpers", []))
    ]
    return "\n\n".join(encoders + decoders)


LENGTH_HEADERS = (
    "codec",
    "hop",
    "frames for n samples (encoder)",
    "samples for f frames (decoder)",
    "shortest n for 1 frame",
    "decode trim",
    "proven on",
    "result",
)


def codec_lengths_table(data: dict[str, Any]) -> str:
    """The length arithmetic of every codec in `data["lengths"]` (`LengthArithmetic`s as JSON). A
    codec whose composed maps mispredict a run shows no formula: a formula it contradicts is no answer."""
    rows = [
        [
            lengths["name"],
            str(lengths["hop_samples"]),
            "-" if lengths["mismatches"] else lengths["encode_formula"],
            "-" if lengths["mismatches"] else lengths["decode_formula"],
            "-"
            if lengths["shortest_input_for_one_frame_samples"] is None or lengths["mismatches"]
            else str(lengths["shortest_input_for_one_frame_samples"]),
            "-"
            if lengths["decode_trim_samples"] is None or lengths["mismatches"]
            else str(lengths["decode_trim_samples"]),
            f"{len(lengths['checked_lengths'])} n, {len(lengths['checked_frames'])} f",
            "equal at every length"
            if not lengths["mismatches"]
            else f"not derived: the composed maps mispredict {len(lengths['mismatches'])} runs",
        ]
        for lengths in data.get("lengths", [])
    ]
    return format_table(list(LENGTH_HEADERS), rows)


def codec_quantizer_lines(data: dict[str, Any]) -> str:
    """Each codec's quantizer finding, from `data["quantizers"]` (`QuantizerLocality`s as JSON)."""
    from rfprobe.runs.quantizer_locality import QuantizerLocality

    return "\n".join(
        f"* `{found.codec}`: {found.finding}"
        for found in (
            QuantizerLocality(
                **{
                    **entry,
                    "perturbed_frames": tuple(entry["perturbed_frames"]),
                    "changed_elsewhere": tuple((frame, tuple(others)) for frame, others in entry["changed_elsewhere"]),
                    "unchanged_at_own_frame": tuple(entry["unchanged_at_own_frame"]),
                }
            )
            for entry in data.get("quantizers", [])
        )
    )


def codec_streaming_lines(data: dict[str, Any]) -> str:
    """Each streaming run against offline, from `data["streaming"]` (`StreamingFinding`s as JSON), then
    each library checked for a streaming API at all (`data["streaming_support"]`)."""
    from rfprobe.runs.streaming import SAMPLE_RATE, StreamingFinding, StreamingSupport

    lines = []
    for found in (StreamingFinding(**entry) for entry in data.get("streaming", [])):
        seconds = found.length_samples / SAMPLE_RATE
        line = (
            f"* `{found.codec}`, {found.step_frames} frame{'s' if found.step_frames > 1 else ''} per call, "
            f"{found.length_samples} samples ({seconds:.3g} s): {found.finding}"
        )
        lines.append(line + (f". Last call: {found.tail}" if found.tail else ""))
    for support in data.get("streaming_support", []):
        found_support = StreamingSupport(**{**support, "streaming_modules": tuple(support["streaming_modules"])})
        lines.append(f"* `{found_support.model}` ({found_support.library}): {found_support.finding}")
    return "\n".join(lines)


def mimi_decoder_lines(data: dict[str, Any]) -> str:
    """Mimi's decoder overlap and its chunked-decode proof, from `data["mimi_decoder"]`."""
    entry = data.get("mimi_decoder")
    if not entry:
        return ""
    reads = entry["hop_reads"]
    analytic, measured = reads["analytic"], reads["measured"]
    rate_hz = entry["sample_rate"] / reads["hop_samples"]
    lines = [
        f"* one hop of output reads latent frames {analytic['low']:+d} .. {analytic['high']:+d} by the walk and "
        f"{measured['low']:+d} .. {measured['high']:+d} by the gradient "
        f"({'agree' if entry['agrees'] else 'DISAGREE'}): past {-analytic['low']} frames "
        f"({-analytic['low'] / rate_hz:.2f} s), future {analytic['high']} "
        f"(input traced: {reads['frames_traced']} frames)"
    ]
    if entry["proof"]:
        finding, *runs = entry["proof"]
        lines.append(f"* decoding in chunks with that overlap: {finding}")
        lines += [f"  * {run.strip()}" for run in runs]
    return "\n".join(lines)


def _price_cell(point: PricePoint) -> str:
    cell = f"{point.max_relative_error:.1e}"
    if point.changed_code_frames is not None:
        share = 100 * point.changed_code_frames / point.frames
        cell += f" ({'<1' if 0 < share < 1 else f'{share:.0f}'}% codes)"
    return cell


def codec_price_table(data: dict[str, Any]) -> str:
    """Where no chunk plan is exact, the price of context (`ContextPrice`s as JSON): per codec and
    way of chunking, the largest error of the joined result relative to the signal's largest
    value (and the share of frames whose codes change) at each context tried, and the context
    from which on the codes equal the whole file's."""
    headers = ("codec", "chunking", "varied", *(f"ctx {s:g} s" for s in CONTEXT_SECONDS), "codes equal from")
    rows = []
    for chunking in data.get("chunking", []):
        for kind in ("encode", "decode"):
            entry = chunking.get(f"{kind}_price")
            if entry is None:
                continue
            price = ContextPrice(**{**entry, "points": tuple(PricePoint(**point) for point in entry["points"])})
            if price.failure:
                rows.append([chunking["name"], kind, f"not measured: {price.failure}"])
                continue
            settled = price.codes_stop_changing_frames
            if kind == "decode":
                settles = "-"
            elif settled is None:
                settles = "not within 2 s" if price.points[-1].changed_code_frames else "-"
            else:
                settles = next(f"{p.context_seconds:.3f} s" for p in price.points if p.context_frames == settled)
            # one cell per nominal context: two that round to the same whole frames show the same point
            cells = [price.point_at(seconds) for seconds in CONTEXT_SECONDS]
            shown = [_price_cell(point) if point is not None else "-" for point in cells]
            rows.append([chunking["name"], kind, price.open_sides, *shown, settles])
    return format_table(list(headers), rows)
