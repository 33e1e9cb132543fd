"""audiocraft's own configs and checkpoints, turned into an :class:`EncoderConfig`.

audiocraft builds the encoder from its `seanet:` section without the `encoder:`/`decoder:`
sub-dicts, then merges `seanet.encoder` over it (`models/builders.py`,
`get_encodec_autoencoder`). Key references such as `${sample_rate}`, `${channels}` and
`${encodec.causal}` are resolved as OmegaConf resolves them there; resolvers such as
`${oc.env:VAR}` are refused (a report must never carry an environment variable). A compression
checkpoint (`compression_state_dict.bin`) holds that config unresolved as the YAML string
`xp.cfg` and the weights in `best_state`, encoder keys prefixed `encoder.`.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from rfprobe.families.seanet.config import EncoderConfig, parse_config
from rfprobe.errors import UsageError, shown
from rfprobe.families.seanet.yaml_reading import MAX_NODES, read_yaml_text

SUGGESTED_CONFIG = "configs/musicgen_32khz.yaml"


@dataclass(frozen=True)
class AudiocraftConfig:
    """An encoder config read from an audiocraft config file, with the keys used and those ignored."""

    config: EncoderConfig
    used_keys: tuple[str, ...]
    ignored_keys: tuple[str, ...]


def is_audiocraft_config(raw: Any) -> bool:
    """Whether a parsed file is an audiocraft config (it has a `seanet` mapping)."""
    return isinstance(raw, Mapping) and isinstance(raw.get("seanet"), Mapping)


_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_KEY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_CHAIN = 32  # ${a} -> ${b} -> ...: audiocraft's configs chain two or three


class _Interpolator:
    """OmegaConf-style `${key.path}` references, and nothing else.

    audiocraft's encoder sections need only key references (`${sample_rate}`,
    `${encodec.causal}`); OmegaConf would also run resolvers such as `${oc.env:VAR}`, which
    put environment variables into reports. Only the parts of the config that are used
    are resolved, so an unused section may hold anything. Each resolved value counts
    against the same node budget as the YAML itself (references can multiply, as aliases can).

        >>> _Interpolator({"sample_rate": 16000, "seanet": {"rate": "${sample_rate}"}}, "x").value("seanet")
        {'rate': 16000}
    """

    def __init__(self, root: Mapping, where: str) -> None:
        self.root, self.where, self.nodes = root, where, 0
        self.resolving: list[str] = []

    def value(self, path: str) -> Any:
        if path in self.resolving or len(self.resolving) > _MAX_CHAIN:
            raise UsageError(
                f"{self.where}: the interpolation ${{{path}}} refers to itself "
                f"({' -> '.join(self.resolving[:4])}...); write the value out"
            )
        node: Any = self.root
        for key in path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                raise UsageError(
                    f"{self.where}: cannot resolve the audiocraft config (${{{shown(path)[1:-1]}}}: "
                    "no such key); add the missing top-level key (e.g. sample_rate: 32000, channels: 1)"
                )
            node = node[key]
        self.resolving.append(path)
        try:
            return self.resolve(node)
        finally:
            self.resolving.pop()

    def resolve(self, node: Any) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise UsageError(
                f"{self.where}: its interpolations expand to more than {MAX_NODES} values; write the values out"
            )
        if isinstance(node, Mapping):
            return {key: self.resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(value) for value in node]
        if not isinstance(node, str) or "${" not in node:
            return node
        references = _INTERPOLATION.findall(node)
        for reference in references:
            if not _KEY_PATH.fullmatch(reference):
                raise UsageError(
                    f"{self.where}: unsupported interpolation ${{{shown(reference)[1:-1]}}}: rfprobe "
                    "resolves only key references such as ${sample_rate} (no resolvers, no environment "
                    "variables); write the value out"
                )
        whole = _INTERPOLATION.fullmatch(node)
        if whole:
            return self.value(whole.group(1))
        if "${" in _INTERPOLATION.sub("", node):
            raise UsageError(f"{self.where}: malformed interpolation in {shown(node)}; use ${{key.path}}")
        parts = {reference: self.value(reference) for reference in references}
        if any(isinstance(value, (Mapping, list)) for value in parts.values()):
            raise UsageError(f"{self.where}: {shown(node)} puts a section inside a string; refer to a value")
        return _INTERPOLATION.sub(lambda match: str(parts[match.group(1)]), node)


def from_audiocraft(raw: Mapping, where: str, name: str) -> AudiocraftConfig:
    """The encoder exactly as audiocraft's builders would construct it from `raw`."""
    interpolator = _Interpolator(raw, where)
    seanet = {key: value for key, value in raw["seanet"].items() if key != "decoder"}  # the decoder's: not resolved
    seanet = interpolator.resolve(seanet)
    encoder_overrides = seanet.pop("encoder", None) or {}
    if not isinstance(encoder_overrides, Mapping):
        raise UsageError(
            f"{where}: seanet.encoder must be a mapping of overrides, got {type(encoder_overrides).__name__}"
        )
    kwargs = {**seanet, **encoder_overrides}
    if "sample_rate" in raw:
        sample_rate = interpolator.value("sample_rate")
    elif isinstance(raw.get("encodec"), Mapping) and "sample_rate" in raw["encodec"]:
        sample_rate = interpolator.value("encodec.sample_rate")
    else:
        raise UsageError(
            f"{where}: no sample_rate (top level or encodec.sample_rate); add sample_rate: 32000 or similar"
        )
    known = {f.name for f in fields(EncoderConfig)} - {"sample_rate", "name", "description", "claims"}
    used = {key: value for key, value in kwargs.items() if key in known}
    ignored = sorted(
        {f"seanet.{key}" for key in kwargs if key not in known}
        | {str(key) for key in raw if key not in ("seanet", "sample_rate")}
    )
    used_keys = tuple(sorted(f"seanet.{k}" for k in used)) + ("sample_rate",)
    description = (
        f"audiocraft config {where}; used: {', '.join(used_keys)}"
        f"{' (seanet.encoder overrides merged)' if encoder_overrides else ''}; "
        f"ignored: {', '.join(ignored) or 'nothing'}"
    )
    config = parse_config(
        {**used, "sample_rate": sample_rate, "description": description}, where=where, default_name=name
    )
    return AudiocraftConfig(config=config, used_keys=used_keys, ignored_keys=tuple(ignored))


