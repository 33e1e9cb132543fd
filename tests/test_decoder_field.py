"""Decoder fields and round trips: the analytic core against the gradient and forward-mode probes.

Fast tests use a two-layer decoder built here; the zoo codecs run at tiny width (slow). No
measured number is written down: every check is analytic == empirical, and the mutation
tests show that a wrong analytic answer (one frame off, a wrong phase) is caught.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from rfprobe.arithmetic.decoding import DecoderField, RoundTrip, Span
from rfprobe.core.sizing import frame_reach
from rfprobe.core.trace import trace_module
from rfprobe.runs.decoder_field import (
    RoundTripModule,
    codec_decoder_field,
    codec_round_trip,
    decoder_zoo_row,
    probe_decoder,
    probe_phases,
    probe_round_trip,
)

HOP = 2


def small_decoder() -> nn.Module:
    torch.manual_seed(0)
    # stride-2 transposed conv (kernel 2: output 2 x frames) then a 3-tap conv, so that the
    # two phases read different frames
    return nn.Sequential(nn.ConvTranspose1d(3, 2, 2, stride=2), nn.Tanh(), nn.Conv1d(2, 1, 3, padding=1))


def small_encoder() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv1d(1, 3, 5, padding=2), nn.Tanh(), nn.Conv1d(3, 3, 4, stride=2, padding=1))


@pytest.fixture(scope="module")
def field() -> DecoderField:
    return probe_decoder(small_decoder(), 3, HOP, "small")


@pytest.fixture(scope="module")
def trip() -> RoundTrip:
    return probe_round_trip(RoundTripModule(small_encoder(), small_decoder()), 1, HOP, "small", 16000)


def test_small_decoder_analytic_equals_both_probes(field):
    assert field.agrees
    assert set(field.measured_reads) == {0, 1}
    assert field.past_frames is not None and field.future_frames is not None


def shifted(span: Span, low: int = 0, high: int = 0) -> Span:
    return replace(span, low=span.low + low, high=span.high + high)


@pytest.mark.parametrize("low, high", [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_a_decoder_read_one_frame_off_is_caught(field, low, high):
    wrong = {**field.reads_by_phase, 1: shifted(field.reads_by_phase[1], low, high)}
    assert not replace(field, reads_by_phase=wrong).agrees


def test_reads_given_to_the_wrong_phase_are_caught(field):
    reads = field.reads_by_phase
    assert reads[0] != reads[1]  # otherwise the swap below would prove nothing
    assert not replace(field, reads_by_phase={0: reads[1], 1: reads[0]}).agrees


def test_an_influence_one_sample_off_is_caught(field):
    assert not replace(field, influence=shifted(field.influence, high=1)).agrees
    assert not replace(field, influence=shifted(field.influence, low=-1)).agrees


def test_round_trip_analytic_equals_gradient_and_latency_is_the_right_extent_with_the_hop_wait_inside(trip):
    assert trip.agrees
    assert trip.latency_samples == trip.right_samples
    assert 0 <= trip.buffering_samples <= HOP - 1
    assert trip.buffering_samples + trip.lookahead_samples == trip.latency_samples  # the hop is not counted twice
    assert trip.ms(trip.hop_samples) == 1000.0 * HOP / 16000


def test_the_latency_is_split_at_the_phase_that_needs_the_most_input_ahead():
    # phases 2 and 3 read the next latent frame: phase 2 needs 5 samples ahead, 1 of them its own hop's
    trip = RoundTrip("late", 4, 16000, "skipped", {0: Span(-9, 3), 1: Span(-9, 2), 2: Span(-9, 5), 3: Span(-9, 4)}, {})
    assert (trip.latency_samples, trip.buffering_samples, trip.lookahead_samples) == (5, 1, 4)


def test_a_causal_round_trip_waits_only_for_its_frames_hop():
    causal = RoundTrip("causal", 4, 16000, "skipped", {p: Span(-9, 3 - p) for p in range(4)}, {})
    assert (causal.latency_samples, causal.buffering_samples, causal.lookahead_samples) == (3, 3, 0)
    ahead = RoundTrip("ahead", 4, 16000, "skipped", {p: Span(-9, 10 - p) for p in range(4)}, {})
    assert (ahead.latency_samples, ahead.buffering_samples, ahead.lookahead_samples) == (10, 3, 7)


def test_a_round_trip_one_sample_off_or_on_the_wrong_phase_is_caught(trip):
    reads = trip.reads_by_phase
    assert not replace(trip, reads_by_phase={**reads, 0: shifted(reads[0], low=-1)}).agrees
    assert not replace(trip, reads_by_phase={0: reads[1], 1: reads[0]}).agrees
    assert not replace(trip, undecided="gradient: no gradient").agrees


def test_probe_phases_take_the_round_trip_span_relative_to_the_anchor():
    # relative to the sample a round trip's span moves with the phase; relative to the
    # anchor it is constant here, so only the ends of the hop are probed
    reads = {p: Span(-10 - p, 5 - p) for p in range(8)}
    assert probe_phases(reads, lambda anchor, phase: anchor * 8 + phase) == [0, 7]
    assert probe_phases(reads) == list(range(8))


def test_a_vector_norm_over_channels_is_per_frame_and_over_time_global():
    class OverChannels(nn.Module):
        def forward(self, x):
            return x / torch.linalg.vector_norm(x, 2, dim=1, keepdim=True)

    class OverTime(nn.Module):
        def forward(self, x):
            return x / x.norm(2, dim=2, keepdim=True)

    assert frame_reach(trace_module(OverChannels(), 3, 20, dtype=torch.float64), 10).intervals == ((10, 10),)
    assert frame_reach(trace_module(OverTime(), 3, 20, dtype=torch.float64), 10).intervals == ((0, 19),)


def test_a_codebook_lookup_reads_its_codes_position_for_position():
    class Quantize(nn.Module):
        def __init__(self):
            super().__init__()
            self.codebook = nn.Parameter(torch.randn(5, 3, dtype=torch.float64))

        def forward(self, x):  # nearest codeword per frame, looked up again
            codes = (x.transpose(1, 2) @ self.codebook.T).argmax(-1)
            return nn.functional.embedding(codes, self.codebook).transpose(1, 2)

    module = nn.Sequential(nn.Conv1d(3, 3, 3, padding=1), Quantize()).double()
    trace = trace_module(module, 3, 20, dtype=torch.float64)
    assert frame_reach(trace, 10).intervals == ((9, 11),)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dac_16khz", "dac_44khz_descript", "snac_24khz"])
def test_a_conv_codecs_decoder_and_round_trip_agree(name):
    field = codec_decoder_field(name)
    assert field.agrees and field.past_frames is not None and field.future_frames is not None
    trip = codec_round_trip(name)
    assert trip.agrees and trip.right_samples is not None


@pytest.mark.slow
def test_dac_transformers_and_descript_decoders_read_the_same_frames():
    assert codec_decoder_field("dac_24khz").reads_by_phase == codec_decoder_field("dac_24khz_descript").reads_by_phase


@pytest.mark.slow
def test_dac_round_trip_through_its_quantizer_agrees():
    trip = codec_round_trip("dac_16khz", quantized=True)
    assert trip.agrees and "straight-through" in trip.quantizer


@pytest.mark.slow
def test_encodec_lstm_decoder_past_is_unbounded_in_both_methods():
    row = decoder_zoo_row("encodec_24khz")
    assert row.decoder_agrees and row.round_trip_agrees
    assert row.decoder_past_frames is None and row.round_trip_left_samples is None
    assert row.decoder_future_frames is not None and row.latency_ms is not None


@pytest.mark.slow
def test_encodec_round_trip_through_integer_codes_is_undecided_by_the_gradient():
    trip = codec_round_trip("encodec_24khz", quantized=True)
    assert trip.undecided.startswith("gradient:") and not trip.agrees


def test_the_decoder_table_names_unbounded_sides():
    from rfprobe.output.decoder_table import decoder_table
    from rfprobe.runs.decoder_field import DecoderZooRow

    row = DecoderZooRow("x", 4, 16000, None, 0, 0, None, True, None, 3, 0.1875, 0.25, 0.4375, True, "skipped")
    line = decoder_table([row]).splitlines()[-1]  # after the header and its rule
    assert line.split()[2] == "unbounded" and "[+0 .. unbounded]" in line and "decoder yes, rt yes" in line


@pytest.mark.slow
def test_zoo_decoder_cli_writes_agreeing_rows(tmp_path, capsys):
    import json

    from rfprobe.frontends.zoo_cli import main

    out = tmp_path / "d.json"
    assert main(["--decoder", "--tiny", "--only", "dac_16khz", "--json", str(out)]) == 0
    assert "dec past fr" in capsys.readouterr().out
    row = json.loads(out.read_text())["decoders"][0]
    assert row["decoder_agrees"] and row["round_trip_agrees"]


def test_one_hop_read_together_is_the_max_over_phases(field):
    """The union read of a whole hop has exactly the per-phase field's past and future."""
    from rfprobe.runs.decoder_field import probe_decoder_hop

    hop_reads = probe_decoder_hop(small_decoder(), 3, HOP, "small")
    assert hop_reads.agrees
    assert (hop_reads.past_frames, hop_reads.future_frames) == (field.past_frames, field.future_frames)


