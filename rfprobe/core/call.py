"""One op call as the trace sees it, and the records a rule returns.

A rule (see :mod:`rfprobe.core.registry`) gets a :class:`Call`: the op, the arguments it was
really called with, its output tensors, and for every input-dependent tensor argument its
:class:`Tracked` node and time axis. It returns one :class:`Output` per output tensor: where
that output's time axis is and how each input-dependent argument is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch

from rfprobe.core.readers import Broadcast, Reader

Read = tuple[int, Reader]  # (the graph node an output reads, how it reads it)


@dataclass(frozen=True)
class Tracked:
    """An input-dependent tensor argument: its graph node and time axis.

    A tensor with a second time axis (eager attention's queries x keys) also has `key_dim`
    and `keys`, and what is known of its entries whatever the input: `excluded` (a constant
    mask value so negative that a softmax over keys gives exactly 0) and `zeros` (exactly 0),
    as (queries, keys) bool matrices that hold for every batch row and head.
    """

    node: int
    time_dim: Optional[int]
    length: int
    key_dim: Optional[int] = None
    keys: int = 0
    excluded: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    zeros: Optional[np.ndarray] = field(default=None, compare=False, repr=False)


@dataclass
class Output:
    """One output tensor of an op: its time axis and what it reads (and, for two time
    axes, the key axis and what is known of its entries, as in :class:`Tracked`)."""

    time_dim: Optional[int]
    length: int
    reads: list[Read]
    refusal: str = ""
    key_dim: Optional[int] = None
    keys: int = 0
    excluded: Optional[np.ndarray] = None
    zeros: Optional[np.ndarray] = None


class Call:
    """One op call, with helpers to find the input-dependent arguments."""

    def __init__(
        self,
        function: Any,
        name: str,
        args: tuple,
        kwargs: dict,
        outputs: list[torch.Tensor],
        tracked: Callable[[Any], Optional[Tracked]],
    ) -> None:
        self.function, self.name, self.args, self.kwargs = function, name, args, kwargs
        self.outputs, self.tracked = outputs, tracked

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """Argument `index` if it was given by position, else keyword `name`, else `default`."""
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(name, default)

    def tracked_args(self) -> list[tuple[torch.Tensor, Tracked]]:
        """Every input-dependent tensor argument (also inside lists and tuples), with its tracked info."""
        found = []
        for value in list(self.args) + list(self.kwargs.values()):
            for item in value if isinstance(value, (list, tuple)) else (value,):
                info = self.tracked(item) if isinstance(item, torch.Tensor) else None
                if info is not None:
                    found.append((item, info))
        return found

    def required(self, value: Any) -> Tracked:
        """The tracked info of `value`, which the caller knows depends on the input."""
        info = self.tracked(value)
        assert info is not None, f"{self.name}: an argument that does not depend on the input"
        return info

    def single(self) -> tuple[torch.Tensor, Tracked]:
        """The first input-dependent tensor argument (a one-input op's only one)."""
        return self.tracked_args()[0]

    def refuse(self, why: str) -> list[Output]:
        """One output per tensor the op made, each timeless, reading nothing and refused as "<op>: why"."""
        reason = f"{self.name}: {why}"
        return [Output(None, 1, [], refusal=reason) for _ in self.outputs]


def normalized_dim(dim: int, ndim: int) -> int:
    """A dim index counted from the front (torch accepts negative ones)."""
    return dim + ndim if dim < 0 else dim


def timeless_read(info: Tracked) -> Read:
    """How an output reads an argument without a time axis: all of it, at every position."""
    return (info.node, Broadcast())
