"""Analytic receptive field from the instantiated module: walk what it executes.

The module is traced with `torch.fx`; each leaf is read off the real object:
kernel, stride and dilation from its `nn.Conv1d`, padding from what its forward applies
(for audiocraft's `StreamableConv1d` the rule in :mod:`rfprobe.padding`, since its inner
`Conv1d.padding` is 0). Tensors added together (residual blocks) combine as the union
of their supports. A layer the walk does not understand stops it with the layer's name
and why: it is never treated as pointwise or as kernel 1.
"""
from __future__ import annotations

import operator
from typing import Any, Optional

import torch
import torch.fx
from torch import nn

from .geometry import LayerRow, MethodResult, ReceptiveField, Side
from .padding import streamable_padding
from .support import Support, holes_between

METHOD = "module walk"

POINTWISE_MODULES = (
    nn.ELU, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Identity,
    nn.Dropout, nn.Softplus, nn.Hardtanh, nn.Mish, nn.CELU, nn.SELU,
)
POINTWISE_FUNCTIONS = {
    torch.relu, torch.tanh, torch.sigmoid, nn.functional.elu, nn.functional.relu, nn.functional.gelu,
    nn.functional.silu, nn.functional.leaky_relu, nn.functional.tanh, nn.functional.sigmoid,
}
ELEMENTWISE_BINARY = {operator.add, operator.sub, operator.mul, operator.truediv, torch.add, torch.sub, torch.mul}
ELEMENTWISE_METHODS = {"add", "sub", "mul", "div", "__add__", "__mul__"}
TIME_GLOBAL_NORMS = (nn.GroupNorm, nn.InstanceNorm1d, nn.LayerNorm)


class WalkError(Exception):
    """A layer the walk cannot account for; the message names it."""


def _streamable_parts(module: nn.Module) -> tuple[Optional[nn.Conv1d], Optional[nn.Module]]:
    """(conv, norm) of a conv that pads itself in forward, SEANet style, or (None, None).

    audiocraft's StreamableConv1d wraps NormConv1d (`.conv.conv`, norm at `.conv.norm`);
    transformers' EncodecConv1d holds `.conv` directly (norm at `.norm`). Both pad by the
    same rule, decided by `.causal`.
    """
    if not (hasattr(module, "causal") and hasattr(module, "pad_mode")):
        return None, None
    outer = getattr(module, "conv", None)
    if isinstance(getattr(outer, "conv", None), nn.Conv1d):
        return outer.conv, getattr(outer, "norm", None)
    if isinstance(outer, nn.Conv1d):
        return outer, getattr(module, "norm", None)
    return None, None


def _is_streamable_conv(module: nn.Module) -> bool:
    return _streamable_parts(module)[0] is not None


def _is_streamable_recurrent(module: nn.Module) -> bool:
    """audiocraft's StreamableLSTM: an RNN applied along time, in conv layout."""
    return isinstance(getattr(module, "lstm", None), nn.RNNBase)


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if _is_streamable_conv(module) or _is_streamable_recurrent(module):
            return True
        return super().is_leaf_module(module, qualified_name)


