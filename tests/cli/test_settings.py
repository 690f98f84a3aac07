"""Malformed ``RELITIGATE_*`` variables: one line naming the variable, exit 2, nothing
written (an empty database URL must never fall back to the default registry)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from relitigate.cli.app import main
from relitigate.settings import SettingsError, load_settings


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["relitigate", *args])
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RELITIGATE_DATABASE_URL", "", "RELITIGATE_DATABASE_URL is set but empty"),
        ("RELITIGATE_DATABASE_URL", "   ", "RELITIGATE_DATABASE_URL is set but empty"),
        ("RELITIGATE_MAX_CONCURRENT_WORKLOADS", "0", "must be at least 1, got 0"),
        ("RELITIGATE_MAX_CONCURRENT_WORKLOADS", "four", "RELITIGATE_MAX_CONCURRENT_WORKLOADS"),
        ("RELITIGATE_GPU_DEPLOYMENT", "", "RELITIGATE_GPU_DEPLOYMENT is set but empty"),
        ("RELITIGATE_DATABASE_URL", "mysql://u:pw-9f3@db/reg", "uses 'mysql', which relitigate"),
        ("RELITIGATE_DATABASE_URL", "not a url", "RELITIGATE_DATABASE_URL is not a database URL"),
        ("RELITIGATE_DATABASE_URL", "postgresql+asyncpg://u@h/d", "'postgresql+asyncpg'"),
        ("RELITIGATE_EVALSET_MAX_ROWS", "0", "RELITIGATE_EVALSET_MAX_ROWS must be at least 1"),
        ("RELITIGATE_EVALSET_MAX_LINE_BYTES", "-1", "must be at least 1, got -1"),
    ],
)
def test_bad_variable_exits_2_and_writes_nothing(
    variable: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(variable, value)

    code = _run(monkeypatch, "init")

    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "pw-9f3" not in err
    assert not (tmp_path / "data").exists()  # no default registry was created instead


def test_sqlite_in_a_missing_folder_is_refused_and_nothing_created(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "such"
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", f"sqlite:///{missing / 'reg.sqlite3'}")

    code = _run(monkeypatch, "init")

    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"names a SQLite file in '{missing}', which does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_sqlite_in_the_data_dir_is_created(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(data))
    monkeypatch.setenv("RELITIGATE_DATABASE_URL", f"sqlite:///{data / 'reg.sqlite3'}")

    assert _run(monkeypatch, "init") == 0, capsys.readouterr().err
    assert (data / "reg.sqlite3").is_file()


def test_message_never_echoes_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELITIGATE_MAX_CONCURRENT_WORKLOADS", "xo" + "xb-not-a-number")

    with pytest.raises(SettingsError) as caught:
        load_settings()

    assert "xoxb" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_unset_database_url_uses_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RELITIGATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("RELITIGATE_DATA_DIR", str(tmp_path))

    assert load_settings().resolved_database_url() == f"sqlite:///{tmp_path / 'registry.sqlite3'}"
