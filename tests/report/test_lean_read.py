"""The fast path of ``report`` and ``history`` (:mod:`relitigate.cli.lean_read`) prints exactly
what the typer path prints, on SQLite and PostgreSQL, and hands it everything else."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from relitigate.cli import lean_read, lean_registry
from tests.conftest import DIALECTS, make_database
from tests.report.seed import decide, seed_registry

NOW = "2026-12-01T00:00:00+00:00"
RUN = lean_read.run


def _odd_decisions(url: str) -> None:
    """Decisions with the unusual stored shapes the regular reader tolerates."""
    from registry.db import make_engine
    from registry.models import Decision, Notice, Workload

    now = datetime.now(UTC)
    engine = make_engine(url)
    shapes: list[dict[str, Any]] = [
        {"metrics": {}, "gates": {"not": "a list"}, "trend": None, "reproducibility": {}},
        {
            "metrics": {"fine_tune": "a string", "buy": {"name": 3, "quality": [1]},
                        "ratio": None, "sequential": {"items_total": 800, "share_called": 0.25,
                        "saved_usd": 12.5, "stopped_at_wave": 2}, "reasons": ["r", 4]},
            "gates": [{"status": "fail"}, {"name": "x", "status": "fail"}, {"name": "y"}],
            "trend": {"metric": "quality difference", "threshold": -0.02,
                      "quarters_to_erosion": 3.0, "life_stage": None},
            "reproducibility": {"recommended_action": None},
        },
        {"metrics": {"unrelated": True}, "gates": [], "trend": {}, "reproducibility": {"x": 1}},
    ]  # fmt: skip
    with engine.begin() as conn:
        for i, shape in enumerate(shapes):
            workload_id = conn.execute(
                insert(Workload).returning(Workload.id),
                {"name": f"odd-{i}", "case": "domain_expertise" if i else "cost_distillation",
                 "volume_per_day": None if i else 5, "adopted_quarter": "2025Q1",
                 "created_at": now, "updated_at": now},
            ).scalar_one()  # fmt: skip
            for quarter in ("2026Q3", "2026Q4"):
                decision_id = conn.execute(
                    insert(Decision).returning(Decision.id),
                    {"workload_id": workload_id, "quarter": quarter, "verdict": "watch",
                     "memo": "", "created_at": now, "updated_at": now, **shape},
                ).scalar_one()  # fmt: skip
                for kind, status in (("reminder", "sent"), ("watch", "failed")):
                    conn.execute(
                        insert(Notice),
                        {"dedupe_key": f"{decision_id}:{kind}", "decision_id": decision_id,
                         "workload_id": workload_id, "quarter": quarter, "kind": kind,
                         "status": status, "payload": {}, "created_at": now},
                    )  # fmt: skip
    engine.dispose()


@pytest.fixture(scope="module", params=DIALECTS)
def registry_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A registry with five workloads over four quarters, plus odd stored shapes."""
    from registry.db import make_engine, session_factory

    folder = tmp_path_factory.mktemp("lean")
    with make_database(request.param, folder, tmp_path_factory, migrated=True) as url:
        engine = make_engine(url)
        with session_factory(engine).begin() as session:
            seeded = seed_registry(session)
            decide(session, seeded["echo"], "2026Q2", "keep", notice="digest")
        engine.dispose()
        _odd_decisions(url)
        yield url


def _main(
    argv: list[str], *, lean: bool, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str, str, int | None]:
    """Exit code, stdout, stderr of the entry point, and what the fast path returned."""
    from relitigate.cli import app as cli

    served: list[int | None] = []

    def fast(args: Any, environ: Any) -> int | None:
        served.append(RUN(args, environ) if lean else None)
        return served[-1]

    monkeypatch.setattr(lean_read, "run", fast)
    monkeypatch.setattr("relitigate.cli.report_view.now_iso", lambda: NOW)
    monkeypatch.setattr(sys, "argv", ["relitigate", *argv])
    capsys.readouterr()
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    monkeypatch.undo()
    return code, out, err, served[0]


