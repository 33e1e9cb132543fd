"""SEANetDecoder: the analytic core's reads against gradient and forward-mode probes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import CONFIG_DIR, shipped_config
from rfprobe.frontends.cli import main
from rfprobe.runs.seanet_decoder import Span, analytic_decoder, decoder_report, reach_from_reads

SMALL = {"n_filters": 4, "dimension": 4}


@pytest.mark.parametrize("name", ["musicgen_32khz_conv", "encodec_24khz_causal_conv", "seanet_init_defaults_24khz"])
def test_decoder_arithmetic_equals_the_probes(name):
    report = decoder_report(replace(shipped_config(name), **SMALL))
    assert report.agrees
    assert len(report.measured_reads) >= 2


@pytest.mark.parametrize("trim", [0.0, 0.5, 1.0])
def test_causal_trim_right_ratio_moves_the_influence_left(trim):
    config = replace(shipped_config("encodec_24khz_causal_conv"), **SMALL)
    report = decoder_report(config, trim_right_ratio=trim)
    assert report.agrees
    if trim == 1.0:
        assert report.reach.low == 0  # all trimming on the right: nothing before the anchor


def test_lstm_decoder_is_unbounded_both_ways_in_both_methods():
    report = decoder_report(replace(shipped_config("encodec_24khz_causal"), **SMALL))
    assert report.agrees
    assert report.reads_by_phase[0].low_unbounded and report.reach.high_unbounded


def test_a_wrong_transposed_trim_is_caught():
    config = replace(shipped_config("encodec_24khz_causal_conv"), **SMALL)
    report = decoder_report(config, trim_right_ratio=1.0)
    wrong_reads, wrong_reach = analytic_decoder(config, trim_right_ratio=0.0)
    tampered = replace(report, reads_by_phase=wrong_reads, reach=wrong_reach)
    assert not tampered.agrees


def test_one_latent_frames_reach_is_the_inverse_of_the_reads_by_hop_position():
    # hop 2: sample 2n reads frames n-1..n, sample 2n+1 reads n..n+1; so frame 0 reaches
    # samples 0 and 2 (position 0, n = 0, 1) and -1 and 1 (position 1, n = -1, 0): -1..2.
    assert reach_from_reads({0: Span(-1, 0), 1: Span(0, 1)}, hop=2) == Span(-1, 2)
    unbounded_past = reach_from_reads({0: Span(-5, 0, low_unbounded=True), 1: Span(-5, 1, low_unbounded=True)}, 2)
    assert unbounded_past.high_unbounded and not unbounded_past.low_unbounded


def test_span_agreement_ignores_only_unbounded_ends():
    assert Span(-3, 4).agrees_with(Span(-3, 4))
    assert not Span(-3, 4).agrees_with(Span(-3, 5))
    assert Span(-3, 4, low_unbounded=True).agrees_with(Span(-9, 4, low_unbounded=True))
    assert not Span(-3, 4, low_unbounded=True).agrees_with(Span(-3, 4))


def test_cli_decoder_section_and_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["--config", str(CONFIG_DIR / "encodec_24khz_causal_conv.yaml"), "--decoder", "--json", str(out)]) == 0
    assert "one latent frame influences" in capsys.readouterr().out
    decoder = json.loads(out.read_text())["configs"]["encodec_24khz_causal_conv"]["decoder"]
    assert decoder["agrees"] and decoder["output_samples_reached_by_one_latent_frame"]["count"] > 0


def test_trim_right_ratio_on_a_non_causal_decoder_is_refused(capsys):
    assert (
        main(["--config", str(CONFIG_DIR / "musicgen_32khz_conv.yaml"), "--decoder", "--trim-right-ratio", "0.5"]) == 2
    )
    assert "only for causal" in capsys.readouterr().err
