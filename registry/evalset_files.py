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
reordering makes a new version. Storing versions is :mod:`registry.evalsets`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from registry.errors import EvalSetError

Format = Literal["jsonl", "csv", "parquet"]
FIELDS = ("id", "input", "target", "metadata")
REQUIRED = ("id", "input", "target")
ROLES = frozenset({"system", "user", "assistant", "developer", "tool"})
MAX_KEY_LENGTH = 500
MAX_PATH_LENGTH = 1000
"""The registry keeps the source path of a version in 1,000 characters."""
MAX_JSON_DEPTH = 64
"""Nesting of a target, a metadata value or a JSON cell."""
"""The registry keeps the source path of a version in 1,000 characters."""
_SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True, slots=True)
class EvalSetLimits:
    """What one eval-set file may hold (settings ``RELITIGATE_EVALSET_MAX_ROWS`` and
    ``RELITIGATE_EVALSET_MAX_LINE_BYTES``)."""

    max_rows: int = 100_000
    """Items in the file."""
    max_line_bytes: int = 1 << 20
    """Bytes in one line of a JSONL or CSV file, line break excluded."""

    def __post_init__(self) -> None:
        for name in ("max_rows", "max_line_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"EvalSetLimits.{name} must be an integer >= 1, got {value!r}")


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One validated item, with where it came from."""

    key: str
    input: str | list[dict[str, Any]]
    target: Any
    metadata: dict[str, Any] = field(default_factory=dict)
    location: int = 0
    """Line (JSONL, CSV) or 0-based row (Parquet) of the item."""

    def canonical(self) -> dict[str, Any]:
        """The item as hashed and stored."""
        return {
            "id": self.key,
            "input": self.input,
            "target": self.target,
            "metadata": self.metadata,
        }


@dataclass(frozen=True, slots=True)
class ParsedEvalSet:
    """A validated eval-set file."""

    path: str
    format: Format
    items: tuple[ParsedItem, ...]
    content_hash: str


def content_hash(items: Sequence[ParsedItem]) -> str:
    """sha256 of the canonical JSON of ``items`` (order-preserving)."""
    digest = hashlib.sha256()
    digest.update(b"relitigate-evalset-v1\n")
    for item in items:
        line = json.dumps(
            item.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


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


# -- validation of one record -------------------------------------------------------------


class _ItemProblem(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _check_messages(value: list[Any]) -> list[dict[str, Any]]:
    if not value:
        raise _ItemProblem("input", "empty chat message list")
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise _ItemProblem(f"input[{i}]", "a chat message must be an object {role, content}")
        unknown = set(message) - {"role", "content", "name"}
        if unknown:
            raise _ItemProblem(f"input[{i}]", f"unknown message key(s) {sorted(unknown)}")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise _ItemProblem(f"input[{i}].role", f"bad role {role!r} (one of {sorted(ROLES)})")
        if not isinstance(content, str):
            raise _ItemProblem(f"input[{i}].content", "missing or not a string")
        messages.append(dict(message))
    return messages


def _check_json_value(value: Any, name: str, depth: int = 0) -> Any:
    if depth >= MAX_JSON_DEPTH:
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise _ItemProblem(shown, f"nested deeper than {MAX_JSON_DEPTH} levels (the limit)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _ItemProblem(name, f"{value!r} is not a JSON number")
    if isinstance(value, Mapping):
        return {str(k): _check_json_value(v, f"{name}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_check_json_value(v, f"{name}[{i}]", depth + 1) for i, v in enumerate(value)]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise _ItemProblem(name, f"unsupported value of type {type(value).__name__}")


def _validate(record: Mapping[str, Any], location: int) -> ParsedItem:
    unknown = [k for k in record if k not in FIELDS]
    if unknown:
        raise _ItemProblem(
            str(unknown[0]),
            "unknown field (allowed: id, input, target, metadata; put extra data under metadata)",
        )
    for name in REQUIRED:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _ItemProblem(name, "missing")
    raw_key = record["id"]
    if isinstance(raw_key, bool) or not isinstance(raw_key, str | int):
        raise _ItemProblem("id", f"must be a string or an integer, got {type(raw_key).__name__}")
    key = str(raw_key).strip()
    if len(key) > MAX_KEY_LENGTH:
        raise _ItemProblem("id", f"longer than {MAX_KEY_LENGTH} characters")
    raw_input = record["input"]
    item_input: str | list[dict[str, Any]]
    if isinstance(raw_input, str):
        item_input = raw_input
    elif isinstance(raw_input, list | tuple):
        item_input = _check_messages(list(raw_input))
    else:
        raise _ItemProblem("input", "must be text or a list of chat messages")
    target = _check_json_value(record["target"], "target")
    metadata = record.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise _ItemProblem("metadata", f"must be an object, got {type(metadata).__name__}")
    return ParsedItem(
        key=key,
        input=item_input,
        target=target,
        metadata=_check_json_value(dict(metadata), "metadata"),
        location=location,
    )


def _strict_json(text: str) -> Any:
    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    try:
        return json.loads(text, parse_constant=reject)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels (the limit)") from None


# -- readers: yield (location, record) ----------------------------------------------------


def _lines(path: Path, handle: IO[bytes], limits: EvalSetLimits) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded, never reading one past the line limit."""
    number = 0
    while True:
        raw = handle.readline(limits.max_line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw.rstrip(b"\r\n")) > limits.max_line_bytes:
            raise EvalSetError(
                f"line longer than {limits.max_line_bytes:,} bytes (the limit; raise "
                "RELITIGATE_EVALSET_MAX_LINE_BYTES if the file is right)",
                path=path,
                line=number,
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EvalSetError(
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                path=path,
                line=number,
            ) from exc
        yield number, text.removeprefix("\ufeff") if number == 1 else text


def _read_jsonl(
    path: Path, handle: IO[bytes], limits: EvalSetLimits
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, line in _lines(path, handle, limits):
        if not line.strip():
            continue
        try:
            record = _strict_json(line)
        except ValueError as exc:
            raise EvalSetError(f"invalid JSON: {exc}", path=path, line=number) from exc
        if not isinstance(record, dict):
            raise EvalSetError(
                f"expected a JSON object, got {type(record).__name__}", path=path, line=number
            )
        yield number, record


def _csv_cell_json(cell: str, name: str, *, object_only: bool) -> Any:
    try:
        value = _strict_json(cell)
    except ValueError as exc:
        raise _ItemProblem(name, f"invalid JSON in cell: {exc}") from exc
    if object_only and not isinstance(value, dict):
        raise _ItemProblem(name, "must be a JSON object")
    return value


def _csv_record(header: list[str], row: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(zip(header, row, strict=True))
    raw_input = record.get("input")
    if isinstance(raw_input, str) and raw_input.lstrip().startswith("[{"):
        record["input"] = _csv_cell_json(raw_input, "input", object_only=False)
    metadata = record.get("metadata")
    if isinstance(metadata, str):
        record["metadata"] = (
            _csv_cell_json(metadata, "metadata", object_only=True) if metadata.strip() else None
        )
    for name in ("id", "input"):
        if record.get(name) == "":
            record[name] = None
    return record


def _read_csv(
    path: Path, handle: IO[bytes], limits: EvalSetLimits
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.reader((text for _, text in _lines(path, handle, limits)), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise EvalSetError("empty file: expected a header row id,input,target", path=path)
        header = [h.strip() for h in header]
        missing = [f for f in REQUIRED if f not in header]
        if missing:
            raise EvalSetError(
                f"header has no column {missing[0]!r} (need id, input, target)",
                path=path,
                line=1,
                field=missing[0],
            )
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise EvalSetError("duplicate column in header", path=path, line=1, field=dupes[0])
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise EvalSetError(
                    f"expected {len(header)} fields, got {len(row)}", path=path, line=line
                )
            try:
                yield line, _csv_record(header, row)
            except _ItemProblem as exc:
                raise EvalSetError(exc.message, path=path, line=line, field=exc.field) from exc
    except csv.Error as exc:
        raise EvalSetError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from exc


def _plain(value: Any) -> Any:
    """numpy / pyarrow values as plain Python."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _plain(v) for k, v in value}  # a parquet MAP column
        return [_plain(v) for v in value]
    return value


def _read_parquet(path: Path, limits: EvalSetLimits) -> Iterator[tuple[int, Mapping[str, Any]]]:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        rows = pq.ParquetFile(path).metadata.num_rows
        if rows > limits.max_rows:
            raise EvalSetError(
                f"{rows:,} rows, more than {limits.max_rows:,} items (the limit; raise "
                "RELITIGATE_EVALSET_MAX_ROWS if the file is right)",
                path=path,
            )
        frame = pd.read_parquet(path)
    except EvalSetError:
        raise
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise EvalSetError(f"cannot read Parquet: {exc}", path=path) from exc
    columns = [str(c) for c in frame.columns]
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        raise EvalSetError(
            f"no column {missing[0]!r} (need id, input, target)", path=path, field=missing[0]
        )
    for row_index, row in enumerate(frame.itertuples(index=False, name=None)):
        record: dict[str, Any] = {}
        for name, value in zip(columns, row, strict=True):
            plain = _plain(value)
            if isinstance(plain, float) and math.isnan(plain):
                plain = None
            record[name] = plain
        metadata = record.get("metadata")
        if isinstance(metadata, str):
            try:
                record["metadata"] = _csv_cell_json(metadata, "metadata", object_only=True)
            except _ItemProblem as exc:
                raise EvalSetError(
                    exc.message, path=path, line=row_index, field=exc.field, location_label="row"
                ) from exc
        elif isinstance(metadata, dict):
            record["metadata"] = {k: v for k, v in metadata.items() if v is not None}
        yield row_index, record


def _records(
    path: Path, fmt: Format, limits: EvalSetLimits, stack: ExitStack
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if fmt == "parquet":
        return _read_parquet(path, limits)
    try:
        handle = stack.enter_context(path.open("rb"))
    except OSError as exc:
        raise EvalSetError(f"cannot read: {exc.strerror}", path=path) from exc
    return _read_jsonl(path, handle, limits) if fmt == "jsonl" else _read_csv(path, handle, limits)


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
    label = "row" if fmt == "parquet" else "line"
    if len(str(path)) > MAX_PATH_LENGTH:
        raise EvalSetError(
            f"path longer than {MAX_PATH_LENGTH} characters: move the file closer to the root",
            path=path,
        )
    if not path.is_file():
        raise EvalSetError("file not found", path=path)
    items: list[ParsedItem] = []
    seen: dict[str, int] = {}
    with ExitStack() as stack:
        for location, record in _records(path, fmt, limits, stack):
            if len(items) == limits.max_rows:
                raise EvalSetError(
                    f"more than {limits.max_rows:,} items (the limit; raise "
                    "RELITIGATE_EVALSET_MAX_ROWS if the file is right)",
                    path=path,
                    line=location,
                    location_label=label,
                )
            try:
                item = _validate(record, location)
            except _ItemProblem as exc:
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
    if not items:
        raise EvalSetError("empty eval set: no items", path=path)
    return ParsedEvalSet(
        path=str(path), format=fmt, items=tuple(items), content_hash=content_hash(items)
    )
