"""Probe any PyTorch module mapping (batch, channels, time) to (batch, dim, frames).

No config, so no formula: the module walk (the operator-level analytic core) and both
empirical probes, cross-checked the same way; PASS needs all three. Channels and hop are
detected when not given: channels from the first `nn.Conv1d`, hop from the walk or,
failing that, from the input lengths at which the number of output frames steps up.
"""

from __future__ import annotations

import importlib
import math
import time
import os
import sys
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from rfprobe.probes import gradient as gradient_probe, impulse as impulse_probe
from rfprobe.core import walk as walk_method
from rfprobe.runs.cost import MODULE_GROWTH, CostEstimate, module_cost
from rfprobe.probes.device import exact_zeros, forward_mode, synchronize
from rfprobe.arithmetic.lengths import round_up
from rfprobe.probes.empirical import GROWTH_ROUNDS, plan_window
from rfprobe.probes.run import DEFAULT_SEEDS, run_probes, seed_settings
from rfprobe.errors import UsageError, first_line, is_out_of_memory, shown
from rfprobe.probes.gradient import probe_input
from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField, Side
from rfprobe.arithmetic.verdict import judge
from rfprobe.probes.subject import probe_subject
from rfprobe.runs.position_field import (
    POSITION_DEPENDENT,
    PositionField,
    period_lengths,
    position_verdict,
    read_one_period,
)
from rfprobe.runs.verify import Verification

REQUIRED = (walk_method.METHOD, gradient_probe.METHOD, impulse_probe.METHOD)


def _first_line(error: BaseException) -> str:
    return shown(first_line(error), 120)[1:-1]


def load_factory(spec: str) -> nn.Module:
    """`package.module:factory` -> factory(), the module to probe.

    This imports and runs the user's code, like `python -m` (the current directory is put
    first on sys.path so that the user's own package is importable): only pass code you trust.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"--module {spec}: expected package.module:factory (a callable returning an nn.Module)")
    if os.getcwd() not in sys.path:  # like `python -m`: the user's own package is importable
        sys.path.insert(0, os.getcwd())
    try:
        imported = importlib.import_module(module_name)
    except SystemExit as exit_:
        raise UsageError(
            f"--module {spec}: importing {module_name} called sys.exit({exit_.code!r}); "
            "a module to probe must import without exiting"
        ) from None
    except Exception as error:
        raise UsageError(
            f"--module {spec}: cannot import {module_name} ({type(error).__name__}: "
            f"{_first_line(error)}); check the name and that it is on PYTHONPATH"
        ) from None
    factory = getattr(imported, attribute, None)
    if not callable(factory):
        raise UsageError(f"--module {spec}: {module_name} has no callable {attribute}")
    try:
        built = factory()
    except SystemExit as exit_:
        raise UsageError(
            f"--module {spec}: {attribute}() called sys.exit({exit_.code!r}) instead of returning "
            "an nn.Module; fix the factory"
        ) from None
    except Exception as error:
        raise UsageError(
            f"--module {spec}: {attribute}() raised {type(error).__name__}: {_first_line(error)}"
        ) from None
    if not isinstance(built, nn.Module):
        raise UsageError(f"--module {spec}: {attribute}() returned {type(built).__name__}, not a torch.nn.Module")
    return built


def detect_channels(module: nn.Module) -> int:
    """The input channels of the module's first Conv1d, or a UsageError asking for --channels."""
    channels = walk_method.input_channels(module)
    if channels is not None:
        return channels
    raise UsageError("cannot detect the input channels (no nn.Conv1d found); pass channels (--channels)")


def _frames(module: nn.Module, channels: int, length: int, device: torch.device, dtype: torch.dtype) -> int:
    inputs = torch.zeros(2, channels, length, device=device, dtype=dtype)
    try:
        with torch.no_grad(), exact_zeros():
            outputs = module(inputs)
    except SystemExit as exit_:
        raise UsageError(f"the module called sys.exit({exit_.code!r}) in its forward; fix the module") from None
    except Exception as error:
        if is_out_of_memory(error):
            raise
        raise UsageError(
            f"the module failed on a (2, {channels}, {length}) input: {type(error).__name__}: "
            f"{_first_line(error)}; check channels and the input length"
        ) from None
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != 3 or outputs.shape[0] != 2:
        shape = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs).__name__
        raise UsageError(
            f"the module must map (batch, channels, time) to (batch, dim, frames); for a (2, {channels}, "
            f"{length}) input it returned {shape}"
        )
    return outputs.shape[-1]