@dataclass(frozen=True)
class Checkpoint:
    """An audiocraft checkpoint: its config, the encoder's weights, and how many keys it held in all."""

    audiocraft: AudiocraftConfig
    encoder_state: dict
    keys_total: int


def _unpickler_problem(error: Exception) -> str:
    """What torch's weights-only unpickler objected to, without torch's advice to load the file unsafely."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    problems = [
        line
        for line in lines
        if not line.startswith(("Weights only load failed", "Check the documentation")) and "weights_only" not in line
    ]
    return shown(problems[0], 120)[1:-1] if problems else type(error).__name__


def _encoder_weights(state: Any, where: str) -> dict:
    """`best_state`'s `encoder.` entries: floating-point tensors, not all zero."""
    import torch

    if not isinstance(state, Mapping):
        raise UsageError(
            f"{where}: best_state is a {type(state).__name__}, expected a mapping of weight names to "
            "tensors; not an audiocraft compression checkpoint"
        )
    encoder_state = {
        key[len("encoder.") :]: value
        for key, value in state.items()
        if isinstance(key, str) and key.startswith("encoder.")
    }
    if not encoder_state:
        raise UsageError(f"{where}: best_state has no 'encoder.' weights")
    for key, value in encoder_state.items():
        if not isinstance(value, torch.Tensor):
            raise UsageError(
                f"{where}: best_state entry {shown('encoder.' + key)} is a {type(value).__name__}, "
                "not a tensor; not an audiocraft compression checkpoint"
            )
        if not value.is_floating_point():
            raise UsageError(
                f"{where}: encoder weight {shown(key)} has dtype {str(value.dtype).replace('torch.', '')}; "
                "trained weights are floating point: pass the checkpoint audiocraft saved"
            )
    if not any(bool(value.any()) for value in encoder_state.values()):
        raise UsageError(
            f"{where}: every encoder weight is zero, so no output depends on the input; pass a trained checkpoint"
        )
    return encoder_state


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read an audiocraft compression checkpoint; never touches the network, never unpickles code."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--checkpoint {path}: no such file; pass the path of a compression_state_dict.bin")
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        problem = _unpickler_problem(error)
        if "GLOBAL" in problem:
            raise UsageError(
                f"--checkpoint {path}: refused: it holds pickled Python objects beyond tensors and "
                f"plain containers ({problem}); rfprobe reads only weights-only checkpoints, as "
                "audiocraft saves them"
            ) from None
        raise UsageError(
            f"--checkpoint {path}: not a readable torch checkpoint ({problem}); pass an audiocraft "
            "compression_state_dict.bin"
        ) from None
    except Exception as error:
        raise UsageError(
            f"--checkpoint {path}: not a readable torch checkpoint ({type(error).__name__}: "
            f"{_unpickler_problem(error)}); pass an audiocraft compression_state_dict.bin"
        ) from None
    if not isinstance(package, Mapping):
        raise UsageError(
            f"--checkpoint {path}: expected a dict with 'xp.cfg' and 'best_state', got {type(package).__name__}"
        )
    if "pretrained" in package:
        raise UsageError(
            f"--checkpoint {path} only names the pretrained model {shown(package['pretrained'])} on a "
            f"model hub, which rfprobe never downloads; pass the matching config instead, e.g. "
            f"--config {SUGGESTED_CONFIG}"
        )
    missing = [key for key in ("xp.cfg", "best_state") if key not in package]
    if missing:
        raise UsageError(f"--checkpoint {path}: missing {', '.join(missing)}; not an audiocraft compression checkpoint")
    text = package["xp.cfg"]
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"--checkpoint {path}: its xp.cfg is not UTF-8 text") from None
    if not isinstance(text, str):
        raise UsageError(
            f"--checkpoint {path}: its xp.cfg is a {type(text).__name__}; audiocraft saves it as "
            "YAML text (OmegaConf.to_yaml)"
        )
    raw = read_yaml_text(text, f"--checkpoint {path} (xp.cfg)")
    if not is_audiocraft_config(raw):
        raise UsageError(f"--checkpoint {path}: its xp.cfg has no seanet section; not a SEANet (EnCodec) checkpoint")
    audiocraft = from_audiocraft(raw, where=f"{path} (xp.cfg)", name=path.stem)
    state = package["best_state"]
    encoder_state = _encoder_weights(state, f"--checkpoint {path}")
    return Checkpoint(audiocraft=audiocraft, encoder_state=encoder_state, keys_total=len(state))


