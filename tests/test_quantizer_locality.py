"""A codec's quantizer proven frame-local (or not) by the walk and by perturbing one frame."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from rfprobe.runs.quantizer_locality import codec_quantizer_locality, quantizer_locality

LATENTS = torch.linspace(-2, 2, 4 * 40, dtype=torch.float64).view(1, 4, 40).sin() * 3


class Rounding(nn.Module):
    def forward(self, latents):
        return (latents * 4).round() / 4


class RoundingThenSmoothing(nn.Module):
    """Rounds each value, then averages three neighbouring frames: it mixes frames."""

    def forward(self, latents):
        rounded = (latents * 4).round() / 4
        return nn.functional.avg_pool1d(rounded, 3, stride=1, padding=1, count_include_pad=False)


class RoundingMinusTheMean(nn.Module):
    """Subtracts the mean over all frames: every frame reads every other."""

    def forward(self, latents):
        rounded = (latents * 4).round() / 4
        return rounded - rounded.mean(dim=-1, keepdim=True)


class Constant(nn.Module):
    """What transformers' EnCodec quantizer is at init (zero codebooks): every frame to zeros."""

    def forward(self, latents):
        return latents * 0


def test_a_per_value_rounding_is_frame_local():
    assert quantizer_locality("rounding", Rounding(), LATENTS).frame_local


def test_a_quantizer_that_smooths_over_neighbours_is_caught_by_both_methods():
    found = quantizer_locality("smoothing", RoundingThenSmoothing(), LATENTS)
    assert not found.frame_local
    assert (found.analytic_left_frames, found.analytic_right_frames) == (1, 1)
    assert found.changed_elsewhere and all(
        set(others) <= {frame - 1, frame + 1} for frame, others in found.changed_elsewhere
    )


def test_a_quantizer_reading_the_mean_over_time_is_not_frame_local():
    found = quantizer_locality("mean", RoundingMinusTheMean(), LATENTS)
    assert not found.frame_local and found.analytic_left_frames is None
    assert found.analytic_reason == "it reads an unbounded span of frames"
    assert all(len(others) == LATENTS.shape[-1] - 1 for _, others in found.changed_elsewhere)


def test_a_constant_quantizer_gives_no_evidence_and_is_not_called_frame_local():
    found = quantizer_locality("constant", Constant(), LATENTS)
    assert not found.frame_local and found.unchanged_at_own_frame == found.perturbed_frames
    assert "no evidence" in found.finding


# EnCodec's (seeded codebooks, 2 s) in the slow tier: test_codec_helpers shows seeding matters.
@pytest.mark.parametrize("name", ["dac_16khz_descript", pytest.param("encodec_48khz", marks=pytest.mark.slow)])
def test_the_codecs_own_quantizer_is_frame_local(name):
    """EnCodec's needs seeded codebooks: at init every latent maps to code 0 (no evidence)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        found = codec_quantizer_locality(name)
    assert found is not None and found.frame_local, found.finding


class RoundingMinusTheChannelMedian(nn.Module):
    """Frame-local in fact (the median is over channels), through an op the walk has no rule for."""

    def forward(self, latents):
        return ((latents - latents.kthvalue(2, dim=1, keepdim=True).values) * 4).round() / 4


def test_a_quantizer_the_walk_cannot_read_is_not_called_frame_local_whatever_the_perturbation_says():
    found = quantizer_locality("median", RoundingMinusTheChannelMedian(), LATENTS)
    assert not found.changed_elsewhere and not found.unchanged_at_own_frame  # the perturbation sees frame-local
    assert not found.frame_local and "kthvalue" in found.analytic_reason
    assert found.finding.startswith("not proven frame-local: the walk cannot read it")


@pytest.mark.slow  # the cdist rule itself: tests/test_core_operators.py, fast
def test_mimi_split_rvq_is_frame_local():
    """Its nearest code comes from torch.cdist (aten._euclidean_dist), which the walk reads."""
    found = codec_quantizer_locality("mimi")
    assert found is not None and found.frame_local, found.finding


def test_snacs_multi_rate_quantizer_is_not_frame_local_a_moved_frame_moves_its_pooled_group():
    from rfprobe.runs.quantizer_locality import codec_quantizer_locality

    found = codec_quantizer_locality("snac_24khz")
    assert found is not None and not found.frame_local
    # its coarsest level average-pools 4 frames: moving frame 0 moves frames 1, 2 and 3 with it
    assert dict(found.changed_elsewhere)[0] == (1, 2, 3)
    assert found.latent_frames % 4 == 0  # the latents cut to a multiple of the pooling


def test_audiocrafts_own_rvq_runs_without_flashy_and_is_frame_local():
    # audiocraft's quantization files run with a stand-in for flashy (training's broadcast only)
    found = codec_quantizer_locality("encodec_24khz_audiocraft")
    assert found is not None and found.frame_local, found.finding


def test_the_walk_reads_a_module_with_buffers_only_in_the_buffers_dtype():
    from rfprobe.core.walk import walk_receptive_field

    class Codebook(nn.Module):  # a quantizer: no parameters, a float64 codebook
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("embed", torch.randn(4, 3, dtype=torch.float64))

        def forward(self, latents: torch.Tensor) -> torch.Tensor:
            return torch.einsum("bdt,kd->bkt", latents, self.embed)

    result = walk_receptive_field(Codebook(), channels=3)
    assert result.receptive_field is not None, result.unavailable_reason
    assert (result.receptive_field.left.samples, result.receptive_field.right.samples) == (0, 0)


def test_wavtokenizers_single_codebook_vq_is_frame_local():
    found = codec_quantizer_locality("wavtokenizer")
    assert found is not None and found.frame_local, found.finding


def test_loading_a_packages_files_leaves_its_real_imports_in_place(monkeypatch):
    import sys
    import types

    from rfprobe.families.installed_files import load_files

    # as if audiocraft had been imported normally: its package and a submodule are in sys.modules
    import importlib.util

    spec = importlib.util.find_spec("audiocraft")
    package, submodule = types.ModuleType("audiocraft"), types.ModuleType("audiocraft.modules.streaming")
    package.__spec__, package.__path__ = spec, list(spec.submodule_search_locations)
    monkeypatch.setitem(sys.modules, "audiocraft", package)
    monkeypatch.setitem(sys.modules, "audiocraft.modules.streaming", submodule)
    loaded = load_files("audiocraft", "_rfprobe_test_quantization_base", ["quantization.base"])
    assert hasattr(loaded["quantization.base"], "QuantizedResult")
    assert sys.modules["audiocraft"] is package and sys.modules["audiocraft.modules.streaming"] is submodule
    assert "audiocraft.quantization.base" not in sys.modules  # our copy leaves no trace
