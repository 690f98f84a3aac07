"""A production sample: recent inputs read from a file or a query, and the fine-tune's labels
on them (the sample is run through the evaluation engine, unscored: cheap, and the same
code path as a benchmark).

What the decision core compares (``tasks/decision/drift.py``) is plain text: an eval item's
input as text, or the content of its last user message when it is a chat.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.credentials import BlockLoader, credentials_for
from tasks.evaluation.runner import run_candidate
from tasks.evaluation.types import CandidateSpec, EvalItem, ItemResult, Score
from tasks.measured.secrets import SourceUnreadableError, source_url
from vocabulary.measured import ProductionSample


def input_text(value: Any) -> str:
    """An item's input as text: the string, or the content of the last user message."""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        for message in reversed(value):
            if isinstance(message, Mapping) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else json.dumps(content)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class SampleInputs:
    """The inputs read, and where from (no secrets)."""

    source: str
    inputs: tuple[Any, ...]


def read_sample(
    sample: ProductionSample,
    *,
    environ: Mapping[str, str] | None = None,
    load_block: BlockLoader | None = None,
) -> SampleInputs:
    """At most ``sample.max_items`` inputs from the file or query.

    Raises:
        SourceUnreadableError: missing file or field, bad line, unset URL, no rows.
    """
    try:
        if sample.sql is not None:
            return _from_sql(sample, environ=environ, load_block=load_block)
        return _from_file(sample)
    except SourceUnreadableError:
        raise
    except Exception as exc:
        raise SourceUnreadableError(f"{type(exc).__name__}: {exc}") from exc


def _from_file(sample: ProductionSample) -> SampleInputs:
    path = Path(sample.path or "")
    if not path.is_file():
        raise SourceUnreadableError(f"production sample {str(path)!r} not found")
    field = sample.input_field
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, usecols=[field], nrows=sample.max_items, dtype=str)
        inputs: list[Any] = [x for x in frame[field].tolist() if isinstance(x, str)]
    else:
        inputs = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if len(inputs) >= sample.max_items:
                    break
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict) or field not in row:
                    raise SourceUnreadableError(f"{path} line {number}: no field {field!r}")
                inputs.append(row[field])
    if not inputs:
        raise SourceUnreadableError(f"production sample {str(path)!r} holds no inputs")
    return SampleInputs(f"file {path}", tuple(inputs))


def _from_sql(
    sample: ProductionSample, *, environ: Mapping[str, str] | None, load_block: BlockLoader | None
) -> SampleInputs:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    assert sample.sql is not None
    engine = create_engine(
        source_url(sample.sql, environ=environ, load_block=load_block), poolclass=NullPool
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(sample.sql.query)).fetchmany(sample.max_items)
    finally:
        engine.dispose()
    inputs = [r[0] for r in rows if r[0] is not None]
    if not inputs:
        raise SourceUnreadableError("the sample query returned no rows")
    return SampleInputs(sample.sql.describe(), tuple(inputs))


class _Unscored:
    """The sample has no targets: every answer is recorded, none is scored."""

    async def __call__(self, output: str, item: EvalItem) -> Score:
        return Score(passed=False, value=0.0)


class _Collect:
    def __init__(self) -> None:
        self.rows: list[ItemResult] = []

    async def write(self, results: Sequence[ItemResult]) -> None:
        self.rows.extend(results)


@dataclass(frozen=True, slots=True)
class SampleLabels:
    """The fine-tune's answers on the sample, in sample order (None where the call errored)."""

    outputs: tuple[str | None, ...]
    cost_usd: float


def label_sample(spec: CandidateSpec, inputs: Sequence[Any]) -> SampleLabels:
    """Run the fine-tune on the sample through the engine (blocking; call from a thread).

    Raises:
        EvaluationError: bad configuration or a permanent provider error.
    """
    items = [EvalItem(key=f"sample-{i}", input=x, target="") for i, x in enumerate(inputs)]
    sink = _Collect()
    env = credentials_for([spec.api_key_env]) if spec.api_key_env else None
    asyncio.run(run_candidate(spec, items, scorer=_Unscored(), sink=sink, env=env))
    by_key = {r.item_key: r for r in sink.rows}
    outputs = tuple(
        None if (r := by_key.get(item.key)) is None or r.error else r.output for item in items
    )
    return SampleLabels(outputs, float(sum(r.cost_usd for r in sink.rows)))
