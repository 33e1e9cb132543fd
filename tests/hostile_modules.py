"""Factories for --module that misbehave on purpose (see test_bad_input_catalogue.py)."""

from __future__ import annotations

import sys

import torch
from torch import nn


def exits() -> nn.Module:
    """A factory that ends the process instead of returning a module."""
    sys.exit(0)


class NotFinite(nn.Module):
    """A strided conv whose output is NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=4, stride=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * float("nan")


class ConstantLength(nn.Module):
    """Always 3 output frames, whatever the input length: no hop."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool1d(self.conv(x), 3)
