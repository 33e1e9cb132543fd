"""The README tells the truth: its numbers come from the tool, its test command is CI's."""
from __future__ import annotations

import re
from pathlib import Path

from conftest import SHIPPED, verified
from rfprobe.geometry import format_ms
from rfprobe.report import summary_table

REPOSITORY = Path(__file__).resolve().parent.parent
README = (REPOSITORY / "README.md").read_text(encoding="utf-8")


def test_readme_table_is_what_the_tool_prints():
    block = README.split("<!-- rfprobe:summary:start -->")[1].split("<!-- rfprobe:summary:end -->")[0]
    table = block.strip().strip("`").strip()
    assert table == summary_table([verified(name) for name in SHIPPED]), "run python scripts/update_readme.py"


def test_readme_prose_numbers_for_musicgen_are_the_measured_ones():
    twin = verified("musicgen_32khz_conv").truth
    full = verified("musicgen_32khz").truth
    rate = 32000
    assert f"**{twin.samples} samples ({format_ms(twin.samples, rate)} ms)**" in README
    assert f"{twin.left.samples} samples before" in README and f"{twin.right.samples} after" in README
    assert f"({full.right.samples} samples, {format_ms(full.right.samples, rate)} ms)" in README


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.MULTILINE)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPOSITORY / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_lookahead_numbers_for_musicgen_are_the_measured_ones():
    from rfprobe.lookahead import lookahead_of

    lookahead = lookahead_of(verified("musicgen_32khz").truth)
    assert (f"needs {lookahead.after_anchor.samples} samples after the anchor, "
            f"{lookahead.after_hop_end_samples} after its hop") in README


def test_readme_pytest_example_runs(tmp_path):
    """The README's downstream example is a real, passing test."""
    import subprocess
    import sys

    code = README.split("# tests/test_tokenizer_receptive_field.py\n")[1].split("```")[0]
    example = tmp_path / "test_example.py"
    example.write_text("from rfprobe.audiocraft_source import load_audiocraft\n"
                       "SEANetEncoder = load_audiocraft().seanet.SEANetEncoder\n"
                       + code.replace("from audiocraft.modules.seanet import SEANetEncoder\n", ""))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
