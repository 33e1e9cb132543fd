"""The whole path a user runs, fuzzed: the command line, its answer, JSON report and plots.

For a random SEANet config (:func:`rfprobe.runs.fuzzing.architectures`, every pad mode, causal
and not, LSTM, GroupNorm over time, ...) the property is: exit 0 with a PASS whose every
method's numbers equal the config formula's; or exit 1 only for the one limit rfprobe names
(circular padding carried by a recurrence); or a refusal in one line with exit 2. For a
random operator graph through ``--module`` (:func:`rfprobe.runs.fuzzing.random_stack`): exit 0
with a PASS, or exit 1 with the walk refusing an op by name (never the methods disagreeing),
or exit 2. Never exit 3, and nothing written outside the chosen outputs.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

import yaml

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.formula import formula_receptive_field
from rfprobe.frontends.cli import main

CONFIG_KEYS = (
    "sample_rate",
    "channels",
    "dimension",
    "n_filters",
    "n_residual_layers",
    "ratios",
    "kernel_size",
    "last_kernel_size",
    "residual_kernel_size",
    "dilation_base",
    "causal",
    "pad_mode",
    "true_skip",
    "compress",
    "lstm",
    "norm",
)


def _run(arguments: list[str]) -> tuple[int, str]:
    """The command line in this process: (exit code, what it wrote to stderr)."""
    error = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(error):
        code = main(arguments)
    return code, error.getvalue().strip()


def _exit_problems(code: int, error: str) -> list[str]:
    if code == 3 or "Traceback" in error:
        return [f"internal error (exit {code}): {error[-300:]}"]
    if code == 2 and (error.count("\n") or not error.startswith("rfprobe: error: ")):
        return [f"a refusal that is not one line: {error[-300:]}"]
    return [] if code in (0, 1, 2) else [f"exit {code}"]


def _outputs_problems(directory: Path, expected: set[str]) -> list[str]:
    written = {path.name for path in directory.iterdir()} - {"input.yaml", "input.py", "__pycache__"}
    return [] if written <= expected else [f"wrote {sorted(written - expected)} beside the chosen outputs"]


def config_problems(config: EncoderConfig, directory: Path) -> list[str]:
    """Everything wrong with running the CLI on `config` (written as YAML into `directory`)."""
    raw = {
        key: (list(value) if isinstance(value, tuple) else value)
        for key, value in asdict(config).items()
        if key in CONFIG_KEYS
    }
    source = directory / "input.yaml"
    source.write_text(yaml.safe_dump(raw), encoding="utf-8")
    report, plots = directory / "report.json", directory / "plots"
    code, error = _run(["--config", str(source), "--json", str(report), "--plot", str(plots), "--quiet"])
    problems = _exit_problems(code, error) + _outputs_problems(directory, {"report.json", "plots"})
    if code == 2 or problems:
        return problems
    (subject,) = json.loads(report.read_text(encoding="utf-8"))["configs"].values()
    if code == 1:
        named = config.pad_mode == "circular" and config.lstm
        return [] if named else [f"FAIL: {subject['verdict']['reasons']}"]
    formula = formula_receptive_field(config).receptive_field
    for method, result in subject["methods"].items():
        field = result["receptive_field"]
        seen = (
            field["left_samples"],
            field["left_unbounded"],
            field["right_samples"],
            field["right_unbounded"],
            field["hop_samples"],
        )
        expected = (
            None if formula.left.unbounded else formula.left.samples,
            formula.left.unbounded,
            None if formula.right.unbounded else formula.right.samples,
            formula.right.unbounded,
            formula.hop_samples,
        )
        if seen != expected:
            problems.append(f"{method} gives (left, unbounded, right, unbounded, hop) {seen}, the formula {expected}")
    if not any(plots.iterdir()):
        problems.append("no plot written")
    return problems


def module_problems(specs: list[dict], directory: Path, name: str) -> list[str]:
    """Everything wrong with running the CLI's ``--module`` on :func:`random_stack` of `specs`."""
    (directory / f"{name}.py").write_text(
        f"from rfprobe.runs.fuzzing import random_stack\n\n\ndef build():\n    return random_stack({specs!r})\n",
        encoding="utf-8",
    )
    report = directory / "report.json"
    sys.path.insert(0, str(directory))
    try:
        with _chdir(directory):  # the CLI imports --module code with the current directory first on sys.path
            code, error = _run(["--module", f"{name}:build", "--json", str(report), "--quiet"])
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop(name, None)
    problems = _exit_problems(code, error) + _outputs_problems(directory, {"report.json", f"{name}.py"})
    if code != 1 or problems:
        return problems
    (subject,) = json.loads(report.read_text(encoding="utf-8"))["configs"].values()
    walk = subject["methods"].get("module walk", {})
    if walk.get("ran", True):
        return [f"the methods disagree on {specs}: {subject['verdict']['reasons']}"]
    return []


@contextlib.contextmanager
def _chdir(directory: Path) -> Iterator[None]:  # contextlib.chdir is Python 3.11+
    import os

    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)
