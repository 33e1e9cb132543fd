"""A local Hugging Face snapshot of a zoo codec: its encoder(s), with the snapshot's weights.

A snapshot is the directory `save_pretrained` writes: `config.json` and usually
`model.safetensors` (or shards with `model.safetensors.index.json`). Its `model_type` says
which family builds it (:data:`KINDS`); the family file says which submodule is the encoder
and how its call maps (batch, channels, time) to (batch, dim, frames) (its
`snapshot_branches`, the same code its zoo rows use).

Weights are read from safetensors only (transformers' `from_pretrained` with
`use_safetensors=True`: a pickle, `pytorch_model.bin`, is never loaded); without a
safetensors file the encoder gets random weights drawn with that config, and says so. A name
that is not a directory is looked up in the local hub cache only (`HF_HUB_CACHE`, else
`HF_HOME/hub`, else `~/.cache/huggingface/hub`: `models--org--name/snapshots/<revision>/`);
nothing is ever downloaded. Every problem is a UsageError naming it and the fix.

    >>> sorted(KINDS)[:3]
    ['dac', 'encodec', 'mimi']
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

from rfprobe.errors import UsageError
from rfprobe.families import SnapshotBranch, Unavailable, require_transformers_class
from rfprobe.families import dac, encodec, mimi, pocket_tts, wavtokenizer, xcodec, xcodec2

WEIGHTS_FILES = ("model.safetensors", "model.safetensors.index.json")  # what save_pretrained writes
PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
SHOWN_MISMATCHES = 3  # keys named in a mismatch error


@dataclass(frozen=True)
class SnapshotKind:
    """How one `model_type` is built: transformers' config and model classes, the family file's
    function returning the encoder branches of a built model, and the attention backend the
    family's zoo rows use (eager where the impulse probe's forward-mode AD needs it)."""

    family: str
    config_class: str
    model_class: str
    branches: Callable[[nn.Module], list[SnapshotBranch]]
    attention: Optional[str] = None


KINDS: dict[str, SnapshotKind] = {
    "encodec": SnapshotKind("EnCodec", "EncodecConfig", "EncodecModel", encodec.snapshot_branches),
    "dac": SnapshotKind("DAC", "DacConfig", "DacModel", dac.snapshot_branches),
    "mimi": SnapshotKind("Mimi", "MimiConfig", "MimiModel", mimi.snapshot_branches, mimi.ATTENTION),
    "mimi_encoder": SnapshotKind(
        "Mimi", "MimiEncoderConfig", "MimiEncoderModel", mimi.snapshot_branches, mimi.ATTENTION
    ),
    "wavtokenizer": SnapshotKind(
        "WavTokenizer", "WavTokenizerConfig", "WavTokenizerModel", wavtokenizer.snapshot_branches
    ),
    "wavtokenizer_encoder": SnapshotKind(
        "WavTokenizer", "WavTokenizerEncoderConfig", "WavTokenizerEncoderModel", wavtokenizer.snapshot_branches
    ),
    "xcodec": SnapshotKind("X-codec", "XcodecConfig", "XcodecModel", xcodec.snapshot_branches),
    "xcodec2": SnapshotKind("X-codec 2", "Xcodec2Config", "Xcodec2Model", xcodec2.snapshot_branches),
    "neucodec": SnapshotKind("NeuCodec", "NeuCodecConfig", "NeuCodecModel", xcodec2.snapshot_branches),
    "pocket_tts_audio_tokenizer": SnapshotKind(
        "PocketTTS",
        "PocketTTSAudioTokenizerConfig",
        "PocketTTSAudioTokenizerModel",
        pocket_tts.snapshot_branches,
        pocket_tts.ATTENTION,
    ),
    "pocket_tts_audio_tokenizer_encoder": SnapshotKind(
        "PocketTTS",
        "PocketTTSAudioTokenizerEncoderConfig",
        "PocketTTSAudioTokenizerEncoderModel",
        pocket_tts.snapshot_branches,
        pocket_tts.ATTENTION,
    ),
}


@dataclass
class Snapshot:
    """A loaded snapshot: where it is, what it is, which weights its encoders carry."""

    directory: Path
    model_type: str
    family: str
    weights_file: Optional[str]  # the safetensors file loaded; None: random weights
    weights_note: str  # in words: "trained, from .../model.safetensors" or "random (...)"
    branches: list[SnapshotBranch] = field(repr=False)
    transformers_version: str = ""

    @property
    def trained(self) -> bool:
        """Whether trained weights were loaded (else the encoders carry random ones)."""
        return self.weights_file is not None

    @property
    def name(self) -> str:
        """The snapshot directory's name."""
        return self.directory.name


def hub_cache() -> Path:
    """The local hub cache: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _cached_snapshot(name: str) -> Optional[Path]:
    """`org/name` in the local hub cache: the revision refs/main names, else the newest snapshot."""
    parts = name.strip("/").split("/")
    if not 1 <= len(parts) <= 2 or any(part in ("", ".", "..") for part in parts):
        return None
    repository = hub_cache() / ("models--" + "--".join(parts))
    snapshots = repository / "snapshots"
    main = repository / "refs" / "main"
    if main.is_file():
        revision = main.read_text(encoding="utf-8").strip()
        if revision and (snapshots / revision).is_dir():
            return snapshots / revision
    found = sorted((path for path in snapshots.glob("*") if path.is_dir()), key=lambda path: path.stat().st_mtime)
    return found[-1] if found else None


def resolve_snapshot(name: str, option: str = "--hf-model") -> Path:
    """The snapshot directory `name` names: a local directory, or a model in the local hub cache."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise UsageError(
            f"{option} {name}: not a directory; pass the snapshot directory that save_pretrained wrote "
            "(holding config.json), not a file in it"
        )
    cached = _cached_snapshot(name)
    if cached is None:
        raise UsageError(
            f"{option} {name}: no such directory, and not in the local hub cache ({hub_cache()}); "
            "nothing was downloaded (rfprobe never downloads): pass a local snapshot directory, or "
            "fetch the model first (huggingface-cli download)"
        )
    return cached


