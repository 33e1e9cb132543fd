"""Regenerate the measured tables of README.md and docs/ from the tool's own output.

    python scripts/update_docs.py            # the zoo tables (from docs/data/zoo_tiny.json) and
                                             # the shipped configs' summary (a real run of each)
    python scripts/update_docs.py --no-run   # the tables rendered from docs/data/ only
    python scripts/update_docs.py --codecs   # also measure docs/data/codec_use_tiny.json anew
                                             # (rfprobe chunk proofs and decoder rows, tiny width)
    python scripts/update_docs.py --helpers  # only the codecs' own helpers (DAC compress, EnCodec
                                             # segments), length arithmetic and quantizers

The text between `<!-- rfprobe:NAME:start -->` and `<!-- rfprobe:NAME:end -->` markers is
replaced; tests/test_readme.py and tests/test_zoo.py fail when a table and its data disagree.
"""

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from rfprobe.output.zoo_table import zoo_notes, zoo_summary_table, zoo_table  # noqa: E402
from rfprobe.runs.zoo import ImplementationComparison, ZooRow  # noqa: E402

README = REPOSITORY / "README.md"
ZOO_PAGE = REPOSITORY / "docs" / "zoo.md"
SPEED_PAGE = REPOSITORY / "docs" / "proof_and_speed.md"
ZOO_DATA = REPOSITORY / "docs" / "data" / "zoo_tiny.json"
ZOO_FULL_DATA = REPOSITORY / "docs" / "data" / "zoo_full.json"  # `rfprobe zoo --json PATH`, full width
CODEC_PAGE = REPOSITORY / "docs" / "codec_use.md"
CODEC_DATA = REPOSITORY / "docs" / "data" / "codec_use_tiny.json"
# Decoders the zoo measures (Mimi's tiny decoder trace does not finish here) and encoders whose
# recurrence or global norm leaves no exact plan, to show the reason named.
CODEC_USE_NAMES = (
    "dac_16khz",
    "dac_24khz",
    "dac_44khz",
    "dac_44khz_descript",
    "encodec_24khz",
    "encodec_32khz",
    "encodec_48khz",
    "mimi_seanet",
    "snac_24khz",
    "xcodec_acoustic",
    "pocket_tts_seanet",
)
CHUNK_SECONDS = 0.5
# The codecs whose own encode path chunks (descript's DAC.compress, with two win_duration
# values in seconds; EnCodec 48 kHz's segments, whose length is its own).
HELPER_RUNS = (
    *(
        (name, seconds)
        for name in ("dac_16khz_descript", "dac_24khz_descript", "dac_44khz_descript")
        for seconds in (0.5, 1.0)
    ),
    ("encodec_48khz", CHUNK_SECONDS),
)


def replace_block(path: Path, name: str, body: str) -> None:
    """Replace the text of `path` between <!-- rfprobe:NAME:start --> and <!-- rfprobe:NAME:end -->."""
    start, end = f"<!-- rfprobe:{name}:start -->", f"<!-- rfprobe:{name}:end -->"
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{path}: no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")


def zoo_rows(path: Path = ZOO_DATA) -> tuple[str, list[ZooRow], list[ImplementationComparison]]:
    """The machine line, rows and comparisons of a zoo data file."""
    data = _read_json(path)
    return (
        data["machine"],
        [ZooRow.from_json(row) for row in data["rows"]],
        [ImplementationComparison.from_json(check) for check in data["cross_checks"]],
    )


def full_width_line(path: Path = ZOO_FULL_DATA) -> str:
    """One line on the full-width run: how long the whole zoo took, and how its rows ended."""
    from collections import Counter

    data = _read_json(path)
    verdicts = Counter(row["verdict"] for row in data["rows"])
    counts = ", ".join(f"{count} {verdict}" for verdict, count in verdicts.most_common())
    parts = data["machine"].split("; ")
    where = ", ".join(part.split(", ")[0] for part in parts if "threads" in part or "CPU cores" in part)
    timed_out = "" if "ERROR" in verdicts else ", none timed out"
    return (
        f"Full width (`rfprobe zoo`, the default): {len(data['rows'])} rows in {data['total_s']:.0f} s "
        f"({data['total_s'] / 60:.1f} min; {where}): {counts}{timed_out}."
    )


def zoo_blocks(path: Path = ZOO_DATA, full_path: Path = ZOO_FULL_DATA) -> dict[str, str]:
    """The README's compact zoo table, the zoo page's full table with its notes, and the
    full-width run's table, notes and time."""
    machine, rows, checks = zoo_rows(path)
    full_machine, full_rows, full_checks = zoo_rows(full_path)
    full_line = full_width_line(full_path)
    return {
        "zoo-summary": f"```\n{zoo_summary_table(rows)}\n```\n\n{full_line}",
        "zoo": f"Machine: {machine}.\n\n```\n{zoo_table(rows)}\n```\n\n```\n{zoo_notes(rows, checks)}\n```",
        "zoo-full": (
            f"{full_line}\n\nMachine: {full_machine}.\n\n```\n{zoo_table(full_rows)}\n```"
            f"\n\n```\n{zoo_notes(full_rows, full_checks)}\n```"
        ),
    }


