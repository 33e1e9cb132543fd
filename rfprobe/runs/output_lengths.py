"""Output-length arithmetic per codec, composed from the layers the module runs and proven by running it.

For a codec in :data:`rfprobe.families.codecs.CODECS` this answers: for an input of n samples,
how many frames the encoder gives; for f frames, how many samples the decoder gives; the
shortest input that gives one frame; and the constant the decoder's output lacks against
f x hop (what a server trims or pads).

How the maps are obtained (nothing is fitted):

1. A probe run of the real encoder (decoder) with forward hooks on every module records the
   call tree in execution order. Its leaves are the length-changing units: plain
   `nn.Conv1d` / `nn.ConvTranspose1d`, and the wrappers that pad or trim around one
   (transformers' `EncodecConv1d`, `MimiConv1d`, `EncodecConvTranspose1d`,
   `MimiConvTranspose1d`), whose inner conv is part of the unit. Each leaf is read into a
   plain record of its attributes (kernel, stride, dilation, padding, output padding, causal
   padding, trims) with the wrapper's padding rule as its source states it.
2. Residual modules combine a branch with their input: DAC's residual units crop the input to
   the branch's length (`x[..., pad:-pad]`, pad = (len(x) - len(y)) // 2), SEANet's resnet
   blocks add a `shortcut` applied to the block's input. Every other module is taken as a
   sequence of its units; modules without a conv (Snake, ELU, LSTM, attention) are assumed
   length-preserving, and step 3 checks that at the probe length.
3. The composed, torch-free map is evaluated at the probe length, unit by unit, and each
   unit's predicted (input, output) length is compared with what its hook recorded.
4. The map is proven by running the real module on at least 20 lengths (very short ones,
   around the hop, not multiples of it); a length where the module raises is reported as a
   finding and must be one where the map predicts a raise.
5. A closed form is derived from the per-unit coefficients (a chain of floor-type units is
   floor((n + C) / S), a chain of transposed units A f + B) and compared with the composed
   map on 1 .. 20 x hop (frames: 1 .. 200); it is stated only where it holds on that range.

Everything runs in float64 on one torch thread at tiny width (same kernels, strides and
padding as the published models).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

import torch
from torch import nn

from rfprobe.probes.threads import one_thread

# Wrappers whose padding / trimming around one inner conv is part of the length map (class names,
# so that the rule applies to transformers' classes wherever they are imported from).
PADDED_CONV_CLASSES = ("EncodecConv1d", "MimiConv1d")
TRIMMED_CONV_TRANSPOSE_CLASSES = ("EncodecConvTranspose1d", "MimiConvTranspose1d")
# DAC's residual units (transformers' and descript's): `x[..., pad:-pad] + y`.
CROPPED_RESIDUAL_CLASSES = ("DacResidualUnit", "ResidualUnit")
# SEANet's resnet blocks: `shortcut(x) + block(x)`.
SHORTCUT_RESIDUAL_CLASSES = ("EncodecResnetBlock", "MimiResnetBlock")

CLOSED_FORM_RANGE_HOPS = 20  # the closed form is checked against the composed map on 1 .. 20 x hop samples
CLOSED_FORM_RANGE_FRAMES = 200
MIN_CHECKED_LENGTHS = 20
MIMI_DECODER_BUDGET_S = 20.0  # past this the decoder's proof is cut short (see codec_lengths)

Outcome = Union[int, str]  # a length, or "raises: <message>"


class LengthRaises(ValueError):
    """The composed map says the module raises at this length (which unit, and why)."""


# --- units ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LengthUnit:
    """One length-changing unit, read from the module's attributes.

    kind: "conv" | "conv_transpose" (torch's own arithmetic), "padded_conv" (Encodec/Mimi:
    fixed padding plus the extra right padding that makes the last frame whole, then an unpadded
    conv), "trimmed_conv_transpose" (an unpadded transposed conv, then fixed trims).
    """

    path: str
    kind: str
    kernel_size: int
    stride: int
    dilation: int = 1
    padding: int = 0
    output_padding: int = 0
    causal: bool = False
    trim_left: int = 0
    trim_right: int = 0
    # EncodecConv1d with norm_type "time_group_norm" runs GroupNorm on the conv's output; torch
    # raises when a group holds a single value (channels per group x length == 1, batch 1).
    group_norm_channels_per_group: int = 0

    @property
    def effective_kernel(self) -> int:
        """Input steps one output spans: dilation x (kernel - 1) + 1."""
        return self.dilation * (self.kernel_size - 1) + 1

    def output_length(self, length: int) -> int:
        """The unit's output length for an input of `length`, or LengthRaises where torch would raise."""
        if length < 1:  # torch: "Only zero batch or zero channel inputs are supported"
            raise LengthRaises(f"{self.path}: empty input ({length})")
        if self.kind == "conv":
            return self._conv(length + 2 * self.padding)
        if self.kind == "padded_conv":
            out = self._conv(self._padded_length(length))
            if self.group_norm_channels_per_group and self.group_norm_channels_per_group * out == 1:
                raise LengthRaises(f"{self.path}: GroupNorm over a single value (1 channel per group x {out})")
            return out
        if self.kind == "conv_transpose":
            return self._transposed(length)
        if self.kind == "trimmed_conv_transpose":
            full = self._transposed(length)
            # hidden[..., left : len - right]: python slicing (empty, not an error, when it overshoots)
            return len(range(full)[self.trim_left : full - self.trim_right])
        raise ValueError(f"unknown unit kind {self.kind}")

    def _conv(self, padded_length: int) -> int:
        if padded_length < self.effective_kernel:  # torch: "Kernel size can't be greater than actual input size"
            raise LengthRaises(f"{self.path}: padded input {padded_length} < kernel {self.effective_kernel}")
        return (padded_length - self.effective_kernel) // self.stride + 1

    def _transposed(self, length: int) -> int:
        return (length - 1) * self.stride - 2 * self.padding + self.effective_kernel + self.output_padding

    def _padded_length(self, length: int) -> int:
        # EncodecConv1d / MimiConv1d._get_extra_padding_for_conv1d, with padding_total = k_eff - stride:
        #   n_frames = ceil((length - k_eff + padding_total) / stride + 1) - 1
        #   extra = n_frames * stride + k_eff - padding_total - length
        # transformers divides int64 tensors (float32); this is the exact integer value.
        padding_total = self.effective_kernel - self.stride
        n_frames = -(-(length - self.effective_kernel + padding_total) // self.stride)
        extra = n_frames * self.stride + self.effective_kernel - padding_total - length
        # causal: (padding_total, extra); else (total - total // 2, total // 2 + extra): same sum.
        # _pad1d's reflect-on-short-input detour adds zeros and cuts them again: same length.
        return length + padding_total + extra

    def closed_form(self) -> Optional[tuple[str, int, int]]:
        """("floor", C, S): output = floor((L + C) / S); ("affine", A, B): output = A L + B; valid
        where the unit does not raise (and, for trims, does not overshoot)."""
        if self.kind == "conv":
            return ("floor", 2 * self.padding - self.effective_kernel + self.stride, self.stride)
        if self.kind == "padded_conv":
            # padded length = ceil(L / s) s + k_eff - s (from _padded_length), so the output is
            # ceil(L / s) = floor((L + s - 1) / s); checked against the rule itself on the range.
            return ("floor", self.stride - 1, self.stride)
        if self.kind == "conv_transpose":
            return ("affine", self.stride, self._transposed(1) - self.stride)
        if self.kind == "trimmed_conv_transpose":
            return ("affine", self.stride, self._transposed(1) - self.stride - self.trim_left - self.trim_right)
        return None


@dataclass(frozen=True)
class LengthNode:
    """A module call that contains units: "sequence" (children in execution order),
    "cropped_residual" (input cropped to the branch, then added) or "shortcut_residual"
    (shortcut(input) + branch(input))."""

    path: str
    kind: str
    children: tuple[Union["LengthNode", LengthUnit], ...]
    shortcut: tuple[Union["LengthNode", LengthUnit], ...] = ()

    def output_length(self, length: int, trace: Optional[list] = None) -> int:
        """Output length for an input of `length`, or LengthRaises; `trace` gets (path, in, out) per unit."""
        branch = _run_sequence(self.children, length, trace)
        if self.kind == "sequence":
            return branch
        if self.kind == "cropped_residual":
            pad = (length - branch) // 2
            kept = len(range(length)[pad:-pad]) if pad > 0 else length
            return _added(self.path, kept, branch)
        if self.kind == "shortcut_residual":
            return _added(self.path, _run_sequence(self.shortcut, length, trace), branch)
        raise ValueError(f"unknown node kind {self.kind}")

    def closed_form(self) -> Optional[tuple[str, int, int]]:
        """As LengthUnit.closed_form, over the children; a residual has one only where it keeps length."""
        branch = _compose_closed(self.children)
        if self.kind == "sequence":
            return branch
        # A residual is length-preserving only where its branch (and shortcut) are.
        shortcut = _compose_closed(self.shortcut)
        if _is_identity(branch) and _is_identity(shortcut):
            return ("floor", 0, 1)
        return None


def _added(path: str, left: int, right: int) -> int:
    # torch broadcasting: equal lengths, or one of them 1
    if left == right or right == 1:
        return left
    if left == 1:
        return right
    raise LengthRaises(f"{path}: residual sum of lengths {left} and {right}")


def _run_sequence(items: tuple, length: int, trace: Optional[list]) -> int:
    for item in items:
        if isinstance(item, LengthUnit):
            out = item.output_length(length)
            if trace is not None:
                trace.append((item.path, length, out))
            length = out
        else:
            length = item.output_length(length, trace)
    return length


def _is_identity(form: Optional[tuple[str, int, int]]) -> bool:
    return form in (("floor", 0, 1), ("affine", 1, 0))


def _compose_closed(items: tuple) -> Optional[tuple[str, int, int]]:
    form: Optional[tuple[str, int, int]] = ("floor", 0, 1)  # the identity
    for item in items:
        step = item.closed_form()
        if form is None or step is None:
            return None
        if _is_identity(step):
            continue
        if _is_identity(form):
            form = step
        elif form[0] == step[0] == "floor":
            # floor((floor((L + C) / S) + c) / s) = floor((L + C + c S) / (S s)) for integers, S, s > 0
            form = ("floor", form[1] + step[1] * form[2], form[2] * step[2])
        elif form[0] == step[0] == "affine":
            form = ("affine", step[1] * form[1], step[1] * form[2] + step[2])
        else:
            return None  # a floor after an affine step (or back): no single closed form derived
    return form


# --- reading the module ----------------------------------------------------------------------------
def _unit_of(path: str, module: nn.Module) -> Optional[LengthUnit]:
    name = type(module).__name__
    if name in PADDED_CONV_CLASSES:
        conv = module.conv
        return LengthUnit(
            path,
            "padded_conv",
            kernel_size=conv.kernel_size[0],
            stride=conv.stride[0],
            dilation=conv.dilation[0],
            padding=conv.padding[0],  # 0 in both wrappers; padded_conv ignores it, so insist on it
            causal=bool(module.causal),
            group_norm_channels_per_group=_group_norm_channels(module),
        )
    if name in TRIMMED_CONV_TRANSPOSE_CLASSES:
        conv = module.conv
        total = conv.kernel_size[0] - conv.stride[0]
        if hasattr(module, "padding_right"):  # MimiConvTranspose1d stores its trims
            right = int(module.padding_right)
        elif module.causal:  # EncodecConvTranspose1d.forward computes them
            right = math.ceil(total * module.trim_right_ratio)
        else:
            right = total // 2
        return LengthUnit(
            path,
            "trimmed_conv_transpose",
            kernel_size=conv.kernel_size[0],
            stride=conv.stride[0],
            dilation=conv.dilation[0],
            padding=conv.padding[0],
            output_padding=conv.output_padding[0],
            causal=bool(module.causal),
            trim_left=total - right,
            trim_right=right,
        )
    if isinstance(module, nn.ConvTranspose1d):
        return LengthUnit(
            path,
            "conv_transpose",
            module.kernel_size[0],
            module.stride[0],
            module.dilation[0],
            module.padding[0],
            module.output_padding[0],
        )
    if isinstance(module, nn.Conv1d):
        if not isinstance(module.padding[0], int) or module.padding_mode != "zeros":
            raise ValueError(f"{path}: padding {module.padding!r} / {module.padding_mode} not modelled")
        return LengthUnit(path, "conv", module.kernel_size[0], module.stride[0], module.dilation[0], module.padding[0])
    return None


def _group_norm_channels(module: nn.Module) -> int:
    norm = getattr(module, "norm", None)
    if getattr(module, "norm_type", None) == "time_group_norm" and isinstance(norm, nn.GroupNorm):
        return norm.num_channels // norm.num_groups
    return 0


def _length_of(value: Any) -> Optional[int]:
    if isinstance(value, torch.Tensor):
        return int(value.shape[-1])
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return int(value[0].shape[-1])
    return None


@dataclass
class _Call:
    path: str
    module: nn.Module
    children: list
    length_in: Optional[int] = None
    length_out: Optional[int] = None


def record_structure(module: nn.Module, inputs: torch.Tensor) -> tuple[LengthNode, list[tuple[str, int, int]]]:
    """Run `module(inputs)` once with hooks; return its length tree (units in execution order)
    and each unit's recorded (path, input length, output length)."""
    names = {id(sub): name or "<root>" for name, sub in module.named_modules()}
    root = _Call("<root>", module, [])
    stack: list[_Call] = [root]
    recorded: list[tuple[str, int, int]] = []
    depth_in_unit = [0]  # > 0 while inside a unit: its inner conv belongs to it

    def pre(sub: nn.Module, args: tuple) -> None:
        if sub is module:
            return
        if depth_in_unit[0]:
            depth_in_unit[0] += 1
            return
        call = _Call(names.get(id(sub), type(sub).__name__), sub, [], _length_of(args[0]) if args else None)
        stack[-1].children.append(call)
        stack.append(call)
        if _unit_of(call.path, sub) is not None:
            depth_in_unit[0] = 1

    def post(sub: nn.Module, args: tuple, output: Any) -> None:
        if sub is module:
            return
        if depth_in_unit[0] > 1:
            depth_in_unit[0] -= 1
            return
        call = stack.pop()
        call.length_out = _length_of(output)
        if depth_in_unit[0] == 1:
            depth_in_unit[0] = 0
            recorded.append((call.path, call.length_in, call.length_out))

    handles = []
    for sub in module.modules():
        handles.append(sub.register_forward_pre_hook(pre))
        handles.append(sub.register_forward_hook(post))
    try:
        module(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return _tree(root), recorded


def _tree(call: _Call) -> Optional[Union[LengthNode, LengthUnit]]:
    unit = _unit_of(call.path, call.module) if call.path != "<root>" else None
    if unit is not None:
        return unit
    name = type(call.module).__name__
    if name in SHORTCUT_RESIDUAL_CLASSES:
        prefix = call.path + ".shortcut"
        branch = [child for child in call.children if not child.path.startswith(prefix)]
        shortcut = [child for child in call.children if child.path.startswith(prefix)]
        return LengthNode(call.path, "shortcut_residual", _subtrees(branch), _subtrees(shortcut))
    kind = "cropped_residual" if name in CROPPED_RESIDUAL_CLASSES else "sequence"
    children = _subtrees(call.children)
    if not children and call.path != "<root>":
        return None  # no conv inside: taken as length-preserving (checked on the probe run)
    return LengthNode(call.path, kind, children)


def _subtrees(calls: list) -> tuple:
    return tuple(tree for tree in (_tree(call) for call in calls) if tree is not None)


# --- the composed map, the proof, the closed form --------------------------------------------------
@dataclass(frozen=True)
class LengthMap:
    """A torch-free length map composed from a module's units: `map(length)` or LengthRaises."""

    tree: LengthNode
    probe_length: int
    structure_mismatches: tuple  # units whose probe-run lengths the map did not predict

    def __call__(self, length: int) -> int:
        return self.tree.output_length(length)

    def closed_form(self) -> Optional[tuple[str, int, int]]:
        """The whole map's closed form, as LengthUnit.closed_form states one (None where none is derived)."""
        return self.tree.closed_form()

    def units(self) -> list[LengthUnit]:
        """Every length-changing unit in the tree, in order (a residual's branch before its shortcut)."""
        found: list[LengthUnit] = []

        def walk(items: tuple) -> None:
            for item in items:
                if isinstance(item, LengthUnit):
                    found.append(item)
                else:
                    walk(item.children)
                    walk(item.shortcut)

        walk((self.tree,))
        return found


def compose_length_map(module: nn.Module, channels: int, probe_length: int) -> LengthMap:
    """The module's length map, read from a probe run at `probe_length` and checked unit by unit
    against that run (each unit's recorded input and output length)."""
    with torch.no_grad():
        tree, recorded = record_structure(module, torch.zeros(1, channels, probe_length, dtype=torch.float64))
    predicted: list[tuple[str, int, int]] = []
    try:
        tree.output_length(probe_length, predicted)
    except LengthRaises as error:
        predicted.append(("raises", str(error), 0))
    mismatches = tuple((r, p) for r, p in zip(recorded, predicted) if r != p)
    if len(recorded) != len(predicted):
        mismatches += ((f"{len(recorded)} units ran", f"{len(predicted)} composed"),)
    return LengthMap(tree, probe_length, mismatches)


def outcome(call: Callable[[int], int], length: int) -> Outcome:
    """`call(length)`, or "raises: <first line>" (a finding, kept, never skipped)."""
    try:
        return int(call(length))
    except Exception as error:  # noqa: BLE001  (every raise is reported as the outcome)
        return f"raises: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


def prove(
    predict: Callable[[int], int], measure: Callable[[int], int], lengths: tuple[int, ...]
) -> tuple[tuple[int, Outcome, Outcome], ...]:
    """(length, predicted, measured) wherever they differ; a raise matches a predicted raise."""
    mismatches = []
    for length in lengths:
        predicted, measured = outcome(predict, length), outcome(measure, length)
        both_raise = isinstance(predicted, str) and isinstance(measured, str)
        if not both_raise and predicted != measured:
            mismatches.append((length, predicted, measured))
    return tuple(mismatches)


def closed_form_check(
    length_map: Callable[[int], int], form: Optional[tuple[str, int, int]], lengths: range
) -> tuple[Optional[str], list[int], list[int]]:
    """(formula or None, lengths where the map raises, lengths where the form differs from the map)."""
    if form is None:
        return None, [], []
    kind, first, second = form
    raising, differing = [], []
    for length in lengths:
        try:
            value = length_map(length)
        except LengthRaises:
            raising.append(length)
            continue
        closed = (length + first) // second if kind == "floor" else first * length + second
        if closed != value:
            differing.append(length)
    return _formula(form), raising, differing


def _formula(form: tuple[str, int, int]) -> str:
    kind, first, second = form
    if kind == "floor":
        if first == second - 1:
            return f"ceil(n / {second})"
        if first == 0:
            return f"floor(n / {second})"
        return f"floor((n {'+' if first > 0 else '-'} {abs(first)}) / {second})"
    if second == 0:
        return f"{first} f"
    return f"{first} f {'+' if second > 0 else '-'} {abs(second)}"


def _domain(formula: Optional[str], raising: list[int], differing: list[int], variable: str, top: int) -> str:
    if formula is None:
        return "no closed form derived (see notes)"
    if differing:
        return f"no closed form: {formula} differs from the composed map at {variable} = {_ranges(differing)}"
    if raising:
        return f"{formula} for {variable} in 1..{top} except {_ranges(raising)} (raises)"
    return formula


def _ranges(values: list[int]) -> str:
    spans, start = [], None
    for index, value in enumerate(values):
        if start is None:
            start = value
        if index + 1 == len(values) or values[index + 1] != value + 1:
            spans.append(str(start) if start == value else f"{start}..{value}")
            start = None
    return ", ".join(spans)


# --- per codec -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LengthArithmetic:
    """A codec's length maps, composed from its units and proven by running it (see module docstring)."""

    name: str
    hop_samples: int
    encode_formula: str  # frames for n input samples
    decode_formula: str  # samples for f frames
    shortest_input_for_one_frame_samples: Optional[int]
    decode_trim_samples: Optional[int]  # f x hop - decoder samples, when constant over the range
    checked_lengths: tuple[int, ...]  # encoder inputs (samples) run
    checked_frames: tuple[int, ...]  # decoder inputs (frames) run
    mismatches: tuple  # (n, predicted, measured) encoder, then ("f=..", ...) decoder
    findings: tuple[str, ...]  # lengths where the module raises (as the map predicted)
    notes: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Every checked length gave what the map predicts (no mismatch)."""
        return not self.mismatches


def encoder_lengths(hop_samples: int, shortest_samples: Optional[int]) -> tuple[int, ...]:
    """Very short inputs, around 1..4 hops, not multiples of the hop, around the shortest input."""
    candidates = {1, 2, 3, 5, 7, 11, hop_samples // 3 + 1, hop_samples // 2, hop_samples - 1, hop_samples}
    candidates |= {hop_samples + 1, 2 * hop_samples - 1, 2 * hop_samples, 2 * hop_samples + 1}
    candidates |= {13, 17, 31, 3 * hop_samples, 3 * hop_samples + 7, 4 * hop_samples + hop_samples // 2}
    candidates |= {5 * hop_samples - 13, 7 * hop_samples + 1}
    if shortest_samples is not None:
        candidates |= {shortest_samples - 1, shortest_samples, shortest_samples + 1}
    return tuple(sorted(length for length in candidates if length >= 1))


DECODER_FRAMES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 20, 25, 31, 32, 33)


def measure_lengths(module: nn.Module, channels: int) -> Callable[[int], int]:
    """A function giving the frames `module` returns for an input of n samples, by running it."""

    def run(length: int) -> int:
        with torch.no_grad():
            return int(module(torch.randn(1, channels, length, dtype=torch.float64)).shape[-1])

    return run


def _shortest_one_frame(length_map: Callable[[int], int], top: int) -> Optional[int]:
    """The shortest input whose composed map gives at least one frame (searched on 1..top)."""
    for length in range(1, top + 1):
        frames = outcome(length_map, length)
        if isinstance(frames, int) and frames >= 1:
            return length
    return None


@functools.lru_cache(maxsize=None)
def codec_lengths(name: str, decoder_budget_s: float = MIMI_DECODER_BUDGET_S) -> LengthArithmetic:
    """The length arithmetic of the CODECS entry `name` (tiny width, float64, one thread).

    The decoder is proven on DECODER_FRAMES in order until `decoder_budget_s` is spent (only
    Mimi's sliding-window decoder has come near it); frames not run are named in the notes."""
    from rfprobe.families.codecs import find_codec

    codec = find_codec(name)
    torch.manual_seed(0)
    with one_thread():
        parts = codec.build(True)
        encoder, decoder = parts.encoder.double().eval(), parts.decoder.double().eval()
        channels, hop = codec.row.channels, parts.hop_samples
        probe_samples = 3 * hop + 7  # not a multiple of the hop
        encode_map = compose_length_map(encoder, channels, probe_samples)
        decode_map = compose_length_map(decoder, parts.latent_dim, 3)
        notes: list[str] = [
            f"encoder: {len(encode_map.units())} units; decoder: {len(decode_map.units())} units "
            f"(probe runs at {probe_samples} samples and 3 frames)"
        ]
        for label, length_map in (("encoder", encode_map), ("decoder", decode_map)):
            if length_map.structure_mismatches:
                notes.append(f"{label}: probe run differs from the composed units: {length_map.structure_mismatches}")

        top_samples = CLOSED_FORM_RANGE_HOPS * hop
        shortest = _shortest_one_frame(encode_map, top_samples)
        lengths = encoder_lengths(hop, shortest)
        mismatches = list(prove(encode_map, measure_lengths(encoder, channels), lengths))
        findings = [
            f"encoder n={length}: {outcome(measure_lengths(encoder, channels), length)}"
            for length in lengths
            if isinstance(outcome(encode_map, length), str)
        ]

        frames_run: list[int] = []
        started = time.perf_counter()
        measure_decoder = measure_lengths(decoder, parts.latent_dim)
        for frames in DECODER_FRAMES:
            if time.perf_counter() - started > decoder_budget_s:
                notes.append(
                    f"decoder: stopped after {len(frames_run)} frame counts ({decoder_budget_s:.0f} s budget); "
                    f"not run: {[f for f in DECODER_FRAMES if f not in frames_run]}"
                )
                break
            mismatches += [(f"f={f}", p, m) for f, p, m in prove(decode_map, measure_decoder, (frames,))]
            if isinstance(outcome(decode_map, frames), str):
                findings.append(f"decoder f={frames}: {outcome(measure_decoder, frames)}")
            frames_run.append(frames)

    encode_formula, encode_raising, encode_differing = closed_form_check(
        encode_map, encode_map.closed_form(), range(1, top_samples + 1)
    )
    decode_formula, decode_raising, decode_differing = closed_form_check(
        decode_map, decode_map.closed_form(), range(1, CLOSED_FORM_RANGE_FRAMES + 1)
    )
    single = [u.path for u in encode_map.units() + decode_map.units() if u.group_norm_channels_per_group == 1]
    if single:
        notes.append(
            f"GroupNorm with 1 channel per group at this width in {', '.join(single)}: its single-value "
            "raise (length 1) depends on the width, not only on the length"
        )
    own = _own_encoded_length_check(encoder, encode_map, top_samples)
    if own:
        notes.append(own)
    trims = {
        frames * hop - outcome(decode_map, frames)
        for frames in range(1, CLOSED_FORM_RANGE_FRAMES + 1)
        if isinstance(outcome(decode_map, frames), int)
    }
    notes.append(
        f"closed forms checked against the composed maps on n = 1..{top_samples} samples "
        f"and f = 1..{CLOSED_FORM_RANGE_FRAMES} frames"
    )
    if len(trims) != 1:
        notes.append(f"decode trim is not constant over f = 1..{CLOSED_FORM_RANGE_FRAMES}: {sorted(trims)[:10]}")
    return LengthArithmetic(
        name=name,
        hop_samples=hop,
        encode_formula=_domain(encode_formula, encode_raising, encode_differing, "n", top_samples),
        decode_formula=_domain(decode_formula, decode_raising, decode_differing, "f", CLOSED_FORM_RANGE_FRAMES),
        shortest_input_for_one_frame_samples=shortest,
        decode_trim_samples=trims.pop() if len(trims) == 1 else None,
        checked_lengths=lengths,
        checked_frames=tuple(frames_run),
        mismatches=tuple(mismatches),
        findings=tuple(findings),
        notes=tuple(notes),
    )


def _own_encoded_length_check(encoder: nn.Module, encode_map: LengthMap, top_samples: int) -> str:
    """Where the encoder has its own length helper (MimiEncoderModel.get_encoded_length), compare
    it with the composed map on 1..top_samples."""
    inner = getattr(encoder, "inner", encoder)
    helper = getattr(inner, "get_encoded_length", None)
    if helper is None:
        return ""
    lengths = torch.arange(1, top_samples + 1)
    own = [int(value) for value in helper(lengths)]
    differing = [n for n, value in zip(range(1, top_samples + 1), own) if outcome(encode_map, n) != value]
    name = f"{type(inner).__name__}.get_encoded_length"
    if differing:
        return f"{name} differs from the composed map at n = {_ranges(differing)}"
    return f"{name} equals the composed map on n = 1..{top_samples}"


# --- descript DAC's own helper ---------------------------------------------------------------------
def dac_output_length_breaks(model: Any, max_hops: int = 10_000) -> list[tuple[int, int]]:
    """(window_samples, model.get_output_length(window)) for each whole-hop window (compress()
    rounds `win_duration` up to whole hops) whose value is <= 0, then the shortest window whose
    value is positive. compress() advances its windows by that value, so a window <= 0 never
    advances. Calls descript's own `CodecMixin.get_output_length` (it ignores padding, as
    compress() runs with the convolutions' padding off)."""
    hop_samples = int(model.hop_length)
    breaks: list[tuple[int, int]] = []
    for hops in range(1, max_hops + 1):
        window_samples = hops * hop_samples
        value = int(model.get_output_length(window_samples))
        breaks.append((window_samples, value))
        if value > 0:
            return breaks
    raise ValueError(f"get_output_length stays <= 0 up to {max_hops} hops")
