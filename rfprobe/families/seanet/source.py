"""Load audiocraft's real `seanet` module, and say exactly how it was loaded.

`import audiocraft` runs `audiocraft/__init__.py`, which imports its data, models and
training stacks (soundfile, av, xformers, transformers, ...). `audiocraft.modules.seanet`
itself needs only torch and numpy. So we first try the normal import (users with a full
install get exactly what they run), and if that fails we execute the installed
`modules/conv.py`, `modules/lstm.py` and `modules/seanet.py` files themselves under a
private package name, never running `audiocraft/__init__.py`. Either way the code that
runs is the installed PyPI distribution's, never a copy.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Optional

from rfprobe.errors import UsageError

INSTALL_HINT = "pip install --no-deps audiocraft==1.3.0"
NORMAL_IMPORT = "normal_import"
INSTALLED_FILES = "installed_files"
_PRIVATE_PACKAGE = "_rfprobe_audiocraft"


@dataclass(frozen=True)
class AudiocraftSource:
    """The loaded `seanet` module and its provenance."""

    seanet: types.ModuleType
    how_loaded: str  # NORMAL_IMPORT or INSTALLED_FILES
    version: str
    seanet_path: str
    seanet_sha256: str
    normal_import_error: Optional[str] = None  # why `import audiocraft.modules.seanet` did not work

    def describe(self) -> str:
        """One calm line: which audiocraft, and how it was loaded."""
        how = "imported" if self.how_loaded == NORMAL_IMPORT else "run from its files (--no-deps)"
        return f"audiocraft {self.version} {how}, seanet.py {self.seanet_sha256[:8]}"

    def sibling(self, leaf: str) -> types.ModuleType:
        """Another module of audiocraft's `modules` package (`streaming`), loaded the way `seanet` was."""
        return importlib.import_module(f"{self.seanet.__name__.rsplit('.', 1)[0]}.{leaf}")

    def provenance(self) -> dict[str, Optional[str]]:
        """How audiocraft was loaded, its version, and seanet.py's path and SHA-256, for the report."""
        return {
            "how_loaded": self.how_loaded,
            "normal_import_error": self.normal_import_error,
            "audiocraft_version": self.version,
            "seanet_path": self.seanet_path,
            "seanet_sha256": self.seanet_sha256,
        }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_without_package_init(package_dir: Path) -> types.ModuleType:
    """Execute modules/{conv,lstm,streaming,seanet}.py under a private package, skipping __init__.py."""
    modules_dir = package_dir / "modules"
    for name, path in ((_PRIVATE_PACKAGE, package_dir), (f"{_PRIVATE_PACKAGE}.modules", modules_dir)):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    loaded = None
    # seanet.py imports .conv and .lstm relatively; loading them first keeps that explicit. streaming.py
    # (torch only) holds the base class of audiocraft's streaming modules, for the streaming finding.
    for leaf in ("conv", "lstm", "streaming", "seanet"):
        full_name = f"{_PRIVATE_PACKAGE}.modules.{leaf}"
        if full_name in sys.modules:
            loaded = sys.modules[full_name]
            continue
        spec = importlib.util.spec_from_file_location(full_name, modules_dir / f"{leaf}.py")
        if spec is None or spec.loader is None:
            raise UsageError(f"audiocraft at {package_dir} has no modules/{leaf}.py; reinstall with: {INSTALL_HINT}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[full_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # a broken install: name it, don't crash
            del sys.modules[full_name]
            raise UsageError(
                f"audiocraft's modules/{leaf}.py failed to load ({type(error).__name__}: {error}); "
                f"reinstall with: {INSTALL_HINT}"
            ) from None
        if leaf == "conv" and hasattr(module, "weight_norm"):
            module.weight_norm = _quiet(module.weight_norm)
        loaded = module
    assert loaded is not None
    return loaded


def _quiet(weight_norm: Callable) -> Callable:
    """`torch.nn.utils.weight_norm`, minus its deprecation FutureWarning.

    Only for the copy of conv.py we execute ourselves: every `SEANetEncoder(...)` built from
    it (by rfprobe, or by a user through `rfprobe.families.seanet.audiocraft`) would otherwise print one
    warning per convolution about a choice audiocraft made. The function itself is unchanged.
    """

    @functools.wraps(weight_norm)
    def quiet_weight_norm(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*weight_norm.* is deprecated", category=FutureWarning)
            return weight_norm(*args, **kwargs)

    return quiet_weight_norm


@lru_cache(maxsize=1)
def load_audiocraft() -> AudiocraftSource:
    """Return audiocraft's `seanet` module; raise UsageError with the install command if absent."""
    spec = importlib.util.find_spec("audiocraft")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"audiocraft is not installed; install it with: {INSTALL_HINT}")
    package_dir = Path(list(spec.submodule_search_locations)[0])
    try:
        version = importlib.metadata.version("audiocraft")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown (no distribution metadata)"
    try:
        with warnings.catch_warnings():
            # The full package import warns about its many optional parts; not our concern.
            warnings.simplefilter("ignore")
            seanet = importlib.import_module("audiocraft.modules.seanet")
        how, reason = NORMAL_IMPORT, None
    except Exception as error:  # the full package import pulls many optional heavy deps
        seanet = _load_without_package_init(package_dir)
        how, reason = INSTALLED_FILES, f"{type(error).__name__}: {error}"
    seanet_path = Path(seanet.__file__)
    return AudiocraftSource(
        seanet=seanet,
        how_loaded=how,
        version=version,
        seanet_path=str(seanet_path),
        seanet_sha256=_sha256(seanet_path),
        normal_import_error=reason,
    )
