"""How much memory a check will take, estimated before anything is built or run.

A config's cost follows from its architecture: the parameters of the encoders built (two
seeds, the taint copy and its conv-only twin) and the activations of the longest input each
step runs, batch rows included (:func:`config_cost`). A module's parameters are counted and
its activations per input sample measured on one short forward pass (:func:`module_cost`).
Estimates above the budget (`--max-memory`, default :data:`DEFAULT_BUDGET_GIB` GiB) are
refused before the run, with the estimate shown, instead of allocating gigabytes and dying.
The estimate is deliberately coarse, within a factor of about two either way: a module's
is counted from its leaf layers' outputs, not from tensors made by functional calls between
them (tiny Mimi through `--module`: 2.24 GiB estimated for its 1.9-million-sample impulse
probe, 2.51 GiB of peak resident memory measured for the whole check).

    >>> from rfprobe.families.seanet.config import EncoderConfig
    >>> small = config_cost(EncoderConfig(sample_rate=16000, n_filters=4, ratios=(2, 2), lstm=0), 1.0, 8)
    >>> small.peak_bytes < 2 ** 30
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.errors import UsageError

GIB = 1 << 30
DEFAULT_BUDGET_GIB = 8.0
GRAPH_FACTOR = 2  # a backward pass keeps the forward's activations and adds their gradients
ENCODER_COPIES = 4  # two seeds, the taint copy (float64) and its conv-only twin
IMPULSE_BATCH = 13  # tangents pushed at once by the impulse probe, plus the primal
MODULE_GROWTH = 4  # probe windows of a module without a walk grow until the support stops short of the ends


@dataclass(frozen=True)
class CostEstimate:
    """Estimated peak memory of one subject's check, and the step that dominates it."""

    parameter_bytes: int
    activation_bytes: int
    largest_step: str
    seconds: Optional[float] = None  # the probes' predicted time, when a forward pass was timed
    seconds_basis: str = ""  # how `seconds` was estimated (what was timed, what is assumed)

    @property
    def peak_bytes(self) -> int:
        """Estimated peak memory in bytes: weights plus activations."""
        return self.parameter_bytes + self.activation_bytes

    def describe(self) -> str:
        """The peak in GiB, split into weights and the activations of the largest step."""
        return (
            f"{gib(self.peak_bytes)} GiB ({gib(self.parameter_bytes)} GiB of weights, "
            f"{gib(self.activation_bytes)} GiB of activations for {self.largest_step})"
        )


def gib(size_bytes: float) -> str:
    """Bytes as GiB, three significant digits."""
    return f"{size_bytes / GIB:.3g}"


@dataclass(frozen=True)
class EncoderShape:
    """What a memory estimate needs of a module: parameters and activation elements per input sample."""

    parameters: int
    elements_per_sample: float  # activation elements kept per input sample by one forward pass
    widest_per_sample: float  # the widest single layer's elements per input sample


def encoder_shape(config: EncoderConfig) -> EncoderShape:
    """Parameters and activation elements of `SEANetEncoder(**config)`, layer by layer as its __init__ builds it."""
    norm_copies = 2 if config.norm in ("weight_norm", "spectral_norm") else 1  # weight_v and the computed weight
    parameters = 0
    elements = float(2 * config.channels)  # the input and its padded copy
    widest = float(config.channels)
    jump = 1

    def conv(in_channels: int, out_channels: int, kernel: int) -> None:
        nonlocal parameters, elements, widest
        parameters += in_channels * out_channels * kernel * norm_copies + out_channels
        elements += 3 * max(in_channels, out_channels) / jump  # activation, padded input, output
        widest = max(widest, max(in_channels, out_channels) / jump)

    width = config.n_filters
    conv(config.channels, width, config.kernel_size)
    for ratio in reversed(config.ratios):
        hidden = width // config.compress
        for _ in range(config.n_residual_layers):
            conv(width, hidden, config.residual_kernel_size)
            conv(hidden, width, 1)
            if not config.true_skip:
                conv(width, width, 1)
            elements += width / jump  # the residual sum
        conv(width, 2 * width, 2 * ratio)
        jump *= ratio
        width *= 2
    if config.lstm:
        parameters += config.lstm * (8 * width * width + 8 * width)
        elements += config.lstm * 10 * width / jump  # gates, cell and hidden states kept for backward
    conv(width, config.dimension, config.last_kernel_size)
    return EncoderShape(parameters=parameters, elements_per_sample=elements, widest_per_sample=widest)


