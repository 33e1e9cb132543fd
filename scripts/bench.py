"""Benchmark rfprobe against the floor: one forward + backward of the encoder.

    python scripts/bench.py [--device cpu|cuda|auto] [--json PATH] [--repeats N]
    python scripts/bench.py --zoo [--only NAME ...]   # the codec zoo at tiny width instead
    python scripts/bench.py --chunks [--only NAME ...] # chunk-plan proofs (rfprobe chunk), in floors

For each shipped config, in one run on one machine: the floor (one forward plus one backward
of the encoder as audiocraft builds it, float64, at the probe's first input length) and the
folded floor (the same for the copy verification runs, its weight norms folded: see
rfprobe/probes/subject.py), the time to build the config's two random-weight encoders (which
`verify_config` does and `probe_module`, given a module, does not), each method's time, the
full verification's time (builds included) and its ratio to the floor, with and without the
builds, and without them to the folded floor. Then a naive baseline (one forward per
perturbed input sample across the RF, batched 64 at a time) on the smallest config, and the
cost of verification as the RF grows. Times are medians of `--repeats` runs after one
warm-up; on CUDA every timing synchronises the device.

With --zoo: every zoo model at tiny width (random weights), its verification (`probe_module`:
module walk, gradient probe on seed 0, impulse probe on seed 1) against its floor, one float64
forward + backward of the same module at the gradient probe's first input length, and against
its folded floor (the same for the folded copy verification runs).
"""

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

import torch  # noqa: E402

from rfprobe.families.seanet.config import EncoderConfig  # noqa: E402
from rfprobe.families.seanet.config_files import load_config  # noqa: E402
from rfprobe.probes.device import device_description, exact_zeros, keep_freed_memory, resolve_device  # noqa: E402
from rfprobe.probes.empirical import plan_window  # noqa: E402
from rfprobe.probes.run import DEFAULT_SEEDS, measure_probe, probe_seeds  # noqa: E402
from rfprobe.arithmetic.methods import GRADIENT, IMPULSE  # noqa: E402
from rfprobe.families.seanet.encoder import build_encoder  # noqa: E402
from rfprobe.errors import UsageError  # noqa: E402
from rfprobe.families.seanet.formula import formula_receptive_field  # noqa: E402
from rfprobe.output.report import format_table  # noqa: E402
from rfprobe.runs.verify import verify_config  # noqa: E402
from rfprobe.probes.subject import copy_module, fold_weight_norms  # noqa: E402
from rfprobe.core.walk import walk_receptive_field  # noqa: E402


REPEATS = 3


def timed(function, device: torch.device, repeats: int) -> float:
    """Median wall seconds of `function()` after one warm-up run."""

    def once() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    once()
    return statistics.median(once() for _ in range(repeats))


def forward_backward_seconds(
    module: torch.nn.Module, inputs: torch.Tensor, device: torch.device, repeats: int
) -> float:
    """Median wall seconds of one forward + backward of `module` on `inputs`."""

    def forward_backward() -> None:
        with exact_zeros():
            module(inputs).sum().backward()

    return timed(forward_backward, device, repeats)


def floors(
    module: torch.nn.Module, channels: int, length: int, device: torch.device, repeats: int
) -> tuple[float, float]:
    """The floor of `module` as given, and the folded floor: the same for the copy verification
    runs (weight norms folded, rfprobe.probes.subject: cheaper, so the stricter yardstick)."""
    inputs = torch.randn(1, channels, length, dtype=torch.float64, device=device, requires_grad=True)
    return (
        forward_backward_seconds(module, inputs, device, repeats),
        forward_backward_seconds(fold_weight_norms(copy_module(module)), inputs, device, repeats),
    )


def floor_seconds(config: EncoderConfig, device: torch.device, repeats: int) -> tuple[float, float, int]:
    """The floor and the folded floor of the encoder as audiocraft builds it, at the probe's
    first input length (also returned)."""
    guess = formula_receptive_field(config).receptive_field
    length = plan_window(guess.left.samples, guess.right.samples, guess.hop_samples).length_samples
    return (*floors(build_encoder(config, 0, device), config.channels, length, device, repeats), length)


