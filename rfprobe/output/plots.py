"""Pictures of a config's receptive field (needs matplotlib: `pip install -e ".[plot]"`).

Two PNGs per config, `<name>` being the config's name with every character but letters,
digits, `.`, `-` and `_` replaced (a name never makes a path leave the directory):
* `<name>_receptive_field.png`: mean |d frame / d sample| over input time around the frame's
  anchor (log scale), the measured RF bounds, the effective-RF bands, the hop grid;
* `<name>_edges.png`: which samples the first and last frames of a clip read, against the
  signal's start and end, with the frames that read padding marked.
"""

from __future__ import annotations

import math

import io
from pathlib import Path
from typing import Optional, Sequence

from rfprobe.arithmetic.methods import FORMULA, MODULE_WALK
from rfprobe.runs.context import ContextMap
from rfprobe.errors import UsageError
from rfprobe.arithmetic.geometry import format_ms, samples_to_ms
from rfprobe.output.files import safe_file_stem, write_atomically
from rfprobe.runs.verify import Verification, analytic_extents
from rfprobe.runs.zoo import ZooRow


def require_matplotlib() -> None:
    """Raise a UsageError naming the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError('--plot needs matplotlib; install it with: pip install -e ".[plot]"') from None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _weights_words(verification: Verification) -> str:
    trained = str(verification.settings.get("weights", "")).startswith("trained")
    return "trained weights" if trained else "random weights"


def _moving_average(values: list[float], width: int) -> list[float]:
    """Centred moving average of the nonzero samples; a sample with zero gradient (NaN here)
    stays NaN, so the smoothed curve never spills past the receptive field's bounds."""
    half = width // 2
    averaged = []
    for index, value in enumerate(values):
        window = [v for v in values[max(0, index - half) : index + half + 1] if not math.isnan(v)]
        averaged.append(float("nan") if math.isnan(value) else sum(window) / len(window))
    return averaged


def _convs_past_samples(verification: Verification) -> int:
    """How far back the convolutions alone reach when the past is unbounded: the finite part of
    the analytic guess's past (:func:`rfprobe.runs.verify.analytic_extents`)."""
    return analytic_extents(verification.result(FORMULA), verification.result(MODULE_WALK)).left.samples


