"""The codec zoo: every family runs at tiny width, tiny equals full width, cross-checks can fail,
and the README's zoo table is what the tool prints."""
from __future__ import annotations

from pathlib import Path

import pytest

from rfprobe.cli import main
from rfprobe.probes.empirical import plan_window
from rfprobe.families import ZOO, find
from rfprobe.zoo import (CROSS_CHECKS, PASS, UNAVAILABLE, ZooRow, cross_checks, edge_length, run_row,
                         table_cells)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")

# One tiny model per family (the cheapest that shows the family's temporal structure); the
# rest of the zoo runs under the `slow` marker and in `python scripts/zoo.py --tiny`.
REPRESENTATIVES = {
    "EnCodec": "encodec_24khz", "DAC": "dac_24khz", "Mimi": "mimi_seanet", "WavTokenizer": "wavtokenizer",
    "X-codec": "xcodec_acoustic", "X-codec 2": "xcodec2_acoustic", "NeuCodec": "neucodec_acoustic",
    "SNAC": "snac_init_defaults", "PocketTTS": "pocket_tts_seanet",
}
# Families whose tiny row takes tens of seconds today (DAC-like encoders with anti-aliased
# activations; probes grow their window blindly without an analytic guess): `slow` for now.
SLOW_FAMILIES = {"X-codec", "X-codec 2", "NeuCodec", "SNAC"}
FAMILY_PARAMETERS = [pytest.param(family, marks=pytest.mark.slow) if family in SLOW_FAMILIES else family
                     for family in sorted(REPRESENTATIVES)]
_ROWS: dict[tuple[str, bool], ZooRow] = {}


def zoo_row(name: str, tiny: bool = True) -> ZooRow:
    """run_row once per session and width (it builds and probes the real module)."""
    if (name, tiny) not in _ROWS:
        _ROWS[(name, tiny)] = run_row(find(name), tiny)
    return _ROWS[(name, tiny)]


def test_every_family_has_a_representative():
    assert set(REPRESENTATIVES) == {model.family for model in ZOO}


@pytest.mark.parametrize("family", FAMILY_PARAMETERS)
def test_family_runs_at_tiny_width_and_its_methods_agree(family):
    row = zoo_row(REPRESENTATIVES[family])
    if row.verdict == UNAVAILABLE:
        pytest.skip(row.reason)
    assert row.verdict == PASS, row.reason
    assert row.methods_agreeing == row.methods_run >= 2
    assert row.hop_samples and (row.left_samples is not None or row.left_unbounded)


@pytest.mark.slow
@pytest.mark.parametrize("name", [model.name for model in ZOO if model.name not in REPRESENTATIVES.values()])
def test_every_zoo_model_runs_at_tiny_width(name):
    row = zoo_row(name)
    assert row.verdict in (PASS, UNAVAILABLE) or row.reason, "a row that does not pass must say why"


def _extents(row: ZooRow) -> tuple:
    return (row.left_samples, row.left_unbounded, row.right_samples, row.right_unbounded, row.hop_samples,
            row.global_in_time)


def test_tiny_and_full_width_give_the_same_receptive_field_for_a_conv_family():
    assert _extents(zoo_row("mimi_seanet")) == _extents(zoo_row("mimi_seanet", tiny=False))


@pytest.mark.slow  # SNAC's local attention: ~40 s tiny, minutes at full width on this machine
def test_tiny_and_full_width_give_the_same_receptive_field_for_a_conv_attention_family():
    assert zoo_row("snac_init_defaults").verdict == PASS
    assert _extents(zoo_row("snac_init_defaults")) == _extents(zoo_row("snac_init_defaults", tiny=False))


def _row(name: str, **values) -> ZooRow:
    base = dict(name=name, family="f", source="s", kind="conv", width="tiny", sample_rate=16000, hop_samples=320,
                left_samples=10, right_samples=20, verdict=PASS,
                edge_supports={"length_samples": 6400, "frames_total": 20, "supports": {"0": [[0, 30]]}})
    return ZooRow(**{**base, **values})


def test_cross_check_of_identical_rows_says_identical():
    theirs, original = CROSS_CHECKS[0]
    (check,) = cross_checks([_row(theirs), _row(original)])
    assert not check.differences and "identical" in check.describe()


def test_cross_check_reports_a_different_edge_support_with_both_values():
    theirs, original = CROSS_CHECKS[0]
    other = _row(original, edge_supports={"length_samples": 6400, "frames_total": 20, "supports": {"0": [[0, 31]]}})
    (check,) = cross_checks([_row(theirs), other])
    assert check.differences == (f"frame 0 of a 6400-sample clip: {theirs} reads [[0, 30]], {original} reads "
                                 "[[0, 31]]",)


def test_cross_check_reports_a_different_left_extent():
    theirs, original = CROSS_CHECKS[0]
    (check,) = cross_checks([_row(theirs), _row(original, left_samples=11)])
    assert check.differences == (f"left_samples: {theirs} 10, {original} 11",)


def test_cross_check_length_follows_both_implementations_length_rule():
    assert edge_length(find("mimi"), 1920) % find("mimi_moshi").length_multiple == 0


def test_probe_window_length_is_rounded_up_to_the_length_multiple():
    window = plan_window(3320, 959, 960, length_multiple=1920)
    assert window.length_samples % 1920 == 0
    assert window.length_samples >= plan_window(3320, 959, 960).length_samples


def test_zoo_with_an_unknown_model_exits_2_with_one_line(capsys):
    assert main(["zoo", "--only", "no_such_codec"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no_such_codec" in error and "dac_16khz" in error


def _readme_rows() -> dict[str, list[str]]:
    block = README.split("<!-- rfprobe:zoo:start -->")[1].split("<!-- rfprobe:zoo:end -->")[0]
    table = block.split("```")[1].strip().splitlines()
    header = table[0]
    starts = sorted({header.index(cell.strip()) for cell in header.split("  ") if cell.strip()})
    rows = {}
    for line in table[2:]:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [len(line) + 1])]
        rows[cells[0]] = cells
    return rows


def test_readme_zoo_table_lists_every_zoo_model():
    assert list(_readme_rows()) == [model.name for model in ZOO], "run python scripts/zoo.py --tiny --readme"


@pytest.mark.parametrize("family", FAMILY_PARAMETERS)
def test_readme_zoo_row_is_what_the_tool_measures(family):
    row = zoo_row(REPRESENTATIVES[family])
    cells = table_cells(row)
    assert _readme_rows()[row.name][:len(cells)] == cells, "run python scripts/zoo.py --tiny --readme"
