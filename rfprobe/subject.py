"""The module a probe runs: a private copy, on the device and in the dtype asked for, in
eval mode, with its weight norms folded into plain weights.

Weight normalization (audiocraft, DAC, EnCodec, Mimi and most codecs use it) stores a
convolution's weight as a direction `v` and a magnitude `g`, and recomputes `g * v / |v|`
before every forward pass. The probes and the core run a module dozens of times with
fixed weights, and that recomputation was a tenth of `python scripts/probe.py`. Folding
computes it once, with the same op, and keeps the result as the weight: every output of
the module is bit for bit what it was, so no receptive field can change. Only weight
norm is folded: it is a pure function of two parameters. Other parametrizations (spectral
norm's power iteration, a user's own) are left as they are.

    >>> import torch
    >>> conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(1, 2, 3)).double()
    >>> inputs = torch.randn(1, 1, 16, dtype=torch.float64)
    >>> before = conv(inputs)
    >>> folded = fold_weight_norms(conv)
    >>> torch.equal(conv(inputs), before)
    True
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _WeightNorm

# The module behind torch.nn.utils.weight_norm (the function shadows the module's name there).
_OLD_WEIGHT_NORM = __import__("torch.nn.utils.weight_norm", fromlist=["WeightNorm"])


def copy_module(module: nn.Module) -> nn.Module:
    """A deep copy, also of modules using the old `torch.nn.utils.weight_norm`.

    That weight norm stores the computed `weight` as a non-leaf tensor attribute, which
    `copy.deepcopy` refuses; a detached clone stands in for it (its forward pre-hook
    recomputes it from weight_g and weight_v anyway).
    """
    memo: dict[int, torch.Tensor] = {}
    for layer in module.modules():
        for value in vars(layer).values():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    return copy.deepcopy(module, memo)


def fold_weight_norms(module: nn.Module) -> nn.Module:
    """Replace every weight norm in `module` (in place) by the weight it computes, and return
    `module`. Both kinds: the old forward pre-hook (`torch.nn.utils.weight_norm`) and the
    parametrization (`torch.nn.utils.parametrizations.weight_norm`)."""
    for layer in module.modules():
        for hook in list(layer._forward_pre_hooks.values()):
            if isinstance(hook, _OLD_WEIGHT_NORM.WeightNorm):
                _OLD_WEIGHT_NORM.remove_weight_norm(layer, hook.name)
        if parametrize.is_parametrized(layer):
            _fold_parametrized_weight_norms(layer)
    return module


def _fold_parametrized_weight_norms(layer: nn.Module) -> None:
    """A layer whose parametrizations are all weight norms becomes its plain class again.

    Not `parametrize.remove_parametrizations`: that deletes the parametrized tensor's property
    from the layer's class, and a deep copy shares its class with the original, so folding a
    probe's copy would break the caller's module. Everything here changes the instance only.
    """
    chains = dict(layer.parametrizations.items())
    if not all(len(chain) == 1 and isinstance(chain[0], _WeightNorm) for chain in chains.values()):
        return  # another parametrization stays, and with it the parametrized class
    with torch.no_grad():
        weights = {name: getattr(layer, name) for name in chains}  # each computed once, by its own forward
    layer.__class__ = layer.__class__.__bases__[0]  # register_parametrization's class, undone for this layer
    del layer._modules["parametrizations"]
    for name, weight in weights.items():
        layer.register_parameter(name, nn.Parameter(weight))


def probe_subject(module: nn.Module, device: torch.device | str, dtype: torch.dtype) -> nn.Module:
    """A copy of `module` to probe: on `device` in `dtype`, in eval mode, weight norms folded
    (the caller's module is left untouched)."""
    return fold_weight_norms(copy_module(module).to(device=device, dtype=dtype).eval())
