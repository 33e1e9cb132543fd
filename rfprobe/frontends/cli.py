"""`rfprobe` / `python scripts/probe.py`: verify the receptive field of real SEANet encoders.

Exit codes: 0 every config PASSes (claims may mismatch: they are findings);
1 a config FAILs (methods disagree or one could not run), or, with --strict-claims, a
claim mismatches; 2 bad input or an unusable environment (one line on stderr naming the
problem and the fix); 3 an internal error, a bug in rfprobe (one line; the traceback is
saved to a file, and printed with --debug).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Optional, Sequence

from rfprobe.families.seanet.audiocraft_files import check_trained_weights, load_checkpoint
from rfprobe.families.seanet.source import load_audiocraft
from rfprobe.families.seanet.config import EncoderConfig, ignored_parameters
from rfprobe.families.seanet.config_files import load_config
from rfprobe.runs import timings
from rfprobe.runs.context import ContextMap, context_map
from rfprobe.core.readers import NotUnderstood
from rfprobe.runs.seanet_decoder import DecoderReport, decoder_report
from rfprobe.probes.device import device_description, keep_freed_memory, resolve_device, resolve_dtype
from rfprobe.runs.cost import DEFAULT_BUDGET_GIB, CostEstimate, check_budget, config_cost, gib
from rfprobe.errors import UsageError, first_line, is_out_of_memory, output_closed
from rfprobe.frontends.parsing import OneLineParser
from rfprobe.families.seanet.formula import formula_receptive_field
from rfprobe.families.seanet.hf_config import audiocraft_equivalent, load_hf_config
from rfprobe.runs.hf_encodec import CrossCheck, cross_check, hf_extra_parameters
from rfprobe.families.hf_snapshots import load_snapshot
from rfprobe.runs.hf_model import HfModelResult, check_snapshot, probe_snapshot
from rfprobe.runs.module_probe import check_module, load_factory, probe_module
from rfprobe.output.files import check_output_directory, check_output_file
from rfprobe.output.plots import plot_paths, require_matplotlib, write_plots
from rfprobe import __version__
from rfprobe.output.answer import LEGEND, VERBOSE_HINT, answer_block, wrapped
from rfprobe.output.files import write_json_atomically
from rfprobe.output.report import config_report, context_report, decoder_text, summary_table
from rfprobe.output.report_json import SCHEMA_VERSION, run_json, subject_json
from rfprobe.runs.verify import Verification, verify_config

REPOSITORY_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MAX_CLIP_SECONDS = 3600.0
MAX_SEED = 2**31 - 2  # the seeds used are seed and seed + 1, and derived ones stay within torch's range


def build_parser() -> argparse.ArgumentParser:
    """The `rfprobe` argument parser: one-line errors (exit 2) instead of argparse's usage dump."""
    parser = OneLineParser(
        "",
        "--help",
        prog="rfprobe",
        description="Measure the receptive field of audiocraft's real SEANetEncoder four ways "
        "(config formula, module walk, gradient, impulse) and check they agree to the sample.",
        epilog="`rfprobe zoo --help`: the codec zoo (every pip-installable codec, one row each). "
        "exit codes: 0 every subject PASSes (mismatching claims are printed findings); 1 a subject FAILs, "
        "or --strict-claims and a claim mismatches; 2 bad input or an unusable environment (one line naming "
        "the problem and the fix); 3 an internal error (a bug: one line and the file holding the traceback). "
        "--module imports and runs Python code (the current directory first on sys.path): pass only code "
        "you trust.",
    )
    parser.add_argument(
        "--config",
        action="append",
        metavar="PATH",
        help="a config YAML (repeatable); default: every configs/*.yaml of this checkout",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--dtype", default="float64", help="float64 (default, exact) or float32")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the gradient probe's seed (weights, input, projection); the impulse probe uses seed + 1",
    )
    parser.add_argument("--json", metavar="PATH", help="write every number, provenance and verdict here")
    amount = parser.add_mutually_exclusive_group()  # one amount of output: both at once is a usage error
    amount.add_argument("--quiet", action="store_true", help="print only the summary table and failures")
    amount.add_argument(
        "--verbose",
        action="store_true",
        help="after each answer, the per-layer table, every method's numbers, the edge frames and the evidence",
    )
    parser.add_argument("--strict-claims", action="store_true", help="exit 1 when a claim mismatches")
    parser.add_argument(
        "--checkpoint",
        action="append",
        metavar="PATH",
        help="an audiocraft compression_state_dict.bin: its config and trained encoder weights (repeatable)",
    )
    parser.add_argument(
        "--hf-config",
        action="append",
        metavar="JSON",
        help="a transformers EncodecConfig config.json: probe transformers' encoder and cross-check "
        "it against audiocraft's with the same hyperparameters (repeatable; needs the hf extra)",
    )
    parser.add_argument(
        "--hf-model",
        action="append",
        metavar="DIR",
        help="a local Hugging Face snapshot of a zoo codec (the directory save_pretrained writes: "
        "config.json, model.safetensors), or org/name in the local hub cache (never downloaded): "
        "probe its encoder(s) with the snapshot's weights, or random ones without safetensors "
        "(repeatable; pickled .bin weights are never loaded)",
    )
    parser.add_argument(
        "--module",
        action="append",
        metavar="PKG.MOD:FACTORY",
        help="probe any nn.Module a factory returns (walk + both probes; repeatable). This IMPORTS "
        "AND RUNS that Python code, with the current directory first on sys.path (like "
        "python -m): pass only code you trust",
    )
    parser.add_argument("--channels", type=int, help="input channels of --module (default: detected)")
    parser.add_argument("--hop", type=int, help="samples per output frame of --module (default: detected)")
    parser.add_argument(
        "--decoder",
        action="store_true",
        help="also analyse each config's SEANetDecoder: latent frames per output sample and back",
    )
    parser.add_argument(
        "--trim-right-ratio",
        type=float,
        default=1.0,
        help="the decoder's trim_right_ratio (causal configs only; default 1.0)",
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        default=10.0,
        help="clip length for the edge/padding analysis (default 10 s, at most 3600)",
    )
    parser.add_argument("--plot", metavar="DIR", help="write two PNGs per config here (needs matplotlib)")
    parser.add_argument(
        "--max-memory",
        type=float,
        default=DEFAULT_BUDGET_GIB,
        metavar="GIB",
        help="refuse, before running, a subject whose estimated peak memory is above this many GiB "
        f"(default {DEFAULT_BUDGET_GIB:g}); the refusal shows the estimate",
    )
    parser.add_argument("--debug", action="store_true", help="on an internal error, print the traceback")
    parser.add_argument("--version", action="version", version=f"rfprobe {__version__}")
    return parser


