"""`--hf-model DIR`: a local Hugging Face snapshot (what save_pretrained writes) probed like `--module`.

Snapshots are written here, at tiny width, by transformers' own `save_pretrained`. Each RF
is compared with the zoo row built from the same config (`run_row`: the family's builder
with random weights), never with a number written down: the receptive field depends on
the architecture only, so the snapshot's weights must not change it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers", reason='the hf extra: pip install -e ".[hf]"')

from rfprobe.families import ZooModel, dac, encodec, find, mimi  # noqa: E402
from rfprobe.families.hf_snapshots import KINDS, load_snapshot, resolve_snapshot  # noqa: E402
from rfprobe.frontends.cli import main  # noqa: E402
from rfprobe.runs.hf_model import probe_hf_model  # noqa: E402
from rfprobe.runs.zoo import run_row  # noqa: E402

# Mimi at tiny width with 2 transformer layers and a 4-frame window (kernels and strides
# unchanged): its past is short, so the whole run takes seconds; the published 8 x 250 is slow.
SMALL_MIMI = dict(num_hidden_layers=2, sliding_window=4)


def save(model: torch.nn.Module, directory: Path, perturb: bool = False) -> Path:
    """`model.save_pretrained(directory)`; `perturb`: every weight moved first, as training would."""
    if perturb:
        generator = torch.Generator().manual_seed(5)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(0.3 * parameter.abs().mean() * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("snapshots")
    torch.manual_seed(0)
    built = {
        "encodec": save(transformers.EncodecModel(encodec.transformers_config(24, tiny=True)), root / "encodec"),
        # the decoder does not touch the encoder's RF: a narrow one keeps the snapshot small
        "dac": save(
            transformers.DacModel(
                transformers.DacConfig(
                    encoder_hidden_size=dac.TINY_WIDTH,
                    decoder_hidden_size=8,
                    downsampling_ratios=list(dac.PUBLISHED[16]),
                    sampling_rate=dac.SAMPLE_RATES[16],
                )
            ),
            root / "dac",
            perturb=True,
        ),
        "mimi": save(transformers.MimiModel(mimi.transformers_config(True, **SMALL_MIMI)), root / "mimi"),
    }
    random = shutil.copytree(built["encodec"], root / "encodec_random")
    (random / "model.safetensors").unlink()
    built["encodec_random"] = random
    return built


def report_of(arguments: list[str], tmp_path: Path, capsys) -> tuple[int, str, dict]:
    out = tmp_path / "report.json"
    code = main([*arguments, "--json", str(out)])
    return code, capsys.readouterr().out, json.loads(out.read_text(encoding="utf-8"))


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def assert_same_field(subject: dict, row) -> None:
    """The snapshot's agreed RF is the zoo row's (same config, random weights)."""
    assert row.verdict == "PASS", row.reason
    field = subject["receptive_field"]
    assert field["hop_samples"] == row.hop_samples
    assert field["left_unbounded"] == row.left_unbounded and field["right_unbounded"] == row.right_unbounded
    assert field["left_samples"] == row.left_samples and field["right_samples"] == row.right_samples


def test_random_weights_encodec_snapshot_passes_and_matches_its_zoo_row(snapshots, tmp_path, capsys):
    code, printed, report = report_of(["--hf-model", str(snapshots["encodec_random"])], tmp_path, capsys)
    assert code == 0, printed
    subject = report["configs"]["encodec_random"]
    assert subject["verdict"]["label"] == "PASS"
    assert set(subject["methods"]) == {"module_walk", "gradient", "impulse"}
    assert subject["hf_model"]["weights"] == "random" and subject["hf_model"]["weights_file"] is None
    assert subject["hf_model"]["effective_receptive_field"] is None  # the ERF is reported for trained weights
    assert "random (no model.safetensors" in printed and "PASS, 3/3 methods agree" in printed
    assert_same_field(subject, run_row(find("encodec_24khz"), tiny=True))


def test_trained_dac_snapshot_reports_the_effective_rf_beside_the_exact_one(snapshots, tmp_path, capsys):
    code, printed, report = report_of(["--hf-model", str(snapshots["dac"])], tmp_path, capsys)
    assert code == 0, printed
    subject = report["configs"]["dac"]
    hf = subject["hf_model"]
    assert (hf["model_type"], hf["weights"]) == ("dac", "trained")
    assert hf["weights_file"] == str(snapshots["dac"] / "model.safetensors")
    assert f"trained, from {snapshots['dac'] / 'model.safetensors'}" in printed
    effective = hf["effective_receptive_field"]
    widths = [mass["width_samples"] for mass in effective["mass"]]
    assert [mass["fraction"] for mass in effective["mass"]] == [0.5, 0.9, 0.99]
    assert widths == sorted(widths) and widths[-1] <= subject["receptive_field"]["receptive_field_samples"]
    assert "effective  50/90/99 % of the mass within " + "/".join(map(str, widths)) + " samples" in printed
    assert "trained weights" in " ".join(printed.split())  # the answer line may wrap
    assert_same_field(subject, run_row(find("dac_16khz"), tiny=True))
    jsonschema = pytest.importorskip("jsonschema")
    from rfprobe.output.report_json import load_schema

    assert not list(jsonschema.Draft202012Validator(load_schema()).iter_errors(report))


def test_mimi_snapshot_through_the_python_api_matches_the_zoo_builder_of_that_config(snapshots):
    results = probe_hf_model(str(snapshots["mimi"]))
    assert [result.branch.name for result in results] == ["encoder"]
    verification = results[0].verification
    assert verification.verdict.passed, verification.verdict.reasons()
    assert results[0].effective is not None and results[0].snapshot.trained
    same_config = ZooModel(
        name="mimi_small",
        family="Mimi",
        package="transformers",
        sample_rate=mimi.SAMPLE_RATE,
        channels=1,
        kind="conv+attention",
        hop_samples=mimi.FULL_HOP,
        build=lambda tiny: (
            mimi.encoder_branch(
                transformers.MimiEncoderModel(mimi.transformers_config(tiny, **SMALL_MIMI).encoder_config)
            ).module
        ),
    )
    truth, row = verification.truth, run_row(same_config, tiny=True)
    assert row.verdict == "PASS", row.reason
    assert (truth.left.samples, truth.right.samples, truth.hop_samples) == (
        row.left_samples,
        row.right_samples,
        row.hop_samples,
    )


@pytest.mark.slow
def test_mimi_snapshot_of_the_zoo_config_matches_the_zoo_row(tmp_path, capsys):
    directory = save(transformers.MimiModel(mimi.transformers_config(True)), tmp_path / "mimi_zoo")
    code, printed, report = report_of(["--hf-model", str(directory), "--quiet"], tmp_path, capsys)
    assert code == 0, printed
    assert_same_field(report["configs"]["mimi_zoo"], run_row(find("mimi"), tiny=True))


def test_weights_that_do_not_match_the_config_are_one_line_naming_the_keys(snapshots, tmp_path, capsys):
    directory = shutil.copytree(snapshots["encodec"], tmp_path / "wider")
    values = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    values["num_filters"] = 4
    (directory / "config.json").write_text(json.dumps(values), encoding="utf-8")
    assert main(["--hf-model", str(directory), "--json", str(tmp_path / "r.json")]) == 2
    line = one_line_error(capsys)
    assert (
        "do not match config.json" in line
        and "encoder.layers.0.conv" in line
        and "(file [2, 1, 7], config [4, 1, 7])" in line
    )
    assert not (tmp_path / "r.json").exists()


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, capsys):
    model = transformers.EncodecModel(encodec.transformers_config(24, tiny=True))
    with torch.no_grad():
        model.encoder.layers[0].conv.bias[0] = float("nan")
    directory = save(model, tmp_path / "nan")
    capsys.readouterr()  # save_pretrained's progress bar
    assert main(["--hf-model", str(directory)]) == 2
    line = one_line_error(capsys)
    assert "encoder.layers.0.conv.bias holds NaN or inf" in line


@pytest.mark.parametrize(
    "case, expected",
    [
        ("no config", "no config.json in it"),
        ("invalid json", "not valid JSON"),
        ("unknown type", "'bert' is not a codec rfprobe knows; known model types: dac, encodec, mimi"),
        ("a file", "not a directory"),
    ],
)
def test_bad_snapshots_are_one_line_and_exit_2(case, expected, tmp_path, capsys):
    directory = tmp_path / "snapshot"
    directory.mkdir()
    if case == "invalid json":
        (directory / "config.json").write_text('{"model_type": "dac",', encoding="utf-8")
    elif case == "unknown type":
        (directory / "config.json").write_text('{"model_type": "bert"}', encoding="utf-8")
    elif case == "a file":
        directory = directory / "config.json"
        directory.write_text("{}", encoding="utf-8")
    assert main(["--hf-model", str(directory), "--json", str(tmp_path / "r.json")]) == 2
    assert expected in one_line_error(capsys)
    assert not (tmp_path / "r.json").exists()


def test_a_name_is_looked_up_in_the_local_hub_cache_only(snapshots, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "hub"
    repository = cache / "models--tiny-org--encodec"
    shutil.copytree(snapshots["encodec"], repository / "snapshots" / "abc123")
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text("abc123", encoding="utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    assert resolve_snapshot("tiny-org/encodec") == repository / "snapshots" / "abc123"
    snapshot = load_snapshot("tiny-org/encodec")
    assert snapshot.trained and snapshot.weights_file == str(repository / "snapshots" / "abc123" / "model.safetensors")
    assert main(["--hf-model", "tiny-org/missing"]) == 2
    line = one_line_error(capsys)
    assert "not in the local hub cache" in line and "nothing was downloaded" in line and str(cache) in line


def test_every_known_model_type_is_that_of_its_transformers_config_class():
    for model_type, kind in KINDS.items():
        assert getattr(transformers, kind.config_class).model_type == model_type
        assert hasattr(transformers, kind.model_class)
