"""Every --json report validates against the shipped JSON Schema (schema version 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CONFIG_DIR
from rfprobe.frontends.cli import main
from rfprobe.output.report_json import SCHEMA_VERSION, load_schema

jsonschema = pytest.importorskip("jsonschema", reason='jsonschema is in the test extra: pip install -e ".[test]"')
TESTS = Path(__file__).resolve().parent


def report_of(arguments: list[str], tmp_path: Path) -> dict:
    out = tmp_path / "report.json"
    assert main([*arguments, "--quiet", "--json", str(out)]) in (0, 1)
    return json.loads(out.read_text(encoding="utf-8"))


def assert_valid(report: dict) -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    errors = [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator.iter_errors(report)]
    assert not errors, "\n".join(errors[:10])


def test_the_schema_is_itself_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert load_schema()["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_a_report_with_an_lstm_claims_and_the_decoder_validates(tmp_path):
    report = report_of(
        [
            "--config",
            str(CONFIG_DIR / "encodec_24khz_causal.yaml"),
            "--config",
            str(CONFIG_DIR / "seanet_s320_32khz_conv.yaml"),
            "--decoder",
        ],
        tmp_path,
    )
    assert_valid(report)
    lstm = report["configs"]["encodec_24khz_causal"]["receptive_field"]
    assert lstm["left_unbounded"] and lstm["left_samples"] is None and lstm["unbounded"]
    checks = report["configs"]["seanet_s320_32khz_conv"]["claims"]["checks"]
    assert all(isinstance(check["claimed"], (int, float)) for check in checks)


def test_a_module_report_validates(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    report = report_of(["--module", "modules:WideSideBranch"], tmp_path)
    assert_valid(report)
    assert set(report["configs"]["modules:WideSideBranch"]["methods"]) == {"module_walk", "gradient", "impulse"}


def test_a_string_where_a_number_belongs_is_rejected_by_the_schema(tmp_path):
    report = report_of(["--config", str(CONFIG_DIR / "seanet_s320_32khz_conv.yaml")], tmp_path)
    report["configs"]["seanet_s320_32khz_conv"]["claims"]["checks"][0]["claimed"] = "4017"
    with pytest.raises(AssertionError, match="configs/seanet_s320_32khz_conv/claims"):
        assert_valid(report)
