"""The README and docs/ tell the truth: their numbers come from the tool, the test command is CI's."""

from __future__ import annotations

import re

import pytest
from pathlib import Path

from conftest import SHIPPED, verified
from rfprobe.arithmetic.geometry import format_ms
from rfprobe.output.report import summary_table

REPOSITORY = Path(__file__).resolve().parent.parent
README = (REPOSITORY / "README.md").read_text(encoding="utf-8")
DOCS = REPOSITORY / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


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


@pytest.mark.fast
def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.MULTILINE)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (REPOSITORY / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


@pytest.mark.fast
def test_the_readme_is_a_front_page_of_at_most_150_lines():
    assert len(README.splitlines()) <= 150


@pytest.mark.fast
def test_every_local_link_of_the_readme_and_the_docs_exists():
    import re as regex

    for page in [REPOSITORY / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in regex.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            resolved = (page.parent / target).resolve()
            assert resolved.exists(), f"{page.name} links to {target}, which does not exist"
            assert REPOSITORY in resolved.parents, f"{page.name} links outside the repository: {target}"


def test_readme_lookahead_numbers_for_musicgen_are_the_measured_ones():
    from rfprobe.arithmetic.lookahead import lookahead_of

    lookahead = lookahead_of(verified("musicgen_32khz").truth)
    assert (
        f"needs {lookahead.after_anchor.samples} samples after the anchor, "
        f"{lookahead.after_hop_end_samples} after its hop"
    ) in _page("context_map.md")


def test_readme_pytest_example_runs_as_written_without_warnings(tmp_path):
    """The README's downstream example, verbatim, is a real, passing test that prints no warning."""
    import subprocess
    import sys

    block = _page("python_api.md").split("```python\n")[1].split("```")[0]
    assert block.startswith("# tests/test_tokenizer_receptive_field.py\n")
    example = tmp_path / "test_example.py"
    example.write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "warning" not in result.stdout.lower(), result.stdout[-2000:]


@pytest.mark.fast
def test_the_two_readme_commands_install_the_same_way():
    """Run one after the other, the second installs nothing new: pip has no resolver error to print."""
    commands = re.findall(r"^python3 -m venv .*$", README, flags=re.MULTILINE)
    installs = {command.rsplit(" && ", 1)[0] for command in commands}
    assert len(commands) == 2 and len(installs) == 1
    assert "pip install --no-deps audiocraft==1.3.0" in next(iter(installs)).rsplit(" && ", 1)[1]


@pytest.mark.fast
def test_the_readme_points_nowhere_outside_the_repository():
    for path in [REPOSITORY / "README.md", *sorted((REPOSITORY / "configs").rglob("*.yaml"))]:
        assert "../" not in path.read_text(encoding="utf-8"), path


def _update_docs():
    import sys

    sys.path.insert(0, str(REPOSITORY / "scripts"))
    import update_docs

    return update_docs


def _codec_use_block(name: str) -> str:
    page = _page("codec_use.md")
    return page.split(f"<!-- rfprobe:{name}:start -->")[1].split(f"<!-- rfprobe:{name}:end -->")[0]


CODEC_USE_BLOCKS = [
    "codec-use",
    "codec-helpers",
    "codec-lengths",
    "codec-quantizers",
    "codec-streaming",
    "codec-mimi-decoder",
    "codec-price",
]


@pytest.mark.fast
@pytest.mark.parametrize("block", CODEC_USE_BLOCKS)
def test_the_codec_use_page_is_rendered_from_its_data(block):
    update_docs = _update_docs()
    render = {
        "codec-use": update_docs.codec_use_block,
        "codec-helpers": update_docs.codec_helpers_block,
        "codec-lengths": update_docs.codec_lengths_block,
        "codec-quantizers": update_docs.codec_quantizers_block,
        "codec-streaming": update_docs.codec_streaming_block,
        "codec-mimi-decoder": update_docs.codec_mimi_decoder_block,
        "codec-price": update_docs.codec_price_block,
    }
    shown = _codec_use_block(block)
    assert shown.strip() == render[block]().strip(), "run python scripts/update_docs.py --no-run"
    assert shown.strip(), "no data: run python scripts/update_docs.py --helpers"


@pytest.mark.fast
def test_every_codec_helper_run_is_on_the_page():
    update_docs = _update_docs()
    data = update_docs._read_json(update_docs.CODEC_DATA)
    assert len(data["helpers"]) == len(update_docs.HELPER_RUNS)
    assert data["decode_helpers"], "DAC's decompress is compared too"
    shown = _codec_use_block("codec-helpers").count("\n* `")
    assert shown == len(data["helpers"]) + len(data["decode_helpers"])
