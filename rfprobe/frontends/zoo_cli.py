"""`rfprobe zoo` / `python scripts/zoo.py`: the codec zoo table.

Exit codes: 0 every row PASSes or is UNAVAILABLE here (a row says why); 1 a row FAILs or
errors; 2 bad input (one line naming the problem and the fix). Cross-implementation
differences are findings: printed with both values, not errors.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from rfprobe.errors import UsageError, output_closed
from rfprobe.families import ZOO, find
from rfprobe.output.plots import write_zoo_plot
from rfprobe.output.zoo_table import HEADERS, table_cells, zoo_notes, zoo_table
from rfprobe.runs.zoo import ERROR, FAIL, cross_checks, machine_line, run_zoo
from rfprobe.probes.device import keep_freed_memory

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- rfprobe:zoo:start -->", "<!-- rfprobe:zoo:end -->"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise UsageError(f"zoo: {message}; see rfprobe zoo --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rfprobe zoo", description="Probe every codec encoder of the zoo (random weights, "
                                                     "nothing downloaded): one row per model.")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"only this model (repeatable): {', '.join(m.name for m in ZOO)}")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny width: small hidden sizes, same kernels, strides, dilations, windows, layers")
    parser.add_argument("--json", metavar="PATH", help="write every row, proof and cross-check here")
    parser.add_argument("--plot", metavar="DIR", help="write zoo_receptive_fields.png here (needs matplotlib)")
    parser.add_argument("--readme", action="store_true",
                        help="write the table into README.md between its zoo markers (with --only: replace "
                             "those models' rows and notes, keep the others)")
    parser.add_argument("--timeout", type=float, default=900.0, metavar="S", help="per-model limit (default 900 s)")
    parser.add_argument("--decoder", action="store_true",
                        help="the decoders and latent round trips of the codecs that have one (rfprobe.families.codecs)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch intra-op threads, here and in each model's process (default: torch's choice; "
                             "1 is fastest for --tiny on a busy machine)")
    parser.add_argument("--in-process", action="store_true",
                        help="run every model in this process (faster start; peak memory then accumulates)")
    return parser


def readme_block(table: str, notes: str, machine: str) -> str:
    return f"Machine: {machine}.\n\n```\n{table}\n```\n\n```\n{notes}\n```"


def _readme_block(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise UsageError(f"--readme: {readme} has no {START} ... {END} markers; add them where the table goes")
    return text.split(START, 1)[1].split(END, 1)[0]


def readme_rows_and_notes(readme: Path = README) -> tuple[dict[str, list[str]], list[str]]:
    """The cells of every row of the README's zoo table (by model name), and its note lines."""
    parts = _readme_block(readme).split("```")
    if len(parts) < 4:
        return {}, []
    lines = parts[1].strip().splitlines()
    header = lines[0]
    starts = sorted({header.index(cell.strip()) for cell in header.split("  ") if cell.strip()})
    rows = {}
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line) + 1])]
        rows[cells[0]] = cells
    return rows, parts[3].strip().splitlines()


def _note_owner(line: str) -> str:
    """The model a note line is about ("name: ..."), or the pair of a cross-check ("a vs b: ...")."""
    return line.split(": ", 1)[0]


def merged_readme_block(rows, checks, machine: str, readme: Path = README) -> str:
    """The README's zoo block with these rows (and their notes and cross-checks) in place of
    their old ones; the rows of models not run now are kept as they were, in zoo order."""
    from rfprobe.runs.zoo import CROSS_CHECKS
    from rfprobe.output.report import format_table

    old_rows, old_notes = readme_rows_and_notes(readme)
    new = {row.name: row for row in rows}
    body = []
    for model in ZOO:
        if model.name in new:
            row = new[model.name]
            body.append(table_cells(row) + [f"{row.wall_s:.1f}",
                                            "-" if row.peak_memory_mib is None else f"{row.peak_memory_mib:.0f}"])
        elif model.name in old_rows:
            body.append(old_rows[model.name])
    table = format_table(list(HEADERS) + ["time s", "peak MiB"], body)
    new_checks = {f"{c.transformers} vs {c.original}": c.describe() for c in checks}
    notes = []
    for model in ZOO:
        if model.name in new:
            notes += [line for line in zoo_notes([new[model.name]], []).splitlines() if line]
        else:
            notes += [line for line in old_notes if _note_owner(line) == model.name]
    for theirs, original in CROSS_CHECKS:
        pair = f"{theirs} vs {original}"
        notes += [new_checks[pair]] if pair in new_checks else [line for line in old_notes if _note_owner(line) == pair]
    return readme_block(table, "\n".join(notes), machine)


