"""Load YAML while remembering the line of every key, so errors can say where.

:func:`load_yaml` returns the data and a :class:`LineMap` from paths (``("workloads", 0,
"fine_tune", "route")``) to 1-based line numbers. Duplicate keys, which PyYAML would silently
overwrite, are rejected.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry.errors import WorkloadFileError

Path_ = tuple[str | int, ...]


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {seen[key]})",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


@dataclass(frozen=True)
class LineMap:
    """1-based line numbers of the nodes of a YAML document, keyed by path."""

    lines: dict[Path_, int]

    def line_for(self, path: Sequence[Any]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that exists in the document."""
        parts = tuple(path)
        while True:
            if parts in self.lines:
                return self.lines[parts]
            if not parts:
                return None
            parts = parts[:-1]

    def __contains__(self, path: object) -> bool:
        return path in self.lines


def _walk(node: Node, path: Path_, out: dict[Path_, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            child = (*path, str(key_node.value))
            out[child] = key_node.start_mark.line + 1
            _walk(value_node, child, out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


def load_yaml(text: str, path: str | Path) -> tuple[Any, LineMap]:
    """Parse one YAML document.

    Args:
        text: the document.
        path: the file it came from (for error messages).

    Returns:
        The data (plain dicts, lists and scalars) and its line map.

    Raises:
        WorkloadFileError: the YAML is malformed or has a duplicate key.
    """
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise WorkloadFileError(
            f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise WorkloadFileError(f"invalid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineMap(lines)
