"""The codec zoo: every family runs at tiny width, tiny equals full width, cross-checks can fail,
and the docs' zoo tables are what the tool measures (docs/data/zoo_tiny.json)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import shared_once

from rfprobe.frontends.cli import main
from rfprobe.probes.empirical import plan_window
from rfprobe.families import ZOO, find
from rfprobe.output.zoo_table import table_cells
from rfprobe.runs.zoo import CROSS_CHECKS, PASS, UNAVAILABLE, ZooRow, cross_checks, edge_length, run_row

REPOSITORY = Path(__file__).resolve().parent.parent
ZOO_DATA = REPOSITORY / "docs" / "data" / "zoo_tiny.json"
sys.path.insert(0, str(REPOSITORY / "scripts"))

# One tiny model per family (the cheapest that shows the family's temporal structure), all in
# the fast tier; the rest of the zoo runs under the `slow` marker and in `python scripts/zoo.py --tiny`.
REPRESENTATIVES = {
    "EnCodec": "encodec_24khz",
    "DAC": "dac_24khz",
    "Mimi": "mimi_seanet",
    "WavTokenizer": "wavtokenizer",
    "X-codec": "xcodec_acoustic",
    "X-codec 2": "xcodec2_acoustic",
    "NeuCodec": "neucodec_acoustic",
    "SNAC": "snac_24khz",
    "PocketTTS": "pocket_tts_seanet",
}
FAMILY_PARAMETERS = sorted(REPRESENTATIVES)
# Semantic branches: global in time (self-attention over the whole input), each its own row.
SEMANTIC = {"X-codec": "xcodec_semantic", "X-codec 2": "xcodec2_semantic", "NeuCodec": "neucodec_semantic"}


# Rows that do not PASS, each for the one reason named (none today: SNAC's fixed windows of
# frames, where what a frame reads depends on its place in the window, PASS per position).
EXPECTED_NOT_TO_PASS: dict[str, str] = {}


def zoo_row(name: str, tiny: bool = True) -> ZooRow:
    """run_row once per test run and width (it builds and probes the real module)."""
    return shared_once(f"zoo-{name}-{'tiny' if tiny else 'full'}", lambda: run_row(find(name), tiny))


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


@pytest.mark.parametrize(
    # NeuCodec's semantic branch is built by X-codec 2's code (rfprobe/families/xcodec2.py):
    # the default tier runs it once, the slow tier both.
    "family",
    [pytest.param(family, marks=pytest.mark.slow) if family == "NeuCodec" else family for family in sorted(SEMANTIC)],
)
def test_semantic_branch_is_its_own_row_global_with_its_proof(family):
    row = zoo_row(SEMANTIC[family])
    if row.verdict == UNAVAILABLE:
        pytest.skip(row.reason)
    assert row.verdict == PASS, row.reason
    assert row.global_in_time and row.left_unbounded and row.right_unbounded
    assert row.left_samples is None and row.right_samples is None
    # The core found the global op; both probes saw the support reach both ends, growing.
    walk = row.proof.split("; ")[0]
    assert walk.startswith("module walk: ") and "attention" in walk, row.proof
    for method in ("gradient", "impulse"):
        assert (
            f"{method}: support reached the input's end" in row.proof and "past" in row.proof and "future" in row.proof
        ), row.proof


def test_acoustic_rows_keep_their_finite_extents_beside_a_global_semantic_row():
    for family, semantic in SEMANTIC.items():
        acoustic = zoo_row(REPRESENTATIVES[family])
        assert acoustic.family == find(semantic).family and acoustic.name != semantic
        assert not (acoustic.left_unbounded or acoustic.right_unbounded or acoustic.global_in_time), family
        assert acoustic.left_samples and acoustic.right_samples, family


def _snac_by_hand(rates: list[int]) -> tuple[int, int, int]:
    """SNAC's encoder read off snac/layers.py: a conv of kernel 7 padded 3; per rate s, three
    residual units (kernel 7, dilations 1, 3, 9, padded to keep the length) and a conv of
    kernel 2s, stride s, padded ceil(s / 2); a last conv of kernel 7 padded 3."""
    left = right = 3
    jump = 1
    for stride in rates:
        residual = 3 * (1 + 3 + 9) * jump  # (7 - 1) / 2 each side, per dilation
        left += residual + -(-stride // 2) * jump
        right += residual + (2 * stride - 1 - -(-stride // 2)) * jump
        jump *= stride
    return left + 3 * jump, right + 3 * jump, jump


def test_snac_24khz_row_is_the_receptive_field_derived_by_hand():
    from rfprobe.families.snac import SNAC_24KHZ

    row = zoo_row("snac_24khz")
    if row.verdict == UNAVAILABLE:
        pytest.skip(row.reason)
    assert (row.left_samples, row.right_samples, row.hop_samples) == _snac_by_hand(SNAC_24KHZ["encoder_rates"])


def test_snac_windowed_attention_is_refused_as_position_dependent_not_given_one_receptive_field():
    # Frames of one 32-frame attention window read the same samples: no one receptive field.
    import torch

    from rfprobe.families import Unavailable
    from rfprobe.probes.subject import copy_module
    from rfprobe.core.walk import walk_receptive_field

    model = find("snac_init_defaults")
    try:
        module = copy_module(model.build(True)).double().eval()
    except Unavailable as error:
        pytest.skip(str(error))
    torch.manual_seed(0)
    result = walk_receptive_field(module, 1, length_multiple=model.length_multiple, hop_samples=model.hop_samples)
    assert not result.ran and "depends on its position" in result.unavailable_reason


@pytest.mark.slow
def test_snac_windowed_attention_passes_per_position_with_the_period_of_its_window():
    """The period is read off the walk; SNAC's config sets its attention window in frames."""
    from rfprobe.families.snac import WINDOW

    row = zoo_row("snac_init_defaults")
    if row.verdict == UNAVAILABLE:
        pytest.skip(row.reason)
    assert row.verdict == "PASS" and row.position_dependent["period_frames"] == WINDOW, row.reason
    positions = row.position_dependent["positions"]
    assert len(positions) == WINDOW and not row.position_dependent["differing_positions"]
    assert (row.left_samples, row.right_samples) == (max(p[1] for p in positions), max(p[2] for p in positions))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [model.name for model in ZOO if model.name not in REPRESENTATIVES.values() and model.name not in SEMANTIC.values()],
)
def test_every_zoo_model_runs_at_tiny_width(name):
    row = zoo_row(name)
    if name in EXPECTED_NOT_TO_PASS:
        assert row.verdict == "FAIL" and EXPECTED_NOT_TO_PASS[name] in row.reason, row.reason
    else:
        assert row.verdict in (PASS, UNAVAILABLE), f"{row.verdict}: {row.reason}"


