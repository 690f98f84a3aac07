"""Owners' actions on notices, their follow-ups in the outbox, and the notices still open.

- :func:`action_target`: the notice a Slack message is (found by channel and ``ts``), with
  its workload's owners and its decision.
- :func:`record_action`: one row per handled click, inserted once per Slack delivery (a
  redelivered click finds its ``delivery_key`` taken and records nothing).
- :func:`enqueue_followup`: a reply in a notice's thread, a reminder, an escalation or a
  dispute flag, added to the outbox once per key, like every notice.
- :func:`open_decisions`: sent owner notices with their state (the latest acknowledge,
  snooze, dispute or done), age, reminder and escalation.

Functions take a ``Session`` and never commit. :class:`ActionStore` runs each in its own
short transaction for the listener.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from registry.db import dialect_insert
from registry.models import (
    Decision,
    Notice,
    NoticeAction,
    NoticeActionKind,
    NoticeKind,
    NoticeStatus,
    Workload,
)
from registry.notices import cache_user_id, cached_user_id

OWNER_KINDS = (NoticeKind.RETIRE, NoticeKind.WATCH, NoticeKind.INCONCLUSIVE)
"""The notices owners act on (the others are digests and follow-ups)."""
STATE_ACTIONS = (
    NoticeActionKind.ACKNOWLEDGE,
    NoticeActionKind.SNOOZE,
    NoticeActionKind.DISPUTE,
    NoticeActionKind.DONE,
)
"""Actions that change a notice's state (a re-run does not)."""


@dataclass(frozen=True)
class ActionTarget:
    """A sent owner notice, as an action on it needs it.

    Attributes:
        notice_id: The notice.
        kind: ``retire`` | ``watch`` | ``inconclusive``.
        quarter: ``YYYYQn``.
        workload_id: Its workload.
        workload: The workload's name.
        decision_id: The decision it announced.
        verdict: That decision's verdict now (a re-run may have changed it).
        channel_id: Where it was posted.
        ts: Its message ts (the thread replies go in).
        owner_slack_user: The workload owner's Slack user id.
        owner_email: The workload owner's email.
        payload: The notice as sent (its links are the dispute's evidence).
    """

    notice_id: int
    kind: str
    quarter: str
    workload_id: int | None
    workload: str | None
    decision_id: int | None
    verdict: str | None
    channel_id: str | None
    ts: str | None
    owner_slack_user: str | None
    owner_email: str | None
    payload: dict[str, Any]


def _target(session: Session, notice: Notice) -> ActionTarget:
    workload = session.get(Workload, notice.workload_id) if notice.workload_id else None
    decision = session.get(Decision, notice.decision_id) if notice.decision_id else None
    return ActionTarget(
        notice_id=notice.id,
        kind=str(notice.kind),
        quarter=notice.quarter,
        workload_id=notice.workload_id,
        workload=workload.name if workload else None,
        decision_id=notice.decision_id,
        verdict=str(decision.verdict) if decision else None,
        channel_id=notice.channel_id,
        ts=notice.ts,
        owner_slack_user=workload.owner_slack_user if workload else None,
        owner_email=workload.owner_email if workload else None,
        payload=dict(notice.payload or {}),
    )


def action_target(
    session: Session, *, channel_id: str | None = None, ts: str | None = None,
    notice_id: int | None = None,
) -> ActionTarget | None:  # fmt: skip
    """The owner notice posted as message ``ts`` in ``channel_id``, or by id; None if none."""
    query = select(Notice).where(Notice.kind.in_(OWNER_KINDS))
    if notice_id is not None:
        query = query.where(Notice.id == notice_id)
    else:
        query = query.where(
            Notice.channel_id == channel_id, Notice.ts == ts, Notice.status == NoticeStatus.SENT
        )
    notice = session.scalars(query.limit(1)).first()
    return None if notice is None else _target(session, notice)


