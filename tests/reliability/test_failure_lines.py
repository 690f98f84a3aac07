"""Every failure ends in one line and an exit code, not a traceback.

- A provider that refuses the key: ``run`` prints one line per failed workload naming the
  401, exit 1, no traceback (it used to print 255 lines), the key nowhere, no result stored.
- An unreachable PostgreSQL registry (a closed port): "cannot reach the registry at <URL
  without password>: <reason>", exit 2, before Prefect starts.
- A registry at revision 0001 and an empty database, on SQLite and PostgreSQL: every command
  that opens the registry exits 2 with one line saying to run ``relitigate init``, and leaves
  the database as it was (the table of commands is checked against the application's own).
- ``--debug`` and ``RELITIGATE_DEBUG=1`` add the traceback; the last line stays the same.

The first, second and fourth run the installed console script as a process; the table runs
the same entry point in this process (a process per row would cost a second of start-up
each, 52 times).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from registry.db import current_revision, upgrade_to
from relitigate.simulator import SimulatorServer
from tests.conftest import dump_database, make_database
from tests.reliability.test_unreachable import (
    EXAMPLES,
    cli_env,
    closed_port,
    error_lines,
    in_process,
    registered,
    relitigate,
)

INIT_HINT = "run `relitigate init`"

REGISTRY_COMMANDS: dict[str, tuple[str, ...]] = {
    "sync": ("sync", str(EXAMPLES / "relitigate.yaml")),
    "workloads": ("workloads",),
    "workload": ("workload", "ticket-triage"),
    "evalset import": (
        "evalset", "import", str(EXAMPLES / "evalsets" / "ticket-triage.jsonl"),
        "--name", "ticket-triage",
    ),
    "evalset show": ("evalset", "show", "ticket-triage"),
    "run": ("run", "--quarter", "2026Q1"),
    "bench": ("bench", "ticket-triage", "--quarter", "2026Q1"),
    "report": ("report",),
    "history": ("history", "ticket-triage"),
    "routing": ("routing",),
    "notices": ("notices",),
    "notices deliver": ("notices", "deliver"),
    "notices retry": ("notices", "retry", "--failed"),
    "notices open": ("notices", "open"),
    "notices remind": ("notices", "remind"),
    "listen": ("listen", "--no-socket", "--http", "0"),
    "catalog": ("catalog",),
    "propose": ("propose", str(EXAMPLES / "proposal" / "proposal.yaml")),
    "proposals list": ("proposals", "list"),
    "proposals promote": (
        "proposals", "promote", "support-triage", "--workloads", str(EXAMPLES / "relitigate.yaml"),
    ),
}  # fmt: skip
"""Each command that opens the registry, with arguments that would work on a good one."""

NO_REGISTRY = {"version", "init", "demo", "deploy", "serve", "sim serve"}
"""Commands that create the registry (``init``, ``demo`` its own) or never open it."""


def _command_paths() -> set[str]:
    """Every command of the application, as the words that invoke it."""
    import typer

    from relitigate.cli.app import app

    paths: set[str] = set()

    def walk(command: object, prefix: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            paths.add(prefix)
            return
        if prefix and getattr(command, "invoke_without_command", False):
            paths.add(prefix)  # a group that does something itself (``notices``)
        for name, sub in subcommands.items():
            walk(sub, f"{prefix} {name}".strip())

    walk(typer.main.get_command(app), "")
    return paths


def test_the_table_covers_every_command_that_opens_the_registry() -> None:
    assert set(REGISTRY_COMMANDS) == _command_paths() - NO_REGISTRY


def raw_dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows as the database has them (whatever its schema), sorted."""
    from sqlalchemy import inspect, text

    from registry.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: sorted(
                    (tuple(r) for r in conn.execute(text(f'SELECT * FROM "{table}"'))), key=repr
                )
                for table in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


STALE = [
    pytest.param(("sqlite", None), id="sqlite-empty"),
    pytest.param(("sqlite", "0001"), id="sqlite-0001"),
    pytest.param(("postgresql", None), id="postgresql-empty", marks=pytest.mark.postgres),
    pytest.param(("postgresql", "0001"), id="postgresql-0001", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=STALE)
def stale_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str | None]]:
    """A database that is empty, or at revision 0001 (an older relitigate's registry)."""
    dialect, revision = request.param
    folder = tmp_path_factory.mktemp("stale")
    with make_database(dialect, folder, tmp_path_factory, migrated=False) as url:
        if revision is not None:
            upgrade_to(url, revision)
        yield url, revision


@pytest.mark.parametrize("command", list(REGISTRY_COMMANDS))
def test_a_stale_registry_asks_for_init(
    command: str,
    stale_registry: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, revision = stale_registry
    before = raw_dump(url)

    code = in_process(monkeypatch, cli_env(tmp_path, url), *REGISTRY_COMMANDS[command])

    err = capsys.readouterr().err
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith("relitigate: error: ") and INIT_HINT in line
    assert ("not initialised" in line) if revision is None else (f"schema {revision}" in line)
    assert current_revision(url) == revision
    assert raw_dump(url) == before


@pytest.mark.parametrize("command", ["workloads", "run"])
def test_an_unreachable_postgresql_is_one_line(command: str, tmp_path: Path) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    port = closed_port()
    url = f"postgresql+psycopg://relitigate:{password}@127.0.0.1:{port}/registry"

    done = relitigate(command, env=cli_env(tmp_path, url))

    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("relitigate: error: cannot reach the registry at postgresql+psycopg://")
    assert f"@127.0.0.1:{port}/registry: " in line and "refused" in line.lower()
    assert password not in done.stderr + done.stdout
    assert "Starting temporary server" not in done.stderr  # checked before Prefect starts


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [(("--debug", "workloads"), {}), (("workloads",), {"RELITIGATE_DEBUG": "1"})],
    ids=["--debug", "RELITIGATE_DEBUG"],
)
def test_debug_shows_the_traceback(
    args: tuple[str, ...], extra_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"

    done = relitigate(*args, env=cli_env(tmp_path, url, **extra_env))

    assert done.returncode == 2
    assert "Traceback (most recent call last)" in done.stderr
    assert "registry.errors.DatabaseError" in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("relitigate: error: ") and INIT_HINT in last


def test_a_refused_key_fails_each_workload_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    accepted, sent = f"sk-sim-{secrets.token_hex(12)}", f"sk-wrong-{secrets.token_hex(12)}"
    profile = yaml.safe_load((EXAMPLES / "simulator.yaml").read_text(encoding="utf-8"))
    profile_path = tmp_path / "profile.yaml"
    profile_path.write_text(yaml.safe_dump({**profile, "api_key": accepted}), encoding="utf-8")
    evalsets = sorted((EXAMPLES / "evalsets").glob("*.jsonl"))
    with (
        make_database("sqlite", tmp_path, tmp_path_factory, migrated=True) as url,
        SimulatorServer(profile_path, evalsets) as sim,
    ):
        env = registered(monkeypatch, tmp_path, url, sim.base_url, api_key_env="SIM_KEY")
        done = relitigate("run", "--quarter", "2026Q1", env={**env, "SIM_KEY": sent})
        completions = sum(m["completions"] for m in sim.stats()["models"].values())
        dump = dump_database(url)

    output = done.stdout + done.stderr
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in output
    lines = error_lines(done.stderr)
    assert sorted(line.split()[1] for line in lines) == ["contract-clauses", "ticket-triage"]
    assert all(" 2026Q1 failed: " in line and "HTTP 401" in line for line in lines)
    assert sent not in output and accepted not in output
    assert completions == 0
    assert dump["item_results"] == [] and dump["decisions"] == []
