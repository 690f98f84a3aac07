"""Reading eval-set files a record at a time, under :class:`EvalSetLimits`: JSONL, CSV and
Parquet (see :mod:`registry.evalset_files` for what each format holds)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from registry.errors import EvalSetError
from registry.evalset_items import MAX_JSON_DEPTH, REQUIRED, ItemProblem

Format = Literal["jsonl", "csv", "parquet"]


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
        raise ItemProblem(name, f"invalid JSON in cell: {exc}") from exc
    if object_only and not isinstance(value, dict):
        raise ItemProblem(name, "must be a JSON object")
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
            except ItemProblem as exc:
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
            except ItemProblem as exc:
                raise EvalSetError(
                    exc.message, path=path, line=row_index, field=exc.field, location_label="row"
                ) from exc
        elif isinstance(metadata, dict):
            record["metadata"] = {k: v for k, v in metadata.items() if v is not None}
        yield row_index, record


def records(
    path: Path, fmt: Format, limits: EvalSetLimits, stack: ExitStack
) -> Iterator[tuple[int, Mapping[str, Any]]]:
    if fmt == "parquet":
        return _read_parquet(path, limits)
    try:
        handle = stack.enter_context(path.open("rb"))
    except OSError as exc:
        raise EvalSetError(f"cannot read: {exc.strerror}", path=path) from exc
    return _read_jsonl(path, handle, limits) if fmt == "jsonl" else _read_csv(path, handle, limits)
