"""The hand analysis's figures are reproduced as claims, and flagged where the real module differs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import shipped_config, verified
from rfprobe.families.seanet.claims import chain_receptive_field, check_claims
from rfprobe.families.seanet.config import ClaimedLayer, Claims
from rfprobe.arithmetic.geometry import samples_to_ms

SEED_CONFIGS = {"seanet_s320_32khz_conv": 4017, "musicgen_32khz_conv": 5937}


@pytest.mark.parametrize("name, seed_figure", SEED_CONFIGS.items())
def test_the_seed_layer_table_reproduces_its_own_figure(name, seed_figure):
    claims = shipped_config(name).claims
    assert claims.receptive_field_samples == seed_figure
    assert chain_receptive_field(claims.layers) == seed_figure


@pytest.mark.parametrize("name", sorted(SEED_CONFIGS))
def test_the_seed_figure_is_flagged_as_mismatching(name):
    report = verified(name).claims
    assert not report.all_match
    (rf_check,) = [c for c in report.checks if c.quantity == "receptive_field_samples"]
    assert not rf_check.matches
    assert rf_check.actual == verified(name).truth.samples


@pytest.mark.parametrize("name", sorted(SEED_CONFIGS))
def test_the_seed_hop_and_frame_rate_are_right(name):
    checks = {c.quantity: c for c in verified(name).claims.checks}
    assert checks["hop_samples"].matches and checks["frame_rate_hz"].matches


def test_the_seed_downsampling_layers_are_named_with_what_the_module_has():
    departures = [str(d) for d in verified("seanet_s320_32khz_conv").claims.layer_departures]
    assert (
        "layer 'block 1 downsampling conv': claimed kernel 7 stride 8, module model.3 has kernel 4 stride 2"
        in departures
    )
    assert any("residual conv 2': claimed kernel 3" in d and "has kernel 1" in d for d in departures)


def test_a_claim_missing_the_lstm_is_told_so():
    departures = verified("musicgen_32khz").claims.layer_departures
    assert any(d.kind == "missing_from_claim" and "LSTM" in d.module_note for d in departures)
    rf_check = next(c for c in verified("musicgen_32khz").claims.checks if c.quantity == "receptive_field_samples")
    assert not rf_check.matches and rf_check.actual is None and "unbounded" in rf_check.actual_text


def test_a_claim_equal_to_the_truth_matches():
    verification = verified("musicgen_32khz_conv")
    truth, rate = verification.truth, verification.config.sample_rate
    true_ms = float(f"{samples_to_ms(truth.samples, rate):.4f}")
    claims = Claims(
        receptive_field_samples=truth.samples,
        left_samples=truth.left.samples,
        right_samples=truth.right.samples,
        hop_samples=truth.hop_samples,
        receptive_field_ms=true_ms,
        layers=tuple(
            ClaimedLayer(r.name, r.kernel, r.stride, r.dilation)
            for r in verification.result("module walk").layers
            if r.kind == "conv"
        ),
    )
    report = check_claims(claims, truth, rate, verification.result("module walk").layers)
    assert report.all_match, report


def test_a_claim_one_sample_off_mismatches():
    verification = verified("musicgen_32khz_conv")
    truth = verification.truth
    report = check_claims(Claims(left_samples=truth.left.samples + 1), truth, verification.config.sample_rate, [])
    assert not report.all_match


def test_one_wrong_kernel_in_an_otherwise_right_table_is_the_only_departure():
    verification = verified("musicgen_32khz_conv")
    rows = [r for r in verification.result("module walk").layers if r.kind == "conv"]
    layers = [ClaimedLayer(r.name, r.kernel, r.stride, r.dilation) for r in rows]
    layers[3] = replace(layers[3], kernel=layers[3].kernel + 1)
    report = check_claims(Claims(layers=tuple(layers)), verification.truth, 32000, rows)
    assert len(report.layer_departures) == 1 and report.layer_departures[0].module_layer == rows[3].name


def test_a_claimed_table_with_a_missing_layer_is_reported():
    verification = verified("musicgen_32khz_conv")
    rows = [r for r in verification.result("module walk").layers if r.kind == "conv"]
    layers = tuple(ClaimedLayer(r.name, r.kernel, r.stride, r.dilation) for r in rows[:-1])
    report = check_claims(Claims(layers=layers), verification.truth, 32000, rows)
    assert [str(d) for d in report.layer_departures] == [
        f"module layer {rows[-1].name} (kernel {rows[-1].kernel} stride 1 dilation 1) is missing from the claim"
    ]


def test_a_float_claim_matches_at_its_own_precision():
    verification = verified("musicgen_32khz_conv")
    truth = verification.truth
    ms = samples_to_ms(truth.samples, 32000)
    rounded = float(f"{ms:.1f}")
    assert check_claims(Claims(receptive_field_ms=rounded), truth, 32000, []).all_match
    assert not check_claims(Claims(receptive_field_ms=rounded + 0.1), truth, 32000, []).all_match


def test_the_seed_errors_are_grouped_into_the_four_a_person_would_name():
    errors = verified("musicgen_32khz").claims.errors
    assert len(errors) == 4
    assert errors[0] == "the ratios are reversed: the module downsamples by [4, 4, 5, 8], not [8, 5, 4, 4]"
    assert "(2 x the stride), not 7" in errors[1]
    assert "kernel 1, not 3" in errors[2] and "LSTM" in errors[3]


def test_a_right_layer_table_has_no_errors_to_explain():
    verification = verified("musicgen_32khz_conv")
    rows = verification.result("module walk").layers
    layers = tuple(ClaimedLayer(r.name, r.kernel, r.stride, r.dilation) for r in rows if r.kind == "conv")
    assert check_claims(Claims(layers=layers), verification.truth, 32000, rows).errors == ()