def plot_receptive_field(verification: Verification, context: ContextMap, path: Path | io.BytesIO) -> None:
    """One frame's receptive field over the input, with its hop and the methods' extents."""
    pyplot = _pyplot()
    config = verification.config
    rate, hop = config.sample_rate, config.hop_samples
    erf = context.erf
    weights = _weights_words(verification)
    times_ms = [samples_to_ms(erf.window_start + i, rate) for i in range(len(erf.profile))]
    positive = [value if value > 0 else float("nan") for value in erf.profile]
    figure, axis = pyplot.subplots(figsize=(11, 6.4))
    axis.semilogy(times_ms, positive, color="#9dc3e6", linewidth=0.5, label=f"mean |d frame / d sample|, {weights}")
    width = max(1, hop // 8)
    axis.semilogy(
        times_ms,
        _moving_average(positive, width),
        color="#1f4e79",
        linewidth=1.4,
        label=f"the same, averaged over {width} samples",
    )
    truth = verification.truth
    if truth is not None:
        if not truth.left.unbounded:
            axis.axvline(
                -samples_to_ms(truth.left.samples, rate),
                color="#c00000",
                linewidth=1.5,
                label=f"RF bounds: {truth.left.samples} before, {truth.right.samples} after the anchor",
            )
        else:
            local = _convs_past_samples(verification)
            axis.axvline(
                -samples_to_ms(local, rate),
                color="#c00000",
                linewidth=1.2,
                linestyle=":",
                label=f"past: unbounded (LSTM); the convs alone reach {local} samples back",
            )
            axis.text(
                0.01,
                0.97,
                "past unbounded: the dependence continues\nto the start of the signal  <--",
                transform=axis.transAxes,
                va="top",
                fontsize=9,
                color="#c00000",
                bbox={"facecolor": "white", "edgecolor": "#c00000", "alpha": 0.9},
            )
        if not truth.right.unbounded:
            axis.axvline(
                samples_to_ms(truth.right.samples, rate),
                color="#c00000",
                linewidth=1.5,
                label=None if not truth.left.unbounded else f"RF future bound: {truth.right.samples} samples",
            )
    shades = {0.99: "#fde9d9", 0.9: "#f8cbad", 0.5: "#f4b183"}
    at_least = "at least " if erf.lower_bound else ""
    for fraction, (low, high) in sorted(erf.intervals_samples.items(), reverse=True):
        mass_width = erf.widths_samples[fraction]
        axis.axvspan(
            samples_to_ms(low, rate),
            samples_to_ms(high, rate),
            color=shades.get(fraction, "#eeeeee"),
            alpha=0.8,
            zorder=0,
            label=f"effective RF, {round(fraction * 100)} % of the mass: {at_least}{mass_width} samples "
            f"({samples_to_ms(mass_width, rate):.1f} ms)",
        )
    # Show the RF and the effective RF with a hop to spare, not the whole (possibly grown) window.
    low_samples = (
        min(
            [erf.intervals_samples[max(erf.intervals_samples)][0]]
            + ([-truth.left.samples] if truth is not None and not truth.left.unbounded else [])
        )
        - 2 * hop
    )
    high_samples = (
        max(
            [erf.intervals_samples[max(erf.intervals_samples)][1]]
            + ([truth.right.samples] if truth is not None and not truth.right.unbounded else [])
        )
        + 2 * hop
    )
    low_ms = max(samples_to_ms(low_samples, rate), times_ms[0])
    high_ms = min(samples_to_ms(high_samples, rate), times_ms[-1])
    axis.set_xlim(low_ms, high_ms)
    visible = [v for t, v in zip(times_ms, positive) if low_ms <= t <= high_ms and not math.isnan(v)]
    if visible:  # the y range of what is shown, not of the whole (possibly grown) window
        axis.set_ylim(min(visible) / 2, max(visible) * 2)
    first_hop = int(low_ms * rate / 1000 // hop)
    for k in range(first_hop, int(high_ms * rate / 1000 // hop) + 1):
        axis.axvline(samples_to_ms(k * hop, rate), color="#bbbbbb", linewidth=0.5, zorder=0)
    axis.axvline(
        0, color="black", linewidth=1.2, linestyle="--", label=f"anchor (frame x hop); grey: hop grid ({hop} samples)"
    )
    axis.set_xlabel("input time relative to the frame's anchor (ms)")
    axis.set_ylabel("|gradient| (log)")
    axis.set_title(
        f"{config.name}: which input samples one output frame depends on ({weights})\n"
        f"{rate} Hz, hop {hop} samples = {format_ms(hop, rate)} ms",
        fontsize=11,
    )
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def plot_edges(verification: Verification, context: ContextMap, path: Path | io.BytesIO) -> None:
    """The frames at the clip's start and end, and which input samples (and padding) each reads."""
    pyplot = _pyplot()
    from matplotlib.ticker import MaxNLocator

    config = verification.config
    rate, hop = config.sample_rate, config.hop_samples
    edges = context.edges
    figure, (start_axis, end_axis) = pyplot.subplots(1, 2, figsize=(12, 4.2))
    start_shown, end_shown = edges.shown
    # Each panel spans what its frames read (a read held at the far end by an unbounded side
    # is drawn from the frame's anchor on), with a hop to spare.
    start_span = max((support.last for support in start_shown), default=6 * hop) + hop
    end_from = (
        min(
            (support.first if support.first > 0 else support.frame * hop for support in end_shown),
            default=edges.clip_samples - 6 * hop,
        )
        - hop
    )
    for axis, shown, title in (
        (start_axis, edges.shown[0], "start of the clip"),
        (end_axis, edges.shown[1], "end of the clip"),
    ):
        at_start = title.startswith("start")
        for support in shown:  # read by the analytic core (rfprobe.core.clip)
            frame = support.frame
            # Red only for the padding at this panel's edge: through an LSTM every frame reads the
            # start's padding, which says nothing about the end.
            padded = support.reads_left_padding if at_start else support.reads_right_padding
            for low, high in support.intervals:
                axis.plot(
                    [samples_to_ms(low, rate), samples_to_ms(high, rate)],
                    [frame, frame],
                    color="#c00000" if padded else "#1f4e79",
                    linewidth=3,
                    solid_capstyle="butt",
                )
            axis.plot(samples_to_ms(frame * hop, rate), frame, marker="|", color="black", markersize=9)
        if at_start:
            axis.axvline(0, color="black", linewidth=1.2)
            axis.axvspan(-samples_to_ms(hop, rate), 0, color="#dddddd", zorder=0)
            axis.text(
                -samples_to_ms(hop, rate) / 2,
                0.5,
                "padding",
                rotation=90,
                transform=axis.get_xaxis_transform(),
                ha="center",
                va="center",
                fontsize=8,
            )
            axis.set_xlim(-samples_to_ms(hop, rate), samples_to_ms(start_span, rate))
        else:
            end = samples_to_ms(edges.clip_samples - 1, rate)
            axis.axvline(end, color="black", linewidth=1.2)
            axis.axvspan(end, end + samples_to_ms(hop, rate), color="#dddddd", zorder=0)
            axis.text(
                end + samples_to_ms(hop, rate) / 2,
                0.5,
                "padding",
                rotation=90,
                transform=axis.get_xaxis_transform(),
                ha="center",
                va="center",
                fontsize=8,
            )
            axis.set_xlim(samples_to_ms(end_from, rate), end + samples_to_ms(hop, rate))
        axis.set_title(
            f"{title}: red = the frame reads the {edges.pad_mode} padding "
            f"{'before the start' if at_start else 'after the end'}",
            fontsize=10,
        )
        axis.set_xlabel("input time (ms); black line = signal edge, tick = frame anchor")
        axis.set_ylabel("output frame")
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    k, m = edges.left_padded_frames, edges.right_padded_frames
    left = (
        "every frame reads the start's padding (the unbounded past carries it)"
        if k == edges.frames
        else f"frames 0..{k - 1} read the start's padding"
        if k
        else "no frame reads the start's padding"
    )
    right = f"the last {m} frames read the end's padding" if m else "no frame reads the end's padding"
    figure.suptitle(
        f"{config.name}: input samples read by the first and last frames of a "
        f"{edges.clip_samples / rate:g} s clip\n{left}; {right}",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def plot_paths(names: Sequence[str], directory: Path) -> list[tuple[Path, Path]]:
    """The two PNG paths per name: sanitized stems inside `directory`, a suffix where two names clash.

    >>> plot_paths(["a/b", "a:b", "../x"], Path("out"))[1]
    (PosixPath('out/a_b_2_receptive_field.png'), PosixPath('out/a_b_2_edges.png'))
    """
    used: set[str] = set()
    paths = []
    for name in names:
        stem = base = safe_file_stem(name)
        counter = 1
        while stem in used:
            counter += 1
            stem = f"{base}_{counter}"
        used.add(stem)
        paths.append((directory / f"{stem}_receptive_field.png", directory / f"{stem}_edges.png"))
    return paths


def write_plots(
    verification: Verification, context: ContextMap, directory: Path, paths: Optional[tuple[Path, Path]] = None
) -> list[Path]:
    """Render both pictures, then write each atomically: a failure leaves no half-written PNG."""
    paths = paths or plot_paths([verification.config.name], directory)[0]
    rendered = []
    for draw, path in zip((plot_receptive_field, plot_edges), paths):
        buffer = io.BytesIO()
        draw(verification, context, buffer)
        rendered.append((path, buffer.getvalue()))
    directory.mkdir(parents=True, exist_ok=True)
    for path, data in rendered:
        write_atomically(path, lambda stream, data=data: stream.write(data), binary=True)
    return list(paths)


def write_zoo_plot(rows: Sequence[ZooRow], directory: Path) -> Path:
    """One horizontal bar per zoo model: its past and future in ms around the frame's anchor, on
    a symmetric log axis (Mimi's 80 s past beside DAC's 85 ms stays readable). A row that did
    not PASS has no numbers to draw: it is listed with its verdict and no bar."""
    plt = _pyplot()
    shown = [row for row in rows if row.input_unit == "samples"]
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(shown) + 1.5))
    labels = []
    for index, row in enumerate(shown):
        if row.verdict != "PASS" or not row.hop_samples:
            labels.append(f"{row.name} ({row.verdict}: not drawn)")
            continue
        labels.append(row.name)
        left_ms = 0.0 if row.left_samples is None else 1000 * row.left_samples / row.sample_rate
        right_ms = 0.0 if row.right_samples is None else 1000 * row.right_samples / row.sample_rate
        axis.barh(index, -left_ms, color="tab:blue")
        axis.barh(index, right_ms, color="tab:orange")
        if row.left_unbounded or row.global_in_time:
            axis.annotate("unbounded past <-", (-left_ms, index), ha="right", va="center", fontsize=7)
        if row.right_unbounded or row.global_in_time:
            axis.annotate("-> unbounded future", (right_ms, index), ha="left", va="center", fontsize=7)
    axis.set_xscale("symlog", linthresh=1.0)
    axis.set_yticks(range(len(shown)), labels, fontsize=8)
    axis.axvline(0, color="black", linewidth=0.8)
    axis.set_xlabel("ms before (-) and after (+) the frame's anchor (symmetric log scale, linear below 1 ms)")
    axis.set_title("receptive field per codec encoder (random weights; exact supports)")
    figure.tight_layout()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "zoo_receptive_fields.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
