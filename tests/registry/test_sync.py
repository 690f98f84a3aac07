"""sync: creates, is idempotent, updates, archives (never deletes) and restores."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.errors import EvalSetError, WorkloadFileError
from registry.evalset_files import EvalSetLimits
from registry.models import Candidate, EvalSetVersion, Workload
from registry.queries import list_workloads, load_workload
from registry.sync import FieldProblem, prepare_sync, sync_workloads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of examples/ that tests may edit."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "examples" / "relitigate.yaml"


def _sync(factory: Any, path: Path) -> Any:
    with factory.begin() as session:
        return sync_workloads(session, path)


def test_sync_is_idempotent(
    session_factory: Any, migrated_url: str, example: Path, dump_registry: Callable[[str], Any]
) -> None:
    first = _sync(session_factory, example)
    assert sorted(first.created) == ["contract-clauses", "ticket-triage"]
    assert first.eval_set_versions_created == ("ticket-triage@1", "contract-clauses@1")
    before = dump_registry(migrated_url)
    second = _sync(session_factory, example)
    assert second.counts() == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "archived": 0,
        "eval_set_versions_created": 0,
    }
    assert not second.changed
    assert dump_registry(migrated_url) == before


def test_sync_stores_the_declaration(session_factory: Any, example: Path) -> None:
    _sync(session_factory, example)
    with session_factory() as session:
        bundle = load_workload(session, "ticket-triage")
        assert bundle.workload.case == "cost_distillation"
        assert bundle.workload.volume_per_day == 14_000_000
        assert bundle.workload.thresholds["quality_ratio_min"] == 0.95
        assert bundle.workload.scorer == {"kind": "normalized"}
        assert bundle.fine_tune.route == "openai/sim-ft-triage"
        assert bundle.fine_tune.pricing == {"input_per_mtok": 0.15, "output_per_mtok": 0.6}
        assert bundle.fine_tune.prompt["template"] == "Ticket: {input}"
        assert bundle.fine_tune.limits == {"concurrency": 64}
        assert [c.name for c in bundle.buy] == ["frontier", "frontier-mini"]
        assert bundle.version.item_count == 240 == len(bundle.items)
        assert bundle.items[0].item_key == "tt-0001"


def test_changes_update_and_removals_archive(session_factory: Any, example: Path) -> None:
    _sync(session_factory, example)
    text = example.read_text(encoding="utf-8")
    text = text.replace("volume_per_day: 14000000", "volume_per_day: 9000000")
    # drop the second buy alternative of ticket-triage and the whole second workload
    start = text.index("      - name: frontier-mini")
    end = text.index("  # --- A fine-tune kept for domain expertise")
    example.write_text(text[:start] + "\n" + "", encoding="utf-8")
    assert end > start
    report = _sync(session_factory, example)
    assert report.updated == ("ticket-triage",)
    assert report.archived == ("contract-clauses",)
    with session_factory() as session:
        assert [w.name for w in list_workloads(session)] == ["ticket-triage"]
        archived = session.scalars(
            select(Workload).where(Workload.name == "contract-clauses")
        ).one()
        assert archived.archived_at is not None
        mini = session.scalars(select(Candidate).where(Candidate.name == "frontier-mini")).one()
        assert mini.archived_at is not None
        bundle = load_workload(session, "ticket-triage", with_items=False)
        assert [c.name for c in bundle.buy] == ["frontier"]
        assert bundle.workload.volume_per_day == 9_000_000
    # declaring it again restores it
    example.write_text(text, encoding="utf-8")
    report = _sync(session_factory, example)
    assert sorted(report.updated) == ["contract-clauses", "ticket-triage"]
    with session_factory() as session:
        assert len(list_workloads(session)) == 2
        assert (
            session.scalars(select(Candidate).where(Candidate.archived_at.is_not(None))).all() == []
        )


def test_changed_eval_set_makes_a_new_version(session_factory: Any, example: Path) -> None:
    _sync(session_factory, example)
    evalset = example.parent / "evalsets" / "ticket-triage.jsonl"
    lines = evalset.read_text(encoding="utf-8").splitlines(keepends=True)
    evalset.write_text("".join(lines[:-1]), encoding="utf-8")
    report = _sync(session_factory, example)
    assert report.updated == ("ticket-triage",)
    assert report.eval_set_versions_created == ("ticket-triage@2",)
    with session_factory() as session:
        bundle = load_workload(session, "ticket-triage")
        assert (bundle.version.version, len(bundle.items)) == (2, 239)
        assert len(session.scalars(select(EvalSetVersion)).all()) == 3


def test_bad_eval_set_rolls_back_everything(
    session_factory: Any, migrated_url: str, example: Path, dump_registry: Callable[[str], Any]
) -> None:
    _sync(session_factory, example)
    before = dump_registry(migrated_url)
    example.write_text(
        example.read_text(encoding="utf-8").replace("volume_per_day: 40000", "volume_per_day: 1"),
        encoding="utf-8",
    )
    with (example.parent / "evalsets" / "contract-clauses.jsonl").open("a") as fh:
        fh.write("{not json\n")
    with pytest.raises(EvalSetError, match=r"contract-clauses.jsonl:221: invalid JSON"):
        _sync(session_factory, example)
    assert dump_registry(migrated_url) == before


def test_missing_eval_set_file_points_at_yaml_line(session_factory: Any, example: Path) -> None:
    (example.parent / "evalsets" / "contract-clauses.jsonl").unlink()
    with pytest.raises(WorkloadFileError) as caught:
        _sync(session_factory, example)
    assert caught.value.field == "workloads[1].eval_set.path"
    lines = example.read_text(encoding="utf-8").splitlines()
    assert "contract-clauses.jsonl" in lines[caught.value.line - 1]


def test_a_check_problem_points_at_the_field_and_writes_nothing(
    session_factory: Any, migrated_url: str, example: Path, dump_registry: Callable[[str], Any]
) -> None:
    seen: list[tuple[str, list[str], dict[str, Any]]] = []

    def check(workload: Workload, candidates: Any) -> FieldProblem | None:
        seen.append((workload.name, list(candidates), dict(candidates["buy[0]"].limits)))
        if workload.name == "contract-clauses":
            return FieldProblem(field="buy[0].limits", message="refused by the engine")
        return None

    before = dump_registry(migrated_url)
    with pytest.raises(WorkloadFileError) as caught, session_factory.begin() as session:
        sync_workloads(session, example, check=check)
    assert seen[0] == (
        "ticket-triage",
        ["fine_tune", "buy[0]", "buy[1]"],
        {"concurrency": 32, "rpm": 6000},
    )
    assert caught.value.field == "workloads[1].buy[0].limits"
    assert "refused by the engine" in str(caught.value)
    lines = example.read_text(encoding="utf-8").splitlines()
    assert "- name: frontier" in lines[caught.value.line - 1]  # no limits: the candidate's line
    assert dump_registry(migrated_url) == before


def test_eval_set_limits_reach_every_eval_set(example: Path) -> None:
    with pytest.raises(EvalSetError, match=r"ticket-triage.jsonl:201: more than 200 items"):
        prepare_sync(example, limits=EvalSetLimits(max_rows=200))
    assert len(prepare_sync(example, limits=EvalSetLimits(max_rows=240)).eval_sets) == 2
