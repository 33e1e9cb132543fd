"""rfprobe: how much audio one token of a SEANet-based codec sees, measured on the real module.

Data flow: config -> real module -> analytic (formula, module walk) and empirical
(gradient, impulse) -> verdict -> report.
"""
__version__ = "0.1.0"

from .config import EncoderConfig, load_config
from .errors import UsageError
from .formula import formula_receptive_field
from .module_probe import probe_module
from .geometry import LayerRow, MethodResult, ReceptiveField, Side
from .verify import Verification, verify_config
from .walk import walk_receptive_field

__all__ = [
    "__version__",
    "EncoderConfig", "LayerRow", "MethodResult", "ReceptiveField", "Side", "UsageError", "Verification",
    "formula_receptive_field", "load_config", "probe_module", "verify_config", "walk_receptive_field",
]
