"""Hostile and absurd input is refused before anything is written or spent.

- A 340-byte YAML alias bomb ("billion laughs"), through the installed console script: exit 2
  with one line naming the file and line, in well under a second of CPU and 100 MB of memory
  (measured by a wrapper process whose only child is the command), and nothing created.
- A table of absurd values in the workloads file, each through ``relitigate sync``: exit 2, one
  line naming the file, the line and the field, and the registry exactly as it was (SQLite and
  PostgreSQL). One of them only the engines refuse (a GPU serving setting), so the table also
  shows ``sync`` applying the engines' own rules.
- Eval-set caps set through the environment, and ``bench --budget`` that is not a positive
  amount.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from relitigate.cli.app import main
from tests.conftest import DIALECTS, dump_database, make_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "relitigate.yaml"
CONSOLE_SCRIPT = Path(sys.executable).with_name("relitigate")

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
MEASURE = """
import json, resource, subprocess, sys
def cap():  # a regression fails this test instead of taking the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60, preexec_fn=cap)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "stderr": done.stderr,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss}))
"""


def test_alias_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    assert len(BOMB.encode()) < 400  # the "340-byte" bomb: nine levels of nine aliases
    env = {k: v for k, v in os.environ.items() if k != "RELITIGATE_DATABASE_URL"}
    env["RELITIGATE_DATA_DIR"] = str(tmp_path / "data")

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(CONSOLE_SCRIPT), "sync", str(bomb)],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )

    child = json.loads(done.stdout)
    assert child["code"] == 2, child["stderr"]
    assert child["stderr"].count("\n") == 1, child["stderr"]
    assert child["stderr"].startswith(f"relitigate: error: {bomb}:5: aliases repeat more than")
    assert child["cpu_s"] < 1.0, child
    assert child["max_rss_kb"] < 100 * 1024, child
    assert not (tmp_path / "data").exists()  # refused before the registry was even opened


class Cli:
    """``relitigate ARGS`` in-process, against one registry URL."""

    def __init__(
        self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.url, self._mp, self._capsys = url, monkeypatch, capsys

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        self._mp.setenv("RELITIGATE_DATABASE_URL", self.url)
        for key, value in (env or {}).items():
            self._mp.setenv(key, value)
        self._mp.setattr(sys, "argv", ["relitigate", *args])
        self._capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, self._capsys.readouterr().err


@pytest.fixture(scope="module", params=DIALECTS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A registry with the example synced (shared: every case must leave it as it was)."""
    folder = tmp_path_factory.mktemp("hostile")
    with make_database(str(request.param), folder, tmp_path_factory, migrated=True) as url:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RELITIGATE_DATABASE_URL", url)
            mp.setattr(sys, "argv", ["relitigate", "sync", str(EXAMPLE)])
            main()
        yield url


