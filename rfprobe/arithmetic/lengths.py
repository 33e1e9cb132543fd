"""Length arithmetic a model's input rules need (torch-free)."""

from __future__ import annotations


def round_up(length_samples: int, length_multiple: int) -> int:
    """The shortest length of at least `length_samples` that is a multiple of `length_multiple`
    (some models, moshi's SEANet among them, need a multiple of their stride).

    >>> round_up(3841, 1920)
    5760
    >>> round_up(3840, 1920)
    3840
    """
    return -(-length_samples // length_multiple) * length_multiple