def record_action(
    session: Session,
    *,
    delivery_key: str,
    target: ActionTarget,
    action: NoticeActionKind | str,
    slack_user: str,
    note: str = "",
    snoozed_until: str | None = None,
    now: datetime,
) -> int | None:
    """Record an action once per Slack delivery: its id, or None when ``delivery_key`` was
    recorded already (a redelivered click)."""
    done = session.execute(
        dialect_insert(session)(NoticeAction)
        .values(
            delivery_key=delivery_key[:300], notice_id=target.notice_id,
            workload_id=target.workload_id, decision_id=target.decision_id,
            action=NoticeActionKind(action), slack_user=slack_user, note=note,
            snoozed_until=snoozed_until, acted_at=now,
        )
        .on_conflict_do_nothing()
        .returning(NoticeAction.id)
    ).first()  # fmt: skip
    return None if done is None else int(done[0])


def enqueue_followup(
    session: Session,
    *,
    key: str,
    kind: NoticeKind | str,
    quarter: str,
    payload: dict[str, Any],
    reply_to_id: int | None = None,
    destination: str | None = None,
    now: datetime,
) -> int:
    """Add a follow-up to the outbox once per ``key``: a reply or reminder in the thread of
    notice ``reply_to_id``, or a message to ``destination`` (the platform channel). Returns
    the notice id (the first one enqueued under ``key``)."""
    key = f"followup:{key}"[:300]
    session.execute(
        dialect_insert(session)(Notice)
        .values(
            dedupe_key=key, decision_id=None, workload_id=None, quarter=quarter,
            kind=NoticeKind(kind), status=NoticeStatus.PENDING, destination=destination,
            attempts=0, payload=payload, created_at=now, reply_to_id=reply_to_id,
        )
        .on_conflict_do_nothing()
    )  # fmt: skip
    return int(session.scalars(select(Notice.id).where(Notice.dedupe_key == key)).one())


def followup_at(session: Session, key: str) -> datetime | None:
    """When the follow-up under ``key`` was enqueued, or None if it never was."""
    return session.scalars(
        select(Notice.created_at).where(Notice.dedupe_key == f"followup:{key}"[:300])
    ).first()


@dataclass(frozen=True)
class OpenDecision:
    """A sent owner notice and where it stands.

    Attributes:
        notice_id: The notice.
        workload: The workload's name.
        quarter: ``YYYYQn``.
        kind: ``retire`` | ``watch`` | ``inconclusive``.
        sent_at: When Slack accepted it.
        state: ``open`` (no action yet), or the latest of ``acknowledge``, ``snooze``,
            ``dispute``, ``done``.
        state_by: Who took that action (Slack user id).
        state_at: When.
        snoozed_until: The quarter a snooze lasts until.
        reminded_at: When its reminder was enqueued (None: not reminded).
        escalated_at: When its escalation was enqueued (None: not escalated).
    """

    notice_id: int
    workload: str | None
    quarter: str
    kind: str
    sent_at: datetime
    state: str
    state_by: str | None
    state_at: datetime | None
    snoozed_until: str | None
    reminded_at: datetime | None
    escalated_at: datetime | None


def latest_state(session: Session, notice_id: int) -> NoticeAction | None:
    """The newest state-changing action on a notice (acknowledge, snooze, dispute, done)."""
    return session.scalars(
        select(NoticeAction)
        .where(NoticeAction.notice_id == notice_id, NoticeAction.action.in_(STATE_ACTIONS))
        .order_by(NoticeAction.acted_at.desc(), NoticeAction.id.desc())
        .limit(1)
    ).first()


def actions_on(session: Session, notice_id: int) -> list[NoticeAction]:
    """Every recorded action on a notice, oldest first."""
    return list(
        session.scalars(
            select(NoticeAction)
            .where(NoticeAction.notice_id == notice_id)
            .order_by(NoticeAction.acted_at, NoticeAction.id)
        )
    )


