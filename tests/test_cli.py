"""The command line: exit codes, one-line errors, JSON output, nothing half-written."""

from __future__ import annotations

import json
import platform
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import CONFIG_DIR
from rfprobe.families.seanet import source as audiocraft_source
from rfprobe.frontends.cli import main

SMALL = str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml")
REPOSITORY = Path(__file__).resolve().parent.parent


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_a_passing_config_exits_zero_and_writes_every_number_to_json(tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["--config", SMALL, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "PASS, 4/4 methods agree" in printed and "model.0" not in printed  # tables only with --verbose
    record = json.loads(out.read_text())
    config = record["configs"]["encodec_24khz_causal_conv"]
    assert config["verdict"]["passed"]
    fields = [config["methods"][m]["receptive_field"] for m in ("formula", "module_walk", "gradient", "impulse")]
    assert all(f == fields[0] for f in fields[1:])
    assert record["audiocraft"]["seanet_sha256"]
    assert config["provenance"]["audiocraft_version"]


def test_a_run_writes_each_steps_seconds_where_rfprobe_timings_names_a_file(tmp_path, monkeypatch, capsys):
    from rfprobe.runs import timings

    path = tmp_path / "timings.json"
    monkeypatch.setenv(timings.ENVIRONMENT_VARIABLE, str(path))
    assert main(["--config", SMALL, "--quiet"]) == 0
    record = json.loads(path.read_text())
    assert {"verification", "edges", "effective RF", "output"} <= set(record["steps"])
    assert all(seconds > 0 for seconds in record["steps"].values())
    assert record["main_started_unix_s"] <= record["finished_unix_s"]
    assert record["finished_unix_s"] - record["main_started_unix_s"] >= sum(record["steps"].values())


def test_without_rfprobe_timings_nothing_is_opened_for_writing(monkeypatch):
    import builtins

    from rfprobe.runs import timings

    def no_open(*args, **kwargs):
        raise AssertionError(f"opened {args[:1]}")

    monkeypatch.delenv(timings.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(builtins, "open", no_open)
    timings.write_if_asked(0.0)


def test_an_unwritable_timings_path_is_a_warning_and_keeps_the_runs_exit_code(tmp_path, monkeypatch, capsys):
    from rfprobe.runs import timings

    monkeypatch.setenv(timings.ENVIRONMENT_VARIABLE, str(tmp_path / "missing" / "timings.json"))
    assert main(["--config", SMALL, "--quiet"]) == 0
    assert "cannot write the timings" in capsys.readouterr().err


def test_verbose_adds_the_layer_table_and_the_edge_frames(capsys):
    assert main(["--config", SMALL, "--verbose"]) == 0
    printed = capsys.readouterr().out
    assert "model.0" in printed and "input samples it reads" in printed


def test_the_answer_leads_and_names_how_audiocraft_was_loaded_calmly(capsys):
    assert main(["--config", SMALL]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rfprobe ") and ", cpu, float64;" in lines[0] and "audiocraft" in lines[0]
    assert "failed" not in lines[0] and "Error" not in lines[0]
    answer = next(i for i, line in enumerate(lines) if line.startswith("encodec_24khz_causal_conv"))
    assert lines[answer + 1].split()[0] == "RF" and "samples" in lines[answer + 1]


def test_the_default_output_fits_a_terminal_width_and_points_to_verbose_once(capsys):
    from rfprobe.output.answer import LINE_WIDTH, VERBOSE_HINT

    assert main(["--config", SMALL, "--config", str(CONFIG_DIR / "musicgen_32khz_conv.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= LINE_WIDTH, max(lines, key=len)
    assert lines.count(VERBOSE_HINT) == 1


def test_a_long_answer_line_is_folded_under_its_label():
    from rfprobe.output.answer import wrapped

    line = "  effective  " + " ".join(["word"] * 40)
    folded = wrapped(line, width=60).splitlines()
    assert len(folded) > 1 and all(len(part) <= 60 for part in folded)
    assert all(part.startswith(" " * 13) and part[13] != " " for part in folded[1:])
    assert wrapped("short", width=60) == "short"


def test_verbose_does_not_point_to_verbose(capsys):
    from rfprobe.output.answer import VERBOSE_HINT

    assert main(["--config", SMALL, "--verbose"]) == 0
    assert VERBOSE_HINT not in capsys.readouterr().out


def test_python_dash_m_rfprobe_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "rfprobe", "--help"], capture_output=True, text=True, timeout=120, cwd=REPOSITORY
    )
    assert result.returncode == 0 and "--verbose" in result.stdout


def test_the_command_exits_with_every_line_and_file_written_and_its_exit_code(tmp_path):
    """The command ends without the interpreter's teardown (cli.exit_process): nothing it
    printed to a pipe or wrote to a file may be lost, and the exit code is main's."""
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "rfprobe", "--config", str(CONFIG_DIR / "seanet_s320_32khz_conv.yaml"), "--quiet"]
        + ["--strict-claims", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPOSITORY,
    )
    assert result.returncode == 1, result.stderr  # its claims mismatch, and --strict-claims makes that exit 1
    assert result.stdout.rstrip().endswith("a claim mismatches, and --strict-claims makes that a failure")
    assert json.loads(out.read_text())["configs"]


def test_quiet_prints_the_summary_without_layer_tables(capsys):
    assert main(["--config", SMALL, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "encodec_24khz_causal_conv" in printed and "model.0" not in printed


def test_disagreeing_methods_exit_one_and_say_fail(monkeypatch, capsys):
    from dataclasses import replace

    from rfprobe.runs import verify
    from rfprobe.arithmetic.geometry import Side

    real = verify.formula_method.formula_receptive_field

    def off_by_one(config):
        result = real(config)
        field = result.receptive_field
        return replace(result, receptive_field=replace(field, left=Side(field.left.samples + 1)))

    monkeypatch.setattr(verify.formula_method, "formula_receptive_field", off_by_one)
    assert main(["--config", SMALL, "--quiet"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_mismatching_claims_are_findings_unless_strict(capsys):
    claimed = str(CONFIG_DIR / "seanet_s320_32khz_conv.yaml")
    assert main(["--config", claimed, "--quiet"]) == 0
    assert "MISMATCH" in capsys.readouterr().out
    assert main(["--config", claimed, "--quiet", "--strict-claims"]) == 1
    assert "exit 1: a claim mismatches, and --strict-claims makes that a failure" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_one_line_error(capsys):
    assert main(["--config", SMALL, "--device", "cuda"]) == 2
    assert "CUDA is not available" in one_line_error(capsys)


def test_unknown_device_is_a_one_line_error(capsys):
    assert main(["--config", SMALL, "--device", "tpu"]) == 2
    assert "unknown device" in one_line_error(capsys)


def test_unknown_dtype_is_a_one_line_error(capsys):
    assert main(["--config", SMALL, "--dtype", "float16"]) == 2
    assert "float64" in one_line_error(capsys)


def test_unknown_option_is_a_one_line_error(capsys):
    assert main(["--frobnicate"]) == 2
    assert "--frobnicate" in one_line_error(capsys)


def test_bad_config_exits_two_and_writes_no_json(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sample_rate: 32000\nratios: []\n")
    out = tmp_path / "report.json"
    assert main(["--config", SMALL, "--config", str(bad), "--json", str(out)]) == 2
    assert "ratios" in one_line_error(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_json_into_a_missing_directory_is_refused_before_any_work(tmp_path, capsys):
    assert main(["--config", SMALL, "--json", str(tmp_path / "nope" / "r.json")]) == 2
    assert "does not exist" in one_line_error(capsys)


def test_missing_audiocraft_names_the_install_command(monkeypatch, capsys):
    real_find_spec = audiocraft_source.importlib.util.find_spec
    monkeypatch.setattr(
        audiocraft_source.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "audiocraft" else real_find_spec(name, *a),
    )
    audiocraft_source.load_audiocraft.cache_clear()
    try:
        assert main(["--config", SMALL]) == 2
    finally:
        audiocraft_source.load_audiocraft.cache_clear()
    assert "pip install --no-deps audiocraft" in one_line_error(capsys)


def test_script_help_runs_without_installing():
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "probe.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "--device" in result.stdout


def test_script_bad_config_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sample_rate: 32000\nkernel_size: -1\n")
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "probe.py"), "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "kernel_size" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"), reason="the setting is glibc's"
)
def test_freed_memory_is_kept_by_glibc():
    from rfprobe.probes.device import keep_freed_memory

    assert keep_freed_memory()  # mallopt accepted both thresholds (a wrong parameter number returns 0)


def test_a_label_longer_than_its_column_is_still_followed_by_a_space():
    from rfprobe.output.answer import INDENT, LABEL_WIDTH, _line

    assert _line("vs audiocraft", "identical") == f"{INDENT}vs audiocraft identical"
    assert _line("left", "2402") == f"{INDENT}{'left':<{LABEL_WIDTH}}2402"  # short labels keep their column


def test_a_reader_closing_the_output_early_is_not_an_internal_error():
    # `python scripts/probe.py | head -3` once head has gone: every write meets a closed pipe.
    # The pipe's read end is closed before the command starts, so its first line already
    # fails, whatever the scheduling.
    script = Path(__file__).resolve().parent.parent / "scripts" / "probe.py"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.Popen(
            [sys.executable, str(script), "--config", SMALL], stdout=write_end, stderr=subprocess.PIPE
        )
    finally:
        os.close(write_end)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 141 and b"internal error" not in error and b"Traceback" not in error, error


def test_a_circular_padded_config_passes_with_its_edges_mapped(tmp_path, capsys):
    """Frame 0 reads the clip's last samples through the wrap (it crashed the context map once)."""
    text = Path(SMALL).read_text(encoding="utf-8").replace("pad_mode: constant", "pad_mode: circular")
    assert "pad_mode: circular" in text
    config = tmp_path / "circular.yaml"
    config.write_text(text.split("claims:")[0], encoding="utf-8")
    assert main(["--config", str(config), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "pad_mode circular" in out and "no context map" not in out
