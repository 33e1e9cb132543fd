"""The module a probe runs: a private copy whose weight norms are folded, computing exactly
what the caller's module computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rfprobe.errors import UsageError
from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.probes.subject import fold_weight_norms, probe_subject


def _outputs_and_input_gradient(module: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = inputs.detach().requires_grad_(True)
    outputs = module(inputs)
    (gradient,) = torch.autograd.grad(outputs[..., outputs.shape[-1] // 2].sum(), inputs)
    return outputs.detach(), gradient


def _weight_norms(module: nn.Module) -> int:
    """Weight norms still recomputed before a forward pass (hooks and parametrizations)."""
    from torch.nn.utils.weight_norm import WeightNorm

    hooks = sum(
        isinstance(hook, WeightNorm) for layer in module.modules() for hook in layer._forward_pre_hooks.values()
    )
    parametrized = sum(1 for layer in module.modules() if type(layer).__name__.startswith("Parametrized"))
    return hooks + parametrized


def _every_kind_of_weight_norm() -> nn.Module:
    """Both kinds, over dims 0, 1 and None, on convs and a transposed conv, with magnitudes g
    far from |v| (as after training), so a fold that dropped g or normed over the wrong dim
    would compute different weights."""
    torch.manual_seed(0)
    layers = [
        nn.utils.weight_norm(nn.Conv1d(1, 3, 5, stride=2)),
        nn.ELU(),
        nn.utils.parametrizations.weight_norm(nn.Conv1d(3, 4, 3, dilation=2)),
        nn.ELU(),
        nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(4, 3, 4, stride=2), dim=1),
        nn.ELU(),
        nn.utils.weight_norm(nn.Conv1d(3, 2, 3), dim=None),
    ]
    module = nn.Sequential(*layers).double().eval()
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if name.endswith(("weight_g", "original0")):
                parameter.mul_(torch.linspace(0.3, 3.0, parameter.numel(), dtype=torch.float64).view_as(parameter))
    return module


def test_folding_both_kinds_of_weight_norm_keeps_outputs_and_input_gradients_bit_for_bit():
    module = _every_kind_of_weight_norm()
    inputs = torch.randn(2, 1, 200, dtype=torch.float64)
    before = _outputs_and_input_gradient(module, inputs)
    fold_weight_norms(module)
    after = _outputs_and_input_gradient(module, inputs)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_folding_leaves_no_weight_norm_to_recompute():
    module = _every_kind_of_weight_norm()
    assert _weight_norms(module) == 4
    assert _weight_norms(fold_weight_norms(module)) == 0


def test_folding_twice_changes_nothing():
    module = fold_weight_norms(_every_kind_of_weight_norm())
    inputs = torch.randn(1, 1, 200, dtype=torch.float64)
    before = module(inputs)
    assert torch.equal(fold_weight_norms(module)(inputs), before)


def test_folding_audiocrafts_encoder_keeps_it_bit_for_bit():
    config = EncoderConfig(name="tiny", sample_rate=16000, ratios=[4, 2], n_filters=4, dimension=8, lstm=1)
    built = build_encoder(config)
    assert _weight_norms(built) > 0  # audiocraft's convs carry the old weight norm: there is something to fold
    inputs = torch.randn(1, 1, 400, dtype=torch.float64)
    before = _outputs_and_input_gradient(built, inputs)
    after = _outputs_and_input_gradient(fold_weight_norms(built), inputs)
    assert _weight_norms(built) == 0
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_a_forward_that_reads_the_magnitudes_still_runs_after_folding():
    class ReadsMagnitudes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.old = nn.utils.weight_norm(nn.Conv1d(1, 2, 4, stride=2))
            self.new = nn.utils.parametrizations.weight_norm(nn.Conv1d(2, 2, 3))

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            scale = self.old.weight_g.abs().mean() * self.new.parametrizations.weight.original0.abs().mean()
            return self.new(self.old(inputs)) * scale

    module = ReadsMagnitudes().double()
    inputs = torch.randn(1, 1, 64, dtype=torch.float64)
    assert torch.equal(probe_subject(module, "cpu", torch.float64)(inputs), module(inputs))


def test_folded_weights_keep_whether_the_module_was_frozen():
    trainable = fold_weight_norms(_every_kind_of_weight_norm())
    frozen = fold_weight_norms(_every_kind_of_weight_norm().requires_grad_(False))
    assert all(parameter.requires_grad for parameter in trainable.parameters())
    assert not any(parameter.requires_grad for parameter in frozen.parameters())


def test_a_parametrization_that_is_not_a_weight_norm_is_left_alone():
    class Doubled(nn.Module):
        def forward(self, weight: torch.Tensor) -> torch.Tensor:
            return 2 * weight

    conv = nn.Conv1d(1, 1, 3)
    nn.utils.parametrize.register_parametrization(conv, "weight", Doubled())
    fold_weight_norms(conv)
    assert nn.utils.parametrize.is_parametrized(conv, "weight") and "weight" not in conv._parameters


def test_the_probe_subject_is_a_folded_copy_and_the_callers_module_keeps_its_weight_norms():
    module = _every_kind_of_weight_norm().float().train()
    subject = probe_subject(module, "cpu", torch.float64)
    assert _weight_norms(module) == 4 and _weight_norms(subject) == 0
    assert next(subject.parameters()).dtype == torch.float64 and not subject.training and module.training


def test_folding_a_probe_copy_leaves_the_callers_parametrized_module_working_as_before():
    torch.manual_seed(0)
    module = nn.utils.parametrizations.weight_norm(nn.Conv1d(1, 2, 3)).double()
    inputs = torch.randn(1, 1, 16, dtype=torch.float64)
    before = module(inputs)
    probe_subject(module, "cpu", torch.float64)
    assert nn.utils.parametrize.is_parametrized(module, "weight") and torch.equal(module(inputs), before)


def test_a_recurrence_under_a_parametrization_can_be_copied():
    lstm = nn.utils.parametrizations.weight_norm(nn.LSTM(2, 3), name="weight_hh_l0")
    inputs = torch.randn(5, 1, 2)
    before = lstm(inputs)[0]  # a forward leaves a computed weight in the LSTM's _flat_weights list
    subject = probe_subject(lstm, "cpu", torch.float64)
    assert torch.allclose(subject(inputs.double())[0], before.double(), atol=1e-6)


def test_non_finite_weights_are_refused_by_the_callers_parameter_name():
    module = nn.Sequential(nn.Conv1d(1, 1, 3))
    with torch.no_grad():
        module[0].bias.fill_(float("nan"))
    with pytest.raises(UsageError, match=r"parameter 0\.bias holds NaN"):
        probe_subject(module, "cpu", torch.float64)
