"""Check many random SEANet architectures; print how many were checked and how many disagreed.

    python scripts/fuzz.py [--examples N] [--seed S] [--whole-path]

Each architecture runs the full verification (formula, module walk, gradient, impulse), the
unboundedness property, and the edge-frame supports at a random input length; see
rfprobe/runs/fuzzing.py.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402

from rfprobe.runs.fuzzing import architectures_and_lengths, check_architecture  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--whole-path",
        action="store_true",
        help="fuzz the whole command line (answer, JSON, plots) on random configs and random "
        "--module operator graphs instead (rfprobe/frontends/whole_path.py)",
    )
    parser.add_argument(
        "--readme", action="store_true", help="write the figure into docs/proof_and_speed.md's fuzz block"
    )
    arguments = parser.parse_args()
    if arguments.whole_path:
        return whole_path(arguments)
    checked, failures = [], []

    @hypothesis_seed(arguments.seed)
    @settings(
        max_examples=arguments.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )
    @given(architectures_and_lengths())
    def run(case):
        config, length = case
        check = check_architecture(config, length)
        checked.append(config)
        if check.problems:
            failures.append(check)

    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    for failure in failures:
        print(f"DISAGREE {failure.config}: {'; '.join(failure.problems)}")
    unbounded = sum(1 for c in checked if c.lstm or c.norm == "time_group_norm")
    figure = (
        f"architectures checked: {len(checked)} ({unbounded} with an LSTM or GroupNorm over time), "
        f"disagreements: {len(failures)}, {elapsed:.0f} s"
    )
    print(figure)
    if arguments.readme:
        from update_docs import SPEED_PAGE, replace_block

        replace_block(
            SPEED_PAGE,
            "fuzz",
            f"`python scripts/fuzz.py --examples {arguments.examples} --seed {arguments.seed}`: {figure}.",
        )
    return 1 if failures else 0


def whole_path(arguments: argparse.Namespace) -> int:
    """`--whole-path`: half the examples random SEANet configs, half random operator graphs."""
    import tempfile

    from rfprobe.frontends.whole_path import config_problems, module_problems
    from rfprobe.runs.fuzzing import PAD_MODES, architectures, stack_specs

    counts = {"configs": 0, "modules": 0}
    failures: list[str] = []
    each = settings(
        max_examples=max(arguments.examples // 2, 1),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )

    @hypothesis_seed(arguments.seed)
    @each
    @given(architectures(pad_modes=PAD_MODES))
    def run_configs(config):
        counts["configs"] += 1
        failures.extend(f"config {config}: {problem}" for problem in config_problems(config, Path(tempfile.mkdtemp())))

    @hypothesis_seed(arguments.seed)
    @each
    @given(stack_specs())
    def run_modules(specs):
        counts["modules"] += 1
        name = f"fuzzed_model_{counts['modules']}"
        failures.extend(
            f"module {specs}: {problem}" for problem in module_problems(specs, Path(tempfile.mkdtemp()), name)
        )

    started = time.perf_counter()
    run_configs()
    run_modules()
    for failure in failures:
        print(failure)
    figure = (
        f"whole path: {counts['configs']} random configs and {counts['modules']} random operator graphs "
        f"through --module, {len(failures)} problems (internal errors, disagreements, numbers other than "
        f"the formula's), {time.perf_counter() - started:.0f} s"
    )
    print(figure)
    if arguments.readme:
        from update_docs import SPEED_PAGE, replace_block

        replace_block(
            SPEED_PAGE,
            "fuzz-whole-path",
            f"`python scripts/fuzz.py --whole-path --examples {arguments.examples} --seed {arguments.seed}`: {figure}.",
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