def _both(
    url: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[tuple[int, str, str], int | None]:
    """The fast path's outcome (asserted equal to the regular path's) and what it returned."""
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", url)
    monkeypatch.delenv("RELITIGATE_DEBUG", raising=False)
    code, out, err, _ = _main(argv, lean=False, monkeypatch=monkeypatch, capsys=capsys)
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", url)
    monkeypatch.delenv("RELITIGATE_DEBUG", raising=False)
    *fast, served = _main(argv, lean=True, monkeypatch=monkeypatch, capsys=capsys)
    assert (fast[0], fast[1], fast[2]) == (code, out, err)
    return (code, out, err), served


SERVED = [
    ["report"],
    ["report", "--format", "json"],
    ["report", "--json"],
    ["report", "-f", "md"],
    ["report", "--format=TABLE"],
    ["report", "--format", "csv", "--json"],
    ["--debug", "report", "--quarter", "2026Q3", "--json"],
    ["report", "--quarter=2026Q2", "--format", "md"],
    ["report", "--quarter", "2025Q1"],
    ["history", "bravo"],
    ["history", "--json", "bravo"],
    ["history", "odd-1", "--json"],
    ["history", "odd-0"],
    ["history", "echo", "--json"],
]


@pytest.mark.parametrize("argv", SERVED, ids=" ".join)
def test_served_forms_print_what_the_regular_path_prints(
    registry_url: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (code, out, err), served = _both(registry_url, argv, monkeypatch, capsys)
    assert (served, code, err) == (0, 0, "")
    assert out.strip()


class _BrokenPipe(io.StringIO):
    """A stdout whose reader has gone (``relitigate report | head``)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        return self.fd


def test_a_closed_stdout_ends_as_the_regular_path_ends(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    outcomes = []
    for lean in (False, True):
        with (tmp_path / f"out-{lean}").open("w") as sink:
            stdout = sys.stdout
            monkeypatch.setattr(sys, "stdout", _BrokenPipe(sink.fileno()))
            monkeypatch.setenv("RELITIGATE_DATABASE_URL", registry_url)
            code, _out, err, served = _main(["report"], lean=lean, monkeypatch=monkeypatch,
                                            capsys=capsys)  # fmt: skip
            sys.stdout = stdout
        outcomes.append((code, err))
        assert served == (1 if lean else None)
    assert outcomes[0] == outcomes[1] == (1, "")


def test_history_plot_writes_the_same_chart(
    registry_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    plot = tmp_path / "h.png"
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", registry_url)
    outcomes: list[Any] = []
    for lean in (False, True):
        argv = ["history", "bravo", "--plot", str(plot)]
        outcomes.append(_main(argv, lean=lean, monkeypatch=monkeypatch, capsys=capsys))
        outcomes.append(plot.read_bytes())
        plot.unlink()
        monkeypatch.setenv("RELITIGATE_DATABASE_URL", registry_url)
    regular, regular_png, fast, fast_png = outcomes
    assert fast[:3] == regular[:3] and fast[3] == 0
    assert fast[2] == f"wrote {plot}\n" and fast_png == regular_png
    assert regular_png.startswith(b"\x89PNG")


DECLINED = [
    ["report", "--format", "csv"],
    ["report", "--format", "pdf"],
    ["report", "--format", "pdf", "--json"],
    ["report", "--bogus"],
    ["report", "--json", "--json"],
    ["report", "--quarter", "2026Q5"],
    ["report", "extra"],
    ["report", "-fjson"],
    ["history"],
    ["history", "nope"],
    ["history", "bravo", "alpha"],
    ["history", "bravo", "--plot", "/"],
    ["history", "bravo", "--plot"],
    ["history", "bravo", "--plot", "/nonexistent-dir/\u00e9.png"],
    ["routing"],
    ["report", "--help"],
]


@pytest.mark.parametrize("argv", DECLINED, ids=" ".join)
def test_declined_forms_are_left_to_the_regular_path(
    registry_url: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    (code, _out, err), served = _both(registry_url, argv, monkeypatch, capsys)
    assert served is None
    assert code == 0 or err.startswith(("relitigate: error: ", "Usage: "))


@pytest.mark.parametrize("migrated", [False, True], ids=["empty", "older-schema"])
def test_an_unready_registry_is_left_to_the_regular_path(
    dialect: str, migrated: bool, tmp_path: Path, tmp_path_factory: Any,
    monkeypatch: pytest.MonkeyPatch, capsys: Any,
) -> None:  # fmt: skip
    with make_database(dialect, tmp_path, tmp_path_factory, migrated=migrated) as url:
        if migrated:
            from registry.db import make_engine

            engine = make_engine(url)
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
            engine.dispose()
        (code, _out, err), served = _both(url, ["report", "--json"], monkeypatch, capsys)
    assert served is None and code == 2
    assert "relitigate init" in err


def test_a_missing_sqlite_file_is_left_to_the_regular_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    (code, _out, err), served = _both(url, ["history", "x"], monkeypatch, capsys)
    assert served is None and code == 2 and "not initialised" in err


def test_the_fast_path_loads_neither_typer_nor_pydantic_nor_the_orm(registry_url: str) -> None:
    """As the console script runs it, in a new process; its table is byte for byte the one
    the regular path prints (a setting the fast path does not mirror sends it there)."""
    code = (
        "import sys\n"
        "from relitigate.cli.app import main\n"
        "sys.argv = ['relitigate', *sys.argv[1:]]\n"
        "main()\n"
        "heavy = ('typer', 'click', 'pydantic', 'pydantic_settings', 'sqlalchemy')\n"
        "sys.stderr.write(repr(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    env = {**os.environ, "RELITIGATE_DATABASE_URL": registry_url}
    outputs = []
    for extra in ({}, {"RELITIGATE_REMINDER_DAYS": "7"}):
        done = subprocess.run(
            [sys.executable, "-c", code, "report"], env={**env, **extra}, capture_output=True,
            timeout=120, check=True,
        )  # fmt: skip
        outputs.append(done)
    fast, regular = outputs
    assert fast.stderr == b"[]"
    assert b"sqlalchemy" in regular.stderr and b"typer" in regular.stderr
    assert fast.stdout == regular.stdout and b"bravo" in fast.stdout


def test_the_settings_are_resolved_as_the_settings_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.settings import Settings

    for name in list(os.environ):
        if name.upper().startswith("RELITIGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert lean_registry.database_url(os.environ) == Settings().resolved_database_url()
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_SLACK_TOKEN", "xoxb-1")
    assert lean_registry.database_url(os.environ) == Settings().resolved_database_url()
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", "sqlite:////x/y.sqlite3")
    assert lean_registry.database_url(os.environ) == "sqlite:////x/y.sqlite3"
    for name, value in (
        ("relitigate_database_url", "sqlite:////z.sqlite3"),
        ("RELITIGATE_REMINDER_DAYS", "7"),
        ("RELITIGATE_DATABASE_URL", " "),
    ):
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            with pytest.raises(lean_registry.Declined):
                lean_registry.database_url(os.environ)


def test_the_copied_constants_match_their_sources() -> None:
    from pydantic import SecretStr

    from registry.db import SCHEMA_REVISION
    from registry.models import Case, NoticeKind, NoticeStatus, Verdict
    from tasks.report.service import INDENT_MAX_ROWS, REPORT_FORMATS
    from tasks.settings import Settings

    assert lean_registry.SCHEMA_REVISION == SCHEMA_REVISION
    assert lean_read._INDENT_MAX_ROWS == INDENT_MAX_ROWS
    assert set(REPORT_FORMATS) == lean_read._ALL_REPORT_FORMATS >= lean_read.REPORT_FORMATS
    for copied, source in (
        (lean_registry.CASES, Case), (lean_registry.VERDICTS, Verdict),
        (lean_registry.NOTICE_KINDS, NoticeKind), (lean_registry.NOTICE_STATUSES, NoticeStatus),
    ):  # fmt: skip
        assert copied == {m.value for m in source}
    assert set(Settings.model_fields) == lean_registry.SETTINGS_FIELDS
    validated = {
        field
        for decorator in Settings.__pydantic_decorators__.field_validators.values()
        for field in decorator.info.fields
    }
    for field in lean_registry.ANY_TEXT_FIELDS:
        assert field not in validated
        assert Settings.model_fields[field].annotation in (str, str | None, SecretStr | None)


class _Spy(Mapping[str, Any]):
    """A JSON object that records each path read from it (``seen``)."""

    def __init__(self, data: dict[str, Any], path: tuple[str, ...], seen: set[Any]) -> None:
        self.data, self.path, self.seen = data, path, seen

    def _at(self, key: str) -> Any:
        self.seen.add((*self.path, key))
        value = self.data[key]
        return _Spy(value, (*self.path, key), self.seen) if isinstance(value, dict) else value

    def __getitem__(self, key: str) -> Any:
        return self._at(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.data:
            return self._at(key)
        self.seen.add((*self.path, key))
        return default

    def __iter__(self) -> Iterator[str]:
        self.seen.add((*self.path, "*"))  # the whole object: no reader may reduce it
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)  # emptiness: fetched on its own


def _full_metrics() -> dict[str, Any]:
    from tests.report.seed import metrics

    full = metrics(ft_quality=0.9, buy_quality=0.8, savings=10.0, reasons=("a",))
    full["sequential"] = {"items_total": 800, "stopped_at_wave": 2, "share_called": 0.5}
    return full


def test_flatten_reads_only_the_declared_parts_of_the_json_columns() -> None:
    from tasks.report.records import DecisionRecord
    from tasks.report.rows import METRICS_READ, REPRODUCIBILITY_READ, TREND_READ, flatten

    columns = {
        "metrics": (_full_metrics(), METRICS_READ),
        "trend": ({"metric": "m", "threshold": 1.0, "quarters_since_adoption": 2,
                   "life_stage": "x", "projected_erosion_quarter": None,
                   "quarters_to_erosion": 1, "points": []}, TREND_READ),
        "reproducibility": ({"recommended_action": "a", "hash": "h"}, REPRODUCIBILITY_READ),
    }  # fmt: skip
    for case in ("cost_distillation", "domain_expertise"):
        seen: dict[str, set[Any]] = {name: set() for name in columns}
        spies = {name: _Spy(data, (), seen[name]) for name, (data, _) in columns.items()}
        flatten(DecisionRecord(workload="w", case=case, quarter="2026Q1", verdict="keep",
                               metrics=spies["metrics"], trend=spies["trend"],
                               reproducibility=spies["reproducibility"]))  # fmt: skip
        for name, (_, declared) in columns.items():
            assert seen[name], name
            for path in seen[name]:
                assert any(path[: len(p)] == p or p[: len(path)] == path for p in declared), (
                    name, path,
                )  # fmt: skip


@pytest.mark.parametrize(
    "metrics",
    [
        _full_metrics(),
        {"fine_tune": "a string", "buy": {"name": 3, "quality": [1]}, "ratio": None},
        {"unrelated": True},
        {"money": [1], "n_items": True, "reasons": None, "sequential": {}},
    ],
)
def test_a_reduced_metrics_column_flattens_as_the_whole_one(metrics: dict[str, Any]) -> None:
    from tasks.report.records import DecisionRecord
    from tasks.report.rows import METRICS_READ, at_path, flatten, reduced

    def row(m: dict[str, Any]) -> dict[str, Any]:
        return flatten(DecisionRecord(workload="w", case="cost_distillation", quarter="2026Q1",
                                      verdict="keep", metrics=m))  # fmt: skip

    rebuilt = reduced(METRICS_READ, [at_path(metrics, p) for p in METRICS_READ])
    assert row(rebuilt) == row(metrics)
