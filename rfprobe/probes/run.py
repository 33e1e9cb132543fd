"""Both probes on one model: which seed each probe runs on, and the two results.

The config path (:func:`rfprobe.runs.verify.verify_config`), :func:`rfprobe.probe_module` and the
benchmark all probe through :func:`run_probes`, so the seed rule is written once here.

The seeds alternate between the probes: the gradient runs on ``seeds[0::2]``, the impulse
on ``seeds[1::2]`` (on every seed when only one is given). With the default two seeds each
probe sees its own draw of weights, input and projection, so the gradient-impulse agreement
the verdict requires is also an agreement across two draws: a draw whose exact cancellation
hides a dependence makes the probes disagree, and the verdict FAIL, instead of agreeing on
a wrong number. Four seeds give each probe two draws, which must also agree among themselves
(:func:`~rfprobe.probes.empirical.measure`).
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import torch
from torch import nn

from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField
from rfprobe.probes import gradient as gradient_probe, impulse as impulse_probe
from rfprobe.probes.empirical import measure


DEFAULT_SEEDS = (0, 1)


def probe_seeds(seeds: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The seeds of the gradient and of the impulse probe. Give distinct seeds: with one,
    both probes see the same draw, and their agreement is no longer across draws.

    >>> probe_seeds((0, 1))
    ((0,), (1,))
    >>> probe_seeds((7,))
    ((7,), (7,))
    >>> probe_seeds((0, 1, 2, 3))
    ((0, 2), (1, 3))
    """
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("at least one seed is needed")
    if len(seeds) == 1:
        return seeds, seeds
    return seeds[0::2], seeds[1::2]


def seed_settings(seeds: Sequence[int]) -> dict:
    """What a report records of the seeds: all of them, and each probe's share."""
    gradient_seeds, impulse_seeds = probe_seeds(seeds)
    return {
        "seeds": list(seeds),
        "probe_seeds": {gradient_probe.METHOD: list(gradient_seeds), impulse_probe.METHOD: list(impulse_seeds)},
    }


def measure_probe(
    method: str,
    modules_by_seed: Mapping[int, nn.Module],
    guess: ReceptiveField,
    *,
    channels: int,
    device: torch.device,
    dtype: torch.dtype,
    length_multiple: int = 1,
) -> MethodResult:
    """One probe (`method`: GRADIENT or IMPULSE) on every seed of `modules_by_seed`."""
    common = dict(channels=channels, device=device, dtype=dtype)
    observe = {
        gradient_probe.METHOD: functools.partial(gradient_probe.gradient_observation, **common),
        impulse_probe.METHOD: functools.partial(impulse_probe.impulse_observation, guess=guess, **common),
    }
    return measure(method, observe[method], dict(modules_by_seed), guess, length_multiple)


def run_probes(
    modules_by_seed: Mapping[int, nn.Module],
    guess: ReceptiveField,
    *,
    channels: int,
    device: torch.device,
    dtype: torch.dtype,
    length_multiple: int = 1,
) -> tuple[MethodResult, MethodResult]:
    """The gradient and impulse results, each probe on its share of the seeds (:func:`probe_seeds`).

    `modules_by_seed`: the module each seed probes (one module under every seed when the
    weights are fixed: the seeds then vary the inputs and projections). `guess`: the analytic
    extents that size the windows and give the open sides (see :func:`measure`).
    """
    gradient_seeds, impulse_seeds = probe_seeds(list(modules_by_seed))
    options = dict(channels=channels, device=device, dtype=dtype, length_multiple=length_multiple)

    def share(seeds: tuple[int, ...]) -> dict[int, nn.Module]:
        return {seed: modules_by_seed[seed] for seed in seeds}

    return (
        measure_probe(gradient_probe.METHOD, share(gradient_seeds), guess, **options),
        measure_probe(impulse_probe.METHOD, share(impulse_seeds), guess, **options),
    )
