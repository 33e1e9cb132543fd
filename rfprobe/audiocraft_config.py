"""audiocraft's own configs and checkpoints, turned into an :class:`EncoderConfig`.

audiocraft builds the encoder from its `seanet:` section without the `encoder:`/`decoder:`
sub-dicts, then merges `seanet.encoder` over it (`models/builders.py`,
`get_encodec_autoencoder`); the config is resolved with OmegaConf, so `${sample_rate}`,
`${channels}` and `${encodec.causal}` interpolations work as they do there. A compression
checkpoint (`compression_state_dict.bin`) holds that config unresolved as the YAML string
`xp.cfg` and the weights in `best_state`, encoder keys prefixed `encoder.`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from .config import EncoderConfig, parse_config
from .errors import UsageError

SUGGESTED_CONFIG = "configs/musicgen_32khz.yaml"


@dataclass(frozen=True)
class AudiocraftConfig:
    config: EncoderConfig
    used_keys: tuple[str, ...]
    ignored_keys: tuple[str, ...]


def is_audiocraft_config(raw: Any) -> bool:
    return isinstance(raw, Mapping) and isinstance(raw.get("seanet"), Mapping)


def _resolve(raw: Mapping, where: str) -> dict:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(OmegaConf.create(dict(raw)), resolve=True)
    except OmegaConfBaseException as error:
        message = str(error).splitlines()[0]
        raise UsageError(f"{where}: cannot resolve the audiocraft config ({message}); "
                         "add the missing top-level key (e.g. sample_rate: 32000, channels: 1)") from None


def from_audiocraft(raw: Mapping, where: str, name: str) -> AudiocraftConfig:
    """The encoder exactly as audiocraft's builders would construct it from `raw`."""
    resolved = _resolve(raw, where)
    seanet = dict(resolved["seanet"])
    encoder_overrides = seanet.pop("encoder", None) or {}
    seanet.pop("decoder", None)
    kwargs = {**seanet, **encoder_overrides}
    sample_rate = resolved.get("sample_rate", (resolved.get("encodec") or {}).get("sample_rate"))
    if sample_rate is None:
        raise UsageError(f"{where}: no sample_rate (top level or encodec.sample_rate); add sample_rate: 32000 or similar")
    known = {f.name for f in fields(EncoderConfig)} - {"sample_rate", "name", "description", "claims"}
    used = {key: value for key, value in kwargs.items() if key in known}
    ignored = sorted({f"seanet.{key}" for key in kwargs if key not in known}
                     | {key for key in resolved if key not in ("seanet", "sample_rate")})
    used_keys = tuple(sorted(f"seanet.{k}" for k in used)) + ("sample_rate",)
    description = (f"audiocraft config {where}; used: {', '.join(used_keys)}"
                   f"{' (seanet.encoder overrides merged)' if encoder_overrides else ''}; "
                   f"ignored: {', '.join(ignored) or 'nothing'}")
    config = parse_config({**used, "sample_rate": sample_rate, "description": description}, where=where,
                          default_name=name)
    return AudiocraftConfig(config=config, used_keys=used_keys, ignored_keys=tuple(ignored))


@dataclass(frozen=True)
class Checkpoint:
    audiocraft: AudiocraftConfig
    encoder_state: dict
    keys_total: int


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read an audiocraft compression checkpoint; never touches the network."""
    import torch
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--checkpoint {path}: no such file; pass the path of a compression_state_dict.bin")
    try:
        package = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UsageError(f"--checkpoint {path}: not a readable torch checkpoint ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''}); pass an audiocraft "
                         "compression_state_dict.bin") from None
    if not isinstance(package, Mapping):
        raise UsageError(f"--checkpoint {path}: expected a dict with 'xp.cfg' and 'best_state', got {type(package).__name__}")
    if "pretrained" in package:
        raise UsageError(f"--checkpoint {path} only names the pretrained model {package['pretrained']!r} on a model hub, "
                         f"which rfprobe never downloads; pass the matching config instead, e.g. --config {SUGGESTED_CONFIG}")
    missing = [key for key in ("xp.cfg", "best_state") if key not in package]
    if missing:
        raise UsageError(f"--checkpoint {path}: missing {', '.join(missing)}; not an audiocraft compression checkpoint")
    try:
        raw = yaml.safe_load(package["xp.cfg"])
    except yaml.YAMLError:
        raise UsageError(f"--checkpoint {path}: its xp.cfg is not valid YAML") from None
    if not is_audiocraft_config(raw):
        raise UsageError(f"--checkpoint {path}: its xp.cfg has no seanet section; not a SEANet (EnCodec) checkpoint")
    audiocraft = from_audiocraft(raw, where=f"{path} (xp.cfg)", name=path.stem)
    state = package["best_state"]
    encoder_state = {key[len("encoder."):]: value for key, value in state.items() if key.startswith("encoder.")}
    if not encoder_state:
        raise UsageError(f"--checkpoint {path}: best_state has no 'encoder.' weights")
    return Checkpoint(audiocraft=audiocraft, encoder_state=encoder_state, keys_total=len(state))
