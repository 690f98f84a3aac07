"""The report's charts (:mod:`tasks.report.charts`): plain rows in, the same PNG bytes out."""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from typing import Any

from tasks.report.charts import history_chart_png, overview_chart_png
from tasks.report.records import DecisionRecord
from tasks.report.rows import Row, decision_rows

VERDICTS = ("keep", "watch", "retire", "inconclusive")


def _record(quarter: str | None, i: int, case: str = "cost_distillation") -> DecisionRecord:
    quality = 0.8 + 0.01 * (i % 5)
    metrics: dict[str, Any] = {
        "n_items": 400,
        "fine_tune": {
            "name": "ft",
            "quality": {"value": quality, "low": quality - 0.03, "high": quality + 0.02},
            "cost_per_useful_task_usd": 4e-6,
        },
        "buy": {
            "name": "b",
            "route": "openai/b",
            "quality": {"value": 0.85, "low": 0.82, "high": 0.88},
            "cost_per_useful_task_usd": 5e-5 * (1 + i),
        },
        "ratio": {"value": quality / 0.85, "low": quality / 0.85 - 0.04, "high": 1.0},
        "difference": {"value": quality - 0.85, "low": -0.1, "high": 0.1},
        "money": {"net_monthly_savings_usd": 100.0 * i - 300.0},
    }
    return DecisionRecord(
        workload=f"w{i % 3}",
        case=case,
        quarter=quarter,
        verdict=VERDICTS[i % 4] if quarter else None,
        metrics=metrics if quarter else {},
        trend={"threshold": 0.95, "metric": "quality ratio"},
        adopted_quarter="2024Q1",
    )


def _history(n: int) -> list[Row]:
    quarters = [f"{2020 + q // 4}Q{q % 4 + 1}" for q in range(n)]
    return [
        {**r, "workload": "w"} for r in decision_rows(_record(q, i) for i, q in enumerate(quarters))
    ]


def _text_chunks(png: bytes) -> dict[str, bytes]:
    """The PNG's tEXt/iTXt/zTXt/tIME chunks (key -> value)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    found: dict[str, bytes] = {}
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8].decode("ascii")
        data = png[at + 8 : at + 8 + length]
        if kind in ("tEXt", "iTXt", "zTXt"):
            key, _, value = data.partition(b"\0")
            found[key.decode("latin-1")] = value
        elif kind == "tIME":
            found["tIME"] = data
        at += 12 + length
    return found


def test_history_chart_keeps_decided_quarters_oldest_first() -> None:
    history = _history(10)
    shuffled = history[:]
    random.Random(3).shuffle(shuffled)
    undecided = {**history[0], "quarter": None, "verdict": None}
    png = history_chart_png(history, title="w: by quarter")
    assert history_chart_png([undecided, *shuffled], title="w: by quarter") == png
    assert history_chart_png(history, title="w: by quarter") == png  # no date, no randomness
    assert png != history_chart_png(history[:-1], title="w: by quarter")
    assert struct.unpack(">II", png[16:24]) == (800, 800)


def test_history_chart_metadata_names_only_the_software() -> None:
    chunks = _text_chunks(history_chart_png(_history(3), title="t"))
    assert set(chunks) == {"Software"}, chunks
    assert chunks["Software"].startswith(b"Matplotlib version")


def test_history_chart_draws_missing_values_empty_histories_and_both_cases() -> None:
    gaps = _history(6)
    for column in ("advantage", "advantage_low", "buy_quality_high", "advantage_threshold"):
        gaps[2][column] = None
    gaps[4]["fine_tune_cost_per_useful_task_usd"] = None
    expertise = [{**r, "case": "domain_expertise"} for r in gaps]
    pngs = {
        history_chart_png(rows, title="t")
        for rows in (gaps, expertise, [], [{**gaps[0], "quarter": None}])
    }
    assert len(pngs) == 3  # no decided quarter draws as an empty history
    assert all(p.startswith(b"\x89PNG") for p in pngs)


def test_overview_chart_skips_undecided_rows_and_keeps_at_most_thirty() -> None:
    rows = decision_rows(_record(f"2026Q{1 + i % 4}", i) for i in range(40))
    decided = rows[:30]
    png = overview_chart_png(decided, title="t")
    undecided = {**rows[0], "verdict": None}
    assert overview_chart_png([undecided, *rows], title="t") == png
    assert overview_chart_png(rows[:29], title="t") != png


def test_the_history_chart_does_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from tests.report.test_charts import _history\n"
        "from tasks.report.charts import history_chart_png\n"
        "assert history_chart_png(_history(4), title='t').startswith(b'\\x89PNG')\n"
        "bad = [m for m in ('pandas', 'matplotlib.pyplot') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_charts_leave_the_garbage_collector_as_they_found_it() -> None:
    import gc

    assert gc.isenabled()
    history_chart_png(_history(2), title="t")
    assert gc.isenabled()
    gc.disable()
    try:
        overview_chart_png(_history(2), title="t")
        assert not gc.isenabled()
    finally:
        gc.enable()
