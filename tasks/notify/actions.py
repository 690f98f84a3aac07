"""Owners act on a notice from its buttons: each click handled once, by whom it may concern.

:func:`parse_interaction` turns Slack's interaction payload (a button's ``block_actions``, or
the dispute modal's ``view_submission``) into a :class:`Click` or a
:class:`DisputeSubmission`. :class:`ActionHandler` then:

1. finds the notice the click came from (by the message's channel and ``ts``);
2. checks the user may act: the workload's owner (``owner_slack_user``, or the user
   ``users.lookupByEmail`` finds for ``owner_email``), an admin, or a member of an admin user
   group. Anyone else gets an ephemeral "not yours" (``chat.postEphemeral``) and nothing is
   recorded;
3. records the action with its follow-ups in one transaction, once per Slack delivery (the
   payload's ``action_ts`` or the view id, plus the user): a redelivered click records
   nothing and sends nothing;
4. sends the follow-ups through the outbox (a reply in the notice's thread; a dispute's flag
   to the platform channel, with the evidence links), and for "Re-run now" starts the
   re-litigation in the background and posts its result in the thread when it ends.

"Dispute" first opens a modal asking for the reason (``views.open``); the action is recorded
when the modal is submitted. This module imports neither the registry nor slack_sdk: it is
given an :class:`ActionStore` (``registry.notice_actions.ActionStore``) and an
:class:`ActionSlack` (``tasks.notify.slack.SlackClient``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tasks.notify.message import ACTION_PREFIX

logger = logging.getLogger(__name__)

ACTIONS = ("acknowledge", "snooze", "rerun", "dispute", "done")
DISPUTE_CALLBACK = "relitigate_dispute"
"""The dispute modal's ``callback_id``."""

Outcome = Literal["recorded", "duplicate", "refused", "asked", "ignored"]


@dataclass(frozen=True)
class Click:
    """A button clicked on a notice."""

    action: str
    user: str
    channel_id: str
    message_ts: str
    trigger_id: str | None
    delivery_key: str
    """The click's identity across Slack's redeliveries (``action_ts`` and user)."""


@dataclass(frozen=True)
class DisputeSubmission:
    """The dispute modal, submitted with its reason."""

    notice_id: int
    user: str
    reason: str
    delivery_key: str


@dataclass(frozen=True)
class FollowUp:
    """A message an action sends through the outbox (see ``registry.notice_actions``)."""

    name: str
    kind: str
    payload: dict[str, Any]
    in_thread: bool = True
    destination: str | None = None


@dataclass(frozen=True)
class RerunRequest:
    """What "Re-run now" asks for: one workload's quarter, re-benchmarked."""

    workload: str
    quarter: str


@dataclass(frozen=True)
class ActionPolicy:
    """Who may act besides the owner, and where disputes are flagged.

    Attributes:
        admins: Slack user ids that may act on any notice.
        admin_groups: Slack user group ids (``S...``) whose members may.
        platform_channel: Where disputes are flagged (None: they are recorded only).
    """

    admins: frozenset[str] = frozenset()
    admin_groups: tuple[str, ...] = ()
    platform_channel: str | None = None

    @classmethod
    def parse(cls, admins: str, *, platform_channel: str | None) -> ActionPolicy:
        """From ``RELITIGATE_SLACK_ADMINS`` (``U...`` users and ``S...`` groups, commas)."""
        ids = [p.strip() for p in admins.split(",") if p.strip()]
        return cls(
            admins=frozenset(i for i in ids if not i.startswith("S")),
            admin_groups=tuple(i for i in ids if i.startswith("S")),
            platform_channel=platform_channel,
        )


