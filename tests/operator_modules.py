"""Hand-built modules, one per class of op the analytic core reads, with answers derived by hand."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalDilatedStack(nn.Module):
    """WaveNet-style: 16 causal convs of kernel 2, dilation 1..2^15, padded with F.pad.
    Past: sum of (kernel - 1) * dilation = 2^16 - 1 = 65535 samples; future 0; hop 1."""

    def __init__(self, layers: int = 16) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(1 if i == 0 else 2, 2, kernel_size=2, dilation=2**i) for i in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = torch.tanh(conv(F.pad(x, (conv.dilation[0], 0))))
        return x


class SlidingWindowAttention(nn.Module):
    """A pointwise projection, then SDPA where query t sees keys t-window+1..t, twice.
    Two layers: past 2 * (window - 1), future 0, hop 1."""

    def __init__(self, window: int = 5, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv1d(1, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).transpose(1, 2).unsqueeze(1)  # (batch, heads 1, time, dim)
        t = h.shape[2]
        query, key = torch.arange(t)[:, None], torch.arange(t)[None, :]
        mask = (key <= query) & (key > query - self.window)
        for _ in range(2):
            h = h + F.scaled_dot_product_attention(h, h, h, attn_mask=mask)
        return h.squeeze(1).transpose(1, 2)


class UpsampleThenStride(nn.Module):
    """Nearest x2 upsampling, then a conv of kernel 4, stride 4, no padding: output frame n
    reads upsampled samples 4n..4n+3, that is input samples 2n..2n+1: left 0, right 1, hop 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=4, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class BidirectionalGRU(nn.Module):
    """A conv then a bidirectional GRU: every frame reads the whole input (both sides unbounded)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 4, kernel_size=3, padding=1)
        self.gru = nn.GRU(4, 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.gru(self.conv(x).transpose(1, 2))
        return y.transpose(1, 2)


class CroppingResidual(nn.Module):
    """DAC's residual unit: an unpadded conv (kernel 7, dilation 3: 18 samples shorter) added
    to the input cropped by 9 on each side. Output t reads input t..t+18, and its anchor
    is t (frame index x hop): left 0, right 18, hop 1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=7, dilation=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        crop = (x.shape[-1] - y.shape[-1]) // 2
        return x[..., crop : crop + y.shape[-1]] + y


class ReflectPadConv(nn.Module):
    """Reflect padding of 3 then an unpadded conv of kernel 7: left 3, right 3, hop 1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size=7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (3, 3), mode="reflect"))


class LinearUpsampleThenStride(nn.Module):
    """Linear x2 upsampling (align_corners=False), then kernel 4 stride 4: output n reads
    upsampled 4n..4n+3, i.e. sources floor((4n + 0.5) / 2 - 0.5) .. that + 2: input
    2n-1..2n+2. Left 1, right 2, hop 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=4, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="linear", align_corners=False))