def check_trained_weights(checkpoint: Checkpoint, where: str, device: Any, dtype: Any) -> None:
    """Before any run: the weights fit the architecture, are finite, and let one interior frame
    depend finitely on the input (all-zero or overflowing weights leave nothing to measure)."""
    import torch

    from rfprobe.probes.empirical import ProbeError, plan_window
    from rfprobe.families.seanet.encoder import build_encoder, load_encoder_weights
    from rfprobe.families.seanet.formula import formula_receptive_field
    from rfprobe.probes.gradient import frame_gradients, probe_input

    config = checkpoint.audiocraft.config
    encoder = load_encoder_weights(build_encoder(config, 0, device, dtype), checkpoint.encoder_state, where)
    local = formula_receptive_field(config).receptive_field
    window = plan_window(local.left.samples, local.right.samples, local.hop_samples)
    inputs = probe_input(config.channels, window.length_samples, 0, torch.device(device), dtype)
    try:
        gradient, _ = frame_gradients(encoder, inputs, [window.frame], projection_seed=1)
    except ProbeError:  # the probes will say why, in the verdict
        return
    if not bool(torch.isfinite(gradient).all()):
        raise UsageError(
            f"{where}: with its weights the encoder's output is not finite for a random input "
            "(the weights overflow); pass a trained checkpoint"
        )
    if not bool(gradient.any()):
        raise UsageError(
            f"{where}: with its weights no output frame depends on the input (the gradient is zero "
            "everywhere); pass a trained checkpoint"
        )
