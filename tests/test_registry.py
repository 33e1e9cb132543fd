"""The rule registry: one key per op, duplicates refused, a broken rule is rfprobe's bug."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rfprobe.core.registry import (
    DuplicateRule,
    RuleError,
    op_key,
    register_rule,
    registered_keys,
    replaced_rule,
    rule_for,
    unregister_rule,
)
from rfprobe.core.rules.elementwise import elementwise
from rfprobe.core.trace import TraceError, trace_module
from rfprobe.core.walk import walk_receptive_field


def _conv() -> nn.Module:
    return nn.Conv1d(1, 1, kernel_size=3, stride=2).double()


@pytest.mark.fast
def test_an_aten_overload_is_keyed_by_its_schema_name_without_namespace_overload_or_in_place_mark():
    assert op_key(torch.ops.aten.convolution.default) == "convolution"
    assert op_key(torch.ops.aten.add_.Tensor) == "add"
    assert op_key(torch.ops.aten.slice.Tensor) == "slice"


@pytest.mark.fast
def test_a_high_level_function_is_keyed_by_its_registration():
    assert op_key(torch.nn.functional.pad) == "pad" and op_key(torch.lstm) == "lstm"


@pytest.mark.fast
def test_registering_a_key_twice_is_refused_and_names_the_first_rule():
    with pytest.raises(DuplicateRule, match="'convolution' is already registered .*convolution in rfprobe.core.rules"):
        register_rule("convolution")(elementwise)


@pytest.mark.fast
def test_shape_only_and_value_to_python_ops_are_declared_at_registration():
    assert rule_for(torch.ops.aten.zeros_like.default).kind == "shape only"
    assert rule_for(torch.ops.aten._local_scalar_dense.default).kind == "value to python"


@pytest.mark.fast
def test_a_pointwise_op_without_an_entry_reads_position_for_position():
    assert "gelu" not in registered_keys()
    assert rule_for(torch.ops.aten.gelu.default).function is elementwise


def test_an_exception_inside_a_rule_is_an_internal_error_naming_the_op_and_the_rule():
    def broken(call):
        raise ZeroDivisionError("a bug in the rule")

    with replaced_rule("convolution", broken), pytest.raises(RuleError) as caught:
        trace_module(_conv(), 1, 64, dtype=torch.float64)
    assert not isinstance(caught.value, TraceError)
    assert "broken" in str(caught.value) and "aten.convolution" in str(caught.value)


def test_a_broken_rule_is_not_retried_as_a_model_failure_by_the_walk():
    calls = []

    def broken(call):
        calls.append(1)
        raise KeyError("oops")

    with replaced_rule("convolution", broken), pytest.raises(RuleError):
        walk_receptive_field(_conv(), channels=1)
    assert len(calls) == 1


def test_a_rule_returning_the_wrong_number_of_outputs_is_refused():
    with (
        replaced_rule("convolution", lambda call: []),
        pytest.raises(RuleError, match="returned 0 outputs for the op's 1"),
    ):
        trace_module(_conv(), 1, 64, dtype=torch.float64)


def test_a_broken_rule_ends_the_command_line_in_an_internal_error(tmp_path, monkeypatch, capsys):
    from rfprobe.frontends.cli import main

    (tmp_path / "user_model.py").write_text(
        "import torch\ndef build():\n    return torch.nn.Conv1d(1, 4, kernel_size=5, stride=2)\n"
    )
    monkeypatch.chdir(tmp_path)
    with replaced_rule("convolution", lambda call: 1 / 0):
        code = main(["--module", "user_model:build", "--quiet"])
    assert code == 3 and "internal error" in capsys.readouterr().err


def test_a_user_rule_for_a_custom_op_is_used_and_can_be_removed():
    library = torch.library.Library("rfprobe_test", "DEF")
    library.define("double(Tensor x) -> Tensor")
    library.impl("double", lambda x: 2 * x, "CompositeExplicitAutograd")

    class Doubled(nn.Module):
        def forward(self, inputs):
            return torch.ops.rfprobe_test.double(nn.functional.avg_pool1d(inputs, 4))

    refused = walk_receptive_field(Doubled(), channels=1)
    assert refused.receptive_field is None and "rfprobe_test.double" in refused.unavailable_reason
    register_rule("double")(elementwise)
    try:
        assert walk_receptive_field(Doubled(), channels=1).receptive_field.samples == 4
    finally:
        unregister_rule("double")
    assert "double" not in registered_keys()