def test_a_hop_read_one_frame_short_is_caught():
    from rfprobe.runs.decoder_field import probe_decoder_hop

    hop_reads = probe_decoder_hop(small_decoder(), 3, HOP, "small")
    assert not replace(hop_reads, analytic=shifted(hop_reads.analytic, low=1)).agrees
    assert not replace(hop_reads, analytic=shifted(hop_reads.analytic, high=-1)).agrees


def test_an_lstm_decoder_hop_read_is_unbounded_in_the_past_in_both_methods():
    from rfprobe.runs.decoder_field import probe_decoder_hop

    class LstmDecoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 3, batch_first=True)
            self.up = nn.ConvTranspose1d(3, 1, HOP, stride=HOP)

        def forward(self, latents):
            return self.up(self.lstm(latents.transpose(1, 2))[0].transpose(1, 2))

    torch.manual_seed(0)
    hop_reads = probe_decoder_hop(LstmDecoder(), 3, HOP, "lstm")
    assert hop_reads.agrees and hop_reads.past_frames is None and hop_reads.future_frames == 0


@pytest.mark.slow
def test_mimi_decoder_hop_read_agrees_and_has_no_future():
    from rfprobe.families.codecs import find_codec
    from rfprobe.runs.decoder_field import probe_decoder_hop

    torch.manual_seed(0)
    parts = find_codec("mimi").build(True)
    hop_reads = probe_decoder_hop(parts.decoder, parts.latent_dim, parts.hop_samples, "mimi")
    assert hop_reads.agrees and hop_reads.future_frames == 0 and hop_reads.past_frames is not None