def method_seconds(config: EncoderConfig, device: torch.device, repeats: int) -> dict[str, float]:
    guess = formula_receptive_field(config).receptive_field
    gradient_seeds, impulse_seeds = probe_seeds(DEFAULT_SEEDS)  # each probe on its own seeds, as verification runs them
    # Folded, as verification probes them (rfprobe.probes.subject); the floor runs the encoder as built.
    modules = {seed: fold_weight_norms(build_encoder(config, seed, device)) for seed in DEFAULT_SEEDS}
    options = dict(channels=config.channels, device=device, dtype=torch.float64)

    def probe(method: str, seeds: tuple[int, ...]) -> None:
        measure_probe(method, {seed: modules[seed] for seed in seeds}, guess, **options)

    return {
        "build": timed(
            lambda: [fold_weight_norms(build_encoder(config, seed, device)) for seed in DEFAULT_SEEDS], device, repeats
        ),
        "formula": timed(lambda: formula_receptive_field(config), device, repeats),
        "module walk": timed(lambda: walk_receptive_field(modules[DEFAULT_SEEDS[0]]), device, repeats),
        "gradient": timed(lambda: probe(GRADIENT, gradient_seeds), device, repeats),
        "impulse": timed(lambda: probe(IMPULSE, impulse_seeds), device, repeats),
        "full verification": timed(lambda: verify_config(config, device=device), device, repeats),
    }


def naive_seconds(config: EncoderConfig, device: torch.device) -> float:
    """What a user would write: perturb each sample across the RF, one forward each (batched by 64)."""
    field = formula_receptive_field(config).receptive_field
    window = plan_window(field.left.samples, field.right.samples, field.hop_samples)
    encoder = build_encoder(config, 0, device)
    base = torch.randn(1, config.channels, window.length_samples, dtype=torch.float64, device=device)
    samples = list(range(window.anchor - field.left.samples - 1, window.anchor + field.right.samples + 2))

    def run() -> None:
        with torch.no_grad(), exact_zeros():
            reference = encoder(base)[0, :, window.frame]
            for start in range(0, len(samples), 64):
                chunk = samples[start : start + 64]
                batch = base.repeat(len(chunk), 1, 1)
                for row, sample in enumerate(chunk):
                    batch[row, :, sample] += 1.0
                (encoder(batch)[:, :, window.frame] != reference).any(dim=1)

    return timed(run, device, 1)


def zoo_rows(names: list[str], device: torch.device, repeats: int) -> tuple[list[dict], list[list[str]]]:
    """Verification / floor for zoo models at tiny width, each measured the same way."""
    from rfprobe.families import ZOO, Unavailable, find
    from rfprobe.runs.module_probe import probe_module

    results, cells = [], []
    for model in [find(name) for name in names] if names else ZOO:
        try:
            torch.manual_seed(0)
            module = model.build(True)
        except Unavailable as error:
            print(f"{model.name}: unavailable ({error})", flush=True)
            continue

        def verify(module=module, model=model):
            return probe_module(
                module,
                channels=model.channels,
                hop_samples=model.hop_samples,
                name=model.name,
                sample_rate=model.sample_rate,
                device=device,
                length_multiple=model.length_multiple,
            )

        verification = verify()  # also the warm-up of `timed` below, and the probe length
        gradient = verification.result("gradient")
        runs = gradient.evidence.get("runs") if gradient is not None else None
        length = runs[0]["length_samples"] if runs else None
        if length is None:
            print(f"{model.name}: no gradient run to size the floor ({verification.verdict.reasons()})", flush=True)
            continue
        seconds = timed(verify, device, repeats)
        subject = copy_module(module).to(device=device, dtype=torch.float64).eval()
        floor, folded_floor = floors(subject, model.channels, length, device, repeats)
        results.append(
            {
                "model": model.name,
                "verdict": verification.verdict.label,
                "input_length": length,
                "floor_s": floor,
                "folded_floor_s": folded_floor,
                "verification_s": seconds,
                "ratio": seconds / floor,
                "ratio_to_folded_floor": seconds / folded_floor,
            }
        )
        cells.append(
            [
                model.name,
                verification.verdict.label,
                f"{length} {model.input_unit}",
                f"{floor * 1000:.0f}",
                f"{folded_floor * 1000:.0f}",
                f"{seconds * 1000:.0f}",
                f"{seconds / floor:.0f}x",
                f"{seconds / folded_floor:.0f}x",
            ]
        )
        print(
            f"{model.name}: floor {floor * 1000:.0f} ms, verification {seconds * 1000:.0f} ms, {seconds / floor:.0f}x",
            flush=True,
        )
    return results, cells


# Zoo codecs with an exact encode plan at tiny width (docs/codec_use.md), and their decoders.
CHUNK_NAMES = ("dac_16khz", "dac_44khz", "mimi_seanet", "snac_24khz", "xcodec_acoustic")