def _default_configs() -> list[Path]:
    for directory in (REPOSITORY_CONFIGS, Path.cwd() / "configs"):
        found = sorted(directory.glob("*.yaml"))
        if found:
            return found
    raise UsageError("no configs found in ./configs; pass --config PATH")


def _check_clip(clip_seconds: float, config: EncoderConfig) -> None:
    """The edge analysis needs a clip at least one receptive field long (local layers)."""
    local = formula_receptive_field(config).receptive_field
    width = local.left.samples + 1 + local.right.samples
    clip_samples = round(clip_seconds * config.sample_rate)
    if clip_samples < width:
        raise UsageError(
            f"--clip-seconds {clip_seconds:g} gives {clip_samples} samples for {config.name}, shorter than "
            f"its receptive field ({width} samples); use at least {width / config.sample_rate:.3f} s"
        )


@dataclass
class Outcome:
    """One subject's results, as printed and written to JSON."""

    verification: Verification
    context: Optional[ContextMap] = None
    decoder: Optional[DecoderReport] = None
    cross_check: Optional[CrossCheck] = None
    hf_model: Optional[HfModelResult] = None

    @property
    def failures(self) -> list[str]:
        """One "<name>: FAIL..." line per failure: the verdict, the decoder, the cross-check."""
        name = self.verification.name
        failures = [f"{name}: FAIL: {reason}" for reason in self.verification.verdict.reasons()]
        if not self.verification.verdict.passed and not failures:
            failures.append(f"{name}: FAIL")
        if self.decoder is not None and not self.decoder.agrees:
            failures.append(f"{name}: FAIL: decoder arithmetic and probes disagree")
        if self.cross_check is not None and not self.cross_check.identical:
            failures += [f"{name}: FAIL: transformers vs audiocraft: {d}" for d in self.cross_check.differences]
        return failures


