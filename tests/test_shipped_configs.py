"""Every shipped config: the four methods agree exactly, and the structural facts hold."""

from __future__ import annotations

import pytest

from conftest import SHIPPED, shipped_config, verified
from rfprobe.runs.verify import METHODS


def test_shipped_configs_cover_the_published_encoders_and_their_conv_only_twins():
    expected = {"musicgen_32khz", "audiogen_16khz", "encodec_24khz_causal", "seanet_s320_32khz"}
    assert expected <= set(SHIPPED)
    for name in expected:
        assert shipped_config(name).lstm > 0
        twin = shipped_config(f"{name}_conv")
        assert twin.lstm == 0
        assert {**twin.seanet_kwargs(), "lstm": 2} == shipped_config(name).seanet_kwargs()


@pytest.mark.parametrize("name", SHIPPED)
def test_formula_walk_gradient_and_impulse_agree_exactly(name):
    verification = verified(name)
    assert verification.verdict.passed, verification.verdict.reasons()
    fields = [verification.result(method).receptive_field for method in METHODS]
    assert all(field is not None for field in fields)
    for field in fields[1:]:
        assert field.left.agrees_with(fields[0].left)
        assert field.right.agrees_with(fields[0].right)
        assert field.hop_samples == fields[0].hop_samples


@pytest.mark.parametrize("name", SHIPPED)
def test_hop_is_the_product_of_the_ratios(name):
    config = shipped_config(name)
    assert verified(name).truth.hop_samples == config.hop_samples


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).lstm])
def test_lstm_makes_the_past_unbounded_in_every_method(name):
    verification = verified(name)
    for method in METHODS:
        field = verification.result(method).receptive_field
        assert field.left.unbounded, method
        assert not field.right.unbounded, method
        assert field.samples is None


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).lstm])
def test_unbounded_past_is_shown_by_the_extent_growing_with_the_input(name):
    for method in ("gradient", "impulse"):
        growth = verified(name).result(method).evidence["unbounded_growth"]
        for record in growth.values():
            lengths, seen = record["lengths_samples"], record["left_seen_samples"]
            assert len(lengths) >= 2 and lengths[-1] > lengths[-2]
            assert seen[-1] - seen[-2] == lengths[-1] - lengths[-2]  # reaches sample 0 both times


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).lstm])
def test_lstm_config_has_the_same_future_as_its_conv_only_twin(name):
    assert verified(name).truth.right == verified(f"{name}_conv").truth.right


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).causal])
def test_causal_config_sees_less_than_one_hop_of_future(name):
    field = verified(name).truth
    assert 0 <= field.right.samples < field.hop_samples


@pytest.mark.parametrize("name", [n for n in SHIPPED if not shipped_config(n).lstm])
def test_conv_only_receptive_field_is_contiguous(name):
    for method in ("module walk", "gradient"):
        assert verified(name).result(method).receptive_field.holes == ()
