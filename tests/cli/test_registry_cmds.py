"""The registry commands through the real entry point (``relitigate.cli.app.main``).

Most tests call ``main()`` in-process (fast); a few run the installed console script in a
subprocess. The malformed corpus under ``tests/data/malformed`` must each give exit code 2,
a one-line message naming file, line and field, and an unchanged registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relitigate.cli.app import main
from tests.conftest import DIALECTS, dump_database, make_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "relitigate.yaml"
MALFORMED = ROOT / "tests" / "data" / "malformed"


class Cli:
    """Runs ``relitigate ARGS`` in-process against one registry URL."""

    def __init__(
        self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.url = url
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self._monkeypatch.setenv("RELITIGATE_DATABASE_URL", self.url)
        self._monkeypatch.setattr(sys, "argv", ["relitigate", *args])
        self._capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = self._capsys.readouterr()
        return code, out.out, out.err


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """The CLI on an empty database (SQLite and PostgreSQL)."""
    return Cli(database_url, monkeypatch, capsys)


def test_init_sync_workloads(cli: Cli) -> None:
    code, out, _ = cli("init")
    assert code == 0 and "created registry" in out
    code, out, _ = cli("init")
    assert code == 0 and "up to date" in out
    code, out, _ = cli("sync", str(EXAMPLE))
    assert code == 0 and "2 created" in out
    before = dump_database(cli.url)
    code, out, _ = cli("sync", str(EXAMPLE), "--json")
    assert code == 0
    assert json.loads(out)["counts"]["unchanged"] == 2
    assert dump_database(cli.url) == before
    code, out, _ = cli("workloads", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [w["name"] for w in listed] == ["contract-clauses", "ticket-triage"]
    assert listed[1]["eval_set"]["items"] == 240
    code, out, _ = cli("workload", "ticket-triage", "--json")
    assert code == 0
    detail = json.loads(out)
    assert [c["name"] for c in detail["candidates"]] == [
        "triage-ft-v3",
        "frontier",
        "frontier-mini",
    ]
    code, out, _ = cli("workloads")
    assert code == 0 and "ticket-triage" in out
    code, out, _ = cli("workload", "contract-clauses")
    assert code == 0 and "legal-ft-v2" in out


def test_evalset_import_and_show(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": 1, "input": "a", "target": "b"}\n', encoding="utf-8")
    code, out, _ = cli("evalset", "import", str(data), "--name", "qa")
    assert code == 0 and "imported qa v1" in out
    code, out, _ = cli("evalset", "import", str(data), "--name", "qa", "--json")
    assert code == 0 and json.loads(out)["created"] is False
    code, out, _ = cli("evalset", "show", "qa", "--json", "--items", "1")
    shown = json.loads(out)
    assert code == 0 and shown["versions"][0]["items"] == 1
    assert shown["items"] == [{"id": "1", "input": "a", "target": "b", "metadata": {}}]
    code, out, _ = cli("evalset", "show", "qa")
    assert code == 0 and "qa" in out


def test_errors_before_init_and_unknown_names(cli: Cli) -> None:
    code, _, err = cli("workloads")
    assert code == 2 and "not initialised" in err and "relitigate init" in err
    cli("init")
    code, _, err = cli("workload", "nope")
    assert code == 2 and "no workload named 'nope'" in err
    code, _, err = cli("evalset", "show", "nope")
    assert code == 2 and "no eval set named 'nope'" in err


# -- malformed corpus ---------------------------------------------------------------------

# file -> (where the message must point, the field it must name or None)
CASES: dict[str, tuple[str, str | None]] = {
    "yaml-syntax.yaml": (":16:", None),
    "yaml-duplicate-key.yaml": (":6:", None),
    "yaml-unknown-field.yaml": (":6:", "workloads[0].volume_per_dya"),
    "yaml-bad-case.yaml": (":5:", "workloads[0].case"),
    "yaml-bad-quarter.yaml": (":7:", "workloads[0].adopted"),
    "yaml-missing-buy.yaml": (":3:", "workloads[0].buy"),
    "yaml-template-no-input.yaml": (":14:", "workloads[0].fine_tune.prompt.template"),
    "yaml-pricing-mixed.yaml": (":17:", "workloads[0].buy[0].pricing"),
    "yaml-api-key-literal.yaml": (":17:", "workloads[0].buy[0].api_key_env"),
    "yaml-evalset-missing.yaml": (":8:", "workloads[0].eval_set.path"),
    "yaml-negative-volume.yaml": (":6:", "workloads[0].volume_per_day"),
    "yaml-bad-regex.yaml": (":9:", "workloads[0].eval_set.scorer.pattern"),
    "yaml-duplicate-candidate.yaml": (":3:", "workloads[0]"),
    "yaml-not-utf8.yaml": (":4:", None),
    "yaml-bad-version.yaml": (":1:", "version"),
    "jsonl-bad-json.jsonl": (":3:", None),
    "jsonl-duplicate-id.jsonl": (":3:", "id"),
    "jsonl-missing-target.jsonl": (":2:", "target"),
    "jsonl-not-utf8.jsonl": (":2:", None),
    "jsonl-bad-role.jsonl": (":2:", "input[0].role"),
    "jsonl-empty.jsonl": (": empty eval set", None),
    "jsonl-nan-target.jsonl": (":1:", None),
    "jsonl-unknown-field.jsonl": (":2:", "traget"),
    "jsonl-not-object.jsonl": (":2:", None),
    "csv-missing-column.csv": (":1:", "target"),
    "csv-wrong-field-count.csv": (":3:", None),
    "csv-duplicate-id-multiline.csv": (":6:", "id"),
    "csv-bad-metadata.csv": (":3:", "metadata"),
    "csv-not-utf8.csv": (":3:", None),
    "csv-missing-id.csv": (":3:", "id"),
    "parquet-missing-input.parquet": (" row 1:", "input"),
    "parquet-duplicate-id.parquet": (" row 2:", "id"),
}


def test_corpus_is_complete() -> None:
    on_disk = {
        p.name
        for p in MALFORMED.iterdir()
        if not p.name.startswith("_") and p.suffix in (".yaml", ".jsonl", ".csv", ".parquet")
    }
    assert on_disk == set(CASES)
    assert len(CASES) >= 15


@pytest.fixture(scope="module", params=DIALECTS)
def populated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A registry with the example synced, and its dump (shared by the corpus tests)."""
    directory = tmp_path_factory.mktemp("corpus")
    with make_database(str(request.param), directory, tmp_path_factory, migrated=True) as url:
        env = {"RELITIGATE_DATABASE_URL": url}
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            mp.setattr(sys, "argv", ["relitigate", "sync", str(EXAMPLE)])
            main()
        yield url, dump_database(url)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_exits_2_and_changes_nothing(
    name: str,
    populated: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, before = populated
    path = MALFORMED / name
    args = (
        ["sync", str(path)]
        if path.suffix == ".yaml"
        else ["evalset", "import", str(path), "--name", "ticket-triage"]
    )
    code, out, err = Cli(url, monkeypatch, capsys)(*args)
    where, field = CASES[name]
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("relitigate: error: "), err
    assert f"{path}{where}" in err, err
    if field is not None:
        assert f"field '{field}'" in err, err
    assert "Traceback" not in err
    assert "sk-proj" not in err
    assert dump_database(url) == before


# -- the installed console script ---------------------------------------------------------


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("relitigate")
    return subprocess.run(
        [str(exe), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_console_script_quickstart(tmp_path: Path) -> None:
    env = {**os.environ, "RELITIGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'reg.sqlite3'}"}
    assert _run("init", env=env).returncode == 0
    assert _run("sync", "examples/relitigate.yaml", env=env).returncode == 0
    again = _run("sync", "examples/relitigate.yaml", env=env)
    assert "0 created, 0 updated, 2 unchanged, 0 archived" in again.stdout
    listed = _run("workloads", "--json", env=env)
    assert [w["name"] for w in json.loads(listed.stdout)] == ["contract-clauses", "ticket-triage"]
    bad = _run("sync", "tests/data/malformed/yaml-bad-case.yaml", env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith(
        "relitigate: error: tests/data/malformed/yaml-bad-case.yaml:5: field 'workloads[0].case'"
    )


def test_default_database_is_in_the_data_dir(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RELITIGATE_DATABASE_URL"}
    env["RELITIGATE_DATA_DIR"] = str(tmp_path / "data")
    done = _run("init", env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "registry.sqlite3").is_file()


def test_registry_commands_do_not_import_litellm_or_prefect(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reg.sqlite3'}"
    code = (
        "import sys\n"
        "from relitigate.cli.app import main\n"
        "for argv in (['init'], ['sync', 'examples/relitigate.yaml'], ['workloads', '--json']):\n"
        "    sys.argv = ['relitigate', *argv]\n"
        "    main()\n"
        "bad = [m for m in ('litellm', 'prefect') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "RELITIGATE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
