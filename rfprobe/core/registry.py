"""The rule registry: which rule reads each op, written once, registered by decorator.

Every op the trace records is looked up by its **key** (:func:`op_key`): an aten overload
by its schema name without namespace or overload (``aten.convolution.default`` ->
``"convolution"``, an in-place ``add_`` -> ``"add"``); a Python function the trace records
whole (``F.pad``, attention, RNNs: their decompositions would lose their meaning) by the
key it was registered under with ``high_level=``. A key has one entry, of one kind:

* ``reads`` — a rule, ``rule(call) -> [Output, ...]``, one output per output tensor;
* ``shape only`` — the op's output depends on its input's shape, never its values;
* ``value to python`` — the op reads input values into Python, so control flow may depend
  on the audio and one trace does not describe the model (the trace refuses it).

Rules for tensors with two time axes (eager attention's queries x keys) have their own
table (:func:`register_pair_rule`). Registering a key twice is refused, as
``torch.utils.flop_counter`` refuses a duplicate formula. An op without an entry that
torch tags pointwise reads position for position; any other op on a tensor that depends
on the input is refused by name when a frame's walk reaches it.

A user can teach rfprobe an op of their own without editing it:

    >>> import torch
    >>> from rfprobe.core.registry import register_rule, unregister_rule
    >>> from rfprobe.core.rules.elementwise import elementwise
    >>> lib = torch.library.Library("rfprobe_doc", "DEF")
    >>> lib.define("gain(Tensor x) -> Tensor")
    'gain'
    >>> lib.impl("gain", lambda x: 2 * x, "CompositeExplicitAutograd")
    >>> @register_rule("gain")
    ... def gain(call):
    ...     return elementwise(call)  # reads each position of its input, no more
    >>> from rfprobe.core.walk import walk_receptive_field
    >>> class Gained(torch.nn.Module):
    ...     def forward(self, x):
    ...         return torch.ops.rfprobe_doc.gain(torch.nn.functional.avg_pool1d(x, 4))
    >>> walk_receptive_field(Gained(), channels=1).receptive_field.samples
    4
    >>> @register_rule("gain")
    ... def again(call):
    ...     return elementwise(call)
    Traceback (most recent call last):
    ...
    rfprobe.core.registry.DuplicateRule: a rule for 'gain' is already registered (gain in ...)
    >>> unregister_rule("gain")
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import torch

from rfprobe.core.call import Call, Output

RuleFunction = Callable[[Call], list[Output]]

READS, SHAPE_ONLY, VALUE_TO_PYTHON = "reads", "shape only", "value to python"


@dataclass(frozen=True)
class Rule:
    """One registry entry: the key, its kind, and the function for a ``reads`` rule."""

    key: str
    kind: str
    function: Optional[RuleFunction] = None

    @property
    def name(self) -> str:
        """The rule's function as ``name in module`` (for messages naming a broken rule)."""
        if self.function is None:
            return self.kind
        return (
            f"{getattr(self.function, '__name__', repr(self.function))} in {getattr(self.function, '__module__', '?')}"
        )


class DuplicateRule(ValueError):
    """A key that already has an entry was registered again."""


class RuleError(RuntimeError):
    """A rule raised, or returned the wrong number of outputs: a bug in the rule (an internal
    error), never the model's failure."""


_RULES: dict[str, Rule] = {}
_PAIR_RULES: dict[str, Rule] = {}
_HIGH_LEVEL: dict[Any, str] = {}
_POINTWISE_DEFAULT: dict[bool, RuleFunction] = {}  # pairs? -> the rule a pointwise op without an entry gets


def op_key(function: Any) -> str:
    """The registry key of an op: an aten overload's schema name without namespace and
    overload (an in-place op's trailing ``_`` dropped), or a high-level function's key."""
    if isinstance(function, torch._ops.OpOverload):
        name = function._schema.name.split("::")[-1]
        return name[:-1] if function._schema.is_mutable and name.endswith("_") else name
    if function in _HIGH_LEVEL:
        return _HIGH_LEVEL[function]
    return str(getattr(function, "__name__", function))


def op_name(function: Any) -> str:
    """How messages name an op: ``aten.convolution.default``, or a function's name."""
    if isinstance(function, torch._ops.OpOverload):
        return str(function)
    return _HIGH_LEVEL.get(function) or str(getattr(function, "__name__", function))


def _add(table: dict[str, Rule], rule: Rule) -> None:
    if rule.key in table:
        raise DuplicateRule(f"a rule for {rule.key!r} is already registered ({table[rule.key].name})")
    table[rule.key] = rule


def _set_pointwise_default(pairs: bool, function: RuleFunction) -> None:
    if pairs in _POINTWISE_DEFAULT:
        raise DuplicateRule(f"a default rule for pointwise ops is already registered ({_POINTWISE_DEFAULT[pairs]})")
    _POINTWISE_DEFAULT[pairs] = function