def open_decisions(session: Session, *, include_done: bool = False) -> list[OpenDecision]:
    """Sent owner notices with their state, oldest first (``done`` ones only if asked)."""
    rows = session.execute(
        select(Notice, Workload)
        .outerjoin(Workload, Workload.id == Notice.workload_id)
        .where(Notice.kind.in_(OWNER_KINDS), Notice.status == NoticeStatus.SENT)
        .order_by(Notice.sent_at, Notice.id)
    ).all()
    out = []
    for notice, workload in rows:
        latest = latest_state(session, notice.id)
        state = str(latest.action) if latest else "open"
        if state == NoticeActionKind.DONE and not include_done:
            continue
        out.append(
            OpenDecision(
                notice_id=notice.id,
                workload=workload.name if workload else None,
                quarter=notice.quarter,
                kind=str(notice.kind),
                sent_at=notice.sent_at or notice.created_at,
                state=state,
                state_by=latest.slack_user if latest else None,
                state_at=latest.acted_at if latest else None,
                snoozed_until=latest.snoozed_until if latest else None,
                reminded_at=followup_at(session, reminder_key(notice.id)),
                escalated_at=followup_at(session, escalation_key(notice.id)),
            )
        )
    return out


def reminder_key(notice_id: int) -> str:
    """The follow-up key of a notice's one reminder."""
    return f"{notice_id}:reminder"


def escalation_key(notice_id: int) -> str:
    """The follow-up key of a notice's one escalation."""
    return f"{notice_id}:escalation"


class ActionStore:
    """The registry as the action listener uses it: each call one committed transaction.

    Args:
        sessions: A session factory (``registry.db.session_factory(engine)``).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def target(
        self, *, channel_id: str | None = None, ts: str | None = None,
        notice_id: int | None = None,
    ) -> ActionTarget | None:  # fmt: skip
        """:func:`action_target`, committed."""
        with self.sessions.begin() as session:
            return action_target(session, channel_id=channel_id, ts=ts, notice_id=notice_id)

    def record(
        self, *, delivery_key: str, target: ActionTarget, action: str, slack_user: str,
        note: str, snoozed_until: str | None, now: datetime,
        followups: Sequence[FollowUp],
    ) -> int | None:  # fmt: skip
        """Record the action and enqueue its follow-ups in one transaction: the action id,
        or None when this delivery was handled already (nothing is enqueued then)."""
        with self.sessions.begin() as session:
            action_id = record_action(
                session, delivery_key=delivery_key, target=target, action=action,
                slack_user=slack_user, note=note, snoozed_until=snoozed_until, now=now,
            )  # fmt: skip
            if action_id is None:
                return None
            for f in followups:
                enqueue_followup(
                    session, key=f"action:{action_id}:{f.name}", kind=f.kind,
                    quarter=target.quarter, payload=f.payload,
                    reply_to_id=target.notice_id if f.in_thread else None,
                    destination=f.destination, now=now,
                )  # fmt: skip
            return action_id

    def follow_up(self, action_id: int, target: ActionTarget, f: FollowUp, *, now: datetime) -> int:
        """Enqueue one more follow-up of a recorded action (a re-run's result)."""
        with self.sessions.begin() as session:
            return enqueue_followup(
                session, key=f"action:{action_id}:{f.name}", kind=f.kind,
                quarter=target.quarter, payload=f.payload,
                reply_to_id=target.notice_id if f.in_thread else None,
                destination=f.destination, now=now,
            )  # fmt: skip

    def cached_user_id(self, email: str) -> str | None:
        """:func:`registry.notices.cached_user_id`, committed."""
        with self.sessions.begin() as session:
            return cached_user_id(session, email)

    def cache_user_id(self, email: str, user_id: str, *, now: datetime) -> None:
        """:func:`registry.notices.cache_user_id`, committed."""
        with self.sessions.begin() as session:
            cache_user_id(session, email, user_id, now=now)


class FollowUp(Protocol):
    """A message an action sends through the outbox (``tasks.notify.actions.FollowUp``).

    ``name`` is unique among the action's follow-ups (``reply``, ``flag``, ``result``);
    ``kind`` the outbox kind; ``in_thread``: post in the notice's thread, else to
    ``destination`` (the platform channel).
    """

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def in_thread(self) -> bool: ...
    @property
    def destination(self) -> str | None: ...
