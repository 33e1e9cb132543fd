"""Context map: edge frames and padding, lookahead, taint-proven unbounded sides, effective RF."""

from __future__ import annotations

import itertools
from pathlib import Path
from dataclasses import replace

import pytest
import torch
from torch import nn

from conftest import SHIPPED, shipped_config, verified
from modules import StreamableRecurrent
from rfprobe.core.clip import edge_probe_length
from rfprobe.runs.context import context_map
from rfprobe.core.clip import clip_edges
from rfprobe.core.readers import NotUnderstood
from rfprobe.probes.empirical import plan_window
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.probes.erf import effective_field, mass_widths
from rfprobe.probes.gradient import frame_gradients
from rfprobe.probes.gradient import measured_supports as gradient_supports
from rfprobe.probes.taint import prove_side
from rfprobe.runs.verify import verify_config

SMALL = replace(shipped_config("seanet_s320_32khz_conv"), n_filters=4, dimension=4)


def core_edges(config, length: int, clip_samples=None):
    """The analytic core's edge frames of `config`'s real encoder, traced at `length` samples."""
    clip = clip_samples or length
    return clip_edges(build_encoder(config), config.channels, clip, config.hop_samples, length)


def measured_supports(config, length: int, frames: list[int]):
    supports, count = gradient_supports(build_encoder(config), config.channels, length, frames, seed=3)
    assert count == core_edges(config, length).frames
    return supports


@pytest.mark.parametrize(
    "causal, pad_mode", list(itertools.product([False, True], ["constant", "reflect", "replicate"]))
)
@pytest.mark.parametrize("length", [650, 3333, 5120])
def test_edge_frame_supports_from_the_core_equal_the_gradient_supports(causal, pad_mode, length):
    config = replace(SMALL, causal=causal, pad_mode=pad_mode, n_residual_layers=2)
    edges = core_edges(config, length)
    probed = sorted({0, 1, edges.frames - 2, edges.frames - 1})
    for frame, measured in zip(probed, measured_supports(config, length, probed)):
        assert measured == edges.support(frame).intervals, frame


@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("length", [3200, 3333, 4001])
def test_padded_frame_counts_equal_analytic_and_measured(pad_mode, length):
    """A frame reads padding exactly when its measured support is not the interior one, shifted."""
    config = replace(SMALL, pad_mode=pad_mode)
    edges = core_edges(config, length)
    frames, k, m = edges.frames, edges.left_padded_frames, edges.right_padded_frames
    field = verified("seanet_s320_32khz_conv").truth
    supports = measured_supports(config, length, list(range(frames)))
    interior = [
        s == ((f * field.hop_samples - field.left.samples, f * field.hop_samples + field.right.samples),)
        for f, s in enumerate(supports)
    ]
    measured_k = next(i for i, ok in enumerate(interior) if ok)
    measured_m = next(i for i, ok in enumerate(reversed(interior)) if ok)
    assert (k, m) == (measured_k, measured_m)


@pytest.mark.parametrize("name, pad_mode", [("seanet_s320_32khz_conv", "reflect"), ("seanet_s320_32khz", "constant")])
def test_a_clips_edges_read_on_a_shorter_input_equal_the_core_on_the_clip_itself(name, pad_mode):
    """The shortcut (a shorter input with the clip's length modulo the hop) against no shortcut;
    with an LSTM the last frames' reads stretch back to the clip's start."""
    config = replace(shipped_config(name), n_filters=4, dimension=4, pad_mode=pad_mode)
    hop, clip = config.hop_samples, 40 * config.hop_samples + 77
    short = core_edges(config, 12 * hop + 77, clip_samples=clip)
    whole = core_edges(config, clip)
    assert short.trace.input_length < clip and short.frames == whole.frames
    assert (short.left_padded_frames, short.right_padded_frames) == (
        whole.left_padded_frames,
        whole.right_padded_frames,
    )
    for frame in [0, 1, 2, whole.frames - 3, whole.frames - 2, whole.frames - 1]:
        assert short.support(frame) == whole.support(frame), frame


