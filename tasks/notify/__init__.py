"""Slack re-litigation notices: what to send, how it reads, and delivering it exactly once.

Modules: :mod:`~tasks.notify.facts` (what a notice says), :mod:`~tasks.notify.policy` (which
notice a decision calls for), :mod:`~tasks.notify.message` (Block Kit and text),
:mod:`~tasks.notify.digest` (the quarter digest from recorded decisions),
:mod:`~tasks.notify.delivery` (the outbox, exactly once; given the interfaces in
:mod:`~tasks.notify.ports`; each notice's outcome in :mod:`~tasks.notify.outcomes`),
:mod:`~tasks.notify.destination` (owner DM, else the channel), :mod:`~tasks.notify.token`
(the bot token and where it came from; :mod:`tasks.credentials` reads it),
:mod:`~tasks.notify.failures` (sorting Slack's errors) and :mod:`~tasks.notify.slack` (the
only module that imports slack_sdk; import it where a client is built).

The notice task writes the outbox in the decision's transaction::

    entry = outbox_entry(facts, previous=prior, platform_channel=settings.slack_platform_channel)
    if entry is not None:
        registry.notices.enqueue_notice(session, decision_id=..., workload_id=...,
            quarter=facts.quarter, kind=entry.kind, destination=entry.destination,
            payload=entry.payload)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tasks.notify.errors import (
    DeliveryStoppedError,
    NoticeError,
    NoticeNotFoundError,
    SlackCredentialError,
    SlackError,
    SlackPermanentError,
    SlackTransientError,
)
from tasks.notify.facts import (
    DigestFacts,
    DigestLine,
    GateFacts,
    Interval,
    NoticeFacts,
    NoticeKind,
    OwnerDestinations,
    SideFacts,
    TrendFacts,
    Verdict,
)
from tasks.notify.message import (
    Payload,
    build_digest_payload,
    build_payload,
    payload_as_text,
)
from tasks.notify.policy import NoticePlan, PriorDecision, plan_digest, plan_notice

# A library does not print: without logging configured, notice and slack_sdk records go
# nowhere (the CLI prints outcomes itself); with it configured, they propagate as usual.
logging.getLogger(__name__).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class OutboxEntry:
    """A notice ready for ``registry.notices.enqueue_notice``.

    Attributes:
        kind: ``retire`` | ``watch`` | ``inconclusive`` | ``digest``.
        destination: A fixed destination (the platform channel), or None for "the owner".
        payload: ``{"text", "blocks"}``.
    """

    kind: NoticeKind
    destination: str | None
    payload: Payload


def outbox_entry(
    facts: NoticeFacts,
    *,
    previous: PriorDecision | None = None,
    platform_channel: str | None = None,
) -> OutboxEntry | None:
    """The outbox entry a decision calls for (policy plus message), or None."""
    plan = plan_notice(
        facts.verdict,
        projected_erosion_quarter=facts.trend.projected_erosion_quarter,
        previous=previous,
        platform_channel=platform_channel,
    )
    if plan is None:
        return None
    return OutboxEntry(kind=plan.kind, destination=plan.destination, payload=build_payload(facts))


def digest_entry(digest: DigestFacts, *, platform_channel: str | None) -> OutboxEntry | None:
    """The quarter digest's outbox entry (``workload_id=None``), or None without a channel."""
    plan = plan_digest(platform_channel)
    if plan is None:
        return None
    return OutboxEntry(
        kind=plan.kind, destination=plan.destination, payload=build_digest_payload(digest)
    )


__all__ = [
    "DeliveryStoppedError",
    "DigestFacts",
    "DigestLine",
    "GateFacts",
    "Interval",
    "NoticeError",
    "NoticeFacts",
    "NoticeKind",
    "NoticeNotFoundError",
    "NoticePlan",
    "OutboxEntry",
    "OwnerDestinations",
    "Payload",
    "PriorDecision",
    "SideFacts",
    "SlackCredentialError",
    "SlackError",
    "SlackPermanentError",
    "SlackTransientError",
    "TrendFacts",
    "Verdict",
    "build_digest_payload",
    "build_payload",
    "digest_entry",
    "outbox_entry",
    "payload_as_text",
    "plan_digest",
    "plan_notice",
]
