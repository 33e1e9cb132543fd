"""The module a probe runs: a private copy, on the device and in the dtype asked for, in
eval mode, with finite weights, and with its weight norms folded into plain weights.

Weight normalization (audiocraft, DAC, EnCodec, Mimi and most codecs use it) stores a
weight as a direction `v` and a magnitude `g`, and recomputes `g * v / |v|` before every
forward pass. The probes and the core run a module dozens of times with fixed weights:
folding took `python scripts/probe.py` from 18.4 s to 13-15 s on a 2-core machine.
Folding computes each weight once, with the same op, and keeps the result as the layer's
weight: every output of the module is bit for bit what it was, so no receptive field can
change. `g` and `v` stay where they were (a forward that reads them still runs); they no
longer feed the weight. Only weight norm is folded, a pure function of two parameters:
other parametrizations (spectral norm's power iteration, a user's own) are left as they are.

A folded copy is for running, not for editing: a parametrized layer keeps its
`parametrizations` (so torch still calls it parametrized, and `remove_parametrizations`
fails on it), and its state dict has both the folded weight and `g` and `v`.

    >>> import torch
    >>> conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(1, 2, 3)).double()
    >>> inputs = torch.randn(1, 1, 16, dtype=torch.float64)
    >>> before = conv(inputs)
    >>> fold_weight_norms(conv) is conv
    True
    >>> torch.equal(conv(inputs), before), "weight" in dict(conv.named_parameters(recurse=False))
    (True, True)
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _WeightNorm
from torch.nn.utils.weight_norm import WeightNorm

from rfprobe.errors import UsageError


def copy_module(module: nn.Module) -> nn.Module:
    """A deep copy, also of modules holding computed (non-leaf) tensors as attributes.

    The old `torch.nn.utils.weight_norm` stores its computed `weight` that way, and an RNN
    under a parametrization keeps computed tensors in its `_flat_weights` list: `copy.deepcopy`
    refuses both. A detached clone stands in for each (they are recomputed from the
    parameters before they are used).
    """
    memo: dict[int, torch.Tensor] = {}
    for layer in module.modules():
        for value in vars(layer).values():
            for tensor in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(tensor, torch.Tensor) and not tensor.is_leaf:
                    memo[id(tensor)] = tensor.detach().clone()
    return copy.deepcopy(module, memo)


def check_finite_weights(module: nn.Module) -> None:
    """UsageError naming the first parameter that holds NaN or inf."""
    for name, parameter in module.named_parameters():
        if not torch.isfinite(parameter).all():
            raise UsageError(
                f"the module's parameter {name} holds NaN or inf; a receptive field cannot be probed "
                "through non-finite weights: load finite weights"
            )


def fold_weight_norms(module: nn.Module) -> nn.Module:
    """Give every weight-normed tensor of `module` (in place) the value its weight norm
    computes, as a plain parameter; return `module`. Both kinds: the old forward pre-hook
    (`torch.nn.utils.weight_norm`) and the parametrization
    (`torch.nn.utils.parametrizations.weight_norm`). Folding twice changes nothing."""
    for layer in module.modules():
        for key, hook in list(layer._forward_pre_hooks.items()):
            if isinstance(hook, WeightNorm):
                with torch.no_grad():
                    weight = hook.compute_weight(layer)  # what the hook would set before each forward
                del layer._forward_pre_hooks[key]
                delattr(layer, hook.name)
                _register_folded(layer, hook.name, weight, getattr(layer, hook.name + "_v").requires_grad)
        if parametrize.is_parametrized(layer):
            _fold_parametrized_weight_norms(layer)
    return module


def _fold_parametrized_weight_norms(layer: nn.Module) -> None:
    """A layer whose parametrizations are all weight norms gets its plain class back.

    Not `parametrize.remove_parametrizations`: that deletes the parametrized tensor's property
    from the layer's class, and a deep copy shares its class with the original, so folding a
    probe's copy would break the caller's module. Everything here changes the instance only.
    """
    chains = dict(layer.parametrizations.items())
    if any(name in layer._parameters for name in chains):
        return  # folded already: the class is plain, and these are the folded weights
    if not all(len(chain) == 1 and isinstance(chain[0], _WeightNorm) for chain in chains.values()):
        return  # another parametrization stays, and with it the parametrized class
    with torch.no_grad():
        weights = {name: getattr(layer, name) for name in chains}  # each computed once, by its own forward
    layer.__class__ = layer.__class__.__bases__[0]  # register_parametrization's class, undone for this layer
    for name, weight in weights.items():
        _register_folded(layer, name, weight, chains[name].original0.requires_grad)


def _register_folded(layer: nn.Module, name: str, weight: torch.Tensor, requires_grad: bool) -> None:
    layer.register_parameter(name, nn.Parameter(weight.detach(), requires_grad=requires_grad))


def probe_subject(module: nn.Module, device: torch.device | str, dtype: torch.dtype) -> nn.Module:
    """A copy of `module` to probe: on `device` in `dtype`, in eval mode, its weights checked
    finite (UsageError naming the caller's parameter) and its weight norms folded. The
    caller's module is left untouched."""
    subject = copy_module(module).to(device=device, dtype=dtype).eval()
    check_finite_weights(subject)
    return fold_weight_norms(subject)