def measure_codec_use() -> dict:
    """`rfprobe chunk` proofs and decoder rows of CODEC_USE_NAMES at tiny width, as JSON data."""
    import dataclasses

    from rfprobe.families.codecs import CODECS
    from rfprobe.runs.chunking import codec_chunking
    from rfprobe.runs.decoder_field import decoder_zoo_row

    decoders = {codec.encoder_row for codec in CODECS if codec.encoder_row != "mimi"}
    chunking, rows = [], []
    for name in CODEC_USE_NAMES:
        chunking.append(dataclasses.asdict(codec_chunking(name, True, CHUNK_SECONDS)))
        if name in decoders:
            rows.append(dataclasses.asdict(decoder_zoo_row(name, True)))
        print(f"measured {name}", flush=True)
    return {"width": "tiny", "chunk_seconds": CHUNK_SECONDS, "chunking": chunking, "decoders": rows}


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def measure_codec_helpers() -> list[dict]:
    """Each HELPER_NAMES codec's own chunking helper against its whole-file call, tiny width."""
    import dataclasses

    from rfprobe.runs.codec_helpers import codec_helper_findings

    return [
        dataclasses.asdict(finding)
        for name, seconds in HELPER_RUNS
        for finding in codec_helper_findings(name, True, seconds)
    ]


def measure_codec_decode_helpers() -> list[dict]:
    """Each HELPER_RUNS codec's own chunked decoder against its whole-file decode, tiny width."""
    import dataclasses

    from rfprobe.runs.codec_helpers import codec_decode_helper_findings

    return [
        dataclasses.asdict(finding)
        for name, seconds in HELPER_RUNS
        for finding in codec_decode_helper_findings(name, True, seconds)
    ]


def measure_codec_lengths_and_quantizers() -> dict[str, list[dict]]:
    """Every decoder codec's length arithmetic and quantizer locality, tiny width."""
    import dataclasses

    from rfprobe.families.codecs import CODECS
    from rfprobe.runs.output_lengths import codec_lengths
    from rfprobe.runs.quantizer_locality import codec_quantizer_locality

    quantizers = [codec_quantizer_locality(codec.name) for codec in CODECS]
    return {
        "lengths": [dataclasses.asdict(codec_lengths(codec.name)) for codec in CODECS],
        "quantizers": [dataclasses.asdict(found) for found in quantizers if found is not None],
    }


# Mimi's streaming APIs: (library, code frames per call, input samples). 23740 samples is 12
# frames and 700 samples (a partial last frame); 288000 (12 s) runs past the encoder
# transformer's 250-step context.
STREAMING_RUNS = (
    ("transformers", 1, 23740),
    ("transformers", 5, 23740),
    ("moshi", 1, 23740),
    ("moshi", 5, 23740),
    ("transformers", 5, 288000),
    ("moshi", 5, 288000),
)


def measure_streaming() -> list[dict]:
    """STREAMING_RUNS, each against the same model's whole-file calls (tiny width, float64)."""
    import dataclasses

    from rfprobe.runs.streaming import moshi_mimi_streaming, transformers_mimi_streaming

    run = {"transformers": transformers_mimi_streaming, "moshi": moshi_mimi_streaming}
    return [dataclasses.asdict(run[library](step, length)) for library, step, length in STREAMING_RUNS]


MIMI_DECODE_CHUNK_FRAMES = 125  # 10 s chunks: the proof decodes 1001 frames of overlap per chunk


def measure_mimi_decoder() -> dict:
    """Mimi's decoder: one hop's union read (walk and gradient), and the decode plan it gives,
    proven by decoding in chunks (tiny width, float64, one thread)."""
    import dataclasses

    import torch

    from rfprobe.arithmetic.chunking import DecodePlan
    from rfprobe.families.codecs import find_codec
    from rfprobe.probes.subject import fold_weight_norms
    from rfprobe.runs.chunking import prove_decode_plan
    from rfprobe.runs.decoder_field import probe_decoder_hop

    torch.manual_seed(0)
    parts = find_codec("mimi").build(True)
    hop_reads = probe_decoder_hop(parts.decoder, parts.latent_dim, parts.hop_samples, "mimi")
    result: dict = {
        "hop_reads": dataclasses.asdict(hop_reads),
        "agrees": hop_reads.agrees,
        "sample_rate": find_codec("mimi").row.sample_rate,
        "proof": [],
    }
    if hop_reads.agrees and hop_reads.past_frames is not None and hop_reads.future_frames is not None:
        plan = DecodePlan(parts.hop_samples, hop_reads.past_frames, hop_reads.future_frames)
        frames = plan.past_frames + plan.future_frames + 2 * MIMI_DECODE_CHUNK_FRAMES + 1
        decoder = fold_weight_norms(parts.decoder.double().eval())
        proof = prove_decode_plan(decoder, parts.latent_dim, plan, [frames], [MIMI_DECODE_CHUNK_FRAMES])
        result["proof"] = [proof.finding, *proof.describe()[1:]]
    return result


