"""A codec's own chunking helper (DAC's compress()) against its whole-file call, causes proven."""

from __future__ import annotations

import warnings

import pytest
import torch

from rfprobe.runs.codec_helpers import compare_codes, dac_compress_finding, run_compress
from rfprobe.runs.signals import chord_signal
from rfprobe.runs.chunking import one_thread

RATE_KHZ, SECONDS = 16, 2.3


@pytest.fixture(scope="module")
def dac():
    from rfprobe.families import Unavailable
    from rfprobe.families.dac import descript_codec

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # dac's weight_norm
        try:
            return descript_codec(RATE_KHZ, tiny=True).double()
        except Unavailable as error:
            pytest.skip(str(error))


@pytest.fixture(scope="module")
def windowed(dac):
    """1 s windows: compress() runs, and its codes differ from encode()'s."""
    return dac_compress_finding(dac, 1.0, int(SECONDS * dac.sample_rate), "dac_16khz_descript")


@pytest.fixture(scope="module")
def too_short(dac):
    """0.5 s windows at 16 kHz: get_output_length(window) is negative and compress() raises."""
    return dac_compress_finding(dac, 0.5, int(SECONDS * dac.sample_rate), "dac_16khz_descript")


@pytest.mark.fast
def test_comparing_codes_finds_the_one_frame_that_differs():
    codes = torch.randint(0, 1024, (1, 9, 40))
    changed = codes.clone()
    changed[0, 8, 17] += 1  # one codebook of one frame
    comparison = compare_codes(changed, codes)
    assert comparison.differing_frames == (17,) and comparison.frames_equal == 39 and not comparison.matches
    assert compare_codes(codes, codes).matches
    assert not compare_codes(codes[..., :39], codes).matches  # a frame short is not a match


def test_compress_matches_encode_when_the_file_fits_in_one_window(dac):
    """compress() then encodes the whole file with padding on: encode()'s own call."""
    finding = dac_compress_finding(dac, 5.0, int(SECONDS * dac.sample_rate), "dac_16khz_descript")
    assert finding.finding == "matches" and finding.comparison.frames_compared > 0


def test_compress_in_windows_differs_from_encode_and_names_both_causes(windowed):
    comparison = windowed.comparison
    assert not comparison.matches and comparison.frames_helper > comparison.frames_offline
    assert len(windowed.reasons) == 2
    assert "get_output_length" in windowed.reasons[0] and "delay" in windowed.reasons[1]
    assert windowed.facts["advance_samples"] != windowed.facts["frames_per_window"] * 320


def test_removing_both_causes_leaves_only_frames_at_the_file_ends(windowed):
    corrected = windowed.corrected
    assert corrected is not None and corrected.frames_equal > windowed.comparison.frames_equal
    assert windowed.residue == "" or "within the encoder's reach of the file's ends" in windowed.residue
    assert corrected.frames_equal >= corrected.frames_compared - 4


def test_a_window_shorter_than_the_codec_reach_makes_compress_fail_and_says_why(too_short):
    assert too_short.comparison is None and too_short.finding.startswith("fails: ")
    assert too_short.facts["advance_samples"] <= 0
    assert (
        f"get_output_length({too_short.facts['window_samples']}) = {too_short.facts['advance_samples']}"
        in (too_short.reasons[0])
    )


def test_a_failing_window_runs_once_its_advance_is_whole_frames(too_short):
    corrected = too_short.corrected
    assert corrected is not None and corrected.frames_compared > 0
    assert "within the encoder's reach of the file's ends" in too_short.residue or corrected.matches


def test_the_frame_counts_are_the_window_arithmetic(windowed):
    assert windowed.frame_count.startswith(" (ceil(") and windowed.corrected_frame_count.startswith(" (ceil(")


def test_the_aligned_pad_is_exact_to_the_sample(dac, windowed):
    """One sample more or less of padding moves every window off the frame grid again: frames
    that the aligned pad made equal differ again."""
    audio = chord_signal(windowed.input_samples, dac.sample_rate)
    advance = windowed.facts["frames_per_window"] * int(dac.hop_length)
    pad = windowed.facts["aligned_pad_samples"]
    with one_thread(), torch.no_grad():
        offline = dac.encode(dac.preprocess(audio, dac.sample_rate))[1]
        for wrong_pad in (pad - 1, pad + 1):
            wrong = compare_codes(run_compress(dac, audio, 1.0, advance, wrong_pad), offline)
            assert wrong.frames_equal < windowed.corrected.frames_equal, wrong_pad


def test_the_helper_leaves_the_model_as_it_was_even_when_compress_raises(dac, windowed, too_short):
    assert "get_output_length" not in vars(dac) and dac.delay == windowed.facts["delay_samples"]
    assert dac.padding  # compress() sets it False and restores it only when it returns


def test_a_finding_reads_back_from_its_json_with_the_same_words(windowed):
    import dataclasses
    import json

    from rfprobe.runs.codec_helpers import HelperFinding

    data = json.loads(json.dumps(dataclasses.asdict(windowed)))
    assert HelperFinding.from_json(data) == windowed and HelperFinding.from_json(data).finding == windowed.finding


