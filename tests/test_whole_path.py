"""The whole path a user runs (command line, answer, JSON, plots), fuzzed: PASS with the
formula's numbers or a named refusal, never an internal error; and the checker can fail."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from rfprobe.core.call import Output
from rfprobe.core.readers import Same
from rfprobe.core.registry import replaced_rule
from rfprobe.families.seanet.config_files import load_config
from rfprobe.frontends import whole_path
from rfprobe.runs.fuzzing import PAD_MODES, architectures, stack_specs

SMALL = Path(__file__).parent.parent / "configs" / "seanet_s320_32khz_conv.yaml"
FUZZ = settings(
    max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
NAMES = (f"fuzzed_model_{index}" for index in itertools.count())


@pytest.mark.slow
@FUZZ
@given(config=architectures(pad_modes=PAD_MODES))
def test_random_seanet_configs_pass_with_the_formulas_numbers_or_are_refused_by_name(config, tmp_path_factory):
    assert whole_path.config_problems(config, tmp_path_factory.mktemp("config")) == []


@pytest.mark.slow
@FUZZ
@given(specs=stack_specs())
def test_random_operator_graphs_through_module_pass_or_are_refused_by_name(specs, tmp_path_factory):
    assert whole_path.module_problems(specs, tmp_path_factory.mktemp("module"), next(NAMES)) == []


def test_a_shipped_config_runs_the_whole_path_cleanly(tmp_path):
    assert whole_path.config_problems(load_config(SMALL), tmp_path) == []


def test_the_checker_catches_an_internal_error(tmp_path):
    with replaced_rule("convolution", lambda call: 1 / 0):
        problems = whole_path.config_problems(load_config(SMALL), tmp_path)
    assert problems and problems[0].startswith("internal error (exit 3)")


def test_the_checker_catches_methods_that_disagree_on_a_module(tmp_path):
    def upsampling_ignored(call):
        _, info = call.tracked_args()[0]
        return [Output(info.time_dim, call.outputs[0].shape[-1], [(info.node, Same(info.length))])]

    specs = [{"kind": "upsample then stride", "kernel": 4}]
    with replaced_rule("upsample_nearest1d", upsampling_ignored):
        problems = whole_path.module_problems(specs, tmp_path, next(NAMES))
    assert problems and "disagree" in problems[0]


def test_the_checker_catches_numbers_that_differ_from_the_formula(tmp_path, monkeypatch):
    import dataclasses

    from rfprobe.families.seanet import formula

    real = formula.formula_receptive_field

    def one_sample_short(config):
        result = real(config)
        field = result.receptive_field
        return dataclasses.replace(
            result,
            receptive_field=dataclasses.replace(
                field, left=dataclasses.replace(field.left, samples=field.left.samples - 1)
            ),
        )

    monkeypatch.setattr(whole_path, "formula_receptive_field", one_sample_short)
    problems = whole_path.config_problems(load_config(SMALL), tmp_path)
    assert problems and "the formula" in problems[0]