def codec_mimi_decoder_block(path: Path = CODEC_DATA) -> str:
    from rfprobe.output.codec_use import mimi_decoder_lines

    return mimi_decoder_lines(_read_json(path))


def codec_price_block(path: Path = CODEC_DATA) -> str:
    """The codec-use page's price-of-context table, rendered from its data file."""
    from rfprobe.output.codec_use import codec_price_table

    return f"```\n{codec_price_table(_read_json(path))}\n```"


def codec_streaming_block(path: Path = CODEC_DATA) -> str:
    from rfprobe.output.codec_use import codec_streaming_lines

    return codec_streaming_lines(_read_json(path))


def codec_lengths_block(path: Path = CODEC_DATA) -> str:
    from rfprobe.output.codec_use import codec_lengths_table

    return f"```\n{codec_lengths_table(_read_json(path))}\n```"


def codec_quantizers_block(path: Path = CODEC_DATA) -> str:
    from rfprobe.output.codec_use import codec_quantizer_lines

    return codec_quantizer_lines(_read_json(path))


def codec_helpers_block(path: Path = CODEC_DATA) -> str:
    """The codec-use page's helper findings, rendered from its data file."""
    from rfprobe.output.codec_use import codec_helper_lines

    return codec_helper_lines(_read_json(path))


def codec_use_block(path: Path = CODEC_DATA) -> str:
    """The codec-use page's table, rendered from its data file."""
    from rfprobe.output.codec_use import codec_use_table

    return f"```\n{codec_use_table(_read_json(path))}\n```"


def summary_block() -> str:
    """The shipped configs' summary table, from a real run of each."""
    from rfprobe.families.seanet.config_files import load_config
    from rfprobe.output.report import summary_table
    from rfprobe.runs.verify import verify_config

    paths = sorted((REPOSITORY / "configs").glob("*.yaml"))
    return f"```\n{summary_table([verify_config(load_config(p), str(p)) for p in paths])}\n```"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="only the tables rendered from data files")
    parser.add_argument("--codecs", action="store_true", help="measure docs/data/codec_use_tiny.json anew first")
    parser.add_argument(
        "--helpers",
        action="store_true",
        help="measure only the codecs' own helpers, lengths and quantizers anew",
    )
    arguments = parser.parse_args()
    if arguments.codecs or arguments.helpers:
        import dataclasses

        from rfprobe.probes.threads import reproducible_blas
        from rfprobe.runs.streaming import audiocraft_streaming_support

        reproducible_blas()  # as `rfprobe chunk` proves its plans: before anything computes
        if arguments.codecs:
            CODEC_DATA.write_text(json.dumps(measure_codec_use(), indent=1, default=str) + "\n", encoding="utf-8")
        data = _read_json(CODEC_DATA)
        data["helpers"] = measure_codec_helpers()
        data["decode_helpers"] = measure_codec_decode_helpers()
        data.update(measure_codec_lengths_and_quantizers())
        data["streaming"] = measure_streaming()
        data["streaming_support"] = [dataclasses.asdict(audiocraft_streaming_support())]
        data["mimi_decoder"] = measure_mimi_decoder()
        CODEC_DATA.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    replace_block(CODEC_PAGE, "codec-use", codec_use_block())
    replace_block(CODEC_PAGE, "codec-helpers", codec_helpers_block())
    replace_block(CODEC_PAGE, "codec-lengths", codec_lengths_block())
    replace_block(CODEC_PAGE, "codec-quantizers", codec_quantizers_block())
    replace_block(CODEC_PAGE, "codec-streaming", codec_streaming_block())
    replace_block(CODEC_PAGE, "codec-price", codec_price_block())
    replace_block(CODEC_PAGE, "codec-mimi-decoder", codec_mimi_decoder_block())
    blocks = zoo_blocks()
    replace_block(README, "zoo-summary", blocks["zoo-summary"])
    replace_block(ZOO_PAGE, "zoo", blocks["zoo"])
    replace_block(ZOO_PAGE, "zoo-full", blocks["zoo-full"])
    if not arguments.no_run:
        replace_block(README, "summary", summary_block())
    return 0


if __name__ == "__main__":
    sys.exit(main())
