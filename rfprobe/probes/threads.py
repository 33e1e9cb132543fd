"""torch's intra-op thread count, held at one for a block; MKL on its reproducible code path.

With several threads torch's CPU kernels split their work by the input's length, so a chunk and
the whole file round differently (by about 1e-16) even where the chunk holds every sample a
frame reads; proofs that compare them bit for bit run on one thread. MKL's AVX-512 matrix
products do the same on one thread (a product's last rows take another code path by its size);
its conditional-numerical-reproducibility mode ``MKL_CBWR=COMPATIBLE`` does not, and
:func:`reproducible_blas` asks for it, which works only before the process's first matrix product.

    >>> import torch
    >>> with one_thread() as before:
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def one_thread() -> Iterator[int]:
    """torch on one intra-op thread within the block; yields the count it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield before
    finally:
        torch.set_num_threads(before)


MKL_REPRODUCIBLE = ("MKL_CBWR", "COMPATIBLE")


def reproducible_blas() -> str:
    """Asks MKL for its reproducible code path (unless the environment already chose one) and
    returns the mode in effect: MKL reads ``MKL_CBWR`` once, at the process's first matrix
    product, so a command calls this before it computes anything."""
    name, mode = MKL_REPRODUCIBLE
    return os.environ.setdefault(name, mode)
