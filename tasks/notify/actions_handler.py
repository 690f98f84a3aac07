"""Handle one interaction payload: authorise, record once, follow up (see :mod:`.actions`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tasks.notify.actions import (
    ActionPolicy,
    ActionSlack,
    ActionStore,
    ActionTargetView,
    Background,
    Click,
    DisputeSubmission,
    FollowUp,
    Outcome,
    Rerun,
    RerunRequest,
    _message,
    _utcnow,
    dispute_view,
    evidence_links,
    next_quarter,
    parse_interaction,
)
from tasks.notify.errors import SlackError
from tasks.notify.message import escape

logger = logging.getLogger(__name__)


def _inline(job: Callable[[], None]) -> None:
    job()


_REPLIES = {
    "acknowledge": ":eyes: {who} acknowledged this notice.",
    "snooze": ":zzz: {who} snoozed this notice until {until}.",
    "done": ":white_check_mark: {who} marked this as done: the fine-tune is retired or the "
    "route switched.",
    "rerun": ":arrows_counterclockwise: {who} started a re-run of {what}; its result will be "
    "posted here.",
}
_ROUTED = " The routing export (`relitigate routing`) sends {workload} to the buy alternative."


class ActionHandler:
    """Handles interaction payloads from Socket Mode or the signed HTTP endpoint.

    Args:
        store: The registry side.
        slack: The Slack client (bot token).
        policy: Admins and the platform channel.
        rerun: Runs a re-litigation and returns the line to post (None: re-runs refused).
        deliver: Sends the outbox's pending notices (the follow-ups just enqueued).
        background: Runs a re-run off the listener's thread (default: inline).
        now: The clock.
    """

    def __init__(
        self,
        store: ActionStore,
        slack: ActionSlack,
        *,
        policy: ActionPolicy,
        rerun: Rerun | None = None,
        deliver: Callable[[], object] = lambda: None,
        background: Background | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.store, self.slack, self.policy = store, slack, policy
        self._rerun, self._deliver = rerun, deliver
        self._background, self._now = background or _inline, now or _utcnow

    def handle(self, payload: Mapping[str, Any]) -> Outcome:
        """Handle one payload; what happened (``recorded``, ``duplicate``, ``refused``,
        ``asked`` for the dispute modal, ``ignored`` for anything not ours)."""
        event = parse_interaction(payload)
        if event is None:
            return "ignored"
        if isinstance(event, DisputeSubmission):
            target = self.store.target(notice_id=event.notice_id)
            channel = target.channel_id if target else None
            return self._act(
                target, user=event.user, channel=channel, action="dispute",
                delivery_key=event.delivery_key, note=event.reason,
            )  # fmt: skip
        target = self.store.target(channel_id=event.channel_id, ts=event.message_ts)
        if event.action == "dispute" and target is not None:
            if not self._may_act(event.user, target):
                return self._refuse(event.channel_id, event.user, target)
            if event.trigger_id:
                self.slack.open_view(
                    event.trigger_id, dispute_view(target.notice_id, target.workload)
                )
                return "asked"
        return self._act(
            target, user=event.user, channel=event.channel_id, action=event.action,
            delivery_key=event.delivery_key, note="",
        )  # fmt: skip

    def _act(
        self, target: ActionTargetView | None, *, user: str, channel: str | None, action: str,
        delivery_key: str, note: str,
    ) -> Outcome:  # fmt: skip
        if target is None:
            logger.info("a %s click on a message that is no notice of ours: ignored", action)
            return "ignored"
        if not self._may_act(user, target):
            return self._refuse(channel, user, target)
        if action == "snooze" and target.kind != "watch":
            if channel:
                self.slack.post_ephemeral(
                    channel, user=user, text="Snooze is for watch notices only: nothing recorded."
                )
            return "refused"
        until = next_quarter(target.quarter) if action == "snooze" else None
        action_id = self.store.record(
            delivery_key=delivery_key, target=target, action=action, slack_user=user,
            note=note, snoozed_until=until, now=self._now(),
            followups=self._followups(target, action=action, user=user, note=note, until=until),
        )  # fmt: skip
        if action_id is None:
            logger.info("notice %s: %s by %s already handled", target.notice_id, action, user)
            return "duplicate"
        logger.info("notice %s: %s by %s recorded", target.notice_id, action, user)
        self._deliver()
        if action == "rerun":
            self._background(lambda: self._run(action_id, target))
        return "recorded"

    def _followups(
        self, target: ActionTargetView, *, action: str, user: str, note: str, until: str | None
    ) -> list[FollowUp]:
        who = f"<@{escape(user)}>"
        what = f"{escape(target.workload or '')} {target.quarter}"
        if action == "rerun" and self._rerun is None:
            line = f"{who} asked for a re-run, but this listener cannot start one."
        elif action == "dispute":
            return self._dispute(target, who=who, what=what, reason=escape(note))
        else:
            line = _REPLIES[action].format(who=who, what=what, until=until)
            if action == "done" and target.kind == "retire":
                line += _ROUTED.format(workload=escape(target.workload or ""))
        return [FollowUp("reply", "reply", _message(line))]

    def _dispute(
        self, target: ActionTargetView, *, who: str, what: str, reason: str
    ) -> list[FollowUp]:
        reason = reason or "no reason given"
        flag_to = self.policy.platform_channel
        line = f":warning: {who} disputed this decision: {reason}."
        line += (
            " Flagged to the platform channel."
            if flag_to
            else " (No platform channel is configured to flag it to.)"
        )
        out = [FollowUp("reply", "reply", _message(line))]
        if flag_to:
            links = " · ".join(evidence_links(target.payload)) or "no links on the notice"
            flag = (
                f":rotating_light: *Disputed*: {what} ({target.kind}) by {who}: {reason}\n"
                f"Evidence: {links}"
            )
            out.append(
                FollowUp("flag", "flag", _message(flag), in_thread=False, destination=flag_to)
            )
        return out

    def _run(self, action_id: int, target: ActionTargetView) -> None:
        assert self._rerun is not None
        request = RerunRequest(workload=target.workload or "", quarter=target.quarter)
        try:
            line = self._rerun(request)
        except Exception as exc:  # the re-run's failure is the reply, never a crash
            logger.warning("re-run of %s %s failed: %s", request.workload, request.quarter, exc)
            line = f":x: The re-run of {request.workload} {request.quarter} failed: {exc}"
        self.store.follow_up(
            action_id, target, FollowUp("result", "reply", _message(line)), now=self._now()
        )
        self._deliver()

    def _may_act(self, user: str, target: ActionTargetView) -> bool:
        if user in self.policy.admins or user == target.owner_slack_user:
            return True
        if target.owner_email and user == self._user_for(target.owner_email):
            return True
        for group in self.policy.admin_groups:
            try:
                if user in self.slack.usergroup_members(group):
                    return True
            except SlackError as exc:
                logger.warning("cannot list admin group %s: %s", group, exc.code)
        return False

    def _user_for(self, email: str) -> str | None:
        cached = self.store.cached_user_id(email)
        if cached:
            return cached
        try:
            user_id = self.slack.lookup_user_id(email)
        except SlackError as exc:
            logger.warning("cannot look up the owner's Slack user: %s", exc.code)
            return None
        self.store.cache_user_id(email, user_id, now=self._now())
        return user_id

    def _refuse(self, channel: str | None, user: str, target: ActionTargetView) -> Outcome:
        logger.info("notice %s: %s may not act on it; nothing recorded", target.notice_id, user)
        if channel:
            text = (
                f"This notice is for the owners of {target.workload or 'this workload'}: only "
                "they or a relitigate admin can act on it. Nothing was recorded."
            )
            try:
                self.slack.post_ephemeral(channel, user=user, text=text)
            except SlackError as exc:
                logger.warning("could not tell %s the notice is not theirs: %s", user, exc.code)
        return "refused"


__all__ = ["ActionHandler", "Click", "RerunRequest"]