@pytest.mark.fast
def test_a_codec_without_its_own_helper_has_no_helper_finding():
    from rfprobe.runs.codec_helpers import codec_helper_findings

    assert codec_helper_findings("dac_44khz", True, 0.5) == ()  # transformers' DacModel has no compress()


@pytest.fixture(scope="module")
def encodec_segments():
    from rfprobe.runs.codec_helpers import codec_helper_findings

    (finding,) = codec_helper_findings("encodec_48khz", True, 0.5)
    return finding


@pytest.mark.slow  # 4 s: the segment comparison itself is tested fast below
def test_encodec_48khz_segments_differ_from_the_whole_file_and_name_the_grid_and_the_scale(encodec_segments):
    assert encodec_segments.finding.startswith("differs: ")
    stride, hop = encodec_segments.facts["stride_samples"], 320
    assert stride == int(0.99 * 48000) and encodec_segments.facts["off_grid"] == encodec_segments.facts["segments"] // 2
    assert "off the whole file's frame grid" in encodec_segments.reasons[0] and stride % hop
    assert any("own RMS" in reason for reason in encodec_segments.reasons)


@pytest.mark.slow
def test_encodec_48khz_segments_still_differ_without_the_scale_and_say_why(encodec_segments):
    """Its encoder's norm over time reads the whole input: no segmenting can give the file's frames."""
    assert encodec_segments.corrected is not None and encodec_segments.corrected.differing_frames
    assert "reads the whole input" in encodec_segments.residue


def test_segment_frames_are_compared_only_where_they_lie_on_the_file_grid():
    from rfprobe.runs.codec_helpers import _compare_segments

    whole = torch.arange(10).view(1, 1, 10)
    # hop 2, stride 3 samples: segment 2 starts at sample 6 = frame 3; segment 1 lies off the grid
    segments = torch.stack([whole[..., 0:4], whole[..., 1:5] + 100, whole[..., 3:7]])
    comparison = _compare_segments(segments, 3, 2, whole)
    assert comparison.aligned_frames == 8 and comparison.differing_frames == ()  # segment 1 lies off the grid
    shifted = _compare_segments(segments.roll(1, dims=-1), 3, 2, whole)
    assert shifted.differing_frames  # one frame late is caught


@pytest.mark.fast
def test_seeded_codebooks_make_the_quantizer_non_constant():
    """transformers initialises EnCodec's codebooks to zeros: every latent would map to code 0."""
    from rfprobe.families import require_transformers_class
    from rfprobe.families.codecs import seeded_codebooks
    from rfprobe.families.encodec import transformers_config

    model = require_transformers_class("EncodecModel")(transformers_config(24, True))
    latents = torch.randn(1, model.config.hidden_size, 12)
    assert model.quantizer.encode(latents).unique().numel() == 1
    assert seeded_codebooks(model).quantizer.encode(latents).unique().numel() > 1


def test_decompress_of_compress_differs_from_the_whole_decode_and_decompress_of_encodes_codes_fails():
    from rfprobe.runs.codec_helpers import codec_decode_helper_findings

    round_trip, own_codes = codec_decode_helper_findings("dac_16khz_descript", True, 1.0)
    assert round_trip.samples_helper is not None and round_trip.differing_samples > 0
    assert round_trip.finding.startswith("differs")
    # encode()'s codes in decompress()'s chunks: each chunk decodes short of chunk x hop, and its
    # reshape to the file's length raises
    assert own_codes.samples_helper is None and "samples short" in own_codes.finding


def test_the_decode_comparison_says_matches_only_for_the_same_samples_and_catches_one_sample():
    from rfprobe.runs.codec_helpers import compare_decoded

    offline = torch.linspace(-1, 1, 100, dtype=torch.float64).view(1, 1, -1)
    audio = torch.zeros(1, 1, 100)

    def compared(decoded: torch.Tensor):
        return compare_decoded("codec", "helper", "decode", audio, 100, 10, lambda: decoded, offline, "why")

    assert compared(offline.clone()).finding == "matches bit for bit"
    moved = offline.clone()
    moved[..., 37] += 1e-3
    finding = compared(moved)
    assert finding.differing_samples == 1 and finding.first_differing_sample == 37
    assert finding.finding.startswith("differs") and finding.finding.endswith(": why")
    assert compared(offline[..., :99]).finding.startswith("differs: 99 samples")


def test_dacs_padding_is_as_it_was_after_compress_and_decompress_raise():
    from rfprobe.runs.codec_helpers import _descript_dac, dac_decompress_findings

    model = _descript_dac("dac_16khz_descript", True)
    model.padding = True
    # a 0.5 s window at 16 kHz: compress() raises (no window starts), with its padding turned off
    (raised,) = dac_decompress_findings(model, 0.5, 52800, "dac_16khz_descript")
    assert raised.finding.startswith("fails: compress() raised") and model.padding is True
    # encode()'s codes in 34-frame chunks: decompress() raises, with the padding it set
    findings = dac_decompress_findings(model, 1.0, 52800, "dac_16khz_descript")
    assert findings[1].samples_helper is None and model.padding is True
