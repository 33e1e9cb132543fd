"""Every bad input the CLI can meet: one line on stderr, exit code 2, no traceback, nothing written.

(Config-file errors are specified one by one in test_config_errors.py; this is the end-to-end catalogue.)
"""
from __future__ import annotations

import pytest
import torch

from conftest import CONFIG_DIR
from rfprobe.cli import main

SMALL = str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml")


def fails_cleanly(arguments, capsys, tmp_path, expected: str) -> None:
    out = tmp_path / "never.json"
    assert main([*arguments, "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert expected in err, err
    assert not out.exists()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES = {
    "malformed yaml": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: [1, 2\n")], "malformed YAML"),
    "unknown key": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nratio: [2]\n")], "unknown key 'ratio'"),
    "wrong type": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: fast\n")], "'sample_rate' must be an integer"),
    "empty ratios": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nratios: []\n")], "'ratios'"),
    "zero kernel": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nkernel_size: 0\n")], "'kernel_size'"),
    "negative kernel": (lambda t: ["--config", write(t, "a.yaml", "sample_rate: 16000\nlast_kernel_size: -3\n")],
                        "'last_kernel_size'"),
    "clip shorter than one hop (stride larger than the input)": (
        lambda t: ["--config", SMALL, "--clip-seconds", "0.01"], "shorter than its receptive field"),
    "clip shorter than the RF": (lambda t: ["--config", SMALL, "--clip-seconds", "0.05"], "use at least"),
    "unknown device": (lambda t: ["--config", SMALL, "--device", "gpu"], "unknown device"),
    "unknown dtype": (lambda t: ["--config", SMALL, "--dtype", "half"], "unknown dtype"),
    "unreadable checkpoint": (lambda t: ["--checkpoint", write(t, "c.bin", "garbage")], "not a readable torch checkpoint"),
    "missing checkpoint": (lambda t: ["--checkpoint", str(t / "absent.bin")], "no such file"),
    "bad module spec": (lambda t: ["--module", "no_colon_here"], "expected package.module:factory"),
    "unimportable module": (lambda t: ["--module", "surely_not_a_module_xyz:make"], "cannot import"),
    "non-positive channels": (lambda t: ["--module", "modules:WideSideBranch", "--channels", "0"], "--channels 0"),
    "non-positive hop": (lambda t: ["--module", "modules:WideSideBranch", "--hop", "-2"], "--hop -2"),
    "bad trim ratio": (lambda t: ["--config", SMALL, "--decoder", "--trim-right-ratio", "2"], "[0, 1]"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_line_and_exit_two(case, capsys, tmp_path):
    build, expected = CASES[case]
    fails_cleanly(build(tmp_path), capsys, tmp_path, expected)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda(capsys, tmp_path):
    fails_cleanly(["--config", SMALL, "--device", "cuda"], capsys, tmp_path, "CUDA is not available")


def test_nan_weights_in_a_checkpoint(capsys, tmp_path):
    from rfprobe.config import load_config
    from rfprobe.encoder import build_encoder

    config = load_config(SMALL)
    state = {f"encoder.{k}": v.clone() for k, v in build_encoder(config).state_dict().items()}
    state["encoder.model.0.conv.conv.bias"][0] = float("nan")
    xp_cfg = "sample_rate: 24000\nseanet:\n" + "".join(
        f"  {line}\n" for line in open(SMALL).read().splitlines()
        if line.split(":")[0] not in ("sample_rate", "description") and not line.startswith(" "))
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"xp.cfg": xp_cfg, "best_state": state}, path)
    fails_cleanly(["--checkpoint", str(path)], capsys, tmp_path, "holds NaN or inf")