def _extents(row: ZooRow) -> tuple:
    return (
        row.left_samples,
        row.left_unbounded,
        row.right_samples,
        row.right_unbounded,
        row.hop_samples,
        row.global_in_time,
    )


def test_tiny_and_full_width_give_the_same_receptive_field_for_a_conv_family():
    assert _extents(zoo_row("mimi_seanet")) == _extents(zoo_row("mimi_seanet", tiny=False))


@pytest.mark.slow  # HuBERT base at full width (95 M parameters)
def test_tiny_and_full_width_give_the_same_receptive_field_for_a_conv_attention_family():
    # X-codec's semantic branch: HuBERT's conv feature encoder, then global self-attention.
    tiny, full = zoo_row("xcodec_semantic"), zoo_row("xcodec_semantic", tiny=False)
    assert tiny.verdict == full.verdict == PASS, (tiny.reason, full.reason)
    assert _extents(tiny) == _extents(full)


# Two implementations of one codec must read exactly the same samples (both rows measured).
CROSS_CHECKED_IN_CI = [("dac_24khz", "dac_24khz_descript"), ("encodec_24khz", "encodec_24khz_audiocraft")]


@pytest.mark.parametrize("pair", CROSS_CHECKED_IN_CI, ids=["DAC", "EnCodec"])
def test_transformers_and_original_implementation_read_the_same_samples(pair):
    assert pair in CROSS_CHECKS
    rows = [zoo_row(name) for name in pair]
    for row in rows:
        if row.verdict == UNAVAILABLE:
            pytest.skip(row.reason)
    (check,) = cross_checks(rows)
    assert not check.skipped and not check.differences, check.describe()
    assert all(row.edge_supports and "error" not in row.edge_supports for row in rows)


def _row(name: str, **values) -> ZooRow:
    base = dict(
        name=name,
        family="f",
        source="s",
        kind="conv",
        width="tiny",
        sample_rate=16000,
        hop_samples=320,
        left_samples=10,
        right_samples=20,
        verdict=PASS,
        edge_supports={"length_samples": 6400, "frames_total": 20, "supports": {"0": [[0, 30]]}},
    )
    return ZooRow(**{**base, **values})


def test_cross_check_of_identical_rows_says_identical():
    theirs, original = CROSS_CHECKS[0]
    (check,) = cross_checks([_row(theirs), _row(original)])
    assert not check.differences and "identical" in check.describe()


def test_cross_check_reports_a_different_edge_support_with_both_values():
    theirs, original = CROSS_CHECKS[0]
    other = _row(original, edge_supports={"length_samples": 6400, "frames_total": 20, "supports": {"0": [[0, 31]]}})
    (check,) = cross_checks([_row(theirs), other])
    assert check.differences == (
        f"frame 0 of a 6400-sample clip: {theirs} reads [[0, 30]], {original} reads [[0, 31]]",
    )


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


def test_data_with_only_replaces_those_rows_and_keeps_the_others_in_zoo_order(tmp_path):
    import json

    from rfprobe.frontends.zoo_cli import merged_data

    path = tmp_path / "zoo.json"
    kept, old = _row("dac_16khz", verdict="FAIL", reason="kept reason"), _row("dac_24khz", verdict="FAIL")
    path.write_text(json.dumps(merged_data(path, [old, kept], "m", 1.0)))
    merged = merged_data(path, [_row("dac_24khz", left_samples=11)], "m2", 2.0)
    assert [row["name"] for row in merged["rows"]] == ["dac_16khz", "dac_24khz"]
    assert merged["rows"][0]["reason"] == "kept reason" and merged["rows"][1]["left_samples"] == 11


