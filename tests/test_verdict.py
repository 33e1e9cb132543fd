"""The verdict fails whenever one method disagrees; the hand analysis's wrong layer lists are caught one by one."""

from __future__ import annotations

from dataclasses import replace


from conftest import shipped_config, verified
from rfprobe.families.seanet.formula import ConvSpec, RecurrentSpec, ResidualSpec, encoder_layers, receptive_field_of
from rfprobe.arithmetic.geometry import MethodResult, Side
from rfprobe.arithmetic.verdict import Verdict, judge
from rfprobe.runs.verify import METHODS

REAL_METHODS = ("module walk", "gradient", "impulse")


def judged_with_formula(name: str, layers) -> Verdict:
    """Replace the formula's layer list by `layers` and judge against the real module's methods."""
    verification = verified(name)
    wrong = receptive_field_of(layers)
    return judge([wrong] + [verification.result(m) for m in REAL_METHODS], required=METHODS)


def test_the_faithful_layer_list_passes():
    layers = encoder_layers(shipped_config("musicgen_32khz_conv"))
    assert judged_with_formula("musicgen_32khz_conv", layers).passed


def test_ratios_in_the_given_order_are_caught():
    config = shipped_config("musicgen_32khz_conv")
    # encoder_layers reverses the ratios; handing it reversed ratios yields the given order.
    layers = encoder_layers(replace(config, ratios=tuple(reversed(config.ratios))))
    verdict = judged_with_formula("musicgen_32khz_conv", layers)
    assert not verdict.passed
    assert any(d.quantity in ("left", "right") for d in verdict.disagreements)


def test_downsampling_kernel_equal_to_kernel_size_is_caught():
    config = shipped_config("musicgen_32khz_conv")
    layers = [
        replace(layer, kernel=config.kernel_size) if isinstance(layer, ConvSpec) and layer.stride > 1 else layer
        for layer in encoder_layers(config)
    ]
    assert not judged_with_formula("musicgen_32khz_conv", layers).passed


def test_two_kernel_3_residual_convs_are_caught():
    config = shipped_config("musicgen_32khz_conv")
    layers = [
        replace(layer, branch=tuple(replace(conv, kernel=config.residual_kernel_size) for conv in layer.branch))
        if isinstance(layer, ResidualSpec)
        else layer
        for layer in encoder_layers(config)
    ]
    assert not judged_with_formula("musicgen_32khz_conv", layers).passed


def test_ignoring_the_lstm_is_caught():
    layers = [
        layer for layer in encoder_layers(shipped_config("musicgen_32khz")) if not isinstance(layer, RecurrentSpec)
    ]
    verdict = judged_with_formula("musicgen_32khz", layers)
    assert not verdict.passed
    assert [d.quantity for d in verdict.disagreements] == ["left"]


def test_causal_padding_treated_as_centred_is_caught():
    layers = encoder_layers(replace(shipped_config("encodec_24khz_causal_conv"), causal=False))
    assert not judged_with_formula("encodec_24khz_causal_conv", layers).passed


def test_a_one_sample_disagreement_fails_and_names_quantity_and_methods():
    results = [verified("seanet_s320_32khz_conv").result(m) for m in METHODS]
    field = results[2].receptive_field
    off_by_one = replace(results[2], receptive_field=replace(field, right=Side(field.right.samples + 1)))
    verdict = judge(results[:2] + [off_by_one] + results[3:], required=METHODS)
    assert not verdict.passed
    (disagreement,) = verdict.disagreements
    assert disagreement.quantity == "right"
    assert "gradient" in str(disagreement) and "formula" in str(disagreement)


def test_bounded_against_unbounded_fails():
    results = [verified("seanet_s320_32khz").result(m) for m in METHODS]
    field = results[3].receptive_field
    bounded = replace(results[3], receptive_field=replace(field, left=Side(field.left.samples)))
    assert not judge(results[:3] + [bounded], required=METHODS).passed


def test_a_method_that_could_not_run_fails_the_verdict_with_its_reason():
    results = [verified("seanet_s320_32khz_conv").result(m) for m in METHODS]
    missing = MethodResult(method="module walk", receptive_field=None, unavailable_reason="layer x is not understood")
    verdict = judge([results[0], missing, *results[2:]], required=METHODS)
    assert not verdict.passed
    assert any("layer x is not understood" in reason for reason in verdict.reasons())


def test_different_holes_fail():
    results = [verified("seanet_s320_32khz_conv").result(m) for m in METHODS]
    field = results[2].receptive_field
    holed = replace(results[2], receptive_field=replace(field, holes=((3, 4),)))
    verdict = judge(results[:2] + [holed] + results[3:], required=METHODS)
    assert [d.quantity for d in verdict.disagreements] == ["holes"]


def test_analytic_methods_alone_do_not_pass():
    results = [verified("seanet_s320_32khz_conv").result(m) for m in ("formula", "module walk")]
    assert not judge(results, required=("formula", "module walk")).passed


def test_ignoring_the_residual_dilations_is_caught():
    config = shipped_config("seanet_init_defaults_24khz")
    assert config.n_residual_layers > 1 and config.dilation_base > 1
    layers = [
        replace(layer, branch=tuple(replace(conv, dilation=1) for conv in layer.branch))
        if isinstance(layer, ResidualSpec)
        else layer
        for layer in encoder_layers(config)
    ]
    assert not judged_with_formula("seanet_init_defaults_24khz", layers).passed
