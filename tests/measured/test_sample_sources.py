"""Production samples read from each kind of source: a JSONL file, a CSV file, and a query
against PostgreSQL; what cannot be read says why."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tasks.measured.sample import input_text, read_sample
from tasks.measured.secrets import SourceUnreadableError
from vocabulary.measured import ProductionSample

PG_URL = os.environ.get("RELITIGATE_TEST_POSTGRES_URL")


def _sample(**kw: object) -> ProductionSample:
    return ProductionSample.model_validate(kw)


def test_jsonl_and_csv_samples_cap_at_max_items(tmp_path: Path) -> None:
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text("".join(json.dumps({"text": f"ticket {i}"}) + "\n" for i in range(30)))
    read = read_sample(_sample(path=str(jsonl), input_field="text", max_items=12))
    assert read.inputs == tuple(f"ticket {i}" for i in range(12))
    assert read.source == f"file {jsonl}"
    csv = tmp_path / "s.csv"
    csv.write_text("id,input\n" + "".join(f'{i},"ticket {i}, urgent"\n' for i in range(30)))
    assert read_sample(_sample(path=str(csv), max_items=10)).inputs[-1] == "ticket 9, urgent"


def test_chat_inputs_compare_as_their_last_user_message() -> None:
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "clause 4"}]
    assert input_text(chat) == "clause 4" and input_text("plain") == "plain"


def test_unreadable_samples_say_why(tmp_path: Path) -> None:
    with pytest.raises(SourceUnreadableError, match="not found"):
        read_sample(_sample(path=str(tmp_path / "none.jsonl")))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"other": 1}) + "\n")
    with pytest.raises(SourceUnreadableError, match="line 1: no field 'input'"):
        read_sample(_sample(path=str(bad)))


def test_sql_sample_from_postgresql() -> None:
    if not PG_URL:
        if os.environ.get("RELITIGATE_TEST_REQUIRE_POSTGRES"):
            pytest.fail("RELITIGATE_TEST_POSTGRES_URL is required")
        pytest.skip("no PostgreSQL")
    table = f"requests_{uuid.uuid4().hex[:8]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id int, prompt text)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (:i, :p)"),
                     [{"i": i, "p": f"ticket {i}"} for i in range(40)])  # fmt: skip
    try:
        query = f"SELECT prompt FROM {table} ORDER BY id DESC"
        sample = _sample(sql={"url_env": "SAMPLE_DB", "query": query}, max_items=25)
        read = read_sample(sample, environ={"SAMPLE_DB": PG_URL})
        assert len(read.inputs) == 25 and read.inputs[0] == "ticket 39"
        assert read.source == "sql (env SAMPLE_DB)"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))
        engine.dispose()