def _check_numbers(arguments: argparse.Namespace) -> None:
    """Every numeric option finite and in its range, before anything is read."""
    for option in ("channels", "hop"):
        value = getattr(arguments, option)
        if value is not None and value < 1:
            raise UsageError(f"--{option} {value}: must be a positive integer")
    if not 0.0 <= arguments.trim_right_ratio <= 1.0:
        raise UsageError(f"--trim-right-ratio {arguments.trim_right_ratio:g}: must lie in [0, 1]")
    if not math.isfinite(arguments.clip_seconds) or not 0 < arguments.clip_seconds <= MAX_CLIP_SECONDS:
        raise UsageError(
            f"--clip-seconds {arguments.clip_seconds:g}: must be a number of seconds in "
            f"(0, {MAX_CLIP_SECONDS:g}]; the edges of a longer clip are those of this one"
        )
    if not 0 <= arguments.seed <= MAX_SEED:
        raise UsageError(f"--seed {arguments.seed}: must lie in [0, {MAX_SEED}]")
    if not math.isfinite(arguments.max_memory) or not 0 < arguments.max_memory <= 1 << 20:
        raise UsageError(f"--max-memory {arguments.max_memory:g}: must be a positive number of GiB")


def _check_costs(arguments: argparse.Namespace, plan: dict) -> None:
    """The estimated peak memory of every subject, refused above --max-memory before anything runs."""
    itemsize = 4 if arguments.dtype == "float32" else 8
    for config, path, _ in plan["configs"] + plan["checkpoints"]:
        check_budget(config_cost(config, arguments.clip_seconds, itemsize), arguments.max_memory, path)
    for hf_config, name in plan["hf_configs"]:
        estimate = config_cost(audiocraft_equivalent(hf_config, name), arguments.clip_seconds, itemsize)
        estimate = CostEstimate(
            estimate.parameter_bytes + hf_extra_parameters(hf_config) * 8,
            2 * estimate.activation_bytes,
            estimate.largest_step + ", twice (both implementations)",
        )
        check_budget(estimate, arguments.max_memory, f"--hf-config {name}")


def _check_outputs(arguments: argparse.Namespace, plan: dict) -> None:
    """--json a regular file or absent, in a writable directory; --plot a (creatable) directory
    whose PNG paths are free of symlinks and directories."""
    plan["json"] = check_output_file(Path(arguments.json), "--json") if arguments.json else None
    plan["plots"] = []
    if arguments.plot:
        require_matplotlib()
        directory = Path(arguments.plot)
        check_output_directory(directory, "--plot")
        plan["plots"] = plot_paths([config.name for config, _, _ in plan["configs"] + plan["checkpoints"]], directory)
        for path in (path for pair in plan["plots"] for path in pair if directory.is_dir()):
            check_output_file(path, "--plot")


def _validate(arguments: argparse.Namespace) -> dict:
    """Read and check every input before any work: bad input never leaves half a report."""
    _check_numbers(arguments)
    device, dtype = resolve_device(arguments.device), resolve_dtype(arguments.dtype)
    explicit = arguments.module or arguments.checkpoint or arguments.hf_config or arguments.hf_model
    paths = [Path(p) for p in arguments.config or []] if explicit or arguments.config else _default_configs()
    checkpoints = [(str(path), load_checkpoint(path)) for path in arguments.checkpoint or []]
    plan = {
        "configs": [(load_config(path), str(path), None) for path in paths],
        "checkpoints": [(c.audiocraft.config, path, c.encoder_state) for path, c in checkpoints],
        "hf_configs": [(load_hf_config(path), Path(path).stem) for path in arguments.hf_config or []],
        "modules": [(load_factory(spec), spec) for spec in arguments.module or []],
        "hf_models": [load_snapshot(name, seed=arguments.seed) for name in arguments.hf_model or []],
    }
    _check_outputs(arguments, plan)
    _check_costs(arguments, plan)
    for path, checkpoint in checkpoints:
        check_trained_weights(checkpoint, f"--checkpoint {path}", device, dtype)
    budget = arguments.max_memory
    plan["modules"] = [
        (
            module,
            spec,
            check_module(
                module,
                f"--module {spec}",
                channels=arguments.channels,
                hop_samples=arguments.hop,
                device=device,
                dtype=dtype,
                check_cost=lambda estimate: check_budget(estimate, budget, smaller="the module or --hop"),
            ),
        )
        for module, spec in plan["modules"]
    ]
    plan["hf_models"] = [
        (
            snapshot,
            check_snapshot(
                snapshot,
                device=device,
                dtype=dtype,
                check_cost=lambda estimate: check_budget(estimate, budget, smaller="the model"),
            ),
        )
        for snapshot in plan["hf_models"]
    ]
    for config, path, _ in plan["configs"] + plan["checkpoints"]:
        for warning in ignored_parameters(config):
            print(f"rfprobe: warning: {path}: {warning}", file=sys.stderr)
    for config, _, _ in plan["configs"] + plan["checkpoints"]:
        _check_clip(arguments.clip_seconds, config)
        if arguments.decoder and arguments.trim_right_ratio != 1.0 and not config.causal:
            raise UsageError(
                f"--trim-right-ratio {arguments.trim_right_ratio:g}: {config.name} is not causal and "
                "audiocraft allows trim_right_ratio != 1 only for causal decoders"
            )
    return plan


