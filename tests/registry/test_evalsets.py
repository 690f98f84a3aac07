"""Eval-set files: formats, canonical hashing, versions, and located errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from registry.errors import EvalSetError
from registry.evalset_files import EvalSetLimits, ParsedItem, content_hash, read_eval_set
from registry.evalsets import import_eval_set, list_versions, version_items
from registry.models import EvalSet

ROWS: list[dict[str, Any]] = [
    {"id": "a", "input": "What is 2+2?", "target": "4", "metadata": {"topic": "math"}},
    {
        "id": "b",
        "input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "target": "Hello",
        "metadata": {},
    },
    {"id": "c", "input": 'Line one\nline two, "quoted"', "target": "x"},
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    frame = pd.DataFrame(
        {
            "id": [r["id"] for r in rows],
            "input": [
                r["input"] if isinstance(r["input"], str) else json.dumps(r["input"]) for r in rows
            ],
            "target": [r["target"] for r in rows],
            "metadata": [json.dumps(r["metadata"]) if r.get("metadata") else "" for r in rows],
        }
    )
    frame.to_csv(path, index=False)
    return path


def _parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    frame = pd.DataFrame(
        {
            "id": [r["id"] for r in rows],
            "input": [
                r["input"] if isinstance(r["input"], str) else json.dumps(r["input"]) for r in rows
            ],
            "target": [r["target"] for r in rows],
            "metadata": [json.dumps(r.get("metadata") or {}) for r in rows],
        }
    )
    frame.to_parquet(path, index=False)
    return path


def test_same_content_same_hash_across_formats(tmp_path: Path) -> None:
    jsonl = read_eval_set(_jsonl(tmp_path / "s.jsonl", ROWS))
    csv = read_eval_set(_csv(tmp_path / "s.csv", ROWS))
    assert [i.canonical() for i in jsonl.items] == [i.canonical() for i in csv.items]
    assert jsonl.content_hash == csv.content_hash
    assert jsonl.items[1].input == ROWS[1]["input"]


def test_parquet_with_native_chat_messages(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": [1, 2],
            "input": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
            "target": ["x", "y"],
        }
    )
    path = tmp_path / "s.parquet"
    frame.to_parquet(path, index=False)
    parsed = read_eval_set(path)
    assert [i.key for i in parsed.items] == ["1", "2"]
    assert parsed.items[0].input == [{"role": "user", "content": "a"}]


def test_parquet_json_columns(tmp_path: Path) -> None:
    parsed = read_eval_set(_parquet(tmp_path / "s.parquet", ROWS[:1]))
    assert parsed.items[0].metadata == {"topic": "math"}


def test_csv_ids_stay_text(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,input,target\n007,hello,world\n", encoding="utf-8")
    assert read_eval_set(path).items[0].key == "007"


def test_csv_error_names_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text('id,input,target\na,"multi\nline\ninput",t\na,again,t\n', encoding="utf-8")
    with pytest.raises(EvalSetError) as caught:
        read_eval_set(path)
    assert caught.value.line == 5
    assert caught.value.field == "id"
    assert "first at line 2" in str(caught.value)


WRITERS = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_row_cap(fmt: str, tmp_path: Path) -> None:
    path = WRITERS[fmt](tmp_path / f"s.{fmt}", ROWS)
    assert len(read_eval_set(path, limits=EvalSetLimits(max_rows=len(ROWS))).items) == len(ROWS)
    with pytest.raises(
        EvalSetError, match=f"more than {len(ROWS) - 1:,} items \\(the limit"
    ) as caught:
        read_eval_set(path, limits=EvalSetLimits(max_rows=len(ROWS) - 1))
    if fmt != "parquet":  # Parquet is refused from its footer, before any row is read
        last = read_eval_set(path).items[-1].location
        assert caught.value.line == last, str(caught.value)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_line_cap_names_the_line(fmt: str, tmp_path: Path) -> None:
    rows = [*ROWS[:2], {"id": "long", "input": "x" * 300, "target": "y"}, ROWS[2]]
    path = WRITERS[fmt](tmp_path / f"s.{fmt}", rows)
    lines = path.read_bytes().split(b"\n")
    longest = max(len(line.rstrip(b"\r")) for line in lines)
    number = next(i for i, line in enumerate(lines, 1) if len(line.rstrip(b"\r")) == longest)
    assert len(read_eval_set(path, limits=EvalSetLimits(max_line_bytes=longest)).items) == 4
    with pytest.raises(EvalSetError) as caught:
        read_eval_set(path, limits=EvalSetLimits(max_line_bytes=longest - 1))
    assert caught.value.line == number
    assert f"line longer than {longest - 1:,} bytes (the limit" in str(caught.value)


@pytest.mark.parametrize(("depth", "field"), [(64, None), (65, "target"), (5000, None)])
def test_deep_json_is_refused_with_its_line(tmp_path: Path, depth: int, field: str | None) -> None:
    target = "[" * depth + "]" * depth
    path = tmp_path / "s.jsonl"
    path.write_text(f'{{"id": 1, "input": "a", "target": "t"}}\n{{"id": 2, "input": "a", '
                    f'"target": {target}}}\n', encoding="utf-8")  # fmt: skip
    if depth == 64:
        assert len(read_eval_set(path).items) == 2
        return
    with pytest.raises(EvalSetError, match="nested deeper than 64 levels") as caught:
        read_eval_set(path)
    assert caught.value.line == 2
    assert (caught.value.field or "").startswith(field or "") and len(str(caught.value)) < 300


def test_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _jsonl(path, ROWS[:1]).read_bytes())
    assert read_eval_set(path).items[0].key == "a"


@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_limits_must_be_positive_integers(value: Any) -> None:
    with pytest.raises(ValueError, match="max_rows must be an integer >= 1"):
        EvalSetLimits(max_rows=value)


def _items(pairs: list[tuple[str, str]]) -> list[ParsedItem]:
    return [ParsedItem(key=k, input=v, target=v) for k, v in pairs]


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=5), st.text(max_size=20)),
        min_size=2,
        max_size=8,
        unique_by=lambda p: p[0],
    )
)
def test_hash_is_deterministic_and_order_sensitive(pairs: list[tuple[str, str]]) -> None:
    items = _items(pairs)
    assert content_hash(items) == content_hash(_items(list(pairs)))
    if items[0].canonical() != items[-1].canonical():
        assert content_hash(items) != content_hash(items[::-1])


def test_versions(session_factory: Any, tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "s.jsonl", ROWS)
    with session_factory.begin() as session:
        first = import_eval_set(session, name="qa", path=path)
        again = import_eval_set(session, name="qa", path=path)
    assert first.created and not again.created
    assert (first.version, again.version_id) == (1, first.version_id)
    changed = [*ROWS[:2], {**ROWS[2], "target": "y"}]
    with session_factory.begin() as session:
        second = import_eval_set(session, name="qa", path=_jsonl(path, changed))
        back = import_eval_set(session, name="qa", path=_jsonl(path, ROWS))
    assert second.created and second.version == 2 and second.content_hash != first.content_hash
    assert not back.created and back.version == 1
    with session_factory() as session:
        eval_set = session.scalars(select(EvalSet)).one()
        assert [v.version for v in list_versions(session, eval_set.id)] == [1, 2]
        items = version_items(session, second.version_id)
        assert [i.item_key for i in items] == ["a", "b", "c"]
        assert items[2].target == "y"
        assert items[0].item_metadata == {"topic": "math"}
        assert items[1].input == ROWS[1]["input"]
