"""Errors that Slack notices raise.

Exception tree::

    NoticeError                   anything a user can fix (exit code 2)
    ├── SlackError                a Slack Web API call failed; carries ``method`` and ``code``
    │   ├── SlackTransientError   rate limited after retries, 5xx, connection: retry later
    │   ├── SlackPermanentError   channel_not_found, not_in_channel, users_not_found...: this
    │   │                         notice's destination is wrong; it is marked failed
    │   └── SlackCredentialError  invalid_auth, token_revoked, missing_scope...: the token is
    │                             wrong for every notice; delivery stops, all stay pending
    ├── DeliveryStoppedError      a delivery pass ended early on a SlackCredentialError
    └── NoticeNotFoundError       no notice with that id in the outbox

Messages are built from fields (Slack's error code, never a response body) and never include
the Slack token.
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
    "channel_not_found": "fix the workload's slack_channel, or invite the bot to it",
    "not_in_channel": "invite the bot to the channel (/invite @relitigate)",
    "is_archived": "the channel is archived: point the workload at a live channel",
    "users_not_found": "fix the workload's owner_email or set owner_slack_user",
    "user_not_found": "fix the workload's owner_slack_user",
    "user_disabled": "the owner's Slack account is deactivated: fix the workload's owner",
    "missing_scope": "add the missing OAuth scope to the Slack app and reinstall it",
}


class SlackPermanentError(SlackError):
    """A failure that retrying will not fix: the notice is marked failed with this reason."""

    def _describe(self) -> str:
        hint = _HINTS.get(self.code, "see https://docs.slack.dev/reference/methods")
        return f"Slack {self.method} failed: {self.code} ({hint})"


CREDENTIAL_CODES = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "not_allowed_token_type",
        "no_permission",
        "ekm_access_denied",
        "team_access_not_granted",
        "org_login_required",
        "two_factor_setup_required",
        "enterprise_is_restricted",
        "missing_scope",
    }
)
"""Slack error codes about the token itself: no notice can be sent until a person fixes it."""

REQUIRED_SCOPES = {
    "chat.postMessage": "chat:write",
    "conversations.open": "im:write",
    "users.lookupByEmail": "users:read.email",
    "chat.postEphemeral": "chat:write",
    "usergroups.users.list": "usergroups:read",
}
"""The scope each call that delivery cannot do without needs. The other reads (channel
lists, history) are optional: without their scopes a notice is still sent, or marked failed
with a reason, as ``docs/deploying.md`` describes."""

DEFAULT_TOKEN_SETTING = "RELITIGATE_SLACK_TOKEN"


class SlackCredentialError(SlackError):
    """Slack refused the token (or it lacks a scope a notice needs): not any notice's fault.

    Delivery stops at once and every notice stays pending, so that fixing the token and
    delivering again sends each of them once.

    Attributes:
        token_setting: Where the token came from (``RELITIGATE_SLACK_TOKEN``, or the Prefect
            Secret block that ``RELITIGATE_SLACK_TOKEN_BLOCK`` names); never its value.
    """

    def __init__(
        self, method: str, code: str, *, token_setting: str = DEFAULT_TOKEN_SETTING
    ) -> None:
        self.token_setting = token_setting
        super().__init__(method, code)

    def _describe(self) -> str:
        if self.code == "missing_scope":
            scope = REQUIRED_SCOPES.get(self.method, "the scope it names")
            fix = (
                f"add the {scope} scope to the Slack app, reinstall it, and put the new bot "
                f"token in {self.token_setting}"
            )
        elif self.code == "not_authed":
            fix = f"set {self.token_setting} to a bot token (xoxb-...)"
        elif self.code in ("token_revoked", "token_expired", "account_inactive"):
            fix = f"issue a new bot token and put it in {self.token_setting}"
        else:
            fix = f"put a valid bot token (xoxb-...) in {self.token_setting}"
        return (
            f"Slack refused the bot token ({self.code} on {self.method}): {fix}, then run "
            "`relitigate notices deliver`; every notice stays pending until then"
        )


class DeliveryStoppedError(NoticeError):
    """A delivery pass stopped because Slack refused the token; the message is the
    credential error's line (which setting to fix)."""


class NoticeNotFoundError(NoticeError):
    """No notice with the given id."""

    def __init__(self, notice_id: str) -> None:
        self.notice_id = notice_id
        super().__init__(f"no notice with id {notice_id!r}; list them with `relitigate notices`")