class OverlapAddHead(nn.Module):
    """An inverse STFT, as WavTokenizer's and Vocos' heads write it: each latent frame becomes a
    spectrum (torch.polar), a window of 14 samples (an inverse FFT over frequency), placed every 4
    samples by F.fold, "same"-cropped and divided by the window envelope (which does not depend on
    the input). The window has no zero: a periodic Hann window's first sample is 0, which the
    gradient sees and the walk does not."""

    def __init__(self) -> None:
        super().__init__()
        self.to_spectrum = nn.Conv1d(3, 16, kernel_size=1)  # 8 magnitudes, 8 phases per frame

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        frames = latents.shape[-1]
        magnitude, phase = self.to_spectrum(latents).chunk(2, dim=1)
        spectrum = torch.polar(magnitude.exp(), phase)
        window = 0.5 + torch.hann_window(14, dtype=latents.dtype)
        windows = torch.fft.irfft(spectrum, 14, dim=1) * window[None, :, None]
        size = (frames - 1) * 4 + 14
        audio = nn.functional.fold(windows, output_size=(1, size), kernel_size=(1, 14), stride=(1, 4))
        envelope = nn.functional.fold(
            window.square().expand(1, frames, -1).transpose(1, 2),
            output_size=(1, size),
            kernel_size=(1, 14),
            stride=(1, 4),
        )
        return (audio / envelope.clamp(min=1e-11))[:, 0, :, 5:-5]


def test_an_overlap_add_fold_is_read_by_the_walk_as_both_probes_measure_it():
    torch.manual_seed(0)
    field = probe_decoder(OverlapAddHead().double(), latent_dim=3, hop=4)
    assert field.agrees
    # a sample reads the frames whose 14-sample windows cover it: 3 or 4 frames around its own
    assert (field.past_frames, field.future_frames) == (2, 2)


