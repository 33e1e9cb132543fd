"""The price of context where no chunk plan is exact: the curve measures what a context costs,
is zero exactly when the context holds everything a frame reads, and never calls a plan exact."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rfprobe.runs.chunking import ROUNDING, codec_chunking
from rfprobe.runs.context_price import ContextPrice, PricePoint, decode_price, encode_price
from rfprobe.runs.signals import chord_signal

RATE, HOP = 8000, 160  # 50 frames per second: CONTEXT_SECONDS are 0, 1, 2, 5, 10, 25, 50, 100 frames


class RecurrentEncoder(nn.Module):
    """A strided conv, then a GRU over frames: every frame reads all earlier audio."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(1, 4, HOP, stride=HOP)
        self.gru = nn.GRU(4, 4, batch_first=True)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.gru(self.conv(audio).transpose(1, 2))[0].transpose(1, 2)


def conv_encoder() -> nn.Module:
    """Frames read 2 hops before their anchor and 3 hops less one sample after: a bounded field."""
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv1d(1, 4, HOP, stride=HOP), nn.Tanh(), nn.Conv1d(4, 4, 5, padding=2))


class Rounding(nn.Module):
    """A frame-local 'quantizer': rounds each latent to a coarse grid."""

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.round(latents * 4) / 4


def test_the_chord_is_deterministic_and_not_noise():
    first, second = chord_signal(RATE, RATE), chord_signal(RATE, RATE)
    assert torch.equal(first, second)
    spectrum = torch.fft.rfft(first[0, 0]).abs()
    # a few partials hold most of the energy (white noise spreads it over every bin)
    top = spectrum.topk(len(spectrum) // 20).values.pow(2).sum()
    assert top / spectrum.pow(2).sum() > 0.8


def test_a_recurrent_encoder_pays_for_too_little_context_and_the_error_falls_with_more():
    price = encode_price(RecurrentEncoder(), 1, RATE, HOP, None, 0, chunk_frames=10, quantize=Rounding())
    errors = [point.max_relative_error for point in price.points]
    assert price.open_sides == "past" and price.points[0].context_frames == 0
    assert errors[0] > 1e-3  # a chunk that forgets the past is visibly wrong
    assert errors[-1] < errors[0]
    assert price.points[0].changed_code_frames > 0


def test_the_price_is_zero_once_the_context_holds_what_a_frame_reads_and_not_before():
    # a bounded encoder treated as if its past were open: the curve must show the error vanish (to
    # float64 rounding at chunk ends, as on some CPUs) at its true extent, 2 frames of past, and not
    # at 1; a measurement that could not tell a context one frame short would be worthless
    price = encode_price(conv_encoder(), 1, RATE, HOP, None, 3 * HOP - 1, chunk_frames=10, quantize=Rounding())
    by_context = {point.context_frames: point for point in price.points}
    assert by_context[1].max_relative_error > 1e-6
    assert all(point.max_relative_error <= ROUNDING for frames, point in by_context.items() if frames >= 2)


def test_a_decoder_with_an_unbounded_past_pays_at_chunk_joins():
    torch.manual_seed(3)
    price = decode_price(RecurrentEncoder(), RecurrentDecoder(), 1, RATE, HOP, None, 0, chunk_frames=10)
    assert price.kind == "decode" and price.open_sides == "past"
    assert price.points[0].max_relative_error > 1e-3
    assert all(point.changed_code_frames is None for point in price.points)


class RecurrentDecoder(nn.Module):
    """Latent frames through a GRU, then upsampled by HOP."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(4, 4, batch_first=True)
        self.upsample = nn.ConvTranspose1d(4, 1, HOP, stride=HOP)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.gru(latents.transpose(1, 2))[0].transpose(1, 2))


def _price(changed: list) -> ContextPrice:
    points = tuple(PricePoint(frames, frames / 100, 0.0, 0.0, count, 100) for frames, count in changed)
    return ContextPrice("encode", "past", 0, 10, 1.0, "rounding", points)


@pytest.mark.parametrize(
    "changed, settles",
    [
        ([(0, 5), (2, 3), (5, 0), (10, 2), (20, 0), (50, 0)], 20),  # a relapse at 10 frames: from 20 on
        ([(0, 0), (2, 0)], 0),
        ([(0, 5), (2, 1)], None),  # still changing at the largest context
        ([(0, None), (2, None)], None),  # no quantizer ran: nothing to say about codes
    ],
)
def test_codes_stop_changing_from_the_least_context_after_which_none_changes(changed, settles):
    assert _price(changed).codes_stop_changing_frames == settles


def test_a_recurrent_zoo_codec_gets_a_price_curve_and_no_exact_plan():
    result = codec_chunking("encodec_24khz", tiny=True, chunk_seconds=0.5)
    assert result.encode.no_exact_plan and not result.encode.exact
    assert result.encode_price is not None and result.decode_price is not None
    assert result.encode_price.points[0].changed_code_frames > 0  # no context: codes change
    lines = "\n".join(result.describe())
    assert "price of context (encode; no plan is exact)" in lines and "exact, minimal" not in lines


def test_a_price_with_both_sides_bounded_is_refused():
    with pytest.raises(ValueError, match="both sides are bounded"):
        encode_price(conv_encoder(), 1, RATE, HOP, 2 * HOP, 3 * HOP - 1, chunk_frames=10)


def test_a_price_estimated_past_max_seconds_is_not_measured_and_says_why():
    price = encode_price(RecurrentEncoder(), 1, RATE, HOP, None, 0, chunk_frames=10, max_seconds=1e-9)
    assert price.points == () and "past --max-seconds" in price.failure
    assert "not measured" in price.describe()[0]


def test_a_model_that_raises_on_a_chunk_leaves_a_named_not_measured_price():
    from rfprobe.runs.chunking import measured_price

    def raises() -> ContextPrice:
        raise RuntimeError("Kernel size can't be greater than actual input size")

    price = measured_price("encode", 10, raises)
    assert price.failure.startswith("the model raised (Kernel size") and price.points == ()


def test_the_price_table_keeps_each_context_under_its_own_header_when_two_round_to_one_frame():
    import dataclasses

    from rfprobe.output.codec_use import codec_price_table
    from rfprobe.runs.context_price import CONTEXT_SECONDS

    # 12.5 frames per second: 0.02 s and 0.05 s both round to frame 0 (or 1), so fewer points than headers
    rate, hop = 24000, 1920
    price = encode_price(RecurrentEncoder12(), 1, rate, hop, None, 0, chunk_frames=4)
    assert len(price.points) < len(CONTEXT_SECONDS)
    table = codec_price_table({"chunking": [{"name": "slow", "encode_price": dataclasses.asdict(price)}]})
    header, _, row = table.splitlines()[:3]
    assert len(row.split("  ")) >= len(header.split("  "))  # no cell dropped
    for seconds in CONTEXT_SECONDS:  # each column shows the point of its own whole frames
        point = price.point_at(seconds)
        assert point is not None and point.context_frames == round(seconds * rate / hop)


class RecurrentEncoder12(RecurrentEncoder):
    """RecurrentEncoder at a hop of 1920 samples."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(1, 4, 1920, stride=1920)