class _Walker:
    def __init__(self, root: nn.Module) -> None:
        self.root = root
        self.rows: list[LayerRow] = []
        self.pointwise_layers = 0

    def conv(self, name: str, support: Support, conv: nn.Conv1d, pad_left: int, pad_right: int,
             note: str = "") -> Support:
        kernel, stride, dilation = conv.kernel_size[0], conv.stride[0], conv.dilation[0]
        out = support.through_conv(kernel, stride, dilation, pad_left)
        self.rows.append(LayerRow(
            name=name, kind="conv", kernel=kernel, stride=stride, dilation=dilation, pad_left=pad_left,
            pad_right=pad_right, jump_in=support.jump, rf_increment=(kernel - 1) * dilation * support.jump,
            cumulative_rf=out.span, jump_out=out.jump, note=note))
        return out

    def module(self, name: str, module: nn.Module, support: Support) -> Support:
        conv, norm = _streamable_parts(module)
        if conv is not None:
            effective = (conv.kernel_size[0] - 1) * conv.dilation[0] + 1
            pad_left, pad_right = streamable_padding(effective, conv.stride[0], bool(module.causal))
            out = self.conv(name, support, conv, pad_left, pad_right,
                            note="causal" if module.causal else "")
            if norm is None or isinstance(norm, nn.Identity):
                return out
            if isinstance(norm, TIME_GLOBAL_NORMS):
                self._mark_global(name, f"{type(norm).__name__} over time: global")
                return out.unbounded(True, True, global_in_time=True)
            raise WalkError(f"the norm of layer {name} ({type(norm).__name__}) is not understood by the walk")
        if isinstance(module, nn.Conv1d):
            kernel, dilation = module.kernel_size[0], module.dilation[0]
            if module.padding == "same":
                total = dilation * (kernel - 1)
                pad_left, pad_right = total // 2, total - total // 2
            elif module.padding == "valid":
                pad_left = pad_right = 0
            else:
                pad_left = pad_right = module.padding[0]
            return self.conv(name, support, module, pad_left, pad_right)
        if _is_streamable_recurrent(module):
            rnn: nn.RNNBase = module.lstm
            future = bool(rnn.bidirectional)
            self.rows.append(LayerRow(
                name=name, kind="lstm", jump_in=support.jump, jump_out=support.jump, cumulative_rf=support.span,
                note=f"{rnn.num_layers}-layer {'bi' if future else 'uni'}directional {type(rnn).__name__}: "
                     f"past{' and future' if future else ''} unbounded"))
            return support.unbounded(True, future)
        if isinstance(module, TIME_GLOBAL_NORMS):
            self._mark_global(name, f"{type(module).__name__}: global over time")
            return support.unbounded(True, True, global_in_time=True)
        if isinstance(module, nn.BatchNorm1d):
            if module.training:
                self._mark_global(name, "BatchNorm1d in training mode: batch statistics over time")
                return support.unbounded(True, True, global_in_time=True)
            self.pointwise_layers += 1
            return support
        if isinstance(module, POINTWISE_MODULES):
            self.pointwise_layers += 1
            return support
        raise WalkError(f"layer {name} ({type(module).__name__}) is not understood by the walk")

    def _mark_global(self, name: str, note: str) -> None:
        self.rows.append(LayerRow(name=name, kind="global", note=note))

    def run(self) -> Support:
        try:
            graph = _Tracer().trace(self.root)
        except Exception as error:
            raise WalkError(f"torch.fx could not trace {type(self.root).__name__}: {type(error).__name__}: {error}") from None
        values: dict[torch.fx.Node, Optional[Support]] = {}
        placeholders = 0
        result: Optional[Support] = None
        for node in graph.nodes:
            if node.op == "placeholder":
                placeholders += 1
                values[node] = Support.input() if placeholders == 1 else None
            elif node.op == "get_attr":
                values[node] = None  # a parameter or buffer: constant in time
            elif node.op == "call_module":
                values[node] = self.module(str(node.target), self.root.get_submodule(str(node.target)),
                                           self._single_input(node, values))
            elif node.op == "call_function" and node.target in POINTWISE_FUNCTIONS:
                self.pointwise_layers += 1
                values[node] = self._single_input(node, values)
            elif (node.op == "call_function" and node.target in ELEMENTWISE_BINARY) or (
                    node.op == "call_method" and node.target in ELEMENTWISE_METHODS):
                values[node] = self._union(node, values)
            elif node.op == "output":
                result = self._single_input(node, values)
            else:
                raise WalkError(f"operation {node.op} {getattr(node.target, '__name__', node.target)} "
                                f"({node.name}) is not understood by the walk")
        if result is None:
            raise WalkError("the module's output does not depend on its input")
        return result

    def _inputs(self, node: torch.fx.Node, values: dict) -> list[Support]:
        found: list[Support] = []

        def visit(arg: Any) -> Any:
            if isinstance(arg, torch.fx.Node) and values.get(arg) is not None:
                found.append(values[arg])
            return arg

        torch.fx.node.map_arg((node.args, node.kwargs), visit)
        return found

    def _single_input(self, node: torch.fx.Node, values: dict) -> Support:
        inputs = self._inputs(node, values)
        if len(inputs) != 1:
            raise WalkError(f"{node.name} takes {len(inputs)} time-varying inputs; the walk expects one")
        return inputs[0]

    def _union(self, node: torch.fx.Node, values: dict) -> Optional[Support]:
        inputs = self._inputs(node, values)
        if not inputs:
            return None
        combined = inputs[0]
        for other in inputs[1:]:
            try:
                combined = combined.union(other)
            except ValueError as error:
                raise WalkError(f"{node.name}: {error}") from None
        return combined


def walk_receptive_field(module: nn.Module) -> MethodResult:
    """The module's receptive field from its executed layers, or why the walk could not say."""
    walker = _Walker(module)
    try:
        support = walker.run()
    except WalkError as error:
        return MethodResult(method=METHOD, receptive_field=None, layers=walker.rows, unavailable_reason=str(error))
    receptive_field = ReceptiveField(
        left=Side(support.left, support.left_unbounded), right=Side(support.right, support.right_unbounded),
        hop_samples=support.jump, holes=holes_between(support.intervals), global_in_time=support.global_in_time)
    return MethodResult(method=METHOD, receptive_field=receptive_field, layers=walker.rows,
                        evidence={"pointwise_layers": walker.pointwise_layers})