def detect_hop(
    module: nn.Module, channels: int, device: torch.device, dtype: torch.dtype, length_multiple: int = 1
) -> int:
    """Samples per output frame: the distance between two consecutive input lengths at
    which the number of output frames steps up, found by bisection (about 2 log2 n runs)."""

    def frames(length: int) -> int:
        return _frames(module, channels, length * length_multiple, device, dtype)

    low = 1 << 12
    base = frames(low)

    def first_length_with(count: int, start: int) -> int:
        high = start
        while frames(high) < count:
            high *= 2
            if high > (1 << 24):
                raise UsageError(
                    "cannot detect the hop: the number of output frames does not grow with the input; "
                    "pass hop_samples (--hop)"
                )
        lower = start
        while lower < high:
            middle = (lower + high) // 2
            if frames(middle) >= count:
                high = middle
            else:
                lower = middle + 1
        return lower

    first = first_length_with(base + 1, low)
    second = first_length_with(base + 2, first)
    if second == first:
        raise UsageError(
            "cannot detect the hop: one more input sample adds more than one output frame "
            "(more frames than samples); rfprobe measures encoders, whose frames span samples"
        )
    return (second - first) * length_multiple


@dataclass(frozen=True)
class ModuleShape:
    """What :func:`check_module` established about a module, before any probe runs."""

    channels: int
    hop_samples: int
    estimate: CostEstimate
    walk: Optional[MethodResult] = None  # the module walk it ran, for probe_module to reuse


def _activations_per_sample(
    module: nn.Module, channels: int, length: int, device: torch.device, dtype: torch.dtype
) -> tuple[int, float, float]:
    """(frames, activation elements per input sample, widest layer output per input sample):
    the outputs of every leaf layer on one forward pass. A backward pass keeps them all; a
    pass without a graph holds little more than the widest at a time."""
    total, widest = [0], [0]

    def count(_layer: nn.Module, _inputs: object, output: object) -> None:
        tensors = output if isinstance(output, (tuple, list)) else (output,)
        size = sum(t.numel() for t in tensors if isinstance(t, torch.Tensor))
        total[0] += size
        widest[0] = max(widest[0], size)

    hooks = [layer.register_forward_hook(count) for layer in module.modules() if not list(layer.children())]
    try:
        frames = _frames(module, channels, length, device, dtype)
    finally:
        for hook in hooks:
            hook.remove()
    rows = 2 * length  # the (2, channels, length) batch of _frames
    return frames, 2 * channels + total[0] / rows, max(channels, widest[0] / rows)