class RollAlongTime(nn.Module):
    """Uses torch.roll along time, an op the core has no rule for."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(self.conv(x), shifts=1, dims=-1)


class EagerAttention(nn.Module):
    """Attention written as matmul + softmax: the scores have two time axes."""

    def __init__(self) -> None:
        super().__init__()
        self.project = nn.Conv1d(1, 4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).transpose(1, 2)
        weights = torch.softmax(h @ h.transpose(1, 2), dim=-1)
        return (weights @ h).transpose(1, 2)


class EagerSlidingWindowStack(nn.Module):
    """A conv of kernel 4, stride 4 (frame f reads samples 4f..4f+3: hop 4), then `layers`
    layers of attention written out as transformers' eager attention does: scores = q @ k^T
    * scale, plus an additive mask of finfo.min outside the causal window (query t sees keys
    t - window + 1 .. t), softmax over the keys, @ v, residual.

    Each layer reaches window - 1 frames further back and none forward, so output frame t
    (anchor 4t) reads frames t - layers * (window - 1) .. t, that is samples
    4 * (t - layers * (window - 1)) .. 4t + 3: past 4 * layers * (window - 1), future 3, hop 4.
    With 3 layers of window 5: past 48, future 3."""

    def __init__(self, layers: int = 3, window: int = 5, dim: int = 4) -> None:
        super().__init__()
        self.window, self.dim = window, dim
        self.embed = nn.Conv1d(1, dim, kernel_size=4, stride=4)
        self.projections = nn.ModuleList(nn.Linear(dim, 3 * dim) for _ in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x).transpose(1, 2)  # (batch, frames, dim)
        t = h.shape[1]
        query, key = torch.arange(t)[:, None], torch.arange(t)[None, :]
        allowed = (key <= query) & (key > query - self.window)
        lowest = torch.full((), torch.finfo(h.dtype).min, dtype=h.dtype)
        mask = torch.where(allowed, torch.zeros((), dtype=h.dtype), lowest)[None, None]
        for projection in self.projections:
            q, k, v = (part.unsqueeze(1) for part in projection(h).chunk(3, dim=-1))  # (batch, 1, frames, dim)
            scores = torch.matmul(q, k.transpose(2, 3)) * self.dim**-0.5 + mask
            weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(h.dtype)
            h = h + torch.matmul(weights, v).squeeze(1)
        return h.transpose(1, 2)


class EagerMaskedFillWindow(nn.Module):
    """A pointwise projection (hop 1), then 2 layers of hand-written attention where query t
    sees keys t - 2 .. t + 2 (|t - k| < 3), masked with masked_fill(-inf) before the softmax.
    Each layer reaches 2 positions back and 2 forward: past 4, future 4, hop 1."""

    def __init__(self, window: int = 3, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv1d(1, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).transpose(1, 2)
        t = h.shape[1]
        distance = (torch.arange(t)[:, None] - torch.arange(t)[None, :]).abs()
        for _ in range(2):
            scores = (h @ h.transpose(1, 2)).masked_fill(distance >= self.window, float("-inf"))
            h = h + torch.softmax(scores, dim=-1) @ h
        return h.transpose(1, 2)


class EagerRelativeKeyBias(nn.Module):
    """A conv of kernel 16, stride 16 (frame f reads samples 16f..16f+15: hop 16), then 2
    layers of hand-written attention with wav2vec2-BERT's relative-key position bias,
    einsum(query, table[k - q]): its entry (q, k) depends on query q only. Query t sees keys
    t - 2 .. t + 2 (masked_fill -inf), so each layer reaches 2 frames back and 2 forward:
    frame t reads frames t - 4 .. t + 4, samples 16t - 64 .. 16t + 79: past 64, future 79."""

    def __init__(self, window: int = 3, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.embed = nn.Conv1d(1, dim, kernel_size=16, stride=16)
        self.table = nn.Embedding(2 * window + 1, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x).transpose(1, 2)
        t = h.shape[1]
        offset = torch.arange(t)[None, :] - torch.arange(t)[:, None]  # key - query
        table = self.table(offset.clamp(-self.window, self.window) + self.window)  # (queries, keys, dim)
        for _ in range(2):
            bias = torch.einsum("bld,lrd->blr", h, table)
            scores = (h @ h.transpose(1, 2) + bias).masked_fill(offset.abs() >= self.window, float("-inf"))
            h = h + torch.softmax(scores, dim=-1) @ h
        return h.transpose(1, 2)


def build(factory, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return factory().double().eval()


class WindowPooledAttention(nn.Module):
    """Time split into windows of 4 samples (the last partial window cropped), attention
    within each window (the windows are a batch axis of SDPA), then the mean over the
    window: output frame w reads samples 4w..4w+3. Left 0, right 3, hop 4."""

    def __init__(self, window: int = 4, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv1d(1, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., : x.shape[-1] - x.shape[-1] % self.window]
        h = self.project(x).transpose(1, 2)  # (batch, time, dim)
        h = h.reshape(h.shape[0], -1, self.window, h.shape[2])  # (batch, windows, window, dim)
        h = F.scaled_dot_product_attention(h, h, h)
        return h.mean(dim=2).transpose(1, 2)


class WindowedAttention(nn.Module):
    """Attention within fixed windows of 64 samples (SNAC's LocalMHA): frame t reads its own
    window whole, so frames at different places in a window read the same samples and no
    one receptive field holds for every frame. With one window, the reshape into windows
    looks like a time axis kept whole."""

    def __init__(self, window: int = 64, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv1d(1, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., : x.shape[-1] - x.shape[-1] % self.window]
        h = self.project(x).transpose(1, 2)
        batch, time, dim = h.shape
        h = h.reshape(batch, time // self.window, self.window, dim)
        h = F.scaled_dot_product_attention(h, h, h)
        return h.reshape(batch, time, dim).transpose(1, 2)


class BiasedAttention(nn.Module):
    """Attention with an additive bias computed from the queries (as wav2vec2-BERT's
    relative-position bias): finite, so it excludes no key, and every frame reads the
    whole input. `exclude_after`: the bias is -inf past that many keys (then refused)."""

    def __init__(self, dim: int = 4, exclude_after: int = 0) -> None:
        super().__init__()
        self.exclude_after = exclude_after
        self.project = nn.Conv1d(1, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).transpose(1, 2).unsqueeze(1)  # (batch, heads 1, time, dim)
        time = h.shape[2]
        bias = h.sum(dim=-1, keepdim=True).expand(-1, -1, -1, time)
        if self.exclude_after:
            excluded = torch.arange(time)[None, :] >= self.exclude_after
            bias = bias.masked_fill(excluded.expand(time, time), float("-inf"))
        return F.scaled_dot_product_attention(h, h, h, attn_mask=bias).squeeze(1).transpose(1, 2)


class MaskOnlyWhenLonger(nn.Module):
    """A conv of kernel 16, stride 16 (frame f reads samples 16f..16f+15), then causal SDPA
    within a sliding window of `window` frames, built the way transformers builds it: while
    the input has no more frames than the window, no mask and `is_causal=True` (the same
    thing at that length); beyond it, a mask of keys t - window + 1 .. t.
    Past (window - 1) * 16 samples, future 15, hop 16."""

    def __init__(self, window: int = 600, dim: int = 4) -> None:
        super().__init__()
        self.window = window
        self.project = nn.Conv1d(1, dim, kernel_size=16, stride=16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x).transpose(1, 2).unsqueeze(1)  # (batch, heads 1, frames, dim)
        t = h.shape[2]
        if t <= self.window:
            attended = F.scaled_dot_product_attention(h, h, h, is_causal=True)
        else:
            query, key = torch.arange(t)[:, None], torch.arange(t)[None, :]
            attended = F.scaled_dot_product_attention(h, h, h, attn_mask=(key <= query) & (key > query - self.window))
        return (h + attended).squeeze(1).transpose(1, 2)


class WideConvThenRecurrent(nn.Module):
    """A conv of kernel 65 padded (60, 4) (reads t-60..t+4), then an LSTM with a skip: the past
    is unbounded with a finite part of 60, the future exactly 4, hop 1. Sized from a 64-sample
    input, the frame read is interior on its bounded side while no frame's local read is
    interior on its open side: the finite part needs a longer input, and the future must not
    be read off a frame whose local read meets both ends (that gave 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=65)
        self.lstm = nn.LSTM(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(F.pad(x, (60, 4))).permute(2, 0, 1)
        y, _ = self.lstm(h)
        return (y + h).permute(1, 2, 0)


class ReflectStartThroughRecurrence(nn.Module):
    """Causal conv of kernel 6 (reflect-padded 5 on the left), an LSTM, then a causal conv of
    kernel 161 (reflect-padded 160 on the left). Interior frames: past unbounded (finite part
    5 + 160 = 165), future 0, hop 1. But frame t < 80 reads the LSTM's outputs up to 160 - t
    through the reflected window: a frame probed near the start sees future an interior
    frame does not."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Conv1d(1, 2, kernel_size=6)
        self.lstm = nn.LSTM(2, 2)
        self.last = nn.Conv1d(2, 2, kernel_size=161)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.first(F.pad(x, (5, 0), mode="reflect")).permute(2, 0, 1)
        y, _ = self.lstm(h)
        return self.last(F.pad((y + h).permute(1, 2, 0), (160, 0), mode="reflect"))


class CircularPadThenRecurrence(nn.Module):
    """A conv over a circularly padded input, then an LSTM: frame 0 reads the input's last
    samples through the wrap, and the LSTM carries them to every later frame."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=5, padding=2, padding_mode="circular")
        self.lstm = nn.LSTM(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(self.conv(x).permute(2, 0, 1))
        return y.permute(1, 2, 0)