def _timed_proof(module, rows: int, length: int, repeats: int, prove) -> tuple[float, float, str]:
    """(floor s, proof s, finding): the floor on the proof's longest input, then the proof once,
    both on one torch thread as the proofs run."""
    from rfprobe.probes.threads import one_thread

    with one_thread():
        inputs = torch.randn(1, rows, length, dtype=torch.float64, requires_grad=True)
        floor = forward_backward_seconds(module, inputs, torch.device("cpu"), repeats)
        started = time.perf_counter()
        proof = prove()
        return floor, time.perf_counter() - started, proof.finding


def chunk_proof_rows(names: list[str], repeats: int) -> list[list[str]]:
    """Each plan proof of `rfprobe chunk NAME --tiny` (whole runs, chunked runs, the one-frame-less
    runs), timed once, against its floor: one float64 forward + backward of the same module on
    the proof's longest input, timed in the same run (one torch thread, as the proofs run)."""
    from rfprobe.families import find
    from rfprobe.families.codecs import CODECS
    from rfprobe.probes.subject import probe_subject
    from rfprobe.runs.chunking import (
        chunk_frames_for,
        decode_proof_frames,
        encode_plan,
        proof_lengths,
        prove_decode_plan,
        prove_encode_plan,
    )
    from rfprobe.runs.decoder_field import probe_decoder_hop
    from rfprobe.arithmetic.chunking import DecodePlan

    rows = []
    for name in names or CHUNK_NAMES:
        model = find(name)
        torch.manual_seed(0)
        encoder = probe_subject(model.build(True), "cpu", torch.float64)
        field = walk_receptive_field(encoder, model.channels, hop_samples=model.hop_samples).receptive_field
        plan, why = encode_plan(field) if field is not None else (None, "the walk did not run")
        if plan is None:
            rows.append([name, "encode", "-", "-", "-", f"no exact plan: {why}"])
            continue
        chunk = chunk_frames_for(0.5, model.sample_rate, plan.hop_samples)
        lengths = proof_lengths(plan, chunk)
        floor, proof_s, finding = _timed_proof(
            encoder,
            model.channels,
            max(lengths),
            repeats,
            functools.partial(prove_encode_plan, encoder, model.channels, plan, lengths, [chunk, chunk + 3]),
        )
        rows.append(
            [name, "encode", f"{max(lengths)} samples", f"{floor * 1000:.0f}", f"{proof_s / floor:.1f}", finding]
        )
        codec = next((c for c in CODECS if c.encoder_row == name), None)
        if codec is None:
            continue
        torch.manual_seed(0)
        parts = codec.build(True)
        decoder = fold_weight_norms(parts.decoder.double().eval())
        reads = probe_decoder_hop(decoder, parts.latent_dim, parts.hop_samples, name)
        if not reads.agrees or reads.past_frames is None or reads.future_frames is None:
            rows.append([name, "decode", "-", "-", "-", "no exact plan"])
            continue
        decode = DecodePlan(parts.hop_samples, reads.past_frames, reads.future_frames)
        frames = decode_proof_frames(decode, chunk)
        floor, proof_s, finding = _timed_proof(
            decoder,
            parts.latent_dim,
            max(frames),
            repeats,
            functools.partial(prove_decode_plan, decoder, parts.latent_dim, decode, frames, [chunk, chunk + 3]),
        )
        rows.append([name, "decode", f"{max(frames)} frames", f"{floor * 1000:.0f}", f"{proof_s / floor:.1f}", finding])
    return rows


@dataclass(frozen=True)
class ProbePyRun:
    """One run of `python scripts/probe.py --quiet`, timed from outside and step by step from inside."""

    seconds: float  # wall, from starting the process to its exit
    floor_s: float  # MusicGen's conv encoder at 7506 samples, timed before and after, the smaller
    steps_s: dict[str, float]  # rfprobe.runs.timings: verification, edges, taint, effective RF, output
    start_s: float  # from starting the process to rfprobe's main: the interpreter and the imports

    def summary(self) -> str:
        """The total in seconds and floors, and the floor it is counted in."""
        return (
            f"{self.seconds:.1f} s wall = {self.seconds / self.floor_s:.0f} floors (floor: MusicGen's conv encoder, "
            f"float64 forward + backward at 7506 samples, {self.floor_s * 1000:.0f} ms in this run)"
        )

    def step_lines(self) -> list[str]:
        """Each step in floors, then the process start (interpreter and imports) and the rest."""
        named = sum(self.steps_s.values())
        parts = {**self.steps_s, "process start and imports": self.start_s, "rest": self.seconds - named - self.start_s}
        return [f"  {name}: {seconds:.1f} s = {seconds / self.floor_s:.0f} floors" for name, seconds in parts.items()]