def check_module(
    module: nn.Module,
    where: str,
    *,
    channels: Optional[int] = None,
    hop_samples: Optional[int] = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    check_cost: Callable[[CostEstimate], None] = lambda estimate: None,
) -> ModuleShape:
    """Everything about `module` that can be refused, checked before any probe runs.

    Finite weights; channels and hop (detected when not given); a cost estimate, passed to
    `check_cost` (which raises when it is over budget) before any long input is built; an
    output that grows by exactly one frame per hop (a constant-length output has no hop);
    and a finite output for a random input. Every problem is a UsageError starting with `where`.
    """
    device = torch.device(device)
    itemsize = torch.empty((), dtype=dtype).element_size()
    parameters = sum(t.numel() for t in [*module.parameters(), *module.buffers()])
    check_cost(module_cost(parameters, 0.0, 0, itemsize))
    try:
        subject = probe_subject(module, device, dtype)
        channels = channels or detect_channels(subject)
        short = 1 << 13
        check_cost(module_cost(parameters, 2 * channels, short, itemsize))
        _, per_sample, widest_per_sample = _activations_per_sample(subject, channels, short, device, dtype)
        walk = walk_method.walk_receptive_field(subject, channels, device=device, hop_samples=hop_samples)
        if hop_samples and walk.ran and walk.receptive_field.hop_samples != hop_samples:
            raise UsageError(
                f"the module walk reads a hop of {walk.receptive_field.hop_samples} samples, not "
                f"{hop_samples}: pass --hop {walk.receptive_field.hop_samples}, or leave it out to detect it"
            )
        hop = hop_samples or (
            walk.receptive_field.hop_samples if walk.ran else detect_hop(subject, channels, device, dtype)
        )
        field = walk.receptive_field if walk.ran else None
        window = plan_window(field.left.samples if field else 0, field.right.samples if field else 0, hop)
        length = 8 * hop + 1
        exact = field is not None and field.bounded and not field.lower_bound_only
        estimate = module_cost(
            parameters,
            per_sample,
            max(length + 2 * hop, window.length_samples),
            itemsize,
            growth=1 if exact else MODULE_GROWTH,
            widest_per_sample=widest_per_sample,
        )
        check_cost(estimate)
        frames, more = (_frames(subject, channels, n, device, dtype) for n in (length, length + 2 * hop))
        if frames < 2:
            raise UsageError(f"an input of {length} samples gave fewer than 2 frames: is the hop {hop} right?")
        if more == frames:
            raise UsageError(
                f"the module returns {frames} frames for {length} and for {length + 2 * hop} input samples: "
                "its output does not grow with its input, so it has no hop; rfprobe probes encoders "
                "mapping (batch, channels, time) to (batch, dim, frames)"
            )
        if more - frames != 2:
            raise UsageError(
                f"with a hop of {hop} samples, {2 * hop} more input samples should give 2 more frames, "
                f"they gave {more - frames}; pass the right --hop (or leave it out to detect it)"
            )
        with torch.no_grad(), exact_zeros():
            output = subject(probe_input(channels, length, 0, device, dtype))
        if not bool(torch.isfinite(output).all()):
            raise UsageError(
                f"the module's output is not finite (NaN or inf) for a random input of {length} samples; "
                "a receptive field cannot be probed through it: fix the module"
            )
    except UsageError as error:
        raise UsageError(f"{where}: {error}") from None
    return ModuleShape(channels=channels, hop_samples=hop, estimate=estimate, walk=walk)


def _probe_cost(
    subject: nn.Module,
    channels: int,
    guess: ReceptiveField,
    exact_guess: bool,
    device: torch.device,
    dtype: torch.dtype,
    length_multiple: int,
    check_cost: Callable[[CostEstimate], None],
) -> CostEstimate:
    """The probes' peak memory and time, each passed to `check_cost` as soon as it is known.

    Memory: from the layer outputs of one short forward pass. Time: each probe's own step (the
    gradient's forward and backward of two frames, the impulse's pass of six tangents) timed on
    a short input, as a multiple of a plain forward pass there, times one plain forward pass
    timed at the probe window's own length: attention over the whole input grows faster than
    the length, and only a pass at that length shows by how much (a linear scaling of the short
    pass is no bound either way: a short pass is mostly fixed per-call cost)."""
    window = plan_window(guess.left.samples, guess.right.samples, guess.hop_samples, length_multiple=length_multiple)
    short = round_up(min(1 << 13, window.length_samples), length_multiple)
    _, per_sample, widest_per_sample = _activations_per_sample(subject, channels, short, device, dtype)
    unbounded = guess.left.unbounded or guess.right.unbounded
    parameters = sum(t.numel() for t in [*subject.parameters(), *subject.buffers()])
    growth = 2 if unbounded or not exact_guess else 1

    def estimate(seconds: Optional[float]) -> CostEstimate:
        return module_cost(
            parameters,
            per_sample,
            window.length_samples,
            torch.empty((), dtype=dtype).element_size(),
            growth=growth,
            widest_per_sample=widest_per_sample,
            probe_seconds=seconds,
        )

    check_cost(estimate(None))
    steps = probe_step_seconds(subject, channels, short, guess.hop_samples, device, dtype)
    # growth: the runs of a window that must grow (an unbounded side, extents not exact), in windows
    scale = growth * steps.probes_per_forward
    length = window.length_samples
    window_forward_s = (
        steps.forward_s if length == short else _forward_seconds(subject, channels, length, device, dtype)
    )
    basis = "their steps timed on a short input, scaled by a forward pass timed at the probe window's length"
    if not guess.lower_bound_only:
        final = replace(estimate(scale * window_forward_s), seconds_basis=basis)
        check_cost(final)
        return final
    # A side the walk bounds only from below: the probes double that window up to GROWTH_ROUNDS
    # times until its support stops short of the end, and how long a doubled window takes is
    # timed, not assumed (attention over the whole input grows with the length squared).
    doubled_s = _forward_seconds(subject, channels, round_up(2 * length, length_multiple), device, dtype)
    exponent = min(max(math.log2(doubled_s / window_forward_s), 1.0), 2.0)
    rounds = sum(2.0 ** (round_index * exponent) for round_index in range(GROWTH_ROUNDS))
    final = replace(
        estimate(steps.probes_per_forward * window_forward_s * rounds),
        seconds_basis=(
            f"{basis}; if every doubling runs: the walk bounds a side only from below, so the window of "
            f"{length} samples may double {GROWTH_ROUNDS - 1} times, a doubled window taking {2**exponent:.1f}x "
            "as long (timed)"
        ),
    )
    check_cost(final)
    return final


