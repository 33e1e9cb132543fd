"""audiocraft's own YAML and compression checkpoints, built exactly as audiocraft's builders do."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from rfprobe.families.seanet.audiocraft_files import load_checkpoint
from rfprobe.frontends.cli import main
from rfprobe.families.seanet.config_files import load_config
from rfprobe.runs.context import context_map
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.errors import UsageError
from rfprobe.runs.verify import verify_config

# As audiocraft saves it: xp.cfg unresolved, the encoder's keys under seanet and seanet.encoder.
XP_CFG = """
sample_rate: 16000
channels: 1
compression_model: encodec
encodec:
  autoencoder: seanet
  quantizer: rvq
  sample_rate: ${sample_rate}
  channels: ${channels}
  causal: true
  renormalize: false
seanet:
  dimension: 4
  channels: ${channels}
  causal: ${encodec.causal}
  n_filters: 4
  n_residual_layers: 1
  ratios: [4, 2]
  activation: ELU
  activation_params: {alpha: 1.0}
  norm: weight_norm
  norm_params: {}
  kernel_size: 7
  residual_kernel_size: 3
  last_kernel_size: 7
  dilation_base: 2
  pad_mode: constant
  true_skip: true
  compress: 2
  lstm: 0
  disable_norm_outer_blocks: 0
  decoder: {trim_right_ratio: 1.0, final_activation: null, final_activation_params: null}
  encoder: {last_kernel_size: 5}
rvq: {n_q: 4, bins: 16}
"""


def trained_state(config) -> dict:
    """A few steps of gradient descent, so the weights are not the random init."""
    encoder = build_encoder(config, seed=5)
    optimizer = torch.optim.SGD(encoder.parameters(), lr=0.5)
    signal = torch.sin(torch.linspace(0, 200, 4000, dtype=torch.float64)).view(1, 1, -1)
    for _ in range(5):
        optimizer.zero_grad()
        (encoder(signal)[..., 1:] - encoder(signal)[..., :-1]).pow(2).mean().backward()
        optimizer.step()
    return {k: v.detach().float() for k, v in encoder.state_dict().items()}


@pytest.fixture
def checkpoint(tmp_path):
    config = load_config(write(tmp_path / "xp.yaml", XP_CFG))
    state = {f"encoder.{k}": v for k, v in trained_state(config).items()}
    state["quantizer.vq.layers.0._codebook.embed"] = torch.zeros(16, 4)
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"xp.cfg": XP_CFG, "best_state": state, "version": "1.3.0", "exported": True}, path)
    return path


def write(path, text):
    path.write_text(text)
    return path


def test_interpolated_audiocraft_yaml_resolves_as_audiocraft_builds_it(tmp_path):
    config = load_config(write(tmp_path / "xp.yaml", XP_CFG))
    assert config.sample_rate == 16000 and config.channels == 1
    assert config.causal is True  # ${encodec.causal}
    assert config.last_kernel_size == 5  # seanet.encoder merged over seanet
    assert "ignored: channels, compression_model, encodec, rvq" in config.description  # top-level: only interpolated


def test_unresolvable_interpolation_is_a_one_line_error(tmp_path):
    text = XP_CFG.replace("sample_rate: 16000\n", "")
    with pytest.raises(UsageError, match="cannot resolve"):
        load_config(write(tmp_path / "xp.yaml", text))


def test_checkpoint_round_trips_to_the_rf_of_its_yaml(checkpoint, tmp_path):
    loaded = load_checkpoint(checkpoint)
    from_checkpoint = verify_config(loaded.audiocraft.config, encoder_state=loaded.encoder_state)
    from_yaml = verify_config(load_config(write(tmp_path / "same.yaml", XP_CFG)))
    assert from_checkpoint.verdict.passed and from_yaml.verdict.passed
    assert from_checkpoint.truth == from_yaml.truth


def test_trained_weights_are_the_ones_probed_and_change_the_effective_rf(checkpoint, tmp_path):
    loaded = load_checkpoint(checkpoint)
    trained = verify_config(loaded.audiocraft.config, encoder_state=loaded.encoder_state)
    module = next(iter(trained.modules.values()))
    # The probed module's weight norms are folded (rfprobe.probes.subject): its weight is
    # g * v / |v| of the checkpoint's.
    g, v = (loaded.encoder_state[f"model.0.conv.conv.weight_{part}"].double() for part in "gv")
    assert torch.equal(module.state_dict()["model.0.conv.conv.weight"], torch._weight_norm(v, g, 0))
    random = verify_config(load_config(write(tmp_path / "same.yaml", XP_CFG)))
    trained_erf = context_map(trained, clip_seconds=1.0).erf
    random_erf = context_map(random, clip_seconds=1.0).erf
    assert trained_erf.profile != random_erf.profile
    assert trained_erf.widths_samples != random_erf.widths_samples


def test_cli_reports_a_checkpoint_with_trained_weights(checkpoint, capsys):
    assert main(["--checkpoint", str(checkpoint), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "weights: trained (checkpoint)" in out and "trained weights from the checkpoint" in out
    assert f"\n{checkpoint.stem} (" in out  # named after the checkpoint file, not its folder


def test_a_pretrained_pointer_is_refused_with_the_config_to_pass(tmp_path, capsys):
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"pretrained": "facebook/encodec_32khz"}, path)
    assert main(["--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err
    assert "facebook/encodec_32khz" in err and "--config configs/musicgen_32khz.yaml" in err


def test_an_unreadable_checkpoint_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "compression_state_dict.bin"
    path.write_bytes(b"not a checkpoint")
    assert main(["--checkpoint", str(path)]) == 2
    assert "not a readable torch checkpoint" in capsys.readouterr().err


def test_weights_that_do_not_fit_the_architecture_are_named(checkpoint, tmp_path):
    loaded = load_checkpoint(checkpoint)
    wrong = replace(loaded.audiocraft.config, n_filters=8)
    with pytest.raises(UsageError, match="do not fit"):
        verify_config(wrong, encoder_state=loaded.encoder_state)
