"""Chunk plans, proven by running: joined chunks equal the whole file bit for bit, one frame less
of context breaks it, a plan one sample short is caught, and no plan is exact past an unbounded side."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from rfprobe.arithmetic.chunking import DecodePlan, EncodePlan
from rfprobe.arithmetic.geometry import ReceptiveField, Side
from rfprobe.core.walk import walk_receptive_field
from rfprobe.frontends.cli import main
from rfprobe.runs.chunking import ROUNDING, codec_chunking, encode_plan, prove_decode_plan, prove_encode_plan


class StridedStack(nn.Module):
    """Two zero-padded convs (kernel 5 stride 2, kernel 3 stride 2): a small encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv1d(1, 3, kernel_size=5, stride=2, padding=2)
        self.second = nn.Conv1d(3, 2, kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.tanh(self.first(x)))


class Upsampler(nn.Module):
    """A small decoder: a transposed conv of stride 4 then a conv of kernel 3."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(2, 2, kernel_size=8, stride=4, padding=2)
        self.out = nn.Conv1d(2, 1, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.up(x)))


def _stack() -> tuple[nn.Module, EncodePlan]:
    torch.manual_seed(0)
    module = StridedStack().double()
    plan, why = encode_plan(walk_receptive_field(module, channels=1).receptive_field)
    assert plan is not None, why
    return module, plan


def test_an_encode_plan_from_the_exact_field_is_equal_bit_for_bit_and_minimal_on_both_sides():
    module, plan = _stack()
    proof = prove_encode_plan(module, 1, plan, lengths=[203, 131], chunk_sizes=[5, 8])
    assert all(run.equal for run in proof.comparisons) and len(proof.comparisons) == 4
    assert set(proof.minimality) == {"left", "right"} and proof.exact


def test_an_encode_plan_one_sample_short_on_the_right_is_caught(monkeypatch):
    module, plan = _stack()
    real = EncodePlan.chunks

    def one_sample_short(self, total_samples, total_frames, chunk_frames):
        # Each interior chunk ends one sample before the last sample its last frame reads.
        needed = [
            (chunk.first_frame + chunk.keep_frames - 1) * self.hop_samples + self.right_samples
            for chunk in real(self, total_samples, total_frames, chunk_frames)
        ]
        return [
            dataclasses.replace(chunk, input_end_samples=end) if end < total_samples else chunk
            for chunk, end in zip(real(self, total_samples, total_frames, chunk_frames), needed)
        ]

    monkeypatch.setattr(EncodePlan, "chunks", one_sample_short)
    proof = prove_encode_plan(module, 1, plan, lengths=[203, 131], chunk_sizes=[5, 8])
    assert not proof.exact and not proof.equal_up_to_rounding  # a missing sample is far more than rounding


def test_a_decode_plan_from_the_decoders_reads_is_equal_and_minimal_and_one_sample_off_is_caught(monkeypatch):
    from rfprobe.runs.decoder_field import probe_decoder

    torch.manual_seed(0)
    decoder = Upsampler().double()
    field = probe_decoder(decoder, 2, 4)
    plan = DecodePlan(4, field.past_frames, field.future_frames)
    assert prove_decode_plan(decoder, 2, plan, frame_counts=[41, 29], chunk_sizes=[6, 9]).exact
    real = DecodePlan.chunks

    def cropped_one_sample_late(self, total_frames, total_samples, chunk_frames):
        return [
            dataclasses.replace(chunk, crop_samples=chunk.crop_samples + 1) if chunk.crop_samples else chunk
            for chunk in real(self, total_frames, total_samples, chunk_frames)
        ]

    monkeypatch.setattr(DecodePlan, "chunks", cropped_one_sample_late)
    late = prove_decode_plan(decoder, 2, plan, frame_counts=[41, 29], chunk_sizes=[6, 9])
    assert not late.exact and not late.equal_up_to_rounding


class NoisyUpsampler(Upsampler):
    """The small decoder with fresh noise on every call, as SNAC's NoiseBlocks add it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.up(x))
        noise = torch.randn(hidden.shape[0], 1, hidden.shape[-1], dtype=hidden.dtype)
        return self.out(hidden + noise * hidden)


