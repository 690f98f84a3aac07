"""Load YAML while remembering the line of every key, so errors can say where.

:func:`load_yaml` returns the data and a :class:`LineMap` from paths (``("workloads", 0,
"fine_tune", "route")``) to 1-based line numbers. Duplicate keys, which PyYAML would silently
overwrite, are rejected.

Hostile input is refused while it is composed, before it can cost memory or time
(:class:`YamlLimits`): a file larger than ``max_bytes``; aliases that would repeat more than
``max_alias_nodes`` nodes in all (a 340-byte "billion laughs" document expands to ~10^9);
nesting deeper than ``max_depth``; integers and floats longer than ``max_number_chars``.
Each refusal names the file and the line where the limit was crossed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from registry.errors import InputError, WorkloadFileError

Path_ = tuple[str | int, ...]
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """What one YAML document may cost."""

    max_bytes: int = 1 << 20
    """File size; 1 MiB holds about a thousand workload declarations."""
    max_alias_nodes: int = 10_000
    """Nodes that aliases (``*name``, merge keys ``<<``) may add by repetition, in all."""
    max_depth: int = 64
    """Nesting of mappings and sequences."""
    max_number_chars: int = 100
    """Length of an integer or float scalar (no column holds a longer number)."""


class _LimitExceeded(yaml.MarkedYAMLError):
    """A :class:`YamlLimits` bound was crossed at ``problem_mark``."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys and documents over its limits."""

    def __init__(self, text: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self.limits = limits
        self._expanded: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
        self._alias_nodes = 0
        self._depth = 0

    def _refuse(self, problem: str, event_mark: yaml.Mark | None) -> _LimitExceeded:
        return _LimitExceeded(None, None, problem, event_mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            node: Node | None = super().compose_node(parent, index)
            self._alias_nodes += self._expanded.get(id(node), 1)
            if self._alias_nodes > self.limits.max_alias_nodes:
                raise self._refuse(
                    f"aliases repeat more than {self.limits.max_alias_nodes:,} nodes (the "
                    "limit; an alias bomb?): write the repeated parts out, or alias less",
                    mark,
                )
            return node
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise self._refuse(
                f"nested deeper than {self.limits.max_depth} levels (the limit)",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._expanded[id(node)] = 1 + self._children_size(node)
        return node

    def _children_size(self, node: Node) -> int:
        if isinstance(node, SequenceNode):
            return sum(self._expanded.get(id(child), 1) for child in node.value)
        if isinstance(node, MappingNode):
            return sum(
                self._expanded.get(id(k), 1) + self._expanded.get(id(v), 1) for k, v in node.value
            )
        if node.tag in _NUMBER_TAGS and len(node.value) > self.limits.max_number_chars:
            raise self._refuse(
                f"a number of {len(node.value):,} characters (the limit is "
                f"{self.limits.max_number_chars})",
                node.start_mark,
            )
        return 0

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


def load_yaml(
    text: str,
    path: str | Path,
    *,
    limits: YamlLimits | None = None,
    error: type[InputError] = WorkloadFileError,
) -> tuple[Any, LineMap]:
    """Parse one YAML document.

    Args:
        text: the document.
        path: the file it came from (for error messages).
        limits: what the document may cost (default :class:`YamlLimits`).
        error: the error class to raise (the kind of file this is).

    Returns:
        The data (plain dicts, lists and scalars) and its line map.

    Raises:
        InputError: (``error``) the YAML is malformed, has a duplicate key, or crosses a limit.
    """
    limits = limits or YamlLimits()
    if len(text) > limits.max_bytes:  # characters <= bytes: a cheap first bound
        raise error(f"larger than {limits.max_bytes:,} bytes (the limit)", path=path)
    loader = _StrictLoader(text, limits)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _LimitExceeded as exc:
        mark = exc.problem_mark
        raise error(str(exc.problem), path=path, line=mark.line + 1 if mark else None) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(
            f"invalid YAML: {problem}", path=path, line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", path=path) from exc
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, LineMap(lines)


def read_yaml_file(
    path: str | Path,
    *,
    limits: YamlLimits | None = None,
    error: type[InputError] = WorkloadFileError,
) -> tuple[Any, LineMap]:
    """Read and parse a UTF-8 YAML file, never reading more than ``limits.max_bytes`` + 1.

    Raises:
        InputError: (``error``) missing, unreadable, too large, not UTF-8 or not valid YAML.
    """
    limits = limits or YamlLimits()
    path = Path(path)
    try:
        with path.open("rb") as handle:  # a FIFO or /dev/zero is cut off, not read to the end
            raw = handle.read(limits.max_bytes + 1)
    except FileNotFoundError as exc:
        raise error("file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise error("is a directory, not a file", path=path) from exc
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=path) from exc
    if len(raw) > limits.max_bytes:
        raise error(f"larger than {limits.max_bytes:,} bytes (the limit)", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", path=path, line=line) from exc
    return load_yaml(text, path, limits=limits, error=error)
