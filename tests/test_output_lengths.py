"""Output-length arithmetic (rfprobe.runs.output_lengths): composed maps proven by running the codecs.

No measured number is written here: every expectation is either the module's own output
(run again) or a relation between the reported fields.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from rfprobe.families.codecs import CODECS, find_codec
from rfprobe.runs.output_lengths import (
    LengthArithmetic,
    codec_lengths,
    compose_length_map,
    dac_output_length_breaks,
    encoder_lengths,
    measure_lengths,
    outcome,
    prove,
)

FAST_CODEC = "dac_16khz_descript"  # builds in well under a second at tiny width


@pytest.fixture(scope="module")
def fast() -> LengthArithmetic:
    return codec_lengths(FAST_CODEC)


@pytest.fixture(scope="module")
def encodec_encoder():
    torch.manual_seed(0)
    parts = find_codec("encodec_24khz").build(True)
    return parts.encoder.double().eval(), parts.hop_samples


def test_composed_maps_match_the_running_codec(fast):
    assert fast.passed, fast.mismatches
    assert len(fast.checked_lengths) >= 20 and len(fast.checked_frames) >= 20


def test_checked_lengths_include_very_short_and_off_hop_inputs(fast):
    hop = fast.hop_samples
    assert {1, 2, hop - 1, hop, hop + 1} <= set(fast.checked_lengths)
    assert any(length % hop for length in fast.checked_lengths if length > hop)


def test_lengths_where_the_encoder_raises_are_reported_not_skipped(fast):
    # n = 1 is shorter than DAC's strided kernels: the module raises and the map predicted it
    assert any(finding.startswith("encoder n=1: raises:") for finding in fast.findings)


def test_probe_run_matches_the_composed_units_layer_by_layer():
    torch.manual_seed(0)
    parts = find_codec(FAST_CODEC).build(True)
    for module, channels, length in (
        (parts.encoder, 1, 3 * parts.hop_samples + 7),
        (parts.decoder, parts.latent_dim, 3),
    ):
        length_map = compose_length_map(module.double(), channels, length)
        assert length_map.structure_mismatches == ()
        assert length_map.units()


def test_closed_forms_hold_on_the_whole_checked_range(fast):
    assert not fast.encode_formula.startswith("no closed form")
    assert not fast.decode_formula.startswith("no closed form")


def test_decode_trim_is_frames_times_hop_minus_the_decoders_output(fast):
    torch.manual_seed(0)
    parts = find_codec(FAST_CODEC).build(True)
    decoder = measure_lengths(parts.decoder.double().eval(), parts.latent_dim)
    for frames in (1, 4, 9):
        assert frames * fast.hop_samples - decoder(frames) == fast.decode_trim_samples


def test_shortest_input_gives_one_frame_and_one_sample_less_gives_none(fast):
    torch.manual_seed(0)
    parts = find_codec(FAST_CODEC).build(True)
    encoder = measure_lengths(parts.encoder.double().eval(), 1)
    shortest = fast.shortest_input_for_one_frame_samples
    assert outcome(encoder, shortest) == 1
    assert outcome(encoder, shortest - 1) in (0,) or isinstance(outcome(encoder, shortest - 1), str)


def test_prover_catches_a_formula_one_sample_off(encodec_encoder):
    encoder, hop = encodec_encoder
    off_by_one = lambda n: -(-(n + 1) // hop)  # noqa: E731  (ceil((n + 1) / hop))
    mismatches = prove(off_by_one, measure_lengths(encoder, 1), encoder_lengths(hop, None))
    assert mismatches and all(predicted != measured for _, predicted, measured in mismatches)


def test_prover_reports_a_raise_the_formula_did_not_predict():
    torch.manual_seed(0)
    parts = find_codec(FAST_CODEC).build(True)
    always_one = lambda n: 1  # noqa: E731
    mismatches = prove(always_one, measure_lengths(parts.encoder.double().eval(), 1), (1,))
    assert len(mismatches) == 1 and str(mismatches[0][2]).startswith("raises:")


def test_prover_catches_a_unit_with_the_wrong_stride(encodec_encoder):
    encoder, hop = encodec_encoder
    length_map = compose_length_map(encoder, 1, 3 * hop + 7)
    tree = length_map.tree
    strided = next(i for i, item in enumerate(tree.children) if getattr(item, "stride", 1) > 1)
    wrong = dataclasses.replace(tree.children[strided], stride=tree.children[strided].stride + 1)
    mutated = dataclasses.replace(tree, children=tree.children[:strided] + (wrong,) + tree.children[strided + 1 :])
    assert prove(mutated.output_length, measure_lengths(encoder, 1), encoder_lengths(hop, None))


def test_group_norm_single_value_raise_is_predicted():
    # encodec_48khz (time_group_norm) at tiny width: a 1-channel group over one sample raises
    result = codec_lengths("encodec_48khz")
    assert result.passed, result.mismatches
    assert any("GroupNorm" in note for note in result.notes)


def test_length_arithmetic_is_frozen(fast):
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.name = "other"  # type: ignore[misc]


def test_dac_output_length_breaks_end_at_the_first_positive_window():
    from rfprobe.families.dac import descript_codec

    model = descript_codec(16, tiny=True).double()
    breaks = dac_output_length_breaks(model)
    windows = [window for window, _ in breaks]
    assert windows == [model.hop_length * (index + 1) for index in range(len(breaks))]
    assert all(value <= 0 for _, value in breaks[:-1]) and breaks[-1][1] > 0
    assert all(model.get_output_length(window) == value for window, value in breaks)


@pytest.mark.slow
@pytest.mark.parametrize("name", [codec.name for codec in CODECS])
def test_every_codec_passes(name):
    result = codec_lengths(name)
    assert result.passed, result.mismatches
    assert len(result.checked_lengths) >= 20 and len(result.checked_frames) >= 20
    assert not result.encode_formula.startswith("no closed form")
    assert result.decode_trim_samples is not None


@pytest.mark.slow
def test_mimi_own_encoded_length_helper_agrees_with_the_composed_map():
    assert any("get_encoded_length equals" in note for note in codec_lengths("mimi").notes)