def test_a_fold_over_two_spatial_axes_is_refused_by_name():
    from rfprobe.core.readers import NotUnderstood

    class TwoAxesFold(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            folded = nn.functional.fold(x, output_size=(2, x.shape[-1] + 1), kernel_size=(2, 2))
            return folded.flatten(1, 2)

    with pytest.raises(NotUnderstood, match="col2im.*two spatial axes"):
        trace_module(TwoAxesFold(), 4, 9, dtype=torch.float64).graph.reach(0, ((0, 0),))


def test_xcodecs_decoder_is_local_while_its_round_trip_through_the_semantic_branch_is_global():
    row = decoder_zoo_row("xcodec_acoustic")
    assert row.decoder_agrees and row.round_trip_agrees
    assert (row.decoder_past_frames, row.decoder_future_frames) == (10, 10)  # the DAC-style acoustic decoder
    assert row.round_trip_left_samples is None and row.round_trip_right_samples is None and row.latency_ms is None


def test_audiogens_compression_decoder_reads_an_unbounded_past_and_4_future_frames():
    row = decoder_zoo_row("audiogen_16khz")
    assert row.decoder_agrees and row.round_trip_agrees
    assert row.decoder_past_frames is None and row.decoder_future_frames == 4  # its LSTM; a non-causal decoder


@pytest.mark.slow
def test_audiocraft_and_transformers_encodec_decoders_read_the_same_frames():
    import dataclasses

    def numbers(row):
        return {k: v for k, v in dataclasses.asdict(row).items() if k not in ("name", "quantizer")}

    assert numbers(decoder_zoo_row("encodec_24khz_audiocraft")) == numbers(decoder_zoo_row("encodec_24khz"))


class GlobalAttentionDecoder(nn.Module):
    """Latent frames -> self-attention over all frames (scaled_dot_product_attention) -> upsampled
    by HOP: every output sample reads every latent frame. Contiguous heads, so that CPU SDPA
    picks its flash kernel, as transformers models do."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.project = nn.Conv1d(3, 4, 1)
        self.upsample = nn.ConvTranspose1d(4, 1, HOP, stride=HOP)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        hidden = self.project(latents).transpose(1, 2).unsqueeze(1).contiguous()  # (batch, 1 head, frames, 4)
        attended = nn.functional.scaled_dot_product_attention(hidden, hidden, hidden)
        return self.upsample(attended.squeeze(1).transpose(1, 2))


def test_a_decoder_with_sdpa_attention_is_measured_by_forward_mode_too():
    # torch's CPU flash attention kernel has no forward-mode derivative: the influence probe
    # runs under the math backend, as the impulse probe does (X-codec 2's decoder raised here)
    field = probe_decoder(GlobalAttentionDecoder(), 3, HOP, "global attention")
    assert field.agrees
    assert field.past_frames is None and field.future_frames is None  # unbounded both ways
    assert field.measured_influence.low_unbounded and field.measured_influence.high_unbounded


def test_a_per_phase_walk_estimated_past_its_limit_is_refused_by_name(monkeypatch):
    from rfprobe.runs import decoder_field
    from rfprobe.runs.decoder_field import CannotDecide

    monkeypatch.setattr(decoder_field, "PER_PHASE_WALK_LIMIT_S", 0.0)
    with pytest.raises(CannotDecide, match="phases one by one"):
        probe_decoder(small_decoder(), 3, HOP, "small")


def test_a_longer_decoder_trace_over_the_memory_budget_is_refused_by_name(monkeypatch):
    from rfprobe.core import budget
    from rfprobe.runs.decoder_field import CannotDecide

    torch.manual_seed(4)
    # reads 20 latent frames on each side: the first trace (16 frames) is too short, and its
    # doubling is the one the budget refuses
    wide = nn.Sequential(nn.Conv1d(3, 2, 41, padding=20), nn.ConvTranspose1d(2, 1, HOP, stride=HOP))
    monkeypatch.setattr(budget, "memory_budget_bytes", lambda device: 1)
    with pytest.raises(CannotDecide, match="module walk: a trace of"):
        probe_decoder(wide, 3, HOP, "wide")


def test_a_gradient_over_the_memory_budget_is_refused_and_rows_in_groups_read_the_same(monkeypatch):
    from rfprobe.core import budget
    from rfprobe.runs.decoder_field import CannotDecide

    whole = probe_decoder(small_decoder(), 3, HOP, "small")
    # one row per backward (the budget holds exactly one row's largest tensor): the same reads
    monkeypatch.setattr(budget, "predicted_largest_bytes", lambda trace, longer: 1.0)
    monkeypatch.setattr(budget, "memory_budget_bytes", lambda device: 1)
    assert probe_decoder(small_decoder(), 3, HOP, "small").measured_reads == whole.measured_reads
    # not even one row fits: refused by name, never run into the machine's memory
    monkeypatch.setattr(budget, "predicted_largest_bytes", lambda trace, longer: 2.0**40)
    with pytest.raises(CannotDecide, match="gradient: one output sample's backward"):
        probe_decoder(small_decoder(), 3, HOP, "small")


def test_a_round_trip_that_cannot_be_decided_leaves_the_decoders_row_and_names_why(monkeypatch):
    from rfprobe.output.decoder_table import decoder_cells
    from rfprobe.runs import decoder_field

    def undecided(*args, **kwargs):
        raise decoder_field.CannotDecide("module walk: a trace of 9 samples would make a tensor of about 1.0 GiB")

    monkeypatch.setattr(decoder_field, "codec_round_trip", undecided)
    row = decoder_zoo_row("dac_16khz")
    assert row.decoder_agrees and row.decoder_past_frames is not None
    assert row.round_trip_note.startswith("module walk") and row.latency_ms is None
    cells = decoder_cells(row)
    assert "unbounded" not in cells[5:10] and cells[-1] == "decoder yes, rt not measured"
