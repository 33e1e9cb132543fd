"""`rfprobe` / `python scripts/probe.py`: verify the receptive field of real SEANet encoders.

Exit codes: 0 every config PASSes (claims may mismatch: they are findings);
1 a config FAILs (methods disagree or one could not run), or, with --strict-claims, a
claim mismatches; 2 bad input (one line on stderr naming the problem and the fix).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from .errors import UsageError

REPOSITORY_CONFIGS = Path(__file__).resolve().parent.parent / "configs"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + exits 2; we want one line
        raise UsageError(f"{message}; see --help")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rfprobe",
        description="Measure the receptive field of audiocraft's real SEANetEncoder four ways "
                    "(config formula, module walk, gradient, impulse) and check they agree to the sample.")
    parser.add_argument("--config", action="append", metavar="PATH",
                        help="a config YAML (repeatable); default: every configs/*.yaml of this checkout")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default cpu)")
    parser.add_argument("--dtype", default="float64", help="float64 (default, exact) or float32")
    parser.add_argument("--seed", type=int, default=0, help="first of the two seeds (weights, input, projection)")
    parser.add_argument("--json", metavar="PATH", help="write every number, provenance and verdict here")
    parser.add_argument("--quiet", action="store_true", help="print only the summary table and failures")
    parser.add_argument("--strict-claims", action="store_true", help="exit 1 when a claim mismatches")
    parser.add_argument("--checkpoint", action="append", metavar="PATH",
                        help="an audiocraft compression_state_dict.bin: its config and trained encoder weights (repeatable)")
    parser.add_argument("--hf-config", action="append", metavar="JSON",
                        help="a transformers EncodecConfig config.json: probe transformers' encoder and cross-check "
                             "it against audiocraft's with the same hyperparameters (repeatable; needs the hf extra)")
    parser.add_argument("--module", action="append", metavar="PKG.MOD:FACTORY",
                        help="probe any nn.Module a factory returns (walk + both probes; repeatable)")
    parser.add_argument("--channels", type=int, help="input channels of --module (default: detected)")
    parser.add_argument("--hop", type=int, help="samples per output frame of --module (default: detected)")
    parser.add_argument("--decoder", action="store_true",
                        help="also analyse each config's SEANetDecoder: latent frames per output sample and back")
    parser.add_argument("--trim-right-ratio", type=float, default=1.0,
                        help="the decoder's trim_right_ratio (causal configs only; default 1.0)")
    parser.add_argument("--clip-seconds", type=float, default=10.0,
                        help="clip length for the edge/padding analysis (default 10 s)")
    parser.add_argument("--plot", metavar="DIR", help="write two PNGs per config here (needs matplotlib)")
    return parser


def _default_configs() -> list[Path]:
    for directory in (REPOSITORY_CONFIGS, Path.cwd() / "configs"):
        found = sorted(directory.glob("*.yaml"))
        if found:
            return found
    raise UsageError("no configs found in ./configs; pass --config PATH")


def _check_clip(clip_seconds: float, config) -> None:
    """The edge analysis needs a clip at least one receptive field long (local layers)."""
    from .formula import formula_receptive_field

    local = formula_receptive_field(config).receptive_field
    width = local.left.samples + 1 + local.right.samples
    clip_samples = round(clip_seconds * config.sample_rate)
    if clip_samples < width:
        raise UsageError(f"--clip-seconds {clip_seconds:g} gives {clip_samples} samples for {config.name}, shorter than "
                         f"its receptive field ({width} samples); use at least {width / config.sample_rate:.3f} s")


def run(argv: Optional[Sequence[str]] = None) -> int:
    arguments = build_parser().parse_args(argv)
    from .config import load_config
    from .device import resolve_device, resolve_dtype

    device = resolve_device(arguments.device)
    dtype = resolve_dtype(arguments.dtype)
    if (arguments.module or arguments.checkpoint or arguments.hf_config) and not arguments.config:
        paths: list[Path] = []
    else:
        paths = [Path(p) for p in arguments.config] if arguments.config else _default_configs()
    configs = [(load_config(path), path) for path in paths]  # all validated before any work
    from .audiocraft_config import load_checkpoint

    checkpoints = [(load_checkpoint(path), Path(path)) for path in arguments.checkpoint or []]
    from .hf_encodec import load_hf_config

    hf_configs = [(load_hf_config(path), Path(path)) for path in arguments.hf_config or []]
    from .audiocraft_source import load_audiocraft

    source = load_audiocraft()
    from .report import (config_report, context_report, decoder_text, summary_table, verification_json,
                         write_json_atomically)
    from .verify import verify_config

    if arguments.plot:
        from .plots import require_matplotlib

        require_matplotlib()
    for config, path in configs + [(c.audiocraft.config, p) for c, p in checkpoints]:
        _check_clip(arguments.clip_seconds, config)
        if arguments.decoder and arguments.trim_right_ratio != 1.0 and not config.causal:
            raise UsageError(f"--trim-right-ratio {arguments.trim_right_ratio:g}: {config.name} is not causal and "
                             "audiocraft allows trim_right_ratio != 1 only for causal decoders")
    if not 0.0 <= arguments.trim_right_ratio <= 1.0:
        raise UsageError(f"--trim-right-ratio {arguments.trim_right_ratio:g}: must lie in [0, 1]")
    if arguments.json:
        json_path = Path(arguments.json)
        if not json_path.parent.is_dir():
            raise UsageError(f"--json {json_path}: directory {json_path.parent} does not exist; create it first")
    print(f"rfprobe: audiocraft {source.version}, seanet.py sha256 {source.seanet_sha256[:16]}, "
          f"loaded by: {source.how_loaded}")
    from .context import context_map

    verifications, contexts, decoders, decoder_failures = [], [], [], []
    jobs = [(config, path, None) for config, path in configs]
    jobs += [(checkpoint.audiocraft.config, path, checkpoint.encoder_state) for checkpoint, path in checkpoints]
    for config, path, weights in jobs:
        verification = verify_config(config, str(path), device, dtype, (arguments.seed, arguments.seed + 1),
                                     encoder_state=weights)
        context = context_map(verification, arguments.clip_seconds, device, dtype)
        verifications.append(verification)
        contexts.append(context)
        if arguments.plot:
            from .plots import write_plots

            write_plots(verification, context, Path(arguments.plot))
        decoder = None
        decoders.append(None)
        if arguments.decoder:
            from .decoder import decoder_report

            decoder = decoders[-1] = decoder_report(config, arguments.trim_right_ratio, device, dtype)
            if not decoder.agrees:
                decoder_failures.append(config.name)
        if not arguments.quiet:
            print()
            print(config_report(verification))
            print()
            print(context_report(verification, context))
            if decoder is not None:
                print()
                print(decoder_text(decoder, config.sample_rate, arguments.trim_right_ratio))
        else:
            for reason in verification.verdict.reasons():
                print(f"{config.name}: FAIL: {reason}")
    if arguments.module:
        from .module_probe import load_factory, probe_module

        for spec in arguments.module:
            verification = probe_module(load_factory(spec), channels=arguments.channels, hop_samples=arguments.hop,
                                        name=spec, device=device, dtype=dtype,
                                        seeds=(arguments.seed, arguments.seed + 1))
            verifications.append(verification)
            contexts.append(None)
            decoders.append(None)
            if not arguments.quiet:
                print()
                print(config_report(verification))
            else:
                for reason in verification.verdict.reasons():
                    print(f"{spec}: FAIL: {reason}")
    cross_checks = []
    for hf_config, path in hf_configs:
        from .hf_encodec import cross_check

        check = cross_check(hf_config, path.stem, device=device, dtype=dtype)
        cross_checks.append(check)
        verifications += [check.transformers, check.audiocraft]
        contexts += [None, None]
        decoders += [None, None]
        if not arguments.quiet:
            print()
            print(config_report(check.transformers))
        print()
        print(f"transformers vs audiocraft, {path.stem}: " + (
            f"identical (RF, left, right, hop, and supports of frames {list(check.edge_frames)} "
            f"of a {check.length_samples}-sample input)" if check.identical else
            "DIFFERENT: " + "; ".join(check.differences)))
    print()
    print(summary_table(verifications))
    if arguments.json:
        write_json_atomically(Path(arguments.json), {
            "provenance": source.provenance(),
            "configs": [verification_json(v, c, d) for v, c, d in zip(verifications, contexts, decoders)]})
    failed = [v.name for v in verifications if not v.verdict.passed]
    failed += [f"{c.transformers.name} vs audiocraft" for c in cross_checks if not c.identical]
    failed += [f"{name} decoder" for name in decoder_failures]
    mismatched = [v.name for v in verifications if v.claims is not None and not v.claims.all_match]
    print()
    print(f"verdict: {len(verifications) - len(failed)} PASS, {len(failed)} FAIL"
          + (f"; claims mismatching in {', '.join(mismatched)}" if mismatched else ""))
    if failed:
        return 1
    if mismatched and arguments.strict_claims:
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return run(argv)
    except UsageError as error:
        print(f"rfprobe: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