def _noisy_decode_proof():
    from rfprobe.runs.decoder_field import probe_decoder

    torch.manual_seed(0)
    decoder = NoisyUpsampler().double()
    field = probe_decoder(decoder, 2, 4)
    plan = DecodePlan(4, field.past_frames, field.future_frames)
    return prove_decode_plan(decoder, 2, plan, frame_counts=[41, 29], chunk_sizes=[6, 9])


def test_a_decoder_drawing_noise_on_every_call_has_no_plan_as_it_runs_and_the_draw_is_named():
    proof = _noisy_decode_proof()
    assert proof.random_draws == ("aten.randn",)
    assert proof.finding.startswith("no plan as it runs: it draws random numbers on every call (aten.randn)")


def test_with_its_noise_zeroed_a_noisy_decoders_plan_is_proven_exact_and_minimal():
    proof = _noisy_decode_proof()
    assert proof.exact and "with those draws as zeros: exact, minimal (proven)" in proof.finding


def test_a_model_that_changes_between_calls_without_a_random_draw_has_no_plan_and_says_why():
    class CountingUpsampler(Upsampler):
        """Each call adds how many calls came before: state kept between calls, no random op."""

        calls = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.calls += 1
            return super().forward(x) + self.calls

    torch.manual_seed(0)
    proof = prove_decode_plan(CountingUpsampler().double(), 2, DecodePlan(4, 1, 1), [41, 29], [6, 9])
    assert proof.plan is None and "two runs of the same input differ" in proof.no_exact_plan


def test_a_dropout_left_in_training_mode_is_named_and_never_zeroed():
    class DroppingUpsampler(Upsampler):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.dropout(super().forward(x), p=0.5, training=True)

    torch.manual_seed(0)
    proof = prove_decode_plan(DroppingUpsampler().double(), 2, DecodePlan(4, 1, 1), [41, 29], [6, 9])
    assert proof.plan is None and "aten.bernoulli" in proof.no_exact_plan and "cannot be zeroed" in proof.no_exact_plan


def test_a_deterministic_model_with_nan_in_its_output_is_not_called_nondeterministic():
    class NanUpsampler(Upsampler):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            output = super().forward(x)
            return torch.cat([output[..., :1] * float("nan"), output[..., 1:]], dim=-1)

    torch.manual_seed(0)
    proof = prove_decode_plan(NanUpsampler().double(), 2, DecodePlan(4, 1, 1), [41, 29], [6, 9])
    assert "two runs of the same input differ" not in proof.no_exact_plan and proof.random_draws == ()


def test_a_one_less_plan_off_by_rounding_only_does_not_prove_minimality(monkeypatch):
    import rfprobe.runs.chunking as chunking

    module, plan = _stack()
    real = chunking._compare

    def rounding_off(whole, chunked, length, chunk_frames):  # every chunked run: a few ulps off at most
        found = real(whole, chunked, length, chunk_frames)
        return dataclasses.replace(found, equal=False, max_relative_difference=1e-16) if found.equal else found

    monkeypatch.setattr(chunking, "_compare", rounding_off)
    proof = prove_encode_plan(module, 1, plan, lengths=[203, 131], chunk_sizes=[5, 8])
    assert proof.equal_up_to_rounding and all(
        broken is None or not broken.rounding for broken in proof.minimality.values()
    )


def test_a_deterministic_decoder_names_no_random_draws():
    from rfprobe.runs.decoder_field import probe_decoder

    torch.manual_seed(0)
    decoder = Upsampler().double()
    field = probe_decoder(decoder, 2, 4)
    plan = DecodePlan(4, field.past_frames, field.future_frames)
    proof = prove_decode_plan(decoder, 2, plan, frame_counts=[41, 29], chunk_sizes=[6, 9])
    assert proof.random_draws == () and proof.finding == "exact, minimal (proven)"


