"""rfprobe: how much audio one token of a neural codec sees, measured on the real module.

Data flow: a model (an audiocraft config, a checkpoint, a zoo codec, any module) ->
the analytic core and the config formula -> the probes -> the verdict -> the output.

Layers, lowest first; a module imports only from its own layer or those below it
(``tests/test_layers.py`` checks it), and the package root holds only the entry points and
:mod:`rfprobe.errors`:

* :mod:`rfprobe.arithmetic` — torch-free records and rules: geometry (sides, receptive
  fields, method results), the method names, the verdict, lookahead, decoder fields and
  round trips (:mod:`rfprobe.arithmetic.decoding`).
* :mod:`rfprobe.core` — the analytic core: the trace records the ops a model runs, the
  rule registry (:mod:`rfprobe.core.registry`, rules in :mod:`rfprobe.core.rules`) maps each
  op to a reader, the graph walks a frame back to its input samples; sizing, hop, the layer
  table, clip edges and the "module walk" method.
* :mod:`rfprobe.probes` — the empirical methods (gradient, impulse, NaN taint, effective
  RF), the copy of a model a probe runs (:mod:`rfprobe.probes.subject`) and device handling.
* :mod:`rfprobe.families` — how to build each model: audiocraft's SEANet
  (:mod:`rfprobe.families.seanet`) and one file per codec of the zoo.
* :mod:`rfprobe.runs` — runs that combine the layers: a config verified four ways, any
  module, the context map, cost estimates, the zoo, the transformers cross-check, the
  SEANet decoder, decoder fields and round trips of the zoo's codecs
  (:mod:`rfprobe.runs.decoder_field`, parts built by :mod:`rfprobe.families.codecs`), fuzzing.
* :mod:`rfprobe.output` — the answer block, tables, the JSON report, plots, safe files.
* :mod:`rfprobe.frontends` — the command lines (``rfprobe``, ``rfprobe zoo``) and the pytest
  helper (:mod:`rfprobe.frontends.testing`).
"""

__version__ = "0.1.0"

# The public names load lazily, so that importing a torch-free layer (rfprobe.arithmetic)
# does not import torch through this package's own import.
_PUBLIC = {
    "LayerRow": "arithmetic.geometry",
    "MethodResult": "arithmetic.geometry",
    "ReceptiveField": "arithmetic.geometry",
    "Side": "arithmetic.geometry",
    "walk_receptive_field": "core.walk",
    "UsageError": "errors",
    "EncoderConfig": "families.seanet.config",
    "load_config": "families.seanet.config_files",
    "formula_receptive_field": "families.seanet.formula",
    "probe_module": "runs.module_probe",
    "probe_hf_model": "runs.hf_model",
    "Verification": "runs.verify",
    "verify_config": "runs.verify",
    "register_rule": "core.registry",
    "assert_receptive_field": "frontends.testing",
    "UNBOUNDED": "frontends.testing",
}
__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rfprobe' has no attribute {name!r}")