def _example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for workload in data["workloads"]:
        workload["eval_set"]["path"] = str(EXAMPLE.parent / workload["eval_set"]["path"])
    return data


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit of workload 0 at a dotted path (``buy.0.pricing.input_per_mtok``)."""

    def edit(workload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = workload
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value

    return edit


def _gpu_fine_tune(serving: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(workload: dict[str, Any]) -> None:
        workload["fine_tune"].update(
            runner="vllm", pricing={"gpu_hourly_usd": 2.4}, serving=serving
        )

    return edit


INF, NAN = math.inf, math.nan
# case -> (edit of workload 0, the field the message must name)
ABSURD: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "volume 10**40 (BIGINT)": (_set("volume_per_day", 10**40), "volume_per_day"),
    "volume negative": (_set("volume_per_day", -1), "volume_per_day"),
    "volume NaN": (_set("volume_per_day", NAN), "volume_per_day"),
    "fixed costs inf": (_set("fixed_costs_monthly_usd", INF), "fixed_costs_monthly_usd"),
    "fixed costs NaN": (_set("fixed_costs_monthly_usd", NAN), "fixed_costs_monthly_usd"),
    "training examples negative": (_set("training_examples", -5), "training_examples"),
    "max_error_rate 1.0": (_set("thresholds.max_error_rate", 1.0), "thresholds.max_error_rate"),
    "alpha NaN": (_set("thresholds.significance_alpha", NAN), "thresholds.significance_alpha"),
    "min volume over BIGINT": (
        _set("thresholds.min_volume_per_day", 2**63),
        "thresholds.min_volume_per_day",
    ),
    "min_items 0": (_set("thresholds.min_items", 0), "thresholds.min_items"),
    "price negative": (
        _set("fine_tune.pricing.input_per_mtok", -0.15),
        "fine_tune.pricing.input_per_mtok",
    ),
    "price inf": (_set("buy.0.pricing.output_per_mtok", INF), "buy[0].pricing.output_per_mtok"),
    "concurrency 0": (_set("fine_tune.limits.concurrency", 0), "fine_tune.limits.concurrency"),
    "rpm negative": (_set("buy.0.limits.rpm", -6000), "buy[0].limits.rpm"),
    "timeout 1e300": (_set("fine_tune.limits.timeout_s", 1e300), "fine_tune.limits.timeout_s"),
    "param NaN": (_set("fine_tune.params.temperature", NAN), "fine_tune.params"),
    "scorer tolerance inf": (
        _set("eval_set.scorer", {"kind": "numeric", "tolerance": INF}),
        "eval_set.scorer.tolerance",
    ),
    "serving refused by the GPU engine": (
        _gpu_fine_tune({"model": "/models/base", "batch_size": 0}),
        "fine_tune.serving",
    ),
}


@pytest.mark.parametrize("case", sorted(ABSURD))
def test_absurd_value_is_refused_and_changes_nothing(
    case: str,
    registry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dump_registry: Callable[[str], Any],
) -> None:
    edit, field = ABSURD[case]
    data = _example()
    edit(data["workloads"][0])
    path = tmp_path / "relitigate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    before = dump_registry(registry)

    code, err = Cli(registry, monkeypatch, capsys)("sync", str(path))

    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"relitigate: error: {path}:"), err
    assert f"field 'workloads[0].{field}'" in err, err
    assert dump_registry(registry) == before


def test_eval_set_caps_come_from_the_environment(
    registry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = Cli(registry, monkeypatch, capsys)
    before = dump_database(registry)
    evalset = EXAMPLE.parent / "evalsets" / "ticket-triage.jsonl"

    code, err = cli("sync", str(EXAMPLE), env={"RELITIGATE_EVALSET_MAX_ROWS": "10"})
    assert code == 2 and f"{evalset}:11: more than 10 items (the limit" in err, err

    long_line = tmp_path / "long.jsonl"
    long_line.write_text(json.dumps({"id": 1, "input": "x" * 200, "target": "y"}) + "\n")
    code, err = cli(
        "evalset", "import", str(long_line), "--name", "long",
        env={"RELITIGATE_EVALSET_MAX_ROWS": "100000", "RELITIGATE_EVALSET_MAX_LINE_BYTES": "64"},
    )  # fmt: skip
    assert code == 2 and f"{long_line}:1: line longer than 64 bytes (the limit" in err, err
    assert err.count("\n") == 1
    assert dump_database(registry) == before


def test_eval_set_name_longer_than_its_column_is_refused(
    registry: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump_database(registry)
    evalset = EXAMPLE.parent / "evalsets" / "ticket-triage.jsonl"
    code, err = Cli(registry, monkeypatch, capsys)(
        "evalset", "import", str(evalset), "--name", "n" * 201
    )
    assert code == 2 and err.count("\n") == 1 and "eval set name 'nnn" in err, err
    assert dump_database(registry) == before


@pytest.mark.parametrize("budget", ["-5", "0", "nan", "inf"])
def test_bench_budget_must_be_positive(
    budget: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["relitigate", "bench", "ticket-triage", "--budget", budget])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and "--budget" in err and "positive" in err, err
