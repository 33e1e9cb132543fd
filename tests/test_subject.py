"""The module a probe runs: a private copy whose weight norms are folded, computing exactly
what the caller's module computes."""
from __future__ import annotations

import torch
from torch import nn

from rfprobe.families.seanet.config import EncoderConfig
from rfprobe.families.seanet.encoder import build_encoder
from rfprobe.subject import fold_weight_norms, probe_subject


def _outputs_and_input_gradient(module: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = inputs.detach().requires_grad_(True)
    outputs = module(inputs)
    (gradient,) = torch.autograd.grad(outputs[..., outputs.shape[-1] // 2].sum(), inputs)
    return outputs.detach(), gradient


def _weight_norms(module: nn.Module) -> int:
    old = sum(1 for layer in module.modules() for name, _ in layer.named_parameters(recurse=False)
              if name.endswith("_g"))
    new = sum(1 for layer in module.modules() if hasattr(layer, "parametrizations"))
    return old + new


def _two_kinds_of_weight_norm() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.utils.weight_norm(nn.Conv1d(1, 3, 5, stride=2)), nn.ELU(),
                         nn.utils.parametrizations.weight_norm(nn.Conv1d(3, 4, 3, dilation=2))).double().eval()


def test_folding_the_old_and_the_new_weight_norm_keeps_outputs_and_input_gradients_bit_for_bit():
    module = _two_kinds_of_weight_norm()
    inputs = torch.randn(2, 1, 200, dtype=torch.float64)
    before = _outputs_and_input_gradient(module, inputs)
    fold_weight_norms(module)
    after = _outputs_and_input_gradient(module, inputs)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_folding_leaves_no_weight_norm_behind():
    module = fold_weight_norms(_two_kinds_of_weight_norm())
    assert _weight_norms(module) == 0


def test_folding_audiocrafts_encoder_keeps_it_bit_for_bit():
    config = EncoderConfig(name="tiny", sample_rate=16000, ratios=[4, 2], n_filters=4, dimension=8, lstm=1)
    built = build_encoder(config)
    assert _weight_norms(built) > 0  # audiocraft's convs carry the old weight norm: there is something to fold
    inputs = torch.randn(1, 1, 400, dtype=torch.float64)
    before = _outputs_and_input_gradient(built, inputs)
    after = _outputs_and_input_gradient(fold_weight_norms(built), inputs)
    assert _weight_norms(built) == 0
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])


def test_a_parametrization_that_is_not_a_weight_norm_is_left_alone():
    class Doubled(nn.Module):
        def forward(self, weight: torch.Tensor) -> torch.Tensor:
            return 2 * weight

    conv = nn.Conv1d(1, 1, 3)
    nn.utils.parametrize.register_parametrization(conv, "weight", Doubled())
    fold_weight_norms(conv)
    assert nn.utils.parametrize.is_parametrized(conv, "weight")


def test_the_probe_subject_is_a_folded_copy_and_the_callers_module_keeps_its_weight_norms():
    module = _two_kinds_of_weight_norm().float()
    subject = probe_subject(module, "cpu", torch.float64)
    assert _weight_norms(module) == 2 and _weight_norms(subject) == 0
    assert next(subject.parameters()).dtype == torch.float64 and not subject.training


def test_folding_a_probe_copy_leaves_the_callers_parametrized_module_working_as_before():
    torch.manual_seed(0)
    module = nn.utils.parametrizations.weight_norm(nn.Conv1d(1, 2, 3)).double()
    inputs = torch.randn(1, 1, 16, dtype=torch.float64)
    before = module(inputs)
    probe_subject(module, "cpu", torch.float64)
    assert nn.utils.parametrize.is_parametrized(module, "weight") and torch.equal(module(inputs), before)
