"""Run a package's own model files when its `__init__.py` pulls heavy imports we do not need.

descript-audio-codec's `dac/__init__.py` imports `audiotools` (torchaudio, librosa, ...),
and facebook's `encodec/__init__.py` imports torchaudio; their encoder code needs only
torch, numpy and einops. Like rfprobe's audiocraft loader, we execute the installed
files themselves under a private package name, so the code that runs is the package's,
byte for byte. Names a file imports but the encoder never uses (`audiotools` for the DAC
wrapper class) can be given as `placeholders`; they exist only while the files load.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Mapping, Sequence

from rfprobe.families import Unavailable


def installed_package_dir(distribution_package: str) -> Path:
    """The folder an installed package is imported from (Unavailable when it is not installed)."""
    spec = importlib.util.find_spec(distribution_package)
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(f"{distribution_package} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def load_files(
    package: str, private: str, files: Sequence[str], placeholders: Mapping[str, types.ModuleType] = {}
) -> dict[str, types.ModuleType]:
    """Execute `package/<file>.py` for each dotted `file` ("nn.layers") as `private.<file>`.

    `package.<x>` imports inside those files are served by the already-loaded private
    modules (so `from dac.nn.layers import WNConv1d` gets our copy, not dac/__init__).
    """
    root = installed_package_dir(package)
    loaded: dict[str, types.ModuleType] = {}
    # Every entry this call may replace: the placeholders, and `package` with any of its submodules a
    # real import already made (they are put back as they were, not dropped).
    already = [n for n in sys.modules if n == package or n.startswith(package + ".")]
    saved = {name: sys.modules.get(name) for name in [*placeholders, package, *already]}
    try:
        sys.modules.update(placeholders)
        for dotted in files:
            full_name = f"{private}.{dotted}"
            if full_name in sys.modules:
                loaded[dotted] = sys.modules[full_name]
                continue
            parts = dotted.split(".")
            for depth in range(len(parts)):  # private parent packages, without their __init__.py
                parent = ".".join([private, *parts[:depth]])
                if parent not in sys.modules:
                    module = types.ModuleType(parent)
                    module.__path__ = [str(root.joinpath(*parts[:depth]))]
                    sys.modules[parent] = module
                    sys.modules.setdefault(".".join([package, *parts[:depth]]), module)
            spec = importlib.util.spec_from_file_location(full_name, root.joinpath(*parts[:-1], parts[-1] + ".py"))
            if spec is None or spec.loader is None:
                raise Unavailable(f"{package} has no {dotted.replace('.', '/')}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[full_name] = module
            sys.modules[f"{package}.{dotted}"] = module
            try:
                spec.loader.exec_module(module)
            except Exception as error:
                del sys.modules[full_name]
                raise Unavailable(
                    f"{package}/{dotted.replace('.', '/')}.py failed to load ({type(error).__name__}: {error})"
                ) from None
            loaded[dotted] = module
            # What a package __init__ re-exports (encodec's `from . import SConv1d`), from the files loaded so far.
            parent = sys.modules[full_name.rsplit(".", 1)[0]]
            for name, value in vars(module).items():
                if not name.startswith("_") and not hasattr(parent, name):
                    setattr(parent, name, value)
    finally:
        # Leave no trace of `package` or the placeholders: a later real import must not see our copies.
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return loaded