class ActionTargetView(Protocol):
    """The notice an action is on (``registry.notice_actions.ActionTarget``)."""

    @property
    def notice_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def quarter(self) -> str: ...
    @property
    def workload(self) -> str | None: ...
    @property
    def channel_id(self) -> str | None: ...
    @property
    def owner_slack_user(self) -> str | None: ...
    @property
    def owner_email(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class ActionStore(Protocol):
    """The registry side (``registry.notice_actions.ActionStore``)."""

    def target(
        self, *, channel_id: str | None = None, ts: str | None = None,
        notice_id: int | None = None,
    ) -> ActionTargetView | None: ...  # fmt: skip
    def record(
        self, *, delivery_key: str, target: Any, action: str, slack_user: str, note: str,
        snoozed_until: str | None, now: datetime, followups: Sequence[FollowUp],
    ) -> int | None: ...  # fmt: skip
    def follow_up(self, action_id: int, target: Any, f: FollowUp, *, now: datetime) -> int: ...
    def cached_user_id(self, email: str) -> str | None: ...
    def cache_user_id(self, email: str, user_id: str, *, now: datetime) -> None: ...


class ActionSlack(Protocol):
    """The Slack calls actions make (``tasks.notify.slack.SlackClient``)."""

    def lookup_user_id(self, email: str) -> str: ...
    def post_ephemeral(self, channel: str, *, user: str, text: str) -> None: ...
    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None: ...
    def usergroup_members(self, group_id: str) -> frozenset[str]: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def parse_interaction(payload: Mapping[str, Any]) -> Click | DisputeSubmission | None:
    """A notice button's click, a dispute's submission, or None for anything else."""
    user = str(_get(payload, "user", "id") or "")
    if not user:
        return None
    if payload.get("type") == "block_actions":
        actions = payload.get("actions") or []
        action = actions[0] if actions and isinstance(actions[0], Mapping) else {}
        name = str(action.get("action_id") or "").removeprefix(ACTION_PREFIX)
        channel = _get(payload, "container", "channel_id") or _get(payload, "channel", "id")
        ts = _get(payload, "container", "message_ts") or _get(payload, "message", "ts")
        if name not in ACTIONS or not channel or not ts:
            return None
        stamp = action.get("action_ts") or payload.get("trigger_id") or ts
        return Click(
            action=name, user=user, channel_id=str(channel), message_ts=str(ts),
            trigger_id=payload.get("trigger_id"), delivery_key=f"{stamp}:{user}:{name}",
        )  # fmt: skip
    if payload.get("type") == "view_submission":
        view = payload.get("view") or {}
        if view.get("callback_id") != DISPUTE_CALLBACK:
            return None
        try:
            notice_id = int(str(view.get("private_metadata") or ""))
        except ValueError:
            return None
        reason = _get(view, "state", "values", "reason", "reason", "value") or ""
        return DisputeSubmission(
            notice_id=notice_id, user=user, reason=str(reason).strip()[:2000],
            delivery_key=f"view:{view.get('id') or view.get('hash')}:{user}:dispute",
        )  # fmt: skip
    return None


def next_quarter(quarter: str) -> str:
    """``2026Q4`` -> ``2027Q1``."""
    year, q = int(quarter[:4]), int(quarter[5])
    return f"{year + 1}Q1" if q == 4 else f"{year}Q{q + 1}"


def dispute_view(notice_id: int, workload: str | None) -> dict[str, Any]:
    """The modal that asks why the owner disputes the verdict."""
    return {
        "type": "modal",
        "callback_id": DISPUTE_CALLBACK,
        "private_metadata": str(notice_id),
        "title": {"type": "plain_text", "text": "Dispute the verdict"},
        "submit": {"type": "plain_text", "text": "Dispute"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {
                    "type": "plain_text",
                    "text": f"Why do you doubt the verdict on {workload or 'this workload'}?"[
                        :2000
                    ],
                },
                "element": {"type": "plain_text_input", "action_id": "reason", "multiline": True},
            }
        ],
    }


def evidence_links(payload: Mapping[str, Any]) -> list[str]:
    """The notice's links (memo, flow run), as Slack mrkdwn links."""
    links: list[str] = []
    for block in payload.get("blocks") or []:
        if isinstance(block, Mapping) and block.get("type") == "context":
            for element in block.get("elements") or []:
                text = str(element.get("text") or "")
                links += [part for part in text.split(" · ") if part.startswith("<")]
    return links


def _message(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


Rerun = Callable[[RerunRequest], str]
"""Runs the re-litigation and returns the line to post (``relitigate`` wires the flow)."""
Background = Callable[[Callable[[], None]], object]
"""Runs a job later (a thread pool's ``submit``)."""
