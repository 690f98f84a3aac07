"""The buy catalog at sync: picks by name and filters, stored entries, trigger causes once."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.catalog_triggers import claim_causes, finish_causes, open_causes
from registry.errors import WorkloadFileError
from registry.models import CatalogEntryRow, RouteDeprecation
from registry.queries import load_workload
from registry.sync import sync_workloads
from vocabulary.catalog import RouteFacts

ROOT = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:8765/v1"

CATALOG = f"""
catalog:
  - name: cheap-frontier
    route: openai/sim-frontier-mini
    api_base: {API}
    tags: [frontier, cheap]
    pricing: {{input_per_mtok: 0.1, output_per_mtok: 0.4}}
  - name: big-frontier
    route: openai/sim-frontier
    api_base: {API}
    tags: [frontier]
    pricing: {{input_per_mtok: 30.0, output_per_mtok: 120.0}}
  - name: other-vendor
    route: anthropic/sim-claude
    api_base: {API}
    tags: [frontier]
deprecations:
  routes: {{openai/sim-ft-legal: "2027-01-20"}}
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "examples" / "relitigate.yaml"


def _with_catalog(path: Path, triage_pick: str, legal_pick: str) -> None:
    text = path.read_text(encoding="utf-8").split("\n# --- The buy catalog")[0] + "\n"
    text = text.replace(
        "    buy:                        # one or more",
        f"    catalog: {triage_pick}\n    buy:                        # one or more",
    )
    marker = "    fine_tune:\n      name: legal-ft-v2"
    text = text.replace(marker, f"    catalog: {legal_pick}\n{marker}")
    path.write_text(text + CATALOG, encoding="utf-8")


def _facts(routes: Any) -> dict[str, RouteFacts]:
    """A price map that prices only the other vendor's model."""
    return {"anthropic/sim-claude": RouteFacts(3.0, 15.0, date(2027, 6, 1), "litellm")}


def _sync(factory: Any, path: Path, today: date = date(2026, 12, 1)) -> Any:
    with factory.begin() as session:
        return sync_workloads(session, path, facts=_facts, today=today)


def test_picks_by_filter_and_name(session_factory: Any, example: Path) -> None:
    # triage: openai entries at most $0.0001 per call; legal: by name, plus the price map's
    _with_catalog(
        example,
        "{providers: [openai], max_usd_per_call: 0.0001}",
        "{names: [big-frontier], tags: [frontier], providers: [anthropic]}",
    )
    report = _sync(session_factory, example)
    assert report.catalog_added == ("cheap-frontier", "big-frontier", "other-vendor")
    with session_factory() as session:
        triage = load_workload(session, "ticket-triage", with_items=False)
        legal = load_workload(session, "contract-clauses", with_items=False)
        assert [c.name for c in triage.buy] == ["frontier", "frontier-mini", "cheap-frontier"]
        assert sorted(c.name for c in legal.buy) == ["big-frontier", "frontier", "other-vendor"]
        rows = {r.name: r for r in session.scalars(select(CatalogEntryRow))}
        assert rows["other-vendor"].price_source == "litellm"
        assert rows["other-vendor"].deprecation_date == date(2027, 6, 1)
        assert rows["cheap-frontier"].challenges == ["ticket-triage"]
        dates = {r.route: r.source for r in session.scalars(select(RouteDeprecation))}
        assert dates == {"openai/sim-ft-legal": "declared", "anthropic/sim-claude": "litellm"}
    # the legal fine-tune's route is deprecated within 90 days of 2026-12-01: one cause
    assert [(c.workload, c.kind) for c in report.causes] == [("contract-clauses", "deprecation")]
    again = _sync(session_factory, example)
    assert again.counts()["unchanged"] == 2 and again.causes == () and not again.changed


def test_new_entry_is_a_cause_once_and_claimed_once(session_factory: Any, example: Path) -> None:
    _with_catalog(example, "{names: [big-frontier]}", "{names: [big-frontier]}")
    first = _sync(session_factory, example, today=date(2026, 1, 1))
    assert first.causes == ()  # new workloads: the quarterly run covers them
    text = example.read_text(encoding="utf-8").replace(
        "catalog: {names: [big-frontier]}\n    buy:", "catalog: {tags: [cheap]}\n    buy:"
    )
    example.write_text(text, encoding="utf-8")
    second = _sync(session_factory, example, today=date(2026, 1, 1))
    assert [(c.workload, c.cause) for c in second.causes] == [
        ("ticket-triage", "catalog:cheap-frontier")
    ]
    with session_factory.begin() as session:
        first_claim = claim_causes(session, token="a")
        assert claim_causes(session, token="b") == []
    assert [c.cause for c in first_claim] == ["catalog:cheap-frontier"]
    with session_factory.begin() as session:
        finish_causes(session, token="a", quarter="2026Q1", decided=["ticket-triage"])
    with session_factory.begin() as session:
        assert open_causes(session) == []
        assert claim_causes(session, token="c") == []
    # the same entry picked again later is no new cause
    assert _sync(session_factory, example, today=date(2026, 1, 1)).causes == ()


def test_a_failed_run_releases_its_causes(session_factory: Any, example: Path) -> None:
    _with_catalog(example, "{names: [big-frontier]}", "{names: [big-frontier]}")
    _sync(session_factory, example)  # the legal route's deprecation: one cause
    with session_factory.begin() as session:
        (claimed,) = claim_causes(session, token="a")
        finish_causes(session, token="a", quarter="2026Q4", decided=[])
    with session_factory.begin() as session:
        assert [c.id for c in claim_causes(session, token="b")] == [claimed.id]


def test_entry_named_like_a_candidate_is_refused(session_factory: Any, example: Path) -> None:
    _with_catalog(example, "{names: [big-frontier]}", "{}")
    text = example.read_text(encoding="utf-8").replace("- name: big-frontier", "- name: frontier")
    example.write_text(text.replace("names: [big-frontier]", "names: [frontier]"), "utf-8")
    with pytest.raises(WorkloadFileError, match="catalog entry 'frontier' has the name"):
        _sync(session_factory, example)


def test_a_plain_run_settles_the_causes_recorded_before_it(
    session_factory: Any, example: Path
) -> None:
    from datetime import timedelta

    from registry.catalog_triggers import settle_decided
    from registry.models import utcnow

    _with_catalog(example, "{names: [big-frontier]}", "{names: [big-frontier]}")
    _sync(session_factory, example)  # the legal route's deprecation: one cause
    with session_factory.begin() as session:
        settle_decided(session, workloads=["contract-clauses"], quarter="2026Q4",
                       before=utcnow() - timedelta(hours=1))  # fmt: skip
        assert len(open_causes(session)) == 1  # recorded after that run started
        settle_decided(session, workloads=["ticket-triage"], quarter="2026Q4", before=utcnow())
        assert len(open_causes(session)) == 1  # another workload's run
        settle_decided(session, workloads=["contract-clauses"], quarter="2026Q4", before=utcnow())
        assert open_causes(session) == []
