"""`rfprobe chunk NAME`: exact chunk plans for a zoo codec, proven by running it.

Exit codes: 0 every plan's chunks equal the whole file bit for bit, or differ by float64 rounding
only at some chunk ends (the finding says "not bit for bit"), or the reason no exact plan exists is
named; 1 a plan's chunks differ by more than rounding; 2 bad input (one line naming the problem and
the fix).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Optional, Sequence

from rfprobe.errors import UsageError
from rfprobe.families import ZOO, find
from rfprobe.frontends.parsing import OneLineParser
from rfprobe.output.files import write_json_atomically

DEFAULT_CHUNK_SECONDS = 0.5
DEFAULT_MAX_SECONDS = 600.0


def build_parser() -> OneLineParser:
    """The `rfprobe chunk` argument parser."""
    parser = OneLineParser(
        "chunk: ",
        "rfprobe chunk --help",
        prog="rfprobe chunk",
        description="Exact chunk plans for encoding and decoding a zoo codec in pieces, each "
        "proven bit for bit against the whole-file result (float64).",
    )
    parser.add_argument("name", help=f"a zoo model: {', '.join(model.name for model in ZOO)}")
    parser.add_argument("--tiny", action="store_true", help="tiny width (same kernels, strides, windows)")
    parser.add_argument(
        "--chunk-seconds",
        type=float,
        default=DEFAULT_CHUNK_SECONDS,
        metavar="S",
        help=f"chunk length in seconds, rounded to whole frames (default {DEFAULT_CHUNK_SECONDS})",
    )
    parser.add_argument("--json", metavar="PATH", help="write the plans and every proof run here")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help="refuse up front a proof estimated to take longer than this here "
        f"(default {DEFAULT_MAX_SECONDS:g}; one timed forward pass, scaled)",
    )
    return parser


def run(argv: Sequence[str]) -> int:
    """Check the arguments, prove the plans, print them, write the JSON; the exit code."""
    from rfprobe.runs.chunking import chunk_frames_for, codec_chunking

    arguments = build_parser().parse_args(argv)
    model = find(arguments.name)
    if arguments.json and not Path(arguments.json).parent.is_dir():
        raise UsageError(f"--json {arguments.json}: directory {Path(arguments.json).parent} does not exist; create it")
    seconds = arguments.chunk_seconds
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"--chunk-seconds {seconds:g}: must be a positive number of seconds")
    if model.hop_samples is not None:  # else the walk reads the hop, and the chunk is checked then
        chunk_frames_for(seconds, model.sample_rate, model.hop_samples)
    if not math.isfinite(arguments.max_seconds) or arguments.max_seconds <= 0:
        raise UsageError(f"--max-seconds {arguments.max_seconds:g}: must be a positive number of seconds")
    result = codec_chunking(model.name, arguments.tiny, seconds, arguments.max_seconds)
    print("\n".join(result.describe()))
    if arguments.json:
        write_json_atomically(Path(arguments.json), dataclasses.asdict(result))
    proofs = [proof for proof in (result.encode, result.decode) if proof is not None]
    # Exit 1: a plan's chunks differ from the whole file by more than rounding (the plan misses a
    # sample). Off by rounding only, the finding says "not bit for bit": the CPU's kernels, not the plan.
    return 1 if any(not proof.no_exact_plan and not proof.equal_up_to_rounding for proof in proofs) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`rfprobe chunk`: :func:`run`, with bad input as one line and exit 2."""
    try:
        return run(list(sys.argv[1:] if argv is None else argv))
    except UsageError as error:
        print(f"rfprobe: error: {error}", file=sys.stderr)
        return 2
