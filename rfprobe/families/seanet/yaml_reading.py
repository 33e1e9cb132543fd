"""Reading the YAML a user hands us: the one place that decides what YAML rfprobe accepts.

Plain data only: mappings, lists, strings, numbers, booleans, null (and timestamps, which
PyYAML resolves from plain scalars). Refused, each with one line naming the file and the line:

* any other tag (`!!python/object:...`, `!!binary`, `!custom`): "unsupported YAML tag";
* duplicate keys in one mapping (PyYAML silently keeps the last one);
* aliases (`*name`) that expand to more than :data:`MAX_NODES` nodes, or refer to
  themselves: a few hundred bytes of nested anchors otherwise expand to gigabytes;
* nesting deeper than :data:`MAX_DEPTH`, files over :data:`MAX_BYTES`, text that is not UTF-8.

    >>> read_yaml_text("sample_rate: 16000\\nratios: [2, 2]\\n", "x.yaml")
    {'sample_rate': 16000, 'ratios': [2, 2]}
    >>> read_yaml_text("a: 1\\na: 2\\n", "x.yaml")
    Traceback (most recent call last):
    ...
    rfprobe.errors.UsageError: x.yaml: duplicate key 'a' at line 2; keep one
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from rfprobe.errors import UsageError, shown

MAX_BYTES = 1 << 20  # a config is a few kB; audiocraft's full xp.cfg about 10 kB
MAX_NODES = 20_000  # after expanding aliases; audiocraft's full xp.cfg has under 2000
MAX_DEPTH = 64

_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge")
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (merged `<<` keys may still be overridden)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: SafeLoader refuses it below, with its own message
                continue
            if duplicate:
                raise UsageError(f"duplicate key {shown(key)} at line {key_node.start_mark.line + 1}; keep one")
        return super().construct_mapping(node, deep=deep)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _check_nodes(root: Node) -> None:
    """Refuse unknown tags, alias cycles, too deep nesting and too large an expansion.

    Aliases share nodes, so the expanded size is computed once per node (memoized),
    never by expanding: checking a billion-node bomb costs as much as reading it.
    """
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool, int]] = [(root, False, 0)]
    while stack:
        node, finished, depth = stack.pop()
        if finished:
            on_path.discard(id(node))
            expanded[id(node)] = size = 1 + sum(expanded[id(child)] for child in _children(node))
            if size > MAX_NODES:
                raise UsageError(
                    f"expands to more than {MAX_NODES} values (YAML anchors and aliases, line "
                    f"{node.start_mark.line + 1}); write the values out or remove the aliases"
                )
            continue
        if id(node) in expanded:
            continue
        if id(node) in on_path:
            raise UsageError(f"an alias at line {node.start_mark.line + 1} contains itself; remove it")
        if node.tag not in _PLAIN_TAGS:
            raise UsageError(
                f"unsupported YAML tag {shown(node.tag.replace('tag:yaml.org,2002:', '!!'))} at line "
                f"{node.start_mark.line + 1}; rfprobe reads plain YAML only (mappings, lists, "
                "numbers, strings, booleans)"
            )
        if depth > MAX_DEPTH:
            raise UsageError(
                f"nested deeper than {MAX_DEPTH} levels at line {node.start_mark.line + 1}; "
                "a config is a flat mapping of a few sections"
            )
        on_path.add(id(node))
        stack.append((node, True, depth))
        stack.extend((child, False, depth + 1) for child in _children(node) if id(child) not in expanded)


def read_yaml_text(text: str, where: str) -> Any:
    """Parse `text` (from `where`, named in every message) as plain YAML data."""
    if len(text) > MAX_BYTES:
        raise UsageError(f"{where}: {len(text)} characters of YAML; a config is a few kB (at most {MAX_BYTES})")
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_nodes(root)
        return loader.construct_document(root)
    except UsageError as error:
        raise UsageError(f"{where}: {error}") from None
    except RecursionError:
        raise UsageError(f"{where}: nested too deeply to read; a config is a flat mapping of a few sections") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or ""
        raise UsageError(
            f"{where}: malformed YAML{at}{f' ({shown(problem)})' if problem else ''}; fix the syntax"
        ) from None
    finally:
        loader.dispose()


def read_yaml_file(path: Path, what: str = "config") -> Any:
    """Read a UTF-8 YAML file of at most MAX_BYTES; every problem a one-line UsageError."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UsageError(f"{path}: not a regular file; pass the path of a YAML {what}")
        if size > MAX_BYTES:
            raise UsageError(f"{path}: {size} bytes; a YAML {what} is a few kB (at most {MAX_BYTES} bytes)")
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read {what} ({error.strerror}); check the path") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text (byte {error.start}); save the {what} as UTF-8") from None
    return read_yaml_text(text, str(path))
