"""Errors the evaluation engine raises.

Exception tree::

    EvaluationError                  base; exit_code = 2 (a user can fix the cause)
    ├── ConfigurationError           a candidate, scorer or pricing setting is invalid
    │   ├── MissingCredentialsError  the env var named by ``api_key_env`` is unset
    │   ├── MissingPriceError        no price for a route (cost map or candidate pricing)
    │   └── JudgeIsContestantError   the LLM judge is one of the candidates it judges
    ├── ProviderError                a provider refused a call
    │   ├── PermanentProviderError   auth, bad request: retrying cannot help; stops the run
    │   │   ├── AuthenticationFailed
    │   │   └── UnknownModelError    the route does not resolve or the provider lacks it
    │   └── TransientProviderError   429, 5xx, timeouts, connection errors: retried
    └── BudgetExceeded               the next call could push spend over the cap

Every message says what failed, the offending value and what to do next. Every message is
scrubbed of secrets as the error is made (:func:`tasks.redaction.scrub`): a provider or a
proxy that echoes the API key in an error body ("Incorrect API key provided: Bearer ...")
must not carry it into a run's error, a log, Prefect's task-run state or the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.redaction import scrub
from vocabulary import ErrorKind

if TYPE_CHECKING:
    from tasks.evaluation.types import RunSummary


class EvaluationError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 2

    summary: RunSummary | None = None
    """What the run had done before it stopped, when a run was under way."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class ConfigurationError(EvaluationError):
    """A candidate, scorer or pricing setting is invalid."""


class MissingCredentialsError(ConfigurationError):
    """The environment variable that holds a candidate's API key is unset or empty."""

    def __init__(self, *, candidate: str, route: str, variable: str) -> None:
        self.candidate, self.route, self.variable = candidate, route, variable
        super().__init__(
            f"candidate {candidate!r} (route {route!r}): environment variable {variable} "
            f"is not set; export {variable}=<api key> (or a Prefect Secret) and run again"
        )


class MissingPriceError(ConfigurationError):
    """No per-token price is known for a route."""

    def __init__(self, *, candidate: str, route: str) -> None:
        self.candidate, self.route = candidate, route
        super().__init__(
            f"candidate {candidate!r}: route {route!r} has no price in litellm's cost map; "
            "add pricing to the candidate (input/output USD per token, or GPU USD per hour)"
        )


class JudgeIsContestantError(ConfigurationError):
    """The LLM judge's route is one of the routes it would judge."""

    def __init__(self, *, judge_route: str, candidate: str) -> None:
        self.judge_route, self.candidate = judge_route, candidate
        super().__init__(
            f"LLM judge route {judge_route!r} is also candidate {candidate!r}: a model may "
            "not judge its own answers; choose a judge model that is not in the comparison"
        )


class ProviderError(EvaluationError):
    """A provider call failed."""

    kind: str = "provider"

    def __init__(self, message: str, *, route: str, status: int | None = None) -> None:
        self.route, self.status = route, status
        super().__init__(message)


class PermanentProviderError(ProviderError):
    """Retrying cannot help (bad request, forbidden): the whole run stops."""

    kind = "permanent"


class AuthenticationFailed(PermanentProviderError):
    """The provider rejected the API key."""

    kind = "auth"


class UnknownModelError(PermanentProviderError):
    """The route does not resolve, or the provider does not serve that model."""

    kind = "unknown_model"


class TransientProviderError(ProviderError):
    """A failure worth retrying: rate limit, server error, timeout, connection error."""

    kind: ErrorKind
    """The item's error kind if retries run out: rate_limit, server, timeout or connection."""

    def __init__(
        self,
        message: str,
        *,
        route: str,
        kind: ErrorKind | str,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, route=route, status=status)
        self.kind = ErrorKind(kind)
        self.retry_after_s = retry_after_s


class BudgetExceeded(EvaluationError):
    """The next call's worst-case cost would take spend past the run's cap."""

    def __init__(self, *, cap_usd: object, spent_usd: object, needed_usd: object) -> None:
        self.cap_usd, self.spent_usd, self.needed_usd = cap_usd, spent_usd, needed_usd
        super().__init__(
            f"budget cap ${cap_usd} reached: spent ${spent_usd}, and the next call could cost "
            f"up to ${needed_usd}; raise --budget to finish the remaining items"
        )