def test_a_data_file_that_is_not_zoo_data_is_refused_in_one_line(tmp_path):
    from rfprobe.errors import UsageError
    from rfprobe.frontends.zoo_cli import merged_data

    path = tmp_path / "zoo.json"
    path.write_text('{"rows": [{"no name": 1}]}')
    with pytest.raises(UsageError, match="not a zoo data file"):
        merged_data(path, [], "m", 1.0)


def test_zoo_with_an_unknown_model_exits_2_with_one_line(capsys):
    assert main(["zoo", "--only", "no_such_codec"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no_such_codec" in error and "dac_16khz" in error


def test_zoo_with_zero_threads_exits_2_with_one_line(capsys):
    assert main(["zoo", "--only", "snac_24khz", "--threads", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--threads 0" in error


def _data_rows() -> dict[str, ZooRow]:
    import json

    data = json.loads(ZOO_DATA.read_text(encoding="utf-8"))
    return {row["name"]: ZooRow.from_json(row) for row in data["rows"]}


def test_zoo_data_lists_every_zoo_model():
    assert list(_data_rows()) == [model.name for model in ZOO], "run rfprobe zoo --tiny --data docs/data/zoo_tiny.json"


def test_the_docs_zoo_tables_are_rendered_from_the_data():
    import update_docs

    blocks = update_docs.zoo_blocks(ZOO_DATA)
    pages = ((REPOSITORY / "README.md", "zoo-summary"), (REPOSITORY / "docs" / "zoo.md", "zoo"))
    for page, name in (*pages, (REPOSITORY / "docs" / "zoo.md", "zoo-full")):
        text = page.read_text(encoding="utf-8")
        shown = text.split(f"<!-- rfprobe:{name}:start -->")[1].split(f"<!-- rfprobe:{name}:end -->")[0]
        assert shown.strip() == blocks[name].strip(), "run python scripts/update_docs.py --no-run"


def _measured_cells(row: ZooRow) -> list[str]:
    """A row's cells with its source named by package only: the data records the release it was
    measured with, and a later release of that package that measures the same numbers is the same row."""
    return table_cells(replace(row, source=row.source.split()[0]))


@pytest.mark.parametrize("family", FAMILY_PARAMETERS)
def test_readme_zoo_row_is_what_the_tool_measures(family):
    row = zoo_row(REPRESENTATIVES[family])
    assert _measured_cells(_data_rows()[row.name]) == _measured_cells(row), (
        "run rfprobe zoo --tiny --data docs/data/zoo_tiny.json"
    )


def test_a_row_measured_by_another_release_of_its_package_differs_only_in_its_source():
    row = zoo_row(REPRESENTATIVES["DAC"])
    other_release = replace(row, source=f"{row.source.split()[0]} 0.0.1")
    assert table_cells(other_release) != table_cells(row)
    assert _measured_cells(other_release) == _measured_cells(row)
    assert _measured_cells(replace(row, left_samples=row.left_samples + 1)) != _measured_cells(row)


def test_a_row_too_long_for_its_time_limit_is_refused_up_front_with_the_reason_in_seconds():
    from rfprobe.runs.zoo import REFUSED

    row = run_row(find("mimi"), True, time_limit_s=2.0)  # its 80-second past needs traces of millions of samples
    assert row.verdict == REFUSED and " s " in row.reason and "time limit" in row.reason


def test_probes_over_the_memory_budget_are_refused_before_they_run():
    from rfprobe.errors import UsageError
    from rfprobe.runs.cost import CostEstimate
    from rfprobe.runs.zoo import row_cost_check

    check = row_cost_check("big", time_limit_s=None, started=0.0, memory_budget_bytes=1 << 30)
    check(CostEstimate(parameter_bytes=1 << 20, activation_bytes=1 << 20, largest_step="the gradient probe"))
    with pytest.raises(UsageError, match="above the 1 GiB budget"):
        check(CostEstimate(parameter_bytes=1 << 20, activation_bytes=2 << 30, largest_step="the gradient probe"))


def test_probes_predicted_past_the_time_limit_are_refused_before_they_run():
    import time

    from rfprobe.errors import UsageError
    from rfprobe.runs.cost import CostEstimate
    from rfprobe.runs.zoo import row_cost_check

    check = row_cost_check("slow", time_limit_s=60.0, started=time.perf_counter(), memory_budget_bytes=1 << 40)
    check(CostEstimate(parameter_bytes=0, activation_bytes=0, largest_step="x", seconds=10.0))
    with pytest.raises(UsageError, match="would take about 120 s"):
        check(CostEstimate(parameter_bytes=0, activation_bytes=0, largest_step="x", seconds=120.0))
