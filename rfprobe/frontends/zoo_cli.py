"""`rfprobe zoo` / `python scripts/zoo.py`: the codec zoo table.

Exit codes: 0 every row PASSes, is UNAVAILABLE here or is REFUSED as too large or too long for
its limit (a row says why, before running it); 1 a row FAILs or
errors; 2 bad input (one line naming the problem and the fix). Cross-implementation
differences are findings: printed with both values, not errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from rfprobe.errors import UsageError, output_closed
from rfprobe.families import ZOO, find
from rfprobe.output.plots import write_zoo_plot
from rfprobe.frontends.parsing import OneLineParser
from rfprobe.output.files import write_json_atomically
from rfprobe.output.zoo_table import zoo_notes, zoo_table
from rfprobe.runs.zoo import ERROR, FAIL, ImplementationComparison, ZooRow, cross_checks, machine_line, run_zoo
from rfprobe.probes.device import keep_freed_memory


def build_parser() -> argparse.ArgumentParser:
    """The `rfprobe zoo` argument parser."""
    parser = OneLineParser(
        "zoo: ",
        "rfprobe zoo --help",
        prog="rfprobe zoo",
        description="Probe every codec encoder of the zoo (random weights, nothing downloaded): one row per model.",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"only this model (repeatable): {', '.join(m.name for m in ZOO)}",
    )
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny width: small hidden sizes, same kernels, strides, dilations, windows, layers",
    )
    parser.add_argument("--json", metavar="PATH", help="write every row, proof and cross-check here")
    parser.add_argument("--plot", metavar="DIR", help="write zoo_receptive_fields.png here (needs matplotlib)")
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="merge these rows into the zoo data file PATH (JSON, as --json writes it; rows of "
        "models not run now are kept): docs/data/zoo_tiny.json renders the docs' tables",
    )
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S", help="per-model limit (default 900 s)")
    parser.add_argument(
        "--decoder",
        action="store_true",
        help="the decoders and latent round trips of the codecs that have one (rfprobe.families.codecs)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch intra-op threads, here and in each model's process (default: torch's choice; "
        "1 is fastest for --tiny on a busy machine)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every model in this process (faster start; peak memory then accumulates)",
    )
    return parser


def zoo_data(rows: Sequence[ZooRow], checks: Sequence[ImplementationComparison], machine: str, total_s: float) -> dict:
    """What `--json` and `--data` write: the machine, the time, every row and comparison."""
    return {
        "machine": machine,
        "total_s": round(total_s, 1),
        "rows": [row.to_json() for row in rows],
        "cross_checks": [check.to_json() for check in checks],
    }


def merged_data(path: Path, rows: Sequence[ZooRow], machine: str, total_s: float) -> dict:
    """The data file at `path` with these rows in place of their old ones (the rows of models not
    run now are kept as they were), in zoo order, and the comparisons recomputed from them all."""
    kept: dict[str, ZooRow] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
            kept = {row["name"]: ZooRow.from_json(row) for row in old["rows"]}
        except (ValueError, KeyError, TypeError) as error:
            raise UsageError(
                f"--data {path}: not a zoo data file ({type(error).__name__}); remove it or pick another path"
            ) from None
    kept.update({row.name: row for row in rows})
    merged = [kept[model.name] for model in ZOO if model.name in kept]
    return zoo_data(merged, cross_checks(merged), machine, total_s)


def run(argv: Optional[Sequence[str]] = None) -> int:
    """Run the chosen zoo rows (each in its own process unless --in-process), print the table and
    notes, write the JSON, data and plot; the exit code."""
    arguments = build_parser().parse_args(argv)
    models = [find(name) for name in arguments.only] if arguments.only else list(ZOO)
    if arguments.timeout <= 0:
        raise UsageError(f"--timeout {arguments.timeout:g}: must be positive")
    for option, value in (("--json", arguments.json), ("--data", arguments.data)):
        if value and not Path(value).parent.is_dir():
            raise UsageError(f"{option} {value}: directory {Path(value).parent} does not exist; create it")
    if arguments.plot:
        from rfprobe.output.plots import require_matplotlib

        require_matplotlib()
    if arguments.threads is not None:
        if arguments.threads < 1:
            raise UsageError(f"--threads {arguments.threads}: must be 1 or more")
        import torch

        os.environ["OMP_NUM_THREADS"] = str(arguments.threads)  # each model's own process
        torch.set_num_threads(arguments.threads)
    from rfprobe.probes.device import resolve_device

    device = str(resolve_device(arguments.device))
    if arguments.decoder:
        return run_decoders(arguments, device)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    rows = run_zoo(
        models,
        arguments.tiny,
        arguments.timeout,
        device,
        isolated=not arguments.in_process,
        progress=lambda line: print(line, flush=True),
    )
    checks = cross_checks(rows)
    table, notes, machine = zoo_table(rows), zoo_notes(rows, checks), machine_line(arguments.tiny)
    print()
    print(f"machine: {machine}")
    print(table)
    print()
    print(notes)
    total = time.perf_counter() - started
    print(f"\nzoo: {len(rows)} models in {total:.0f} s")
    # Timings depend on what else ran: the run's load average goes with them.
    run_line = (
        f"{machine}; {os.cpu_count()} CPU cores, 1-minute load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end; one model per {'process' if not arguments.in_process else 'run'}"
    )
    if arguments.json:
        write_json_atomically(Path(arguments.json), zoo_data(rows, checks, run_line, total))
    if arguments.data:
        write_json_atomically(Path(arguments.data), merged_data(Path(arguments.data), rows, run_line, total))
    if arguments.plot:
        print(f"plot: {write_zoo_plot(rows, Path(arguments.plot))}")
    return 1 if any(row.verdict in (FAIL, ERROR) for row in rows) else 0


def run_decoders(arguments: argparse.Namespace, device: str) -> int:
    """`rfprobe zoo --decoder`: one DecoderZooRow per codec with a decoder, in this process."""
    from dataclasses import asdict

    from rfprobe.families.codecs import CODECS, find_codec
    from rfprobe.core.readers import NotUnderstood
    from rfprobe.output.decoder_table import decoder_table
    from rfprobe.runs.decoder_field import CannotDecide, decoder_zoo_row

    codecs = [find_codec(name) for name in arguments.only] if arguments.only else CODECS
    rows, not_measured = [], []
    for codec in codecs:
        try:
            rows.append(decoder_zoo_row(codec.name, arguments.tiny, device))
        except (NotUnderstood, CannotDecide) as error:  # a finding about that decoder, named; the others still run
            not_measured.append({"name": codec.name, "reason": str(error)})
            print(f"{codec.name}: not measured: {error}", flush=True)
            continue
        if rows[-1].round_trip_note:  # the decoder measured, its round trip not: named, and the exit says so
            not_measured.append({"name": codec.name, "reason": f"round trip: {rows[-1].round_trip_note}"})
        print(f"{codec.name}: done", flush=True)
    print(decoder_table(rows))
    for missing in not_measured:
        print(f"{missing['name']}: not measured: {missing['reason']}")
    if arguments.json:
        from rfprobe.output.files import write_json_atomically

        data = {"decoders": [asdict(row) for row in rows], "not_measured": not_measured}
        write_json_atomically(Path(arguments.json), data)
    agree = all(row.decoder_agrees and row.round_trip_agrees for row in rows)
    return 0 if agree and not not_measured else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`rfprobe zoo`: :func:`run`, with bad input as one line and exit 2."""
    keep_freed_memory()
    try:
        return run(argv)
    except UsageError as error:
        print(f"rfprobe: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return output_closed()
