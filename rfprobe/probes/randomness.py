"""Random draws inside a model's forward pass: which ops draw, and running with them zeroed.

A model that draws random numbers on every call (SNAC's decoder adds ``torch.randn`` noise in
each of its NoiseBlocks, in eval mode too) gives two different results for the same input, so
no chunked run of it can equal a whole one, bit for bit or otherwise. :func:`random_draws`
names the ops that drew on one call (aten ops tagged ``nondeterministic_seeded``: ``randn``,
``normal_``, ``bernoulli``, dropout, ...); :func:`zeroed_random_draws` runs a block with every
such draw replaced by zeros, which leaves the model's deterministic part, the part a chunk plan
can be proven on.

    >>> import torch
    >>> class Noisy(torch.nn.Module):
    ...     def forward(self, x):
    ...         return x + torch.randn_like(x)
    >>> x = torch.zeros(1, 1, 4)
    >>> random_draws(Noisy(), x)
    ('aten.randn_like',)
    >>> with zeroed_random_draws():
    ...     bool(torch.equal(Noisy()(x), x))
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode


def _draws(func: Any) -> bool:
    return torch.Tag.nondeterministic_seeded in getattr(func, "tags", ())


def _name(func: Any) -> str:
    return f"aten.{func.overloadpacket.__name__}"


class _RecordDraws(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if _draws(func):
            self.names[_name(func)] = None
        return func(*args, **(kwargs or {}))


# Draws that only make noise (a tensor of random values, nothing of the input in it): zeroing one
# leaves the model's deterministic part. Dropout, rrelu, bernoulli masks and integer draws also
# carry the tag, but zeroing them would change what the model computes (a dropped signal, an
# all-zero mask): they are named, never zeroed.
ZEROED_DRAWS = frozenset(
    f"aten.{name}" for name in ("randn", "randn_like", "rand", "rand_like", "normal", "normal_", "uniform_")
)


class zeroed_random_draws(TorchDispatchMode):
    """Within the block, every draw of :data:`ZEROED_DRAWS` gives zeros (any other op runs as it is)."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if _name(func) not in ZEROED_DRAWS:  # each of them is a tagged draw
            return result
        for tensor in result if isinstance(result, (tuple, list)) else (result,):
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                tensor.zero_()  # also the tensor an in-place draw (normal_) filled
        return result


def random_draws(module: nn.Module, inputs: torch.Tensor) -> tuple[str, ...]:
    """The random ops one forward pass of `module` on `inputs` calls, in the order first called."""
    recorder = _RecordDraws()
    with torch.no_grad(), recorder:
        module(inputs)
    return tuple(recorder.names)
