"""How audiocraft's `StreamableConv1d` pads: the one rule both analytic methods need.

`StreamableConv1d.forward` computes its padding from the effective kernel
K = (kernel - 1) * dilation + 1 and the stride s, then calls an inner `nn.Conv1d` whose
own `padding` attribute is 0. Tools that read that attribute (torchscan and friends)
therefore place the receptive field K - s samples too far right.
"""

from __future__ import annotations


def streamable_padding(effective_kernel: int, stride: int, causal: bool) -> tuple[int, int]:
    """(left, right) padding in input steps, excluding the extra right padding for the last window."""
    total = effective_kernel - stride
    if causal:
        return total, 0
    right = total // 2
    return total - right, right
