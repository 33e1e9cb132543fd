"""The whole check for one config: formula, module walk, gradient and impulse, then the verdict.

config -> real module -> analytic (formula, walk) / empirical (gradient, impulse)
       -> verdict -> claims
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import torch

from rfprobe.families.seanet import formula as formula_method
from rfprobe.probes import gradient as gradient_probe, impulse as impulse_probe
from rfprobe.arithmetic import methods
from rfprobe.core import walk as walk_method
from rfprobe.families.seanet.source import load_audiocraft
from rfprobe.families.seanet.claims import ClaimsReport, check_claims
from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.probes.device import device_description
from rfprobe.probes.run import DEFAULT_SEEDS, run_probes, seed_settings
from rfprobe.families.seanet.encoder import build_encoder, load_encoder_weights
from rfprobe.probes.subject import fold_weight_norms
from rfprobe.arithmetic.geometry import MethodResult, ReceptiveField
from rfprobe.arithmetic.verdict import Verdict, judge
from rfprobe.runs.position_field import PositionField

METHODS = methods.ALL
# Which result stands for "what the module computes" when reporting claims: measured first.
TRUTH_ORDER = (gradient_probe.METHOD, impulse_probe.METHOD, walk_method.METHOD, formula_method.METHOD)


@dataclass
class Verification:
    """Everything one check found: of a config (`config` set) or of any module (`config` None)."""

    name: str
    sample_rate: Optional[int]
    config: Optional[EncoderConfig]
    source_path: str
    results: list[MethodResult]
    verdict: Verdict
    claims: Optional[ClaimsReport]
    provenance: dict
    settings: dict = field(default_factory=dict)
    modules: dict = field(default_factory=dict, repr=False)  # seed -> the module probed
    # Set when which samples a frame reads depends on its position: one period, walk and gradient
    # (the verdict is then theirs: rfprobe.runs.position_field)
    position: Optional[PositionField] = None

    def result(self, method: str) -> Optional[MethodResult]:
        """The result of `method`, or None when it is not among the results."""
        return next((r for r in self.results if r.method == method), None)

    @property
    def truth(self) -> Optional[ReceptiveField]:
        """The field of the first method that ran, in TRUTH_ORDER (gradient probe first); None if none ran."""
        for method in TRUTH_ORDER:
            result = self.result(method)
            if result is not None and result.ran:
                return result.receptive_field
        return None


def analytic_extents(formula: MethodResult, walk: MethodResult) -> ReceptiveField:
    """The probes' analytic guess: the core's receptive field (an open side's finite part is
    its local reach), or the config formula's where the core could not read the module or
    left a side "at least". It sizes the windows, and its open sides are the analytic reason
    a probe needs before it may call a side unbounded (:func:`rfprobe.probes.empirical.measure`);
    the extents the probes report are what they see."""
    if walk.ran and not walk.receptive_field.lower_bound_only:
        return walk.receptive_field
    assert formula.receptive_field is not None
    return formula.receptive_field


def verify_config(
    config: EncoderConfig,
    source_path: str = "",
    device: torch.device = torch.device("cpu"),
    dtype: torch.dtype = torch.float64,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    encoder_state: Optional[Mapping[str, torch.Tensor]] = None,
) -> Verification:
    """Run all four methods on `config` and judge them.

    Weights are drawn per seed, unless `encoder_state` (trained weights) is given: then every
    seed probes that one encoder, and the seeds vary only the inputs and projections.
    """
    source = load_audiocraft()
    formula = formula_method.formula_receptive_field(config)
    if encoder_state is None:
        modules = {seed: build_encoder(config, seed, device, dtype) for seed in seeds}
    else:
        trained = load_encoder_weights(build_encoder(config, 0, device, dtype), encoder_state, source_path)
        modules = dict.fromkeys(seeds, trained)
    for module in set(modules.values()):  # built here, so folded in place (see rfprobe.probes.subject)
        fold_weight_norms(module)
    walk = walk_method.walk_receptive_field(modules[seeds[0]])
    guess = analytic_extents(formula, walk)
    gradient, impulse = run_probes(modules, guess, channels=config.channels, device=device, dtype=dtype)
    results = [formula, walk, gradient, impulse]
    verdict = judge(results, required=METHODS)
    verification = Verification(
        name=config.name,
        sample_rate=config.sample_rate,
        config=config,
        source_path=source_path,
        results=results,
        verdict=verdict,
        claims=None,
        provenance={**source.provenance(), "torch_version": torch.__version__},
        settings={
            "device": device_description(device),
            "dtype": str(dtype).replace("torch.", ""),
            **seed_settings(seeds),
            "weights": "random (per seed)" if encoder_state is None else "trained (checkpoint)",
        },
        modules=modules,
    )
    truth = verification.truth
    if config.claims is not None and truth is not None:
        module_layers = walk.layers if walk.ran else formula.layers
        verification.claims = check_claims(config.claims, truth, config.sample_rate, module_layers)
    return verification
