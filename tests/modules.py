"""Small hand-built modules whose receptive fields are known by construction."""

from __future__ import annotations

import torch
from torch import nn


class HoledStack(nn.Module):
    """A dilated conv (taps 0 and 5) then a strided conv: the support has a gap."""

    def __init__(self) -> None:
        super().__init__()
        self.dilated = nn.Conv1d(1, 4, kernel_size=2, dilation=5)
        self.strided = nn.Conv1d(4, 3, kernel_size=3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.strided(torch.nn.functional.elu(self.dilated(x)))


class WideSideBranch(nn.Module):
    """A narrow main path plus a parallel branch reaching further on both sides."""

    def __init__(self) -> None:
        super().__init__()
        self.main = nn.Conv1d(1, 2, kernel_size=3, padding=1)
        # Offsets: k5 padded 1 reads [-1, 3]; then k3 padded 2 reads [-2, 0] of that: [-3, 3].
        self.side = nn.Sequential(
            nn.Conv1d(1, 2, kernel_size=5, padding=1), nn.Tanh(), nn.Conv1d(2, 2, kernel_size=3, padding=2)
        )
        self.down = nn.Conv1d(2, 2, kernel_size=4, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.main(x) + self.side(x))


class Flipper(nn.Module):
    """Uses an operation the walk does not know (a roll along time)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.roll(self.conv(x), shifts=1, dims=-1)


class StreamableRecurrent(nn.Module):
    """Same shape as audiocraft's StreamableLSTM: (B, C, T) in and out."""

    def __init__(self, channels: int, bidirectional: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, channels // (2 if bidirectional else 1), bidirectional=bidirectional)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x.permute(2, 0, 1))
        return (y + x.permute(2, 0, 1)).permute(1, 2, 0)


class PooledSmoothing(nn.Module):
    """Convolutions around an average pooling the walk does not know; time-equivariant, no padding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=3)
        self.down = nn.Conv1d(2, 2, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(torch.nn.functional.avg_pool1d(self.conv(x), kernel_size=5, stride=1))


class NormedFeatures(nn.Module):
    """A LayerNorm over 4 input channels (as speech models normalise feature frames), then a
    conv of kernel 5 padded 2: frame t reads frames t-2..t+2. The norm is blind to the same
    shift on every channel of a frame."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4)
        self.conv = nn.Conv1d(4, 3, kernel_size=5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.norm(x.transpose(1, 2)).transpose(1, 2))


def conv_then_recurrent(bidirectional: bool = False) -> nn.Module:
    return nn.Sequential(nn.Conv1d(1, 4, kernel_size=4, stride=2, padding=1), StreamableRecurrent(4, bidirectional))


def build(factory, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return factory().double().eval()


class _ThroughNumpy(torch.autograd.Function):
    """Identity whose backward leaves torch (through numpy): it cannot run under vmap."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(grad.detach().cpu().numpy().copy())


class UnbatchableBackward(nn.Module):
    """A strided conv behind an identity whose backward has no batching rule."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(_ThroughNumpy.apply(x))
