"""Record the op graph of a model as it really runs on a concrete input.

Why a `TorchDispatchMode` over aten ops (and not `torch.fx`, `torch.export` or `make_fx`):
it sees exactly the ops the model executes on this input, after Python control flow,
TorchScript functions (DAC's `snake`), wrappers, hooks and weight parametrizations have
all run, and it needs no graph capture that can fail on data-dependent Python. Masks and
lengths are concrete, so attention masks are read, not inferred. A `TorchFunctionMode`
catches the few calls whose aten decomposition would lose their meaning: `F.pad`
(circular padding is built from copies into views of an empty tensor), attention
(`scaled_dot_product_attention`, `multi_head_attention_forward`; attention written out
as matmul and softmax is read op by op, :mod:`rfprobe.core.rules.attention_pairs`) and RNNs (`torch.lstm`
and friends, which on CPU decompose into one op per step).

Only tensors that depend on the input get nodes; they are tracked in a weak dictionary,
so the trace holds no activations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode, _pop_mode_temporarily
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakTensorKeyDictionary

import rfprobe.core.rules  # noqa: F401  (registers every rule)
from rfprobe.core.call import Call, Tracked
from rfprobe.core.graph import Graph, Node
from rfprobe.core.readers import NotUnderstood
from rfprobe.core.registry import (
    READS,
    VALUE_TO_PYTHON,
    Rule,
    RuleError,
    apply,
    high_level_key,
    op_name,
    pair_rule_for,
    rule_for,
)
from rfprobe.errors import first_line


class _Recording:
    def __init__(self, label: Optional[Callable[[], str]] = None) -> None:
        self.label = label
        self.graph = Graph()
        self.nodes = WeakTensorKeyDictionary()  # tensor -> Tracked
        self.paused = False
        self.largest_bytes = 0  # the largest input-dependent tensor the run made

    def tracked(self, value: Any) -> Optional[Tracked]:
        return self.nodes.get(value) if isinstance(value, torch.Tensor) else None

    def start(self, inputs: torch.Tensor, time_dim: int) -> None:
        index = self.graph.add(Node("input", inputs.shape[time_dim], time_dim))
        self.nodes[inputs] = Tracked(index, time_dim, inputs.shape[time_dim])

    def record(self, function: Any, name: str, args: tuple, kwargs: dict, result: Any, rule: Optional[Rule]) -> None:
        if not any(self.tracked(leaf) is not None for leaf in tree_leaves((args, kwargs))):
            return
        if rule is not None and rule.kind != READS:
            if rule.kind == VALUE_TO_PYTHON:
                self.graph.refusal = (
                    f"{name} reads values of the input into Python: the model's control flow "
                    "may depend on the audio, so one trace does not describe it"
                )
            return  # shape only: nothing of the input's values reaches the output
        outputs = [leaf for leaf in tree_leaves(result) if isinstance(leaf, torch.Tensor)]
        if not outputs:
            return
        self.largest_bytes = max(self.largest_bytes, *(t.numel() * t.element_size() for t in outputs))
        target = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if (
            isinstance(function, torch._ops.OpOverload)
            and function._schema.is_mutable
            and target is not None
            and target._base is not None
        ):
            self.graph.refusal = f"{name}: an in-place write into a view of another tensor is not understood"
            return
        call = Call(function, name, args, kwargs, outputs, self.tracked)
        if any(info.keys for _, info in call.tracked_args()):
            pair_rule = pair_rule_for(function)  # an argument with two time axes (eager attention's weights)
            produced = (
                apply(pair_rule, call)
                if pair_rule is not None
                else call.refuse(
                    "no rule for this op on a tensor with two time axes (eager attention's queries x keys)"
                )
            )
        elif rule is None:
            produced = call.refuse("no rule for this op on a tensor that depends on the input")
        else:
            produced = apply(rule, call)
        # An op refused because an input it reads was refused (its time axis lost there) names that
        # first refusal, the cause, not its own consequence ("an input whose time axis is dim None").
        upstream = (
            self.graph.first_refusal_above([info.node for _, info in call.tracked_args()])
            if any(output.refusal for output in produced)  # only then: it walks every node above
            else ""
        )
        for tensor, output in zip(outputs, produced):
            index = self.graph.add(
                Node(
                    name,
                    output.length,
                    output.time_dim,
                    output.reads,
                    (upstream or output.refusal) if output.refusal else "",
                    self.label() if self.label else "",
                    output.keys,
                )
            )
            self.nodes[tensor] = Tracked(
                index, output.time_dim, output.length, output.key_dim, output.keys, output.excluded, output.zeros
            )


class _AtenRecorder(TorchDispatchMode):
    def __init__(self, recording: _Recording) -> None:
        super().__init__()
        self.recording = recording

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if not self.recording.paused:
            self.recording.record(func, op_name(func), args, kwargs, result, rule_for(func))
        return result


class _CallRecorder(TorchFunctionMode):
    def __init__(self, recording: _Recording) -> None:
        super().__init__()
        self.recording = recording

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = high_level_key(func)
        recording = self.recording
        if (
            name is None
            or recording.paused
            or not any(recording.tracked(leaf) is not None for leaf in tree_leaves((args, kwargs)))
        ):
            return func(*args, **kwargs)
        recording.paused = True  # one node for the whole call, not its decomposition
        try:
            if isinstance(_get_current_dispatch_mode(), _AtenRecorder):
                # Nothing inside is recorded: step out of the aten recorder rather than pass
                # it every op of the decomposition (a GRU over 10^4 steps is 10^5 of them).
                with _pop_mode_temporarily():
                    result = func(*args, **kwargs)
            else:
                result = func(*args, **kwargs)
        finally:
            recording.paused = False
        recording.record(func, name, args, kwargs, result, rule_for(func))
        return result


@dataclass
class Trace:
    """The op graph of one run: input of `input_length` samples, output of `output_length` frames."""

    graph: Graph
    output_node: int
    input_length: int
    output_length: int
    largest_tensor_bytes: int = 0  # the largest input-dependent tensor of the run
    seconds: float = 0.0  # how long the traced run took (sizing predicts the next one from it)

    @property
    def quadratic(self) -> bool:
        """Some tensor has two time axes (eager attention): memory grows with the length squared."""
        return any(node.paired for node in self.graph.nodes)


class TraceError(Exception):
    """The model raised on an input of this length (perhaps too short for it)."""


def trace_module(
    module: nn.Module,
    channels: int,
    length_samples: int,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    label: Optional[Callable[[], str]] = None,
) -> Trace:
    """Run `module` on a (1, channels, length) input and record every op on the way.

    The output must be a (1, dim, frames) tensor whose last axis is time. `label` names
    the module running when each op is recorded.
    """
    recording = _Recording(label)
    generator = torch.Generator().manual_seed(length_samples)
    inputs = torch.randn(1, channels, length_samples, generator=generator, dtype=dtype).to(device)
    recording.start(inputs, time_dim=2)
    started = time.perf_counter()
    try:
        with torch.no_grad(), _CallRecorder(recording), _AtenRecorder(recording):
            output = module(inputs)
    except RuleError:
        raise  # a bug in a rule of rfprobe's: an internal error, never the model's failure
    except Exception as error:  # the model's own complaint, e.g. an input too short for it
        first = first_line(error)
        raise TraceError(
            f"the model failed on a (1, {channels}, {length_samples}) input: {type(error).__name__}: {first}"
        ) from None
    if not isinstance(output, torch.Tensor) or output.dim() != 3:
        raise NotUnderstood("the model must return a (batch, dim, frames) tensor")
    if recording.graph.refusal:
        raise NotUnderstood(recording.graph.refusal)
    info = recording.tracked(output)
    if info is None:
        raise NotUnderstood("the model's output does not depend on its input")
    if info.time_dim != 2:
        recording.graph.reach(info.node, ((0, 0),))  # names the op that lost the time axis, if one did
        raise NotUnderstood(f"the output's time axis is dim {info.time_dim}, not the last dim")
    return Trace(
        recording.graph,
        info.node,
        length_samples,
        output.shape[2],
        recording.largest_bytes,
        time.perf_counter() - started,
    )