class MirroredSum(nn.Module):
    """conv(x) + its time reversal: frames near the end also read the start, which does not move
    with the end when the input grows: not periodic in the hop."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=4, stride=4).double()

    def forward(self, x):
        y = self.conv(x)
        return y + torch.flip(y, dims=[2])


def test_edges_of_a_model_not_periodic_in_its_hop_are_refused_not_mapped():
    # Frame 1 reads samples 4..7 and the mirrored L-8..L-5, which neither stays nor moves with
    # an end when the input grows (frame 0's mirror, L-4..L-1, is a wrap to the end, and exact).
    edges = clip_edges(MirroredSum(), 1, clip_samples=4000, hop_samples=4, minimum_length_samples=64)
    assert edges.support(0).intervals == ((0, 3), (3996, 3999))
    with pytest.raises(NotUnderstood, match="not periodic in its hop"):
        edges.support(1)


def test_probe_length_keeps_the_clip_length_modulo_the_hop():
    assert (320000 - edge_probe_length(320000, 640, 2402, 3025)) % 640 == 0
    assert edge_probe_length(3000, 640, 2402, 3025) == 3000


def test_reflect_padding_makes_a_causal_edge_frame_read_the_future():
    config = replace(SMALL, causal=True, pad_mode="reflect")
    support = core_edges(config, 4000).support(0)
    assert support.last > config.hop_samples - 1  # beyond frame 0's own hop
    constant = core_edges(replace(config, pad_mode="constant"), 4000).support(0)
    assert constant.last == config.hop_samples - 1


@pytest.mark.parametrize("name", [n for n in SHIPPED if shipped_config(n).causal])
def test_causal_configs_need_no_lookahead_beyond_their_hop(name):
    context = context_map(verified(name), clip_seconds=1.0)
    assert context.lookahead.after_hop_end_samples == 0


def test_musicgen_context_proves_its_unbounded_past_and_agrees_on_edges():
    context = context_map(verified("musicgen_32khz"))
    assert context.edges.all_agree
    (proof,) = context.taint
    assert proof.side == "past" and proof.proven
    assert all(distance > proof.local_reach_samples for distance in proof.distances_samples)
    assert context.lookahead.after_hop_end_samples == verified("musicgen_32khz").truth.right.samples - 639


class Underflowing(nn.Module):
    """A strided conv, then a recurrence whose memory fades by ~1e-30 per step: the gradient
    from the last frame to early samples underflows to exactly 0 in float64."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 4, kernel_size=4, stride=4)
        self.recurrent = StreamableRecurrent(4)
        with torch.no_grad():
            lstm = self.recurrent.lstm
            lstm.weight_hh_l0.mul_(1e-30)
            lstm.bias_hh_l0[4:8] = -70.0  # forget gate ~ 4e-31

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recurrent(self.conv(x))