def write_readme(body: str, readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise UsageError(f"--readme: {readme} has no {START} ... {END} markers; add them where the table goes")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")


def run(argv: Optional[Sequence[str]] = None) -> int:
    arguments = build_parser().parse_args(argv)
    models = [find(name) for name in arguments.only] if arguments.only else list(ZOO)
    if arguments.timeout <= 0:
        raise UsageError(f"--timeout {arguments.timeout:g}: must be positive")
    if arguments.json and not Path(arguments.json).parent.is_dir():
        raise UsageError(f"--json {arguments.json}: directory {Path(arguments.json).parent} does not exist; create it")
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
    rows = run_zoo(models, arguments.tiny, arguments.timeout, device, isolated=not arguments.in_process,
                   progress=lambda line: print(line, flush=True))
    checks = cross_checks(rows)
    table, notes, machine = zoo_table(rows), zoo_notes(rows, checks), machine_line(arguments.tiny)
    print()
    print(f"machine: {machine}")
    print(table)
    print()
    print(notes)
    total = time.perf_counter() - started
    print(f"\nzoo: {len(rows)} models in {total:.0f} s")
    if arguments.json:
        from rfprobe.output.files import write_json_atomically

        write_json_atomically(Path(arguments.json), {
            "machine": machine, "total_s": round(total, 1), "rows": [row.to_json() for row in rows],
            "cross_checks": [{"transformers": c.transformers, "original": c.original,
                              "differences": list(c.differences), "skipped": c.skipped} for c in checks]})
    if arguments.plot:
        print(f"plot: {write_zoo_plot(rows, Path(arguments.plot))}")
    if arguments.readme:  # with --only, those rows replace theirs and the others stay
        # Timings depend on what else ran: the whole run's load average and time go with them.
        run = (f"{machine}; {os.cpu_count()} CPU cores, 1-minute load average {load_before:.1f} at the start, "
               f"{os.getloadavg()[0]:.1f} at the end; whole zoo {total:.0f} s, one model per process")
        write_readme(merged_readme_block(rows, checks, machine) if arguments.only
                     else readme_block(zoo_table(rows), notes, run))
    return 1 if any(row.verdict in (FAIL, ERROR) for row in rows) else 0


def run_decoders(arguments: argparse.Namespace, device: str) -> int:
    """`rfprobe zoo --decoder`: one DecoderZooRow per codec with a decoder, in this process."""
    from dataclasses import asdict

    from rfprobe.families.codecs import CODECS, find_codec
    from rfprobe.output.decoder_table import decoder_table
    from rfprobe.runs.decoder_field import decoder_zoo_row

    codecs = [find_codec(name) for name in arguments.only] if arguments.only else CODECS
    rows = []
    for codec in codecs:
        rows.append(decoder_zoo_row(codec.name, arguments.tiny, device))
        print(f"{codec.name}: done", flush=True)
    print(decoder_table(rows))
    if arguments.json:
        from rfprobe.output.files import write_json_atomically

        write_json_atomically(Path(arguments.json), {"decoders": [asdict(row) for row in rows]})
    return 0 if all(row.decoder_agrees and row.round_trip_agrees for row in rows) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    keep_freed_memory()
    try:
        return run(argv)
    except UsageError as error:
        print(f"rfprobe: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return output_closed()