def read_config(directory: Path, option: str = "--hf-model") -> tuple[dict, str]:
    """config.json's values and its `model_type`, which must be one of :data:`KINDS`."""
    path = directory / "config.json"
    if not path.is_file():
        raise UsageError(f"{option} {directory}: no config.json in it; pass the directory save_pretrained wrote")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{option} {path}: not valid JSON ({error}); fix the file or save the model again") from None
    if not isinstance(values, dict):
        raise UsageError(f"{option} {path}: expected a JSON object, found {type(values).__name__}")
    model_type = values.get("model_type")
    if model_type not in KINDS:
        shown = "no model_type" if model_type is None else f"model_type {model_type!r}"
        raise UsageError(
            f"{option} {path}: {shown} is not a codec rfprobe knows; known model types: {', '.join(sorted(KINDS))}"
        )
    return values, model_type


def _quietly(call: Callable[[], object]) -> object:
    """`call()` without transformers' loading report and progress bars (errors are ours to word)."""
    import transformers

    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return call()
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
        transformers.utils.logging.enable_progress_bar()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


def _mismatch_words(info: dict, order: list[str]) -> Optional[str]:
    """The first mismatching keys of a loading report, in the model's own order, or None."""
    position = {key: index for index, key in enumerate(order)}
    shapes = sorted(info.get("mismatched_keys") or [], key=lambda entry: position.get(entry[0], len(order)))
    missing = sorted(info.get("missing_keys") or [], key=lambda key: position.get(key, len(order)))
    unexpected = sorted(info.get("unexpected_keys") or [])
    parts = []
    if shapes:
        parts.append(
            f"{len(shapes)} tensor(s) of another shape, first "
            + ", ".join(
                f"{key} (file {list(ckpt)}, config {list(model)})" for key, ckpt, model in shapes[:SHOWN_MISMATCHES]
            )
        )
    if missing:
        parts.append(f"{len(missing)} missing, first " + ", ".join(missing[:SHOWN_MISMATCHES]))
    if unexpected:
        parts.append(f"{len(unexpected)} not in the model, first " + ", ".join(unexpected[:SHOWN_MISMATCHES]))
    return "; ".join(parts) or None


def _check_finite(model: nn.Module, where: str) -> None:
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UsageError(
                f"{where}: tensor {name} holds NaN or inf; a receptive field cannot be probed through "
                "non-finite weights: use a finite checkpoint"
            )


def load_snapshot(name: str, seed: int = 0, option: str = "--hf-model") -> Snapshot:
    """Read, check and build the snapshot `name` names (see the module docstring)."""
    directory = resolve_snapshot(name, option)
    _, model_type = read_config(directory, option)
    kind = KINDS[model_type]
    try:
        import transformers

        config_class = require_transformers_class(kind.config_class)
        model_class = require_transformers_class(kind.model_class)
    except Unavailable as error:
        raise UsageError(f"{option} {directory}: {error}") from None
    try:
        config = _quietly(lambda: config_class.from_pretrained(str(directory), local_files_only=True))
    except Exception as error:  # a value transformers refuses: the config's problem, worded by transformers
        raise UsageError(
            f"{option} {directory / 'config.json'}: transformers' {kind.config_class} refuses it "
            f"({type(error).__name__}: {_first_line(error)}); fix the config"
        ) from None
    if kind.attention:
        config._attn_implementation = kind.attention
    weights = next((directory / file for file in WEIGHTS_FILES if (directory / file).is_file()), None)
    where = f"{option} {weights if weights else directory}"
    torch.manual_seed(seed)
    if weights is None:
        try:
            model = _quietly(lambda: model_class(config))
        except Exception as error:
            raise UsageError(
                f"{where}: transformers cannot build {kind.model_class} from this config "
                f"({type(error).__name__}: {_first_line(error)}); fix the config"
            ) from None
        pickled = [file for file in PICKLED_WEIGHTS if (directory / file).is_file()]
        note = "random (no model.safetensors; " + (
            f"{pickled[0]} is a pickle, never loaded: convert it to safetensors to probe its weights)"
            if pickled
            else "random weights drawn with this config)"
        )
    else:
        try:
            model, info = _quietly(
                lambda: model_class.from_pretrained(
                    str(directory),
                    config=config,
                    use_safetensors=True,
                    local_files_only=True,
                    output_loading_info=True,
                    ignore_mismatched_sizes=True,
                    **({"attn_implementation": kind.attention} if kind.attention else {}),
                )
            )
        except Exception as error:
            raise UsageError(
                f"{where}: cannot be loaded ({type(error).__name__}: {_first_line(error)}); save the "
                "model again with save_pretrained"
            ) from None
        mismatch = _mismatch_words(info, list(model.state_dict()))  # the config's tensors, in module order
        if mismatch:
            raise UsageError(
                f"{where}: its tensors do not match config.json ({mismatch}); use the config.json "
                "saved with these weights"
            )
        note = f"trained, from {weights}"
    model.eval()
    _check_finite(model, where)
    try:
        branches = kind.branches(model)
    except Unavailable as error:
        raise UsageError(f"{option} {directory}: {error}") from None
    return Snapshot(
        directory=directory,
        model_type=model_type,
        family=kind.family,
        weights_file=None if weights is None else str(weights),
        weights_note=note,
        branches=branches,
        transformers_version=transformers.__version__,
    )