def test_taint_proves_an_unbounded_past_where_the_gradient_underflows():
    torch.manual_seed(0)
    module = Underflowing().double()
    length = 400
    inputs = torch.randn(1, 1, length, dtype=torch.float64)
    gradient, _ = frame_gradients(module, inputs, [length // 4 - 1], projection_seed=0)  # the last frame
    assert (gradient[0, 0, :8] == 0).all()  # the gradient claims the start does not matter
    control = nn.Conv1d(1, 4, kernel_size=4, stride=4).double()
    proof = prove_side(module, control, "past", local_left=0, local_right=3, hop=4, channels=1, other_side_bounded=True)
    assert proof.proven


def test_taint_says_bounded_for_a_conv_stack():
    module = build_encoder(SMALL)
    proof = prove_side(module, module, "past", 1203, 1514, 320, 1, other_side_bounded=True)
    assert not proof.proven and proof.control_ok and proof.verdict.startswith("bounded")


def test_taint_control_catches_a_backend_that_spreads_nans():
    class Spreading(nn.Module):  # stands in for an FFT convolution: everything mixes
        def forward(self, x):
            return x[..., ::4] + x.sum(dim=-1, keepdim=True) * 0

    proof = prove_side(Spreading(), Spreading(), "past", 0, 3, 4, 1, other_side_bounded=True)
    assert not proof.control_ok and not proof.proven and "unreliable" in proof.verdict


def test_time_group_norm_is_global_for_the_taint_probe_too():
    verification = verify_config(replace(SMALL, norm="time_group_norm"))
    assert verification.verdict.passed and verification.truth.global_in_time
    context = context_map(verification, clip_seconds=1.0)
    assert {proof.side for proof in context.taint} == {"past", "future"}
    assert all(proof.proven for proof in context.taint)
    assert context.erf.lower_bound  # every sample weighs on the mean: the widths grow with any window


@pytest.mark.parametrize("name", ["musicgen_32khz_conv", "encodec_24khz_causal_conv"])
def test_effective_widths_are_nested_inside_the_receptive_field(name):
    erf = context_map(verified(name), clip_seconds=1.0).erf
    widths = [erf.widths_samples[f] for f in (0.5, 0.9, 0.99)]
    assert widths == sorted(widths) and widths[-1] <= verified(name).truth.samples


ERF_SEED_TOLERANCE = 0.10  # widths from two weight seeds differ by less than 10 %


def test_effective_widths_are_stable_across_seeds():
    erf = context_map(verified("musicgen_32khz_conv"), clip_seconds=1.0).erf
    first, second = erf.per_seed_widths.values()
    for fraction in first:
        assert abs(first[fraction] - second[fraction]) <= ERF_SEED_TOLERANCE * first[fraction]


def test_mass_widths_of_a_known_profile():
    profile = [0, 1, 1, 1, 1, 0]
    assert mass_widths(profile, (0.5, 0.99)) == {0.5: 2, 0.99: 4}


ERF_WINDOW_TOLERANCE = 0.02  # other input draws on a longer window: sampling noise only


def test_effective_widths_through_an_lstm_hold_the_mass_of_a_twice_longer_past():
    config = replace(SMALL, lstm=1)
    verification = verify_config(config)
    erf = context_map(verification, clip_seconds=1.0).erf
    assert not erf.lower_bound and erf.window_samples == erf.windows_tried_samples[-1]
    local = verification.result("formula").receptive_field
    # A past longer by the whole window used: more than twice the margin the widths were measured with.
    window = plan_window(local.left.samples + erf.window_samples, local.right.samples, local.hop_samples)
    longer = effective_field(verification.modules, window, config.channels, torch.device("cpu"), torch.float64)
    for fraction, width in erf.widths_samples.items():
        assert abs(longer.widths_samples[fraction] - width) <= ERF_WINDOW_TOLERANCE * width, fraction


def test_circular_padding_maps_the_wrap_to_the_other_end_of_the_clip():
    """Kernel 5 padded 2 circularly: frame 0 reads samples -2..2, i.e. the clip's last two
    samples and its first three; frame 999 reads 997..1001, i.e. its last three and first two.
    Read on a 16-sample input and mapped to the 1000-sample clip, the wrapped pieces stay
    with the end they wrapped to (the premise check traces one hop longer)."""
    conv = torch.nn.Conv1d(1, 1, kernel_size=5, padding=2, padding_mode="circular").double()
    edges = clip_edges(conv, 1, clip_samples=1000, hop_samples=1, minimum_length_samples=16)
    assert edges.support(0).intervals == ((0, 2), (998, 999))
    assert edges.support(999).intervals == ((0, 1), (997, 999))


def test_a_causal_lstm_config_whose_every_frame_reads_the_left_padding_passes_with_its_picture(tmp_path, capsys):
    """Regression: every frame behind the LSTM reads the left padding, and the picture of the
    clip's start asked for more frames than the edge trace held (exit 3 before)."""
    import json

    from rfprobe.frontends.cli import main
    from rfprobe.families.seanet.config_files import load_config
    from rfprobe.families.seanet.formula import formula_receptive_field

    path = Path(__file__).parent / "data" / "lstm_causal_replicate_ratios_5_6_5_3.yaml"
    out = tmp_path / "report.json"
    assert main(["--config", str(path), "--json", str(out), "--plot", str(tmp_path / "plots"), "--quiet"]) == 0
    formula = formula_receptive_field(load_config(path)).receptive_field
    assert formula.left.unbounded and not formula.right.unbounded
    (report,) = json.loads(out.read_text())["configs"].values()
    assert report["verdict"]["label"] == "PASS"
    for method in report["methods"].values():
        field = method["receptive_field"]
        assert field["left_unbounded"] and field["right_samples"] == formula.right.samples
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "lstm_causal_replicate_ratios_5_6_5_3_edges.png",
        "lstm_causal_replicate_ratios_5_6_5_3_receptive_field.png",
    ]
