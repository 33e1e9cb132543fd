"""Bad config files are refused with one line naming the file and the key."""

from __future__ import annotations

import pytest

from conftest import CONFIG_DIR
from rfprobe.families.seanet.config_files import load_config
from rfprobe.errors import UsageError

pytestmark = pytest.mark.fast  # runs no model

VALID = (CONFIG_DIR / "musicgen_32khz_conv.yaml").read_text(encoding="utf-8")


def replace_line(key: str, new_line: str) -> str:
    lines = [new_line if line.startswith(f"{key}:") else line for line in VALID.splitlines()]
    return "\n".join(lines) + "\n"


def refused(write_config, text: str) -> str:
    path = write_config(text)
    with pytest.raises(UsageError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_valid_config_loads_with_its_claims(write_config):
    config = load_config(write_config(VALID))
    assert config.ratios == (8, 5, 4, 4)
    assert config.claims is not None and config.claims.layers


def test_unknown_key_is_named(write_config):
    assert "unknown key 'ratio'" in refused(write_config, VALID + "ratio: [2]\n")


def test_unknown_claims_key_is_named(write_config):
    assert "claims.receptive_field" in refused(
        write_config, VALID.replace("  hop_samples:", "  receptive_field: 3\n  hop_samples:")
    )


def test_wrong_type_is_named(write_config):
    assert "'n_filters' must be an integer" in refused(write_config, replace_line("n_filters", "n_filters: '64'"))


def test_boolean_is_not_accepted_as_an_integer(write_config):
    assert "'lstm' must be an integer" in refused(write_config, replace_line("lstm", "lstm: true"))


def test_empty_ratios_are_refused(write_config):
    assert "'ratios' must be a non-empty list" in refused(write_config, replace_line("ratios", "ratios: []"))


def test_non_positive_ratio_is_refused(write_config):
    assert "'ratios' must hold positive integers" in refused(write_config, replace_line("ratios", "ratios: [8, 0, 4]"))


@pytest.mark.parametrize("key", ["kernel_size", "last_kernel_size", "residual_kernel_size"])
def test_non_positive_kernel_is_refused(write_config, key):
    assert f"'{key}' must be >= 1" in refused(write_config, replace_line(key, f"{key}: 0"))


def test_dilation_base_below_one_is_refused(write_config):
    assert "'dilation_base' must be >= 1" in refused(write_config, replace_line("dilation_base", "dilation_base: 0"))


def test_unknown_pad_mode_is_refused_with_the_choices(write_config):
    assert "reflect" in refused(write_config, replace_line("pad_mode", "pad_mode: mirror"))


def test_malformed_yaml_names_the_line(write_config):
    assert "malformed YAML at line" in refused(write_config, VALID + "ratios: [8, 5\n")


def test_empty_file_is_refused(write_config):
    assert "empty" in refused(write_config, "")


def test_missing_sample_rate_is_refused(write_config):
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith("sample_rate"))
    assert "'sample_rate' is missing" in refused(write_config, text)


def test_compress_wider_than_the_filters_is_an_impossible_architecture(write_config):
    assert "compress" in refused(write_config, replace_line("compress", "compress: 128"))


def test_causal_time_group_norm_is_an_impossible_architecture(write_config):
    text = replace_line("norm", "norm: time_group_norm").replace("causal: false", "causal: true")
    assert "time_group_norm" in refused(write_config, text)


def test_unreadable_path_is_refused():
    with pytest.raises(UsageError, match="cannot read config"):
        load_config(CONFIG_DIR / "does_not_exist.yaml")
