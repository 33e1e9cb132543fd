"""torch's intra-op thread count, held at one for a block.

With several threads torch's CPU kernels split their work by the input's length, so a chunk and
the whole file round differently (by about 1e-16) even where the chunk holds every sample a
frame reads; proofs that compare them bit for bit run on one thread.

    >>> import torch
    >>> with one_thread() as before:
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
"""

from __future__ import annotations

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
