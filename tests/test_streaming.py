"""Mimi's streaming APIs against its offline calls: the findings report what was measured."""

from __future__ import annotations

import warnings

import pytest
import torch

from rfprobe.runs import streaming
from rfprobe.runs.chunking import one_thread
from rfprobe.runs.signals import chord_signal
from rfprobe.runs.streaming import HOP_SAMPLES, StreamingFinding, find_delay_samples

FRAMES = 6
LENGTH_SAMPLES = FRAMES * HOP_SAMPLES  # a whole number of frames
PARTIAL_SAMPLES = 700
RAGGED_LENGTH_SAMPLES = LENGTH_SAMPLES + PARTIAL_SAMPLES  # not a multiple of the hop


@pytest.fixture(scope="module")
def transformers_model():
    pytest.importorskip("transformers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return streaming.transformers_mimi_model()


@pytest.fixture(scope="module")
def moshi_model():
    pytest.importorskip("moshi", reason="moshi is an optional extra")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return streaming.moshi_mimi_model()


def _swap_frames_of_second_step(chunks: list[torch.Tensor]) -> list[torch.Tensor]:
    """The second 2-frame step with its two frames in the other order."""
    second = chunks[1]
    return [chunks[0], torch.cat([second[..., HOP_SAMPLES:], second[..., :HOP_SAMPLES]], dim=-1), *chunks[2:]]


def _drop_first_sample(chunks: list[torch.Tensor]) -> list[torch.Tensor]:
    """The stream one sample early (its first sample dropped, a zero appended), in the same steps."""
    signal = torch.cat(chunks, dim=-1)
    shifted = torch.nn.functional.pad(signal[..., 1:], (0, 1))
    step_samples = chunks[0].shape[-1]
    return [shifted[..., start : start + step_samples] for start in range(0, shifted.shape[-1], step_samples)]


# --- the finding's words --------------------------------------------------------------------


def _finding(**changes) -> StreamingFinding:
    fields = dict(
        codec="c",
        api="a",
        step_frames=1,
        frames_offline=4,
        frames_streamed=4,
        codes_equal_frames=4,
        first_differing_frame=None,
        max_latent_difference=0.0,
        audio_max_difference=0.0,
        delay_samples=0,
        failure="",
        latents_equal=True,
        audio_equal=True,
        max_latent_magnitude=1.0,
        max_audio_magnitude=1.0,
    )
    return StreamingFinding(**{**fields, **changes})


def test_finding_says_match_only_when_every_comparison_was_torch_equal():
    assert _finding().finding == "matches bit for bit"
    # a zero largest difference is not equality (NaN, shapes): only the torch.equal flags count
    assert _finding(latents_equal=False).finding != "matches bit for bit"
    assert _finding(audio_equal=False).finding != "matches bit for bit"
    assert _finding(frames_streamed=3, codes_equal_frames=3, first_differing_frame=3).finding.startswith("differs")


def test_finding_words_give_the_differing_frames_and_the_first():
    words = _finding(codes_equal_frames=1, first_differing_frame=2, latents_equal=False, max_latent_difference=0.5)
    assert words.finding.startswith("differs: 3 of 4 frames, first at frame 2; latents differ by up to 0.5")


def test_finding_of_a_raising_api_says_fails_with_the_error():
    assert _finding(failure="RuntimeError: no").finding == "fails: RuntimeError: no"


# --- the delay search -----------------------------------------------------------------------


def test_delay_search_finds_a_plain_shift_and_nothing_else():
    offline = chord_signal(4000, 24000)
    delayed = torch.nn.functional.pad(offline, (7, 0))[..., : offline.shape[-1]]
    assert find_delay_samples(offline, delayed, 20) == 7
    assert find_delay_samples(offline, offline.clone(), 20) == 0
    assert find_delay_samples(offline, offline + 1e-12, 20) is None


# --- transformers' Mimi ---------------------------------------------------------------------


def test_transformers_one_step_of_the_whole_input_matches_exactly_when_torch_equal_says_so(transformers_model):
    finding = streaming.transformers_mimi_streaming(FRAMES, LENGTH_SAMPLES, model=transformers_model)
    signal = chord_signal(LENGTH_SAMPLES, streaming.SAMPLE_RATE)
    with one_thread(), torch.no_grad():  # the same comparison, made here independently
        offline = transformers_model.encoder(signal).latents
        streamed = transformers_model.encoder(signal, use_streaming=True).latents
    assert (finding.finding == "matches bit for bit") == torch.equal(offline, streamed)
    assert finding.latents_equal == torch.equal(offline, streamed)


def test_transformers_streamed_codes_are_reported_frame_by_frame(transformers_model):
    finding = streaming.transformers_mimi_streaming(2, LENGTH_SAMPLES, model=transformers_model)
    assert finding.failure == ""
    assert finding.frames_streamed == finding.frames_offline == FRAMES
    assert finding.matches == (finding.codes_equal and finding.latents_equal and finding.audio_equal)
    if not finding.audio_equal:  # the words carry what was measured
        assert f"audio differs by up to {finding.audio_max_difference:.3g}" in finding.finding


def test_transformers_swapped_frames_in_one_step_are_caught(transformers_model):
    finding = streaming.transformers_mimi_streaming(
        2, LENGTH_SAMPLES, model=transformers_model, alter_chunks=_swap_frames_of_second_step
    )
    assert not finding.matches and finding.finding.startswith("differs")
    assert finding.max_latent_difference > 1e-6 * finding.max_latent_magnitude


def test_transformers_stream_one_sample_early_is_caught(transformers_model):
    finding = streaming.transformers_mimi_streaming(
        2, LENGTH_SAMPLES, model=transformers_model, alter_chunks=_drop_first_sample
    )
    assert not finding.matches and not finding.latents_equal


def test_transformers_partial_last_frame_is_reported(transformers_model):
    whole_frames = RAGGED_LENGTH_SAMPLES // HOP_SAMPLES
    alone = streaming.transformers_mimi_streaming(1, RAGGED_LENGTH_SAMPLES, model=transformers_model)
    with_frames = streaming.transformers_mimi_streaming(2, RAGGED_LENGTH_SAMPLES, model=transformers_model)
    assert alone.frames_offline == whole_frames + 1
    # fed alone, the partial frame either raises (and is fed again padded) or is reported as fed
    assert "raised" in alone.tail or "gave" in alone.tail
    assert (alone.frames_streamed == whole_frames + 1) == ("raised" in alone.tail or "gave 1 frames" in alone.tail)
    if "dropped" in with_frames.tail:
        assert with_frames.frames_streamed == whole_frames
        assert with_frames.first_differing_frame == whole_frames
        assert f"(streamed {whole_frames} frames)" in with_frames.finding


def test_transformers_raising_step_is_a_failure_not_a_difference(transformers_model):
    def empty_step(chunks: list[torch.Tensor]) -> list[torch.Tensor]:
        return [chunks[0], chunks[0][..., :0], *chunks[1:]]

    finding = streaming.transformers_mimi_streaming(
        2, LENGTH_SAMPLES, model=transformers_model, alter_chunks=empty_step
    )
    assert finding.failure and finding.finding == f"fails: {finding.failure}"


# --- moshi's Mimi ---------------------------------------------------------------------------


def test_moshi_findings_say_match_exactly_when_torch_equal_held(moshi_model):
    for step_frames in (1, 2):
        finding = streaming.moshi_mimi_streaming(step_frames, LENGTH_SAMPLES, model=moshi_model)
        assert finding.failure == ""
        assert (finding.finding == "matches bit for bit") == (
            finding.codes_equal and finding.latents_equal and bool(finding.audio_equal)
        )
        assert finding.latents_equal == (
            finding.max_latent_difference == 0.0 and finding.first_latent_differing_frame is None
        )


def test_moshi_swapped_frames_in_one_step_are_caught(moshi_model):
    finding = streaming.moshi_mimi_streaming(
        2, LENGTH_SAMPLES, model=moshi_model, alter_chunks=_swap_frames_of_second_step
    )
    assert not finding.matches
    assert finding.max_latent_difference > 1e-6 * finding.max_latent_magnitude


def test_moshi_partial_frame_is_refused_and_fed_again_padded(moshi_model):
    finding = streaming.moshi_mimi_streaming(1, RAGGED_LENGTH_SAMPLES, model=moshi_model)
    assert "raised" in finding.tail and "multiple of the frame size" in finding.tail
    assert finding.frames_streamed == finding.frames_offline == RAGGED_LENGTH_SAMPLES // HOP_SAMPLES + 1


def test_audiocraft_encodec_has_no_streaming_module_and_the_check_would_find_one():
    from rfprobe.families.seanet.source import load_audiocraft
    from rfprobe.runs.streaming import StreamingSupport, audiocraft_streaming_support

    support = audiocraft_streaming_support()
    assert support.modules > 0 and support.streaming_modules == ()
    assert support.finding.startswith("no streaming API")
    # the check is not blind: one StreamingModule among the same modules is found and named
    base = load_audiocraft().sibling("streaming").StreamingModule

    class StreamingConv(base):  # type: ignore[misc, valid-type]
        pass

    with_one = StreamingSupport.of("audiocraft", "test", base, [torch.nn.Sequential(torch.nn.ReLU(), StreamingConv())])
    assert with_one.streaming_modules == ("StreamingConv",) and "1 of its 3 modules" in with_one.finding
