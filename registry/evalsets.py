"""Eval sets in the registry: store, version and look up the items of eval-set files.

Reading and validating the files (formats, located errors, the content hash) is
:mod:`registry.evalset_files`. A version is keyed by its content hash: importing identical
content returns the existing version; changed content (reordering included) makes a new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from registry.errors import InvalidValueError, NotFoundError
from registry.evalset_files import EvalSetLimits, ParsedEvalSet, read_eval_set
from registry.models import EvalItem, EvalSet, EvalSetVersion
from vocabulary import NAME_PATTERN


@dataclass(frozen=True, slots=True)
class ImportedVersion:
    """The stored version an import resolved to."""

    eval_set_id: int
    eval_set_name: str
    version_id: int
    version: int
    content_hash: str
    item_count: int
    created: bool
    """False when identical content was already stored (same version)."""


_INSERT_BATCH = 1000


def store_eval_set(
    session: Session, *, name: str, parsed: ParsedEvalSet, source_path: str | None = None
) -> ImportedVersion:
    """Store ``parsed`` as a version of eval set ``name`` (created if new).

    Identical content resolves to the existing version; changed content gets the next
    version number. Never commits.

    Raises:
        InvalidValueError: ``name`` is not 1-200 letters, digits, ``.``, ``_`` or ``-``.
    """
    if not re.fullmatch(NAME_PATTERN, name):
        shown = name if len(name) <= 60 else name[:57] + "..."
        raise InvalidValueError(
            f"eval set name {shown!r} is invalid: use 1-200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    eval_set = session.scalar(select(EvalSet).where(EvalSet.name == name))
    if eval_set is None:
        eval_set = EvalSet(name=name)
        session.add(eval_set)
        session.flush()
    version = session.scalar(
        select(EvalSetVersion).where(
            EvalSetVersion.eval_set_id == eval_set.id,
            EvalSetVersion.content_hash == parsed.content_hash,
        )
    )
    created = version is None
    if version is None:
        version = _new_version(session, eval_set, parsed, source_path)
    return ImportedVersion(
        eval_set_id=eval_set.id,
        eval_set_name=eval_set.name,
        version_id=version.id,
        version=version.version,
        content_hash=version.content_hash,
        item_count=version.item_count,
        created=created,
    )


def _new_version(
    session: Session, eval_set: EvalSet, parsed: ParsedEvalSet, source_path: str | None
) -> EvalSetVersion:
    """The next version of ``eval_set``, with its items inserted in batches."""
    last = session.scalar(
        select(func.max(EvalSetVersion.version)).where(EvalSetVersion.eval_set_id == eval_set.id)
    )
    version = EvalSetVersion(
        eval_set_id=eval_set.id,
        version=(last or 0) + 1,
        content_hash=parsed.content_hash,
        item_count=len(parsed.items),
        source_path=source_path if source_path is not None else parsed.path,
    )
    session.add(version)
    session.flush()
    rows = [
        {
            "version_id": version.id,
            "item_key": item.key,
            "position": position,
            "input": item.input,
            "target": item.target,
            "item_metadata": item.metadata,
        }
        for position, item in enumerate(parsed.items)
    ]
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(insert(EvalItem), rows[start : start + _INSERT_BATCH])
    return version


def import_eval_set(
    session: Session,
    *,
    name: str,
    path: str | Path,
    format: str | None = None,
    limits: EvalSetLimits | None = None,
) -> ImportedVersion:
    """Read, validate and store an eval-set file as a version of ``name``. Never commits.

    The file is fully validated (within ``limits``) before anything is written.
    """
    parsed = read_eval_set(path, format=format, limits=limits)
    return store_eval_set(session, name=name, parsed=parsed)


def get_eval_set(session: Session, name: str) -> EvalSet:
    """The eval set called ``name``.

    Raises:
        NotFoundError: there is none.
    """
    eval_set = session.scalar(select(EvalSet).where(EvalSet.name == name))
    if eval_set is None:
        raise NotFoundError(
            f"no eval set named {name!r}: import it with `relitigate evalset import`"
        )
    return eval_set


def list_versions(session: Session, eval_set_id: int) -> list[EvalSetVersion]:
    """The versions of an eval set, oldest first."""
    return list(
        session.scalars(
            select(EvalSetVersion)
            .where(EvalSetVersion.eval_set_id == eval_set_id)
            .order_by(EvalSetVersion.version)
        )
    )


def version_items(session: Session, version_id: int) -> list[EvalItem]:
    """The items of an eval-set version, in file order."""
    return list(
        session.scalars(
            select(EvalItem).where(EvalItem.version_id == version_id).order_by(EvalItem.position)
        )
    )
