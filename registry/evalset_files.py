"""Eval-set files: read and validate JSONL, CSV or Parquet, and hash their content.

Each item has ``id`` (string or integer, unique), ``input`` (text, or a non-empty list of
chat messages ``{"role", "content"}``), ``target`` (any JSON value except null) and optional
``metadata`` (a JSON object). No other fields: put extra columns into ``metadata``.

- JSONL: one JSON object per line; blank lines are skipped. Errors name the line.
- CSV: a header row with ``id,input,target[,metadata]``. Read with the stdlib ``csv`` module
  (pandas would turn ids like ``007`` into numbers). ``input`` cells holding a JSON list of
  objects are chat messages; ``metadata`` is a JSON object or empty. Errors name the physical
  line where the record starts.
- Parquet: the same columns (read with pandas/pyarrow). Errors name the 0-based row.

Files are read a line at a time, under :class:`EvalSetLimits`: a line longer than
``max_line_bytes`` (JSONL, CSV) or more than ``max_rows`` items (every format; Parquet's
row count is read from its footer first) is refused with the file, the line and the limit.

The content hash is sha256 over a canonical JSON rendering of the items *in file order*, so
reordering makes a new version. One item's rules and the hash are
:mod:`registry.evalset_items`, the readers of each format :mod:`registry.evalset_readers`;
storing versions is :mod:`registry.evalsets`.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from registry.errors import EvalSetError
from registry.evalset_items import ItemProblem, validate_record
from registry.evalset_items import ParsedItem as ParsedItem
from registry.evalset_items import content_hash as content_hash
from registry.evalset_readers import EvalSetLimits as EvalSetLimits
from registry.evalset_readers import Format as Format
from registry.evalset_readers import records

MAX_PATH_LENGTH = 1000
"""The registry keeps the source path of a version in 1,000 characters."""
_SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True, slots=True)
class ParsedEvalSet:
    """A validated eval-set file."""

    path: str
    format: Format
    items: tuple[ParsedItem, ...]
    content_hash: str


def detect_format(path: Path, declared: str | None = None) -> Format:
    """The file format: the declared one, else from the suffix."""
    if declared is not None:
        if declared not in ("jsonl", "csv", "parquet"):
            raise EvalSetError(f"unknown format {declared!r} (jsonl, csv or parquet)", path=path)
        return declared  # type: ignore[return-value]
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise EvalSetError(
            f"cannot tell the format from suffix {path.suffix!r}: use .jsonl, .csv or "
            ".parquet, or give the format",
            path=path,
        )
    return fmt


def read_eval_set(
    path: str | Path, *, format: str | None = None, limits: EvalSetLimits | None = None
) -> ParsedEvalSet:
    """Read and validate an eval-set file.

    Args:
        path: a ``.jsonl``, ``.csv`` or ``.parquet`` file.
        format: override the format the suffix implies.
        limits: caps on line size and item count (default :class:`EvalSetLimits`).

    Returns:
        The validated items and their content hash.

    Raises:
        EvalSetError: the file is missing, unreadable, malformed or over a limit; the message
            names the file, the line (Parquet: the row) and the field.
    """
    path = Path(path)
    limits = limits or EvalSetLimits()
    fmt = detect_format(path, format)
    if len(str(path)) > MAX_PATH_LENGTH:
        raise EvalSetError(
            f"path longer than {MAX_PATH_LENGTH} characters: move the file closer to the root",
            path=path,
        )
    if not path.is_file():
        raise EvalSetError("file not found", path=path)
    items = _validated_items(path, fmt, limits)
    if not items:
        raise EvalSetError("empty eval set: no items", path=path)
    return ParsedEvalSet(
        path=str(path), format=fmt, items=tuple(items), content_hash=content_hash(items)
    )


def _validated_items(path: Path, fmt: Format, limits: EvalSetLimits) -> list[ParsedItem]:
    """Every record validated, in file order, under the row cap; ids unique."""
    label = "row" if fmt == "parquet" else "line"
    items: list[ParsedItem] = []
    seen: dict[str, int] = {}
    with ExitStack() as stack:
        for location, record in records(path, fmt, limits, stack):
            if len(items) == limits.max_rows:
                raise EvalSetError(
                    f"more than {limits.max_rows:,} items (the limit; raise "
                    "RELITIGATE_EVALSET_MAX_ROWS if the file is right)",
                    path=path,
                    line=location,
                    location_label=label,
                )
            try:
                item = validate_record(record, location)
            except ItemProblem as exc:
                raise EvalSetError(
                    exc.message, path=path, line=location, field=exc.field, location_label=label
                ) from exc
            if item.key in seen:
                raise EvalSetError(
                    f"duplicate id {item.key!r} (first at {label} {seen[item.key]})",
                    path=path,
                    line=location,
                    field="id",
                    location_label=label,
                )
            seen[item.key] = location
            items.append(item)
    return items