def probe_py_floors(device: torch.device, repeats: int) -> ProbePyRun:
    """`python scripts/probe.py --quiet` over the shipped configs, in floors: the floor (MusicGen's
    conv encoder at its probe's 7506 samples) timed before and after, the smaller kept; each step's
    seconds written by the run itself (RFPROBE_TIMINGS, rfprobe.runs.timings)."""
    import tempfile

    musicgen = load_config(REPOSITORY / "configs" / "musicgen_32khz_conv.yaml")
    before, _, length = floor_seconds(musicgen, device, repeats)
    assert length == 7506, length  # the floor the speed goal is stated in
    with tempfile.TemporaryDirectory() as directory:
        timings_path = Path(directory) / "timings.json"
        environment = {**os.environ, "RFPROBE_TIMINGS": str(timings_path)}
        started_unix_s, started = time.time(), time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPOSITORY / "scripts" / "probe.py"), "--quiet", "--device", str(device)],
            check=True,
            capture_output=True,
            env=environment,
        )
        seconds = time.perf_counter() - started
        timings = json.loads(timings_path.read_text(encoding="utf-8"))
    after, _, _ = floor_seconds(musicgen, device, repeats)
    return ProbePyRun(
        seconds=seconds,
        floor_s=min(before, after),
        steps_s=timings["steps"],
        start_s=timings["main_started_unix_s"] - started_unix_s,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=str(REPOSITORY / "bench.json"))
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per figure, after one warm-up")
    parser.add_argument(
        "--readme", action="store_true", help="write the tables into docs/proof_and_speed.md's benchmark blocks"
    )
    parser.add_argument("--probe-py", action="store_true", help="only python scripts/probe.py, in floors")
    parser.add_argument(
        "--zoo", action="store_true", help="the zoo models at tiny width instead of the shipped configs"
    )
    parser.add_argument("--chunks", action="store_true", help="chunk-plan proofs (rfprobe chunk --tiny), in floors")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="with --zoo or --chunks: only this model"
    )
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice)")
    arguments = parser.parse_args()
    try:
        device = resolve_device(arguments.device)
    except UsageError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(arguments.threads or torch.get_num_threads())
    keep_freed_memory()  # as the command lines do
    # Timings depend on what else runs: the load average before and after is part of the figure.
    load_before = os.getloadavg()[0]
    if arguments.chunks:
        import warnings

        warnings.simplefilter("ignore")
        rows = chunk_proof_rows(arguments.only, arguments.repeats)
        headers = ["codec (tiny)", "plan", "proof input", "floor ms", "proof / floor", "finding"]
        table = format_table(headers, rows)
        load = f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        print(f"{table}\n{load}")
        if arguments.readme:
            from update_docs import SPEED_PAGE, replace_block

            processor = platform.processor() or platform.machine()
            machine = f"{processor}, {os.cpu_count()} CPU cores; torch {torch.__version__}"
            replace_block(
                SPEED_PAGE,
                "benchchunks",
                f"Machine: {machine}; {load}; floors timed {arguments.repeats} time(s) after a warm-up run, "
                f"each proof once. Reproduce with `python scripts/bench.py --chunks --readme`.\n\n```\n{table}\n```",
            )
        return 0
    if arguments.probe_py:
        probe_py = probe_py_floors(device, arguments.repeats)
        print(
            f"python scripts/probe.py: {probe_py.summary()}; 1-minute load average {load_before:.1f} at the "
            f"start, {os.getloadavg()[0]:.1f} at the end"
        )
        print("\n".join(probe_py.step_lines()))
        return 0
    machine = (
        f"{device_description(device)}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"{torch.get_num_threads()} torch threads; torch {torch.__version__}"
    )
    print(f"machine: {machine}")
    if arguments.zoo:
        import warnings

        warnings.simplefilter("ignore")
        zoo, cells = zoo_rows(arguments.only, device, arguments.repeats)
        table = format_table(
            [
                "zoo model (tiny)",
                "verdict",
                "probe input",
                "floor ms",
                "folded floor ms",
                "verification ms",
                "verification / floor",
                "verification / folded floor",
            ],
            cells,
        )
        load = f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        print(f"\n{table}\n\n{load}")
        if arguments.readme:
            from update_docs import SPEED_PAGE, replace_block

            repeats = "" if arguments.repeats == REPEATS else f" --repeats {arguments.repeats}"
            replace_block(
                SPEED_PAGE,
                "benchzoo",
                f"Machine: {machine}; {load}; verification timed {arguments.repeats} "
                f"time(s) after a warm-up run. Reproduce with `python scripts/bench.py "
                f"--zoo --readme{repeats}`.\n\n```\n{table}\n```",
            )
        Path(arguments.json).write_text(json.dumps({"machine": machine, "zoo": zoo}, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {arguments.json}")
        return 0
    results = {"machine": machine, "configs": {}}
    rows = []
    for path in sorted((REPOSITORY / "configs").glob("*.yaml")):
        config = load_config(path)
        floor, folded_floor, length = floor_seconds(config, device, arguments.repeats)
        methods = method_seconds(config, device, arguments.repeats)
        results["configs"][config.name] = {
            "floor_s": floor,
            "folded_floor_s": folded_floor,
            "input_length_samples": length,
            **methods,
        }
        probing = methods["full verification"] - methods["build"]
        rows.append(
            [
                config.name,
                str(length),
                f"{floor * 1000:.0f}",
                f"{folded_floor * 1000:.0f}",
                *(
                    f"{methods[m] * 1000:.0f}"
                    for m in ("build", "module walk", "gradient", "impulse", "full verification")
                ),
                f"{methods['full verification'] / floor:.1f}x",
                f"{probing / floor:.1f}x",
                f"{probing / folded_floor:.1f}x",
            ]
        )
    config_table = format_table(
        [
            "config",
            "input samples",
            "floor ms",
            "folded floor ms",
            "build ms",
            "walk ms",
            "gradient ms",
            "impulse ms",
            "verification ms",
            "verification / floor",
            "without build / floor",
            "without build / folded floor",
        ],
        rows,
    )
    print(config_table)

    smallest = load_config(REPOSITORY / "configs" / "encodec_24khz_causal_conv.yaml")
    naive = naive_seconds(smallest, device)
    ours = results["configs"][smallest.name]["full verification"]
    results["naive"] = {"config": smallest.name, "naive_s": naive, "rfprobe_s": ours, "ratio": naive / ours}
    naive_line = (
        f"naive per-sample perturbation on {smallest.name}: {naive:.2f} s; rfprobe's full verification "
        f"(4 methods): {ours:.2f} s; naive / rfprobe = {naive / ours:.1f}x"
    )
    print("\n" + naive_line)

    scaling = []
    for depth in range(1, 6):
        config = EncoderConfig(
            sample_rate=16000, name=f"ratios [4]*{depth}", ratios=(4,) * depth, n_filters=4, dimension=4, lstm=0
        )
        field = formula_receptive_field(config).receptive_field
        floor, _, _ = floor_seconds(config, device, arguments.repeats)
        seconds = timed(lambda config=config: verify_config(config, device=device), device, arguments.repeats)
        scaling.append(
            {
                "ratios": list(config.ratios),
                "receptive_field_samples": field.samples,
                "verification_s": seconds,
                "floor_s": floor,
            }
        )
    results["scaling"] = scaling
    scaling_table = format_table(
        ["ratios", "RF samples", "verification ms", "floor ms", "verification / floor"],
        [
            [
                str(s["ratios"]),
                str(s["receptive_field_samples"]),
                f"{s['verification_s'] * 1000:.0f}",
                f"{s['floor_s'] * 1000:.1f}",
                f"{s['verification_s'] / s['floor_s']:.1f}x",
            ]
            for s in scaling
        ],
    )
    print("\ncost as the RF grows (n_filters 4):")
    print(scaling_table)
    probe_py = probe_py_floors(device, arguments.repeats)
    results["probe_py_all_configs_s"] = probe_py.seconds
    results["probe_py_floor_s"] = probe_py.floor_s
    results["probe_py_steps_s"] = {**probe_py.steps_s, "process start and imports": probe_py.start_s}
    cli_line = "\n".join(
        [
            f"python scripts/probe.py over all {len(rows)} shipped configs (verification, context map, "
            f"process start): {probe_py.summary()}; by step:",
            *probe_py.step_lines(),
        ]
    )
    print("\n" + cli_line)
    if arguments.readme:
        from update_docs import SPEED_PAGE, replace_block

        load = f"1-minute load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        replace_block(
            SPEED_PAGE,
            "bench",
            f"Machine: {machine}; {load}. Reproduce with `python scripts/bench.py --readme` "
            f"(an idle machine gives the lowest figures).\n\n```\n{config_table}\n\n{naive_line}\n{cli_line}\n\n"
            f"cost as the RF grows (n_filters 4):\n{scaling_table}\n```",
        )
    Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
