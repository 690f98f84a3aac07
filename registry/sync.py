"""``relitigate sync``: upsert the workloads file into the registry.

Everything is validated first (:func:`prepare_sync`: the file, the engines' rules through the
caller's :data:`WorkloadCheck`, and every eval set it names), before the registry is opened;
then :func:`apply_sync` writes in the caller's transaction: a bad file or eval set leaves the
registry unchanged. Idempotent: each
workload carries a ``config_hash`` over its declaration and its eval set's content, so a second
sync of the same file writes nothing. Workloads (and candidates) missing from the file are
archived (``archived_at`` set), never deleted; declaring them again restores them.

The file's buy catalog is resolved in :func:`prepare_sync` (:mod:`registry.catalog`): each
workload's buys are its declared ones plus the catalog entries it picks, stored as buy
candidates like the declared ones. :func:`apply_sync` records a trigger cause
(:mod:`registry.catalog_triggers`) when an existing workload gets a new eval-set version, a
replaced fine-tune or a new catalog challenger, or a route of it nears its deprecation date.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.catalog import ResolvedCatalog, RouteFactsLookup, file_routes, resolve_catalog
from registry.catalog import store_catalog as store_catalog
from registry.catalog_triggers import (
    CauseRecord,
    fine_tune_identity,
    fine_tune_replaced,
    record_cause,
    record_deprecation_causes,
)
from registry.errors import WorkloadFileError
from registry.evalset_files import EvalSetLimits, ParsedEvalSet, read_eval_set
from registry.evalsets import ImportedVersion, store_eval_set
from registry.models import Candidate, CandidateRole, Workload, utcnow
from registry.stored_form import candidate_values, canonical_json, config_hash, workload_values
from registry.workload_file import WorkloadFile, WorkloadSpec, load_workload_file_with_lines
from registry.workload_parts import CandidateSpec
from registry.yaml_lines import LineMap


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A declaration the engines would refuse, found by a :data:`WorkloadCheck`."""

    field: str
    """Dotted path inside the workload, as written in the file (``thresholds.max_error_rate``,
    ``buy[0].limits``)."""
    message: str
    """What is wrong and what to write instead."""


WorkloadCheck = Callable[[Workload, Mapping[str, Candidate]], FieldProblem | None]
"""Checks one workload as it would be stored: the transient rows (the workload, and its
candidates keyed by their place in the file: ``fine_tune``, ``buy[0]``, ...), never added to a
session. The front door passes one that applies the engines' own rules."""