@dataclass(frozen=True)
class ProbeSteps:
    """One plain forward pass and each probe's own step, timed on the same short input."""

    forward_s: float
    gradient_s: float  # forward, and backward of two frames (the gradient probe's step)
    impulse_s: float  # one pass of six tangents through forward-mode AD (the impulse probe's located pass)

    @property
    def probes_per_forward(self) -> float:
        """Both probes' steps, in plain forward passes."""
        return (self.gradient_s + self.impulse_s) / self.forward_s


def _forward_seconds(subject: nn.Module, channels: int, length: int, device: torch.device, dtype: torch.dtype) -> float:
    """One plain forward pass, batch 1, no graph, timed."""
    inputs = probe_input(channels, length, 0, device, dtype)
    synchronize(device)
    started = time.perf_counter()
    with torch.no_grad():
        subject(inputs)
    synchronize(device)
    return max(time.perf_counter() - started, 1e-9)


def probe_step_seconds(
    subject: nn.Module, channels: int, length: int, hop_samples: int, device: torch.device, dtype: torch.dtype
) -> ProbeSteps:
    """Times a plain forward pass and the probes' own steps on `length` samples (see :class:`ProbeSteps`)."""
    from torch.func import jvp, vmap

    from rfprobe.probes.gradient import frame_gradients_and_how

    forward_s = _forward_seconds(subject, channels, length, device, dtype)
    inputs = probe_input(channels, length, 0, device, dtype)
    frames = max(min(length // max(hop_samples, 1), 2), 1)
    started = time.perf_counter()
    frame_gradients_and_how(subject, inputs, list(range(frames)), projection_seed=1)
    synchronize(device)
    gradient_s = time.perf_counter() - started
    tangents = torch.randn((6, *inputs.shape), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tangents = tangents.to(device, dtype)
    started = time.perf_counter()
    try:
        with forward_mode():
            vmap(lambda tangent: jvp(subject, (inputs,), (tangent,))[1])(tangents)
    except (RuntimeError, NotImplementedError):  # no forward-mode AD: the probe's fallback runs forwards
        pass
    synchronize(device)
    impulse_s = max(time.perf_counter() - started, 6 * forward_s)
    return ProbeSteps(forward_s=forward_s, gradient_s=gradient_s, impulse_s=impulse_s)


def _position_field(
    module: nn.Module,
    channels: int,
    hop: int,
    length_multiple: int,
    check_cost: Optional[Callable[[CostEstimate], None]],
) -> Optional[PositionField]:
    """One period of a position-dependent module (None when the reading itself fails: the walk's
    reason then stands in the verdict)."""
    from rfprobe.core.readers import NotUnderstood
    from rfprobe.core.trace import TraceError

    try:
        return read_one_period(
            probe_subject(module, "cpu", torch.float64), channels, period_lengths(hop, length_multiple), check_cost
        )
    except (TraceError, NotUnderstood):
        return None


def probe_module(
    module: nn.Module,
    *,
    channels: Optional[int] = None,
    hop_samples: Optional[int] = None,
    name: Optional[str] = None,
    sample_rate: Optional[int] = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    length_multiple: int = 1,
    walk: Optional[MethodResult] = None,
    check_cost: Optional[Callable[[CostEstimate], None]] = None,
) -> Verification:
    """Walk and probe `module` (a copy of it: the caller's module is left untouched).

    `length_multiple`: the module accepts only input lengths that are multiples of it
    (moshi's SEANet asserts on this); every trace and probe window is rounded up to one.
    `walk`: the module walk :func:`check_module` already ran on this module (same device
    and dtype), so that a long sizing trace is not run twice.
    `check_cost`: given, it gets the probes' estimated peak memory and time after the walk and
    before any probe runs (it raises to refuse them); a walk stopped by a time limit
    (:func:`rfprobe.core.budget.time_limit`) is then refused too, with its reason.
    """
    device = torch.device(device)
    subject = probe_subject(module, device, dtype)
    channels = channels or detect_channels(subject)
    if walk is None:
        walk = walk_method.walk_receptive_field(
            subject, channels, device=device, length_multiple=length_multiple, hop_samples=hop_samples
        )
    hop = hop_samples or (
        walk.receptive_field.hop_samples if walk.ran else detect_hop(subject, channels, device, dtype, length_multiple)
    )
    if not walk.ran:  # the walk's traces already gave 3 frames or more (and the hop the probes start from)
        check_length = round_up(max(8 * hop + 1, 1 << 12), length_multiple)
        if _frames(subject, channels, check_length, device, dtype) < 2:
            raise UsageError(f"an input of {check_length} samples gave fewer than 2 frames: is the hop {hop} right?")
    guess = walk.receptive_field if walk.ran else ReceptiveField(left=Side(0), right=Side(0), hop_samples=hop)
    if not walk.ran and POSITION_DEPENDENT in walk.unavailable_reason:
        # No single (left, right) holds for every frame: one period of them, walk against gradient,
        # position by position (on CPU in float64, where the period is read); the frame-pair probes
        # would measure only the positions their two frames fall at, so they are not run.
        position = _position_field(module, channels, hop, length_multiple, check_cost)
        not_run = "not run: the frame's reads depend on its position (read per position instead)"
        results = [
            walk,
            MethodResult(method=gradient_probe.METHOD, receptive_field=None, unavailable_reason=not_run),
            MethodResult(method=impulse_probe.METHOD, receptive_field=None, unavailable_reason=not_run),
        ]
        verdict = position_verdict(position) if position is not None else judge(results, required=REQUIRED)
    else:
        position = None
        if check_cost is not None:
            stopped = str(walk.evidence.get("sizing_stopped", ""))
            if "time limit" in stopped:
                raise UsageError(f"the module walk stopped: {stopped}")
            _probe_cost(subject, channels, guess, walk.ran, device, dtype, length_multiple, check_cost)
        modules = dict.fromkeys(seeds, subject)  # fixed weights: seeds vary the inputs and projections
        gradient, impulse = run_probes(
            modules, guess, channels=channels, device=device, dtype=dtype, length_multiple=length_multiple
        )
        results = [walk, gradient, impulse]
        verdict = judge(results, required=REQUIRED)
    return Verification(
        name=name or type(module).__name__,
        sample_rate=sample_rate,
        config=None,
        source_path="module",
        results=results,
        verdict=verdict,
        position=position,
        claims=None,
        provenance={
            "module": f"{type(module).__module__}.{type(module).__qualname__}",
            "torch_version": torch.__version__,
        },
        settings={"device": str(device), "dtype": str(dtype).replace("torch.", ""), **seed_settings(seeds)},
    )