def test_no_plan_is_exact_past_an_unbounded_side_and_the_reason_is_named():
    lstm_past = ReceptiveField(left=Side(0, unbounded=True), right=Side(319), hop_samples=320)
    plan, why = encode_plan(lstm_past)
    assert plan is None and "past is unbounded" in why
    global_field = ReceptiveField(
        left=Side(0, unbounded=True), right=Side(0, unbounded=True), hop_samples=320, global_in_time=True
    )
    assert "whole input" in encode_plan(global_field)[1]


def test_a_zoo_codecs_encode_and_decode_plans_hold_every_sample_and_are_minimal_at_tiny_width():
    # Bit for bit where the CPU's kernels round a chunk's edge as the whole file's (most CPUs); on
    # some AVX-512 CPUs a few outputs at chunk ends differ by float64 rounding, and the finding says so.
    result = codec_chunking("dac_16khz", tiny=True, chunk_seconds=0.12)
    for proof in (result.encode, result.decode):
        assert proof is not None and proof.equal_up_to_rounding and proof.minimal, proof.describe()


def test_a_recurrent_zoo_encoder_says_no_exact_plan():
    result = codec_chunking("audiogen_16khz", tiny=True, chunk_seconds=0.12)
    assert not result.encode.exact and "unbounded" in result.encode.no_exact_plan


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "0.001"])
def test_a_chunk_shorter_than_one_frame_or_not_a_positive_duration_is_one_line_and_exit_2(seconds, capsys):
    assert main(["chunk", "dac_16khz", "--tiny", "--chunk-seconds", seconds]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--chunk-seconds" in error


def test_an_unknown_codec_name_is_one_line_and_exit_2(capsys):
    assert main(["chunk", "no_such_codec"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "no_such_codec" in error


def test_the_chunk_command_prints_proven_plans_and_writes_them_as_json(tmp_path, capsys):
    import json

    out = tmp_path / "plan.json"
    assert main(["chunk", "dac_16khz", "--tiny", "--chunk-seconds", "0.12", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    for kind in ("encode", "decode"):  # the printed finding is the JSON's runs (bit for bit, or rounding only)
        runs = data[kind]["comparisons"]
        assert all(run["equal"] or run["max_relative_difference"] <= ROUNDING for run in runs)
        expected = "exact, minimal (proven)" if all(run["equal"] for run in runs) else "equal up to rounding"
        assert f"{kind}: {expected}" in printed
    assert data["encode"]["plan"]["hop_samples"] == 320
    assert data["kernels"].startswith(("MKL_CBWR=", "BLAS without MKL")) and data["kernels"] in printed
    # the trim a server needs, from the proven length arithmetic, printed and in the JSON
    trim = data["lengths"]["decode_trim_samples"]
    assert not data["lengths"]["mismatches"] and f"decoded audio is {trim} samples short of f x hop" in printed


def test_a_proof_estimated_past_max_seconds_is_refused_up_front_in_one_line(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["chunk", "dac_16khz", "--tiny", "--max-seconds", "0.001", "--json", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--max-seconds 0.001" in error and "proving its encode plan" in error
    assert not out.exists()  # nothing half-written


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_max_seconds_must_be_a_positive_number(value, capsys):
    assert main(["chunk", "dac_16khz", "--tiny", "--max-seconds", value]) == 2
    assert "--max-seconds" in capsys.readouterr().err


def test_a_decoder_the_core_cannot_read_has_no_plan_and_the_first_refusal_is_named():
    result = codec_chunking("wavtokenizer", tiny=True, chunk_seconds=0.5)
    assert result.decode is not None and result.decode.plan is None
    assert result.decode.no_exact_plan.startswith("the decoder's reads cannot be decided (aten.permute")


def test_the_decoder_zoo_names_a_decoder_it_cannot_measure_and_exits_one(tmp_path, capsys):
    import json

    out = tmp_path / "decoders.json"
    assert main(["zoo", "--tiny", "--decoder", "--only", "wavtokenizer", "--json", str(out)]) == 1
    assert "wavtokenizer: not measured: aten.permute" in capsys.readouterr().out
    assert json.loads(out.read_text())["not_measured"][0]["name"] == "wavtokenizer"
