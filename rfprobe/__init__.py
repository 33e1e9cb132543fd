"""rfprobe: how much audio one token of a neural codec sees, measured on the real module.

Data flow: a model (an audiocraft config, a checkpoint, a zoo codec, any module) ->
the analytic core and the config formula -> the probes -> the verdict -> the output.

Layers, one role each:

* :mod:`rfprobe.arithmetic` — torch-free records and rules: :mod:`~rfprobe.arithmetic.geometry`
  (sides, receptive fields, method results), :mod:`~rfprobe.arithmetic.verdict` (when methods
  agree), :mod:`~rfprobe.arithmetic.lookahead`.
* :mod:`rfprobe.core` — the analytic core: :mod:`~rfprobe.core.trace` records the ops a model
  runs, :mod:`~rfprobe.core.operators` maps each op to a reader of :mod:`~rfprobe.core.readers`,
  :mod:`~rfprobe.core.graph` walks a frame back to its input samples (position sets in
  :mod:`~rfprobe.core.intervals`), :mod:`~rfprobe.core.analysis` sizes the trace and reads the
  receptive field, :mod:`~rfprobe.core.clip` the frames at a clip's ends,
  :mod:`~rfprobe.core.walk` is the "module walk" method.
* :mod:`rfprobe.probes` — the empirical methods: :mod:`~rfprobe.probes.gradient`,
  :mod:`~rfprobe.probes.impulse` (sharing :mod:`~rfprobe.probes.empirical`), the NaN
  :mod:`~rfprobe.probes.taint` proof and the effective RF (:mod:`~rfprobe.probes.erf`).
* :mod:`rfprobe.families` — how to build each model: :mod:`rfprobe.families.seanet` (audiocraft's
  SEANet: configs, checkpoints, the hand formula, the decoder, transformers' EnCodec) and one
  file per codec of the zoo.
* :mod:`rfprobe.output` — the answer block, tables, the JSON report (schema v1), plots, and
  safe output files.
* :mod:`rfprobe.subject` — the module a probe runs: a private copy, weight norms folded.
* Runs that combine them: :mod:`rfprobe.verify` (a config, four methods),
  :mod:`rfprobe.module_probe` (any module), :mod:`rfprobe.context` (edges, latency, taint,
  effective RF), :mod:`rfprobe.cost`, :mod:`rfprobe.zoo`; front ends :mod:`rfprobe.cli`,
  :mod:`rfprobe.zoo_cli`, :mod:`rfprobe.testing` (the pytest helper).
"""
__version__ = "0.1.0"

# The public names load lazily, so that importing a torch-free layer (rfprobe.arithmetic)
# does not import torch through this package's own import.
_PUBLIC = {
    "LayerRow": "arithmetic.geometry", "MethodResult": "arithmetic.geometry", "ReceptiveField": "arithmetic.geometry",
    "Side": "arithmetic.geometry", "walk_receptive_field": "core.walk", "UsageError": "errors",
    "EncoderConfig": "families.seanet.config", "load_config": "families.seanet.config_files",
    "formula_receptive_field": "families.seanet.formula", "probe_module": "module_probe",
    "Verification": "verify", "verify_config": "verify",
}
__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rfprobe' has no attribute {name!r}")