def _graph_bytes(shape: EncoderShape, batch: int, length: int, itemsize: int) -> int:
    return int(GRAPH_FACTOR * batch * length * shape.elements_per_sample * itemsize)


def _no_graph_bytes(shape: EncoderShape, batch: int, length: int, itemsize: int) -> int:
    return int(3 * batch * length * shape.widest_per_sample * itemsize)


def config_cost(config: EncoderConfig, clip_seconds: float, itemsize: int) -> CostEstimate:
    """The check of `config` (verification and context map) in a dtype of `itemsize` bytes."""
    from rfprobe.core.clip import edge_probe_length
    from rfprobe.probes.erf import DRAWS_PER_SEED
    from rfprobe.probes.empirical import plan_window
    from rfprobe.families.seanet.formula import formula_receptive_field

    shape = encoder_shape(config)
    local = formula_receptive_field(config).receptive_field
    left, right, hop = local.left.samples, local.right.samples, local.hop_samples
    window = plan_window(left, right, hop).length_samples
    unbounded = local.left.unbounded or local.right.unbounded
    probe = window * (2 if unbounded else 1)  # an unbounded side is shown by growing the window
    clip = max(round(clip_seconds * config.sample_rate), 1)
    edge = edge_probe_length(clip, hop, left, right)
    taint = 2 * (left + right + 4 * hop)
    steps = {
        f"the gradient probe of {probe} samples x 2 frames": _graph_bytes(shape, 2, probe, itemsize),
        f"the impulse probe of {probe} samples x {IMPULSE_BATCH} tangents": 2
        * _no_graph_bytes(shape, IMPULSE_BATCH, probe, itemsize),
        f"the effective RF of {window} samples x {DRAWS_PER_SEED} inputs": _graph_bytes(
            shape, DRAWS_PER_SEED, window, itemsize
        ),
        f"the edge frames at {edge} samples x 4 frames": _graph_bytes(shape, 4, edge, itemsize),
    }
    if unbounded:
        steps[f"the NaN taint of {taint} samples"] = _no_graph_bytes(shape, 1, taint, 8)
    largest = max(steps, key=lambda step: steps[step])
    return CostEstimate(
        parameter_bytes=shape.parameters * max(itemsize, 8) * ENCODER_COPIES,
        activation_bytes=steps[largest],
        largest_step=largest,
    )


def module_cost(
    parameter_count: int,
    elements_per_sample: float,
    length_samples: int,
    itemsize: int,
    growth: int = MODULE_GROWTH,
    widest_per_sample: Optional[float] = None,
    probe_seconds: Optional[float] = None,
) -> CostEstimate:
    """A module's check: its weights (the caller's, a probed copy), and the probes at `length_samples`
    grown up to `growth` times (1 when the module walk measured both sides exactly: the probe window
    planned from them holds the support). `elements_per_sample` (all layer outputs, which a backward
    keeps) and `widest_per_sample` (the widest one, which bounds a pass without a graph; by default
    all of them) are measured on a short forward pass; `probe_seconds`, the probes' time when the
    caller timed them (:func:`rfprobe.runs.module_probe.probe_step_seconds`), is carried along."""
    length = length_samples * growth
    shape = EncoderShape(
        parameters=parameter_count,
        elements_per_sample=elements_per_sample,
        widest_per_sample=elements_per_sample if widest_per_sample is None else widest_per_sample,
    )
    steps = {
        f"the gradient probe of up to {length} samples x 2 frames": _graph_bytes(shape, 2, length, itemsize),
        f"the impulse probe of up to {length} samples x {IMPULSE_BATCH} tangents": 2
        * _no_graph_bytes(shape, IMPULSE_BATCH, length, itemsize),
    }
    largest = max(steps, key=lambda step: steps[step])
    return CostEstimate(
        parameter_bytes=parameter_count * itemsize * 2,
        activation_bytes=steps[largest],
        largest_step=largest,
        seconds=probe_seconds,
    )


def check_budget(
    estimate: CostEstimate, budget_gib: float, subject: str = "", smaller: str = "the architecture or --clip-seconds"
) -> None:
    """UsageError, with the estimate, when it is above the budget; `smaller` says what to shrink."""
    if estimate.peak_bytes > budget_gib * GIB:
        needed = max(estimate.peak_bytes / GIB * 1.1, budget_gib + 0.1)
        raise UsageError(
            f"{subject + ': ' if subject else ''}estimated peak memory {estimate.describe()} is above "
            f"the --max-memory budget of {budget_gib:g} GiB; pass --max-memory {needed:.3g} if the "
            f"machine has it, or shrink {smaller}"
        )
