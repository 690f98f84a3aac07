"""Errors that Slack notices raise.

Exception tree::

    NoticeError                   anything a user can fix (exit code 2)
    ├── SlackError                a Slack Web API call failed; carries ``method`` and ``code``
    │   ├── SlackTransientError   rate limited after retries, 5xx, connection: retry later
    │   └── SlackPermanentError   channel_not_found, invalid_auth, users_not_found...: a person
    │                             must fix the destination or the token
    └── NoticeNotFoundError       no notice with that id in the outbox

Messages are built from fields and never include the Slack token.
"""

from __future__ import annotations


class NoticeError(Exception):
    """Base class for notice errors a user can cause or fix."""

    exit_code = 2


class SlackError(NoticeError):
    """A Slack Web API call failed.

    Attributes:
        method: The Web API method, e.g. ``chat.postMessage``.
        code: Slack's error code (``channel_not_found``) or a short transport reason
            (``http_503``, ``connection_refused``).
        maybe_delivered: True when the request may have reached Slack although no success
            came back (a 5xx or a dropped connection on a write): the caller must check
            before sending again.
    """

    transient = False

    def __init__(self, method: str, code: str, *, maybe_delivered: bool = False) -> None:
        self.method = method
        self.code = code
        self.maybe_delivered = maybe_delivered
        super().__init__(self._describe())

    def _describe(self) -> str:
        return f"Slack {self.method} failed: {self.code}"


class SlackTransientError(SlackError):
    """A failure that may go away by itself: the notice stays pending for the next delivery."""

    transient = True

    def _describe(self) -> str:
        return (
            f"Slack {self.method} failed: {self.code} (temporary; the notice stays pending "
            "and the next `relitigate notices deliver` retries it)"
        )


_HINTS = {
    "invalid_auth": "check RELITIGATE_SLACK_TOKEN (or the Secret block) holds a valid bot token",
    "not_authed": "set RELITIGATE_SLACK_TOKEN (or the Secret block) to a bot token",
    "token_revoked": "the bot token was revoked: issue a new one",
    "account_inactive": "the token's app or user is deactivated: issue a new token",
    "channel_not_found": "fix the workload's slack_channel, or invite the bot to it",
    "not_in_channel": "invite the bot to the channel (/invite @relitigate)",
    "is_archived": "the channel is archived: point the workload at a live channel",
    "users_not_found": "fix the workload's owner_email or set owner_slack_user",
    "user_not_found": "fix the workload's owner_slack_user",
    "missing_scope": "add the missing OAuth scope to the Slack app and reinstall it",
}


class SlackPermanentError(SlackError):
    """A failure that retrying will not fix: the notice is marked failed with this reason."""

    def _describe(self) -> str:
        hint = _HINTS.get(self.code, "see https://docs.slack.dev/reference/methods")
        return f"Slack {self.method} failed: {self.code} ({hint})"


class NoticeNotFoundError(NoticeError):
    """No notice with the given id."""

    def __init__(self, notice_id: str) -> None:
        self.notice_id = notice_id
        super().__init__(f"no notice with id {notice_id!r}; list them with `relitigate notices`")
