"""Reading one config file: rfprobe's own keys, or audiocraft's YAML (a `seanet:` section).

Kept apart from :mod:`~rfprobe.families.seanet.config` so that the record does not depend on
the audiocraft reader, which builds records.
"""

from __future__ import annotations

from pathlib import Path

from rfprobe.errors import UsageError
from rfprobe.families.seanet.yaml_reading import read_yaml_file
from rfprobe.families.seanet.audiocraft_files import from_audiocraft, is_audiocraft_config
from rfprobe.families.seanet.config import EncoderConfig, parse_config


def load_config(path: str | Path) -> EncoderConfig:
    """Read and validate one YAML config file."""
    path = Path(path)
    raw = read_yaml_file(path)
    if raw is None:
        raise UsageError(f"{path}: the file is empty; write the seanet keys and sample_rate")
    if is_audiocraft_config(raw):  # audiocraft's own YAML: a `seanet:` section, maybe interpolated
        return from_audiocraft(raw, where=str(path), name=path.stem).config
    return parse_config(raw, where=str(path), default_name=path.stem)