def _weights_words(result: HfModelResult) -> str:
    snapshot = result.snapshot
    return f"{snapshot.weights_note} ({snapshot.family}, model_type {snapshot.model_type}, {result.branch.name})"


def _print(outcome: Outcome, arguments: argparse.Namespace) -> None:
    verification = outcome.verification
    if arguments.quiet:
        for failure in outcome.failures:
            print(failure)
        return
    print()
    hf_model = outcome.hf_model
    print(
        answer_block(
            verification,
            outcome.context,
            outcome.decoder,
            outcome.cross_check,
            effective=None if hf_model is None else hf_model.effective,
            weights=None if hf_model is None else _weights_words(hf_model),
        )
    )
    if not arguments.verbose:
        return
    print()
    print(config_report(verification))
    if outcome.context is not None:
        print()
        print(context_report(verification, outcome.context))
    if outcome.decoder is not None:
        print()
        print(decoder_text(outcome.decoder, verification.sample_rate, arguments.trim_right_ratio))
    if outcome.cross_check is not None:
        check = outcome.cross_check
        print()
        print(
            "transformers vs audiocraft: "
            + (
                f"identical (RF, left, right, hop, and supports of frames {list(check.edge_frames)} "
                f"of a {check.length_samples}-sample input)"
                if check.identical
                else "DIFFERENT: " + "; ".join(check.differences)
            )
        )


def run(argv: Optional[Sequence[str]] = None) -> int:
    """Parse, validate, probe every subject and write the chosen outputs; the exit code."""
    arguments = build_parser().parse_args(argv)
    plan = _validate(arguments)
    device, dtype = resolve_device(arguments.device), resolve_dtype(arguments.dtype)
    seeds = (arguments.seed, arguments.seed + 1)
    source = load_audiocraft()
    print(
        f"rfprobe {__version__}, {device_description(device)}, {str(dtype).replace('torch.', '')}; {source.describe()}"
    )
    if not arguments.quiet:
        print(LEGEND)
        if not arguments.verbose:
            print(VERBOSE_HINT)
    outcomes: list[Outcome] = []
    for index, (config, path, weights) in enumerate(plan["configs"] + plan["checkpoints"]):
        with timings.timed("verification"):
            verification = verify_config(config, path, device, dtype, seeds, encoder_state=weights)
        try:
            context: Optional[ContextMap] = context_map(verification, arguments.clip_seconds, device, dtype)
        except NotUnderstood as error:  # the core cannot map this module's edges: a finding, not a crash
            context = None
            print(f"{verification.name}: no context map (edges, lookahead, taint, effective RF): {error}")
        outcome = Outcome(verification, context=context)
        if arguments.decoder:
            with timings.timed("decoder"):
                outcome.decoder = decoder_report(config, arguments.trim_right_ratio, device, dtype)
        with timings.timed("output"):
            if arguments.plot and context is not None:
                write_plots(verification, context, Path(arguments.plot), plan["plots"][index])
            outcomes.append(outcome)
            _print(outcome, arguments)
        verification.modules = {}  # measured, plotted and printed: free the encoders before the next config
    for module, spec, shape in plan["modules"]:
        outcomes.append(
            Outcome(
                probe_module(
                    module,
                    channels=shape.channels,
                    hop_samples=shape.hop_samples,
                    name=spec,
                    device=device,
                    dtype=dtype,
                    seeds=seeds,
                    walk=shape.walk,
                )
            )
        )
        _print(outcomes[-1], arguments)
    for snapshot, shapes in plan["hf_models"]:
        for result in probe_snapshot(snapshot, shapes, device=device, dtype=dtype, seeds=seeds):
            outcomes.append(Outcome(result.verification, hf_model=result))
            _print(outcomes[-1], arguments)
    for hf_config, name in plan["hf_configs"]:
        check = cross_check(hf_config, name, device=device, dtype=dtype)
        outcomes += [Outcome(check.transformers, cross_check=check), Outcome(check.audiocraft)]
        _print(outcomes[-2], arguments)
        _print(outcomes[-1], arguments)  # the audiocraft twin is judged too: the verdict line counts it
    if arguments.quiet or arguments.verbose:
        print()
        print(summary_table([outcome.verification for outcome in outcomes]))
    if arguments.json:
        write_json_atomically(
            plan["json"],
            run_json(
                [subject_json(o.verification, o.context, o.decoder, o.cross_check, o.hf_model) for o in outcomes],
                source.provenance(),
            ),
        )
        print(f"wrote {arguments.json} (JSON report, schema version {SCHEMA_VERSION})")
    failed = [outcome for outcome in outcomes if outcome.failures]
    mismatched = [
        o.verification.name
        for o in outcomes
        if o.verification.claims is not None and not o.verification.claims.all_match
    ]
    print()
    print(
        wrapped(
            f"verdict: {len(outcomes) - len(failed)} PASS (the methods agree), {len(failed)} FAIL"
            + (f"; wrong claims (MISMATCH): {', '.join(mismatched)}" if mismatched else "")
        )
    )
    if mismatched and arguments.strict_claims and not failed:
        print("exit 1: a claim mismatches, and --strict-claims makes that a failure")
    if failed or (mismatched and arguments.strict_claims):
        return 1
    return 0


