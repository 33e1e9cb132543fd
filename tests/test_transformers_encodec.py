"""transformers' EncodecEncoder sees exactly what audiocraft's SEANetEncoder sees."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

transformers = pytest.importorskip("transformers", reason='transformers is an optional extra: pip install -e ".[hf]"')

from rfprobe.families.seanet.hf_config import audiocraft_equivalent, load_hf_config  # noqa: E402
from rfprobe.runs.hf_encodec import cross_check  # noqa: E402

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "transformers"


# 32 kHz (16 s) in the slow tier: the fast tier keeps 24 kHz, and the zoo cross-checks every EnCodec at tiny width.
@pytest.mark.parametrize("name", ["encodec_24khz", pytest.param("encodec_32khz", marks=pytest.mark.slow)])
def test_transformers_encoder_agrees_with_audiocraft(name):
    check = cross_check(load_hf_config(CONFIGS / f"{name}.json"), name)
    assert check.transformers.verdict.passed and check.audiocraft.verdict.passed
    assert check.identical, check.differences


def test_the_48khz_encoder_is_global_in_both_implementations():
    hf_config = load_hf_config(CONFIGS / "encodec_48khz.json")
    hf_config.num_filters = 4  # same architecture, fewer channels: faster
    check = cross_check(hf_config, "encodec_48khz_small")
    assert check.identical, check.differences
    assert check.transformers.truth.global_in_time


def test_the_equivalence_maps_every_architecture_field():
    hf_config = load_hf_config(CONFIGS / "encodec_32khz.json")
    config = audiocraft_equivalent(hf_config, "encodec_32khz")
    assert config.ratios == (8, 5, 4, 4) and config.n_filters == 64 and not config.causal
    assert config.true_skip and config.pad_mode == "reflect" and config.lstm == 2


def test_a_difference_would_be_reported():
    """Cross-check the transformers encoder against a deliberately different audiocraft twin."""
    import rfprobe.runs.hf_encodec as hf

    hf_config = load_hf_config(CONFIGS / "encodec_24khz.json")
    hf_config.num_filters = 4
    real = hf.audiocraft_equivalent
    try:
        hf.audiocraft_equivalent = lambda c, n: replace(real(c, n), last_kernel_size=5)
        check = cross_check(hf_config, "tampered")
    finally:
        hf.audiocraft_equivalent = real
    assert not check.identical and any("right" in d or "frame" in d for d in check.differences)


def test_an_invalid_hf_config_is_a_one_line_error(tmp_path):
    from rfprobe.errors import UsageError

    path = tmp_path / "config.json"
    path.write_text('{"model_type": "bert"}')
    with pytest.raises(UsageError, match="not an EnCodec config"):
        load_hf_config(path)