@dataclass(frozen=True)
class SyncPlan:
    """A workloads file read and validated in full; nothing written yet."""

    path: Path
    declaration: WorkloadFile
    eval_sets: dict[str, ParsedEvalSet]
    """Parsed eval sets by registry name."""
    catalog: ResolvedCatalog
    """Each workload's catalog buys, each entry's price and every route's deprecation date."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync did, by workload name."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    archived: tuple[str, ...]
    eval_set_versions_created: tuple[str, ...]
    """``name@version`` of each eval-set version this sync stored."""
    catalog_added: tuple[str, ...] = ()
    """Catalog entries new (or restored) at this sync."""
    causes: tuple[CauseRecord, ...] = ()
    """Trigger causes this sync recorded (each is recorded once, ever)."""

    @property
    def changed(self) -> bool:
        """Whether the sync wrote anything."""
        return bool(self.created or self.updated or self.archived or self.eval_set_versions_created)

    def counts(self) -> dict[str, int]:
        """Counts per outcome."""
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "archived": len(self.archived),
            "eval_set_versions_created": len(self.eval_set_versions_created),
        }


def _eval_set_name(spec: WorkloadSpec) -> str:
    return spec.eval_set.name or spec.name


def _read_eval_sets(
    workload_file: Path, specs: list[WorkloadSpec], lines: LineMap, limits: EvalSetLimits
) -> dict[str, ParsedEvalSet]:
    """Read every eval set the file names; one name must mean one content."""
    base = workload_file.parent
    parsed: dict[str, ParsedEvalSet] = {}
    for index, spec in enumerate(specs):
        name = _eval_set_name(spec)
        path = Path(spec.eval_set.path)
        resolved = path if path.is_absolute() else base / path
        if not resolved.is_file():
            raise WorkloadFileError(
                f"eval set file {str(resolved)!r} not found (paths are relative to this file)",
                path=workload_file,
                line=lines.line_for(("workloads", index, "eval_set", "path")),
                field=f"workloads[{index}].eval_set.path",
            )
        current = read_eval_set(resolved, format=spec.eval_set.format, limits=limits)
        earlier = parsed.get(name)
        if earlier is not None and earlier.content_hash != current.content_hash:
            raise WorkloadFileError(
                f"eval set name {name!r} already names another file ({earlier.path}): "
                "give each file its own eval_set.name",
                path=workload_file,
                line=lines.line_for(("workloads", index, "eval_set")),
                field=f"workloads[{index}].eval_set.name",
            )
        parsed[name] = current
    return parsed


def _sync_candidates(
    session: Session, workload: Workload, spec: WorkloadSpec, catalog_buys: Sequence[CandidateSpec]
) -> None:
    declared = {spec.fine_tune.name: candidate_values(spec.fine_tune, CandidateRole.FINE_TUNE)}
    for buy in [*spec.buy, *catalog_buys]:
        declared[buy.name] = candidate_values(buy, CandidateRole.BUY)
    existing = {
        c.name: c
        for c in session.scalars(select(Candidate).where(Candidate.workload_id == workload.id))
    }
    for name, values in declared.items():
        candidate = existing.get(name)
        if candidate is None:
            session.add(Candidate(workload_id=workload.id, name=name, **values))
            continue
        for key, value in values.items():
            if getattr(candidate, key) != value:
                setattr(candidate, key, value)
        if candidate.archived_at is not None:
            candidate.archived_at = None
    now = utcnow()
    for name, candidate in existing.items():
        if name not in declared and candidate.archived_at is None:
            candidate.archived_at = now


def _check_workloads(
    workload_file: Path, specs: list[WorkloadSpec], lines: LineMap, check: WorkloadCheck
) -> None:
    for index, spec in enumerate(specs):
        workload = Workload(name=spec.name, **workload_values(spec))
        candidates = {
            "fine_tune": Candidate(
                name=spec.fine_tune.name,
                **candidate_values(spec.fine_tune, CandidateRole.FINE_TUNE),
            )
        }
        for i, buy in enumerate(spec.buy):
            candidates[f"buy[{i}]"] = Candidate(
                name=buy.name, **candidate_values(buy, CandidateRole.BUY)
            )
        problem = check(workload, candidates)
        if problem is None:
            continue
        parts: list[str | int] = ["workloads", index]
        for part in problem.field.replace("]", "").replace("[", ".").split("."):
            parts.append(int(part) if part.isdigit() else part)
        raise WorkloadFileError(
            problem.message,
            path=workload_file,
            line=lines.line_for(parts),
            field=f"workloads[{index}].{problem.field}",
        )


def prepare_sync(
    file_path: str | Path,
    *,
    limits: EvalSetLimits | None = None,
    check: WorkloadCheck | None = None,
    document: tuple[Any, LineMap] | None = None,
    facts: RouteFactsLookup | None = None,
) -> SyncPlan:
    """Read and validate a workloads file and every eval set it names; write nothing.

    Args:
        file_path: the ``relitigate.yaml`` to apply.
        document: the file as :func:`~registry.yaml_lines.read_yaml_file` parsed it, if the
            caller already did.
        limits: caps on the eval-set files (default :class:`EvalSetLimits`).
        check: the engines' rules, applied to each workload as it would be stored.
        facts: looks the file's routes up in litellm's price map (catalog prices and
            deprecation dates the file does not declare); None: only what the file says.

    Raises:
        WorkloadFileError: the file is invalid, or ``check`` found a problem (file, line and
            field in the message).
        EvalSetError: an eval set it names is invalid or over a limit.
    """
    file_path = Path(file_path)
    declaration, lines = load_workload_file_with_lines(file_path, document=document)
    if check is not None:
        _check_workloads(file_path, declaration.workloads, lines, check)
    eval_sets = _read_eval_sets(file_path, declaration.workloads, lines, limits or EvalSetLimits())
    known = facts(file_routes(declaration)) if facts is not None else {}
    catalog = resolve_catalog(declaration, eval_sets, known)
    _check_catalog_names(file_path, declaration.workloads, lines, catalog)
    return SyncPlan(path=file_path, declaration=declaration, eval_sets=eval_sets, catalog=catalog)


def _check_catalog_names(
    workload_file: Path, specs: list[WorkloadSpec], lines: LineMap, catalog: ResolvedCatalog
) -> None:
    for index, spec in enumerate(specs):
        own = {spec.fine_tune.name, *(b.name for b in spec.buy)}
        clash = sorted(own & {b.name for b in catalog.buys.get(spec.name, ())})
        if clash:
            raise WorkloadFileError(
                f"catalog entry {clash[0]!r} has the name of one of this workload's own "
                "candidates: rename the entry or the candidate",
                path=workload_file,
                line=lines.line_for(("workloads", index, "catalog")),
                field=f"workloads[{index}].catalog",
            )


def sync_workloads(
    session: Session,
    file_path: str | Path,
    *,
    limits: EvalSetLimits | None = None,
    check: WorkloadCheck | None = None,
    facts: RouteFactsLookup | None = None,
    today: date | None = None,
) -> SyncReport:
    """Upsert every workload of ``file_path`` (and its eval set) into the registry.

    :func:`prepare_sync` then :func:`apply_sync`; the session never commits.
    """
    plan = prepare_sync(file_path, limits=limits, check=check, facts=facts)
    return apply_sync(session, plan, today=today)


def apply_sync(session: Session, plan: SyncPlan, *, today: date | None = None) -> SyncReport:
    """Write a prepared sync in the caller's session (which this function never commits).

    Args:
        today: the date deprecation horizons count from (default: today, UTC).

    Returns:
        What was created, updated, left unchanged and archived.
    """
    stored = {
        name: store_eval_set(session, name=name, parsed=parsed)
        for name, parsed in plan.eval_sets.items()
    }
    added = store_catalog(session, plan.catalog)
    outcomes: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    causes: list[CauseRecord] = []
    existing = {w.name: w for w in session.scalars(select(Workload))}
    for spec in plan.declaration.workloads:
        catalog_buys = plan.catalog.buys.get(spec.name, ())
        outcome = _upsert_workload(session, spec, existing.get(spec.name), stored, catalog_buys,
                                   causes)  # fmt: skip
        outcomes[outcome].append(spec.name)
    declared = {spec.name for spec in plan.declaration.workloads}
    archived: list[str] = []
    now = utcnow()
    for name, workload in sorted(existing.items()):
        if name not in declared and workload.archived_at is None:
            workload.archived_at = now
            archived.append(name)
    session.flush()
    causes += record_deprecation_causes(session, today=today or utcnow().date())
    return SyncReport(
        created=tuple(outcomes["created"]),
        updated=tuple(outcomes["updated"]),
        unchanged=tuple(outcomes["unchanged"]),
        archived=tuple(archived),
        eval_set_versions_created=tuple(
            f"{name}@{imported.version}" for name, imported in stored.items() if imported.created
        ),
        catalog_added=added,
        causes=tuple(causes),
    )


def _upsert_workload(
    session: Session,
    spec: WorkloadSpec,
    workload: Workload | None,
    stored: Mapping[str, ImportedVersion],
    catalog_buys: Sequence[CandidateSpec],
    causes: list[CauseRecord],
) -> str:
    """Create, update or leave one workload (and its candidates); says which it did."""
    imported = stored[_eval_set_name(spec)]
    digest = config_hash(
        spec,
        eval_set_name=imported.eval_set_name,
        content_hash=imported.content_hash,
        catalog_buys=catalog_buys,
    )
    if workload is not None and workload.config_hash == digest and workload.archived_at is None:
        return "unchanged"
    values = workload_values(spec) | {
        "eval_set_id": imported.eval_set_id,
        "eval_set_version_id": imported.version_id,
        "config_hash": digest,
        "archived_at": None,
    }
    outcome = "updated"
    if workload is None:
        workload = Workload(name=spec.name, **values)
        session.add(workload)
        session.flush()
        outcome = "created"
    else:
        causes += _causes(session, workload, spec, imported, catalog_buys)
        for key, value in values.items():
            if getattr(workload, key) != value:
                setattr(workload, key, value)
    _sync_candidates(session, workload, spec, catalog_buys)
    return outcome


def _causes(
    session: Session,
    workload: Workload,
    spec: WorkloadSpec,
    imported: ImportedVersion,
    catalog_buys: Sequence[CandidateSpec],
) -> list[CauseRecord]:
    """The trigger causes an update of an existing workload brings (before it is written)."""
    active = {
        c.name: c
        for c in session.scalars(select(Candidate).where(Candidate.workload_id == workload.id))
        if c.archived_at is None
    }
    found = []
    if workload.eval_set_version_id != imported.version_id:
        key = f"{imported.eval_set_name}@{imported.version}"
        found.append((f"eval_set:{key}", "eval_set", f"eval set {key} is new"))
    values = candidate_values(spec.fine_tune, CandidateRole.FINE_TUNE)
    before = active.get(spec.fine_tune.name)
    if fine_tune_replaced(before, values):
        text = canonical_json(fine_tune_identity(values) | {"name": spec.fine_tune.name})
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        found.append((f"fine_tune:{spec.fine_tune.name}:{digest}", "fine_tune",
                      f"fine-tune {spec.fine_tune.name} replaced"))  # fmt: skip
    for buy in catalog_buys:
        if buy.name not in active:
            found.append(
                (f"catalog:{buy.name}", "catalog", f"catalog entry {buy.name} challenges it")
            )
    records = [
        record_cause(session, workload, cause=cause, kind=kind, detail=detail)
        for cause, kind, detail in found
    ]
    return [r for r in records if r is not None]