def _internal_error(error: BaseException, debug: bool) -> int:
    """A bug in rfprobe: one line, the traceback in a file (and on stderr with --debug); exit 3."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        handle, saved = tempfile.mkstemp(prefix="rfprobe-traceback-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        where = f"traceback saved to {saved}"
    except OSError:
        where = "the traceback could not be saved"
    if debug:
        print(text, file=sys.stderr, end="")
    first = first_line(error)[:200]
    print(
        f"rfprobe: internal error (a bug in rfprobe, not in your input): {type(error).__name__}: {first}; {where}"
        f"{'' if debug else ' (run with --debug to print it)'}; please report it",
        file=sys.stderr,
    )
    return 3


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`rfprobe` / `python -m rfprobe`: :func:`run` with bad input as one line and exit 2, a bug in
    rfprobe as exit 3."""
    main_started_unix_s = time.time()
    arguments = list(sys.argv[1:] if argv is None else argv)
    keep_freed_memory()
    try:
        if arguments[:1] == ["zoo"]:  # `rfprobe zoo ...`: the codec zoo; every other flag stays the default command's
            from rfprobe.frontends.zoo_cli import main as zoo_main

            return zoo_main(arguments[1:])
        if arguments[:1] == ["chunk"]:  # `rfprobe chunk NAME ...`: chunk plans proven by running
            from rfprobe.frontends.chunk_cli import main as chunk_main
            from rfprobe.probes.threads import reproducible_blas

            reproducible_blas()  # before anything computes: the proofs compare bit for bit

            return chunk_main(arguments[1:])
        timings.reset()  # this run's steps only, when main runs more than once in a process
        code = run(arguments)
        timings.write_if_asked(main_started_unix_s)
        return code
    except UsageError as error:
        print(f"rfprobe: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rfprobe: interrupted; nothing more written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return output_closed()
    except Exception as error:
        if is_out_of_memory(error):
            print(
                f"rfprobe: error: out of memory ({type(error).__name__}); the run needed more than this machine "
                f"has: lower --max-memory below the free memory (now {gib(_free_bytes())} GiB free) so that "
                "oversized runs are refused up front, or shrink the architecture or --clip-seconds",
                file=sys.stderr,
            )
            return 2
        return _internal_error(error, "--debug" in arguments)


def exit_process(code: int) -> NoReturn:
    """Ends the process with `code` once standard output and error are flushed, without the
    interpreter's teardown: by then every answer is printed and every file written and closed,
    and freeing torch's modules (and its compiler's, which forward-mode AD imports) one by one
    takes about a second, as long as verifying a small config. Only for a process that runs
    nothing after rfprobe (`rfprobe`, `python -m rfprobe`, `python scripts/probe.py`)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away before the last lines
            code = output_closed() if stream is sys.stdout else code
        except (OSError, ValueError):  # closed or replaced by the caller: nothing left to flush
            pass
    os._exit(code)


def console_main() -> NoReturn:
    """The `rfprobe` command and `python -m rfprobe`: :func:`main`, then :func:`exit_process`."""
    exit_process(main())


def _free_bytes() -> float:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return float("nan")


if __name__ == "__main__":
    console_main()
