"""The package's layers import only downward, and no module imports itself back in a cycle.

Layers, lowest first (the package docstring writes them down): the error types, the
torch-free arithmetic, the analytic core, the probes, the families, the runs, the output and
the front ends. An import of a higher layer from a lower one, an import cycle between modules
(lazy imports inside functions included) and a private name imported from another module
all fail here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast  # runs no model

PACKAGE = Path(__file__).resolve().parent.parent / "rfprobe"
LAYERS = ("errors", "arithmetic", "core", "probes", "families", "runs", "output", "frontends")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """The layer index of an rfprobe module; None for the package itself and `__main__`."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "__main__":
        return None
    return LAYERS.index(parts[1])


def imports_of(module: str, tree: ast.AST) -> list[tuple[str, str, int]]:
    """(imported rfprobe module, imported name or '', line) for every import in `tree`."""
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names if alias.name.startswith("rfprobe")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("rfprobe"):
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((child, "", node.lineno) if child in MODULES else (base, alias.name, node.lineno))
    return found


def edges() -> dict[str, list[tuple[str, str, int]]]:
    return {module: imports_of(module, ast.parse(path.read_text(encoding="utf-8"))) for module, path in MODULES.items()}


def upward_imports(graph: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    problems = []
    for module, imported in graph.items():
        own = layer_of(module)
        for target, _, line in imported:
            theirs = layer_of(target)
            if own is not None and theirs is not None and theirs > own:
                problems.append(f"{module}:{line} imports {target} ({LAYERS[theirs]} is above {LAYERS[own]})")
    return problems


def cycles(graph: dict[str, list[tuple[str, str, int]]]) -> list[list[str]]:
    """Every import cycle between modules (a package importing its own submodules aside)."""
    targets = {
        module: sorted({t for t, _, _ in imported if t in MODULES and not module.startswith(t + ".") and t != module})
        for module, imported in graph.items()
    }
    found, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in targets[module]:
            if state.get(target) == "open":
                found.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in targets:
        if module not in state:
            visit(module, [module])
    return found


def private_imports(graph: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    return [
        f"{module}:{line} imports {name} from {target}"
        for module, imported in graph.items()
        for target, name, line in imported
        if name.startswith("_") and not name.startswith("__")
    ]


def test_the_package_root_holds_only_its_entry_points_and_error_types():
    loose = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "errors.py"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS[1:])


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports(edges()) == []


def test_there_is_no_import_cycle():
    assert cycles(edges()) == []


def test_no_private_name_is_imported_across_modules():
    assert private_imports(edges()) == []


def test_the_layer_check_catches_an_upward_import_a_cycle_and_a_private_name():
    graph = {
        "rfprobe.core.graph": [("rfprobe.runs.verify", "", 3)],
        "rfprobe.runs.verify": [("rfprobe.core.graph", "_hidden", 5)],
    }
    assert upward_imports(graph) == ["rfprobe.core.graph:3 imports rfprobe.runs.verify (runs is above core)"]
    assert private_imports(graph) == ["rfprobe.runs.verify:5 imports _hidden from rfprobe.core.graph"]
    saved = dict(MODULES)
    try:
        MODULES.update(dict.fromkeys(graph, PACKAGE / "x.py"))
        assert cycles(graph) == [["rfprobe.core.graph", "rfprobe.runs.verify", "rfprobe.core.graph"]]
    finally:
        MODULES.clear()
        MODULES.update(saved)


@pytest.mark.parametrize("layer", LAYERS[1:])
def test_every_layer_names_its_role_in_the_package_docstring(layer):
    import rfprobe

    assert f":mod:`rfprobe.{layer}`" in (rfprobe.__doc__ or "")


def _undocumented(source: str, where: str) -> list[str]:
    """Public functions and classes of a module's top level, and public methods (properties too)
    of its public classes, that have no docstring."""
    missing = []
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in ast.parse(source).body:
        if isinstance(node, definitions) and not node.name.startswith("_"):
            if ast.get_docstring(node) is None:
                missing.append(f"{where}:{node.lineno} {node.name}")
            if isinstance(node, ast.ClassDef):
                for method in node.body:
                    if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and not method.name.startswith("_"):
                        if ast.get_docstring(method) is None:
                            missing.append(f"{where}:{method.lineno} {node.name}.{method.name}")
    return missing


def test_every_public_function_and_class_has_a_docstring():
    missing = [
        name
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in _undocumented(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert not missing, f"{len(missing)} without a docstring: {missing[:10]}"


def test_the_docstring_check_finds_an_undocumented_function():
    assert _undocumented("def shown():\n    return 1\n", "m.py") == ["m.py:1 shown"]
    assert _undocumented('def shown():\n    """Shown."""\n', "m.py") == []
    assert _undocumented("def _private():\n    return 1\n", "m.py") == []
    shown = 'class Shown:\n    """Shown."""\n\n    @property\n    def size(self):\n        return 1\n'
    assert _undocumented(shown, "m.py") == ["m.py:5 Shown.size"]
    hidden = 'class Shown:\n    """Shown."""\n\n    def _size(self):\n        return 1\n\n    def __len__(self):\n'
    assert _undocumented(hidden + "        return 1\n", "m.py") == []
    assert _undocumented("class _Hidden:\n    def size(self):\n        return 1\n", "m.py") == []