def register_rule(
    *keys: str, high_level: Any = None, pointwise_default: bool = False
) -> Callable[[RuleFunction], RuleFunction]:
    """Decorator: `function` reads the ops `keys`. With `high_level` (a Python function such
    as ``F.pad``), calls of that function are recorded whole under the first key, not as the
    aten ops they decompose into. With `pointwise_default`, it also reads every op torch tags
    pointwise that has no entry of its own."""
    if not keys:
        raise ValueError("register_rule needs at least one op key")

    def decorate(function: RuleFunction) -> RuleFunction:
        if high_level is not None and high_level in _HIGH_LEVEL:
            raise DuplicateRule(f"{high_level!r} is already recorded whole as {_HIGH_LEVEL[high_level]!r}")
        for key in keys:
            _add(_RULES, Rule(key, READS, function))
        if high_level is not None:
            _HIGH_LEVEL[high_level] = keys[0]
        if pointwise_default:
            _set_pointwise_default(False, function)
        return function

    return decorate


def register_pair_rule(*keys: str, pointwise_default: bool = False) -> Callable[[RuleFunction], RuleFunction]:
    """Decorator: `function` reads the ops `keys` when an argument has two time axes."""

    def decorate(function: RuleFunction) -> RuleFunction:
        for key in keys:
            _add(_PAIR_RULES, Rule(key, READS, function))
        if pointwise_default:
            _set_pointwise_default(True, function)
        return function

    return decorate


def register_kind(kind: str, *keys: str) -> None:
    """Declare `keys` shape-only (:data:`SHAPE_ONLY`) or value-to-Python (:data:`VALUE_TO_PYTHON`)."""
    if kind not in (SHAPE_ONLY, VALUE_TO_PYTHON):
        raise ValueError(f"kind must be {SHAPE_ONLY!r} or {VALUE_TO_PYTHON!r}, not {kind!r}")
    for key in keys:
        _add(_RULES, Rule(key, kind))


def unregister_rule(key: str, *, pairs: bool = False) -> None:
    """Remove the entry for `key` (and the high-level function recorded under it)."""
    table = _PAIR_RULES if pairs else _RULES
    if key not in table:
        raise KeyError(f"no rule registered for {key!r}")
    del table[key]
    if not pairs:
        for function in [f for f, k in _HIGH_LEVEL.items() if k == key]:
            del _HIGH_LEVEL[function]


@contextmanager
def replaced_rule(key: str, function: RuleFunction, *, pairs: bool = False) -> Iterator[RuleFunction]:
    """Within the block, `function` reads `key` in place of its registered rule (which it is
    given back afterwards); yields the rule it replaced. For tests that break a rule on purpose."""
    table = _PAIR_RULES if pairs else _RULES
    if key not in table or table[key].function is None:
        raise KeyError(f"no rule registered for {key!r}")
    original = table[key]
    table[key] = Rule(key, READS, function)
    try:
        yield original.function  # type: ignore[misc]
    finally:
        table[key] = original


def high_level_key(function: Any) -> Optional[str]:
    """The key a high-level Python function is recorded whole under, or None."""
    try:
        return _HIGH_LEVEL.get(function)
    except TypeError:  # an unhashable callable is never registered
        return None


def _pointwise(function: Any) -> bool:
    return isinstance(function, torch._ops.OpOverload) and torch.Tag.pointwise in function.tags


def rule_for(function: Any) -> Optional[Rule]:
    """The entry for an op; a pointwise-tagged op without one reads position for position."""
    rule = _RULES.get(op_key(function))
    if rule is None and _pointwise(function) and False in _POINTWISE_DEFAULT:
        return Rule(op_key(function), READS, _POINTWISE_DEFAULT[False])
    return rule


def pair_rule_for(function: Any) -> Optional[Rule]:
    """The entry for an op on a tensor with two time axes (pointwise ops: the pair elementwise rule)."""
    rule = _PAIR_RULES.get(op_key(function))
    if rule is None and _pointwise(function) and True in _POINTWISE_DEFAULT:
        return Rule(op_key(function), READS, _POINTWISE_DEFAULT[True])
    return rule


def one_axis_rule(call: Call) -> RuleFunction:
    """The 1-d rule of a call's op (a pair layout applies it once per time axis)."""
    rule = _RULES.get(op_key(call.function))
    if rule is None or rule.function is None:
        raise RuleError(f"{call.name}: no one-axis rule to apply to each time axis")
    return rule.function


def apply(rule: Rule, call: Call) -> list[Output]:
    """Run `rule` on `call`, checked: an exception inside it, or a count of outputs that is
    not the op's, is a :class:`RuleError` naming the op and the rule. A rule's refusal to
    read (:class:`~rfprobe.core.readers.NotUnderstood`) is a refusal of the op's outputs."""
    from rfprobe.core.readers import NotUnderstood

    assert rule.function is not None
    try:
        produced = rule.function(call)
    except NotUnderstood as refusal:
        return call.refuse(str(refusal))
    except Exception as error:
        raise RuleError(f"the rule {rule.name} for {call.name} raised {type(error).__name__}: {error}") from error
    if not isinstance(produced, list) or len(produced) != len(call.outputs):
        count = len(produced) if isinstance(produced, list) else type(produced).__name__
        raise RuleError(
            f"the rule {rule.name} for {call.name} returned {count} outputs for the op's {len(call.outputs)}"
        )
    return produced


def registered_keys(*, pairs: bool = False) -> list[str]:
    """Every key with an entry (after :mod:`rfprobe.core.rules` registered its own)."""
    return sorted(_PAIR_RULES if pairs else _RULES)
