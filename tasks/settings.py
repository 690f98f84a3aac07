"""Settings, read once at an entry point from the environment (prefix ``RELITIGATE_``).

Nothing here is built at import time: call :func:`load_settings` where a command or a flow
run starts. They live in the task layer because a flow run in a worker process is an entry
point too (flows import only ``tasks`` and ``prefect``); the CLI reads them through
:mod:`relitigate.settings`. Below the entry point nothing reads them: the entry point builds
a :class:`tasks.context.RegistryContext` and hands it down.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from registry.evalset_files import EvalSetLimits

ENV_PREFIX = "RELITIGATE_"
SUPPORTED_DRIVERS = frozenset(
    {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}
)
"""Database URL schemes the registry runs on (PostgreSQL through psycopg 3)."""


class SettingsError(Exception):
    """An environment variable holds a value relitigate cannot use."""

    exit_code = 2


def default_data_dir() -> Path:
    """The per-user data directory that holds the embedded SQLite registry and memos."""
    return user_data_path("relitigate", appauthor=False)


class Settings(BaseSettings):
    """Everything relitigate reads from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the embedded registry, memos and charts are written (created when missing)."""

    database_url: str | None = None
    """SQLAlchemy URL of the registry: ``sqlite:///PATH`` (its folder must exist, unless it is
    :attr:`data_dir`) or ``postgresql+psycopg://USER@HOST:PORT/DB``. Default: SQLite in
    :attr:`data_dir`."""

    slack_token: SecretStr | None = None
    """Slack bot token for notices. Never logged, stored or rendered."""

    slack_base_url: str = "https://slack.com/api/"
    """Slack Web API base URL (tests point it at a loopback Slack-compatible server)."""

    slack_platform_channel: str | None = None
    """Channel for quarter digests and ``inconclusive`` decisions."""

    prefect_ui_url: str | None = None
    """Prefect UI base URL, for links in notices."""

    gpu_deployment: str | None = None
    """``flow-name/deployment-name`` of the GPU benchmark deployment. When set, self-hosted
    fine-tunes are benchmarked there with ``run_deployment``; else everything runs in-process."""

    slack_token_block: str | None = None
    """Name of a Prefect Secret block holding the Slack token (used when no token is set)."""

    slack_app_token: SecretStr | None = None
    """Slack app-level token (``xapp-...``, scope ``connections:write``) for Socket Mode:
    ``relitigate listen``, and ``relitigate serve`` when set. Never logged or stored."""

    slack_app_token_block: str | None = None
    """Name of a Prefect Secret block holding the app-level token (when none is set)."""

    slack_signing_secret: SecretStr | None = None
    """The Slack app's signing secret, for ``relitigate listen --http``. Never logged."""

    slack_signing_secret_block: str | None = None
    """Name of a Prefect Secret block holding the signing secret (when none is set)."""

    slack_admins: str = ""
    """Who may act on any notice besides its workload's owner: Slack user ids (``U...``)
    and user group ids (``S...``), comma-separated."""

    reminder_days: float = Field(default=7.0, gt=0, allow_inf_nan=False)
    """A ``retire`` notice nobody acknowledged gets one reminder in its thread after this."""

    escalation_days: float = Field(default=7.0, gt=0, allow_inf_nan=False)
    """Days after the reminder that an unacknowledged ``retire`` is escalated to the
    platform channel."""

    on_demand_deployment: str = "relitigate-quarter/on-demand"
    """The deployment a notice's "Re-run now" starts when a Prefect server is configured
    (``PREFECT_API_URL``); without one the flow runs in the listener's process."""

    max_concurrent_workloads: int = 4
    """Workloads re-litigated at once by the quarterly flow."""

    workload_deployment: str | None = None
    """``flow-name/deployment-name`` of the per-workload deployment (e.g.
    ``relitigate-workload/fan-out``). When set, the quarterly flow sends each workload's
    re-litigation there with ``run_deployment``, so the quarter spreads over the pool's
    workers; else each runs as a subflow in the quarter's process."""

    workload_retries: int = 2
    """Times the quarterly flow starts a fanned-out workload's run again after it crashed or
    failed (a worker lost, say); the new run resumes, paying for no finished item."""

    rate_limits: Literal["auto", "prefect", "registry", "off"] = "auto"
    """Where provider budgets shared by every process live (:mod:`tasks.rate_limits`):
    ``auto`` is Prefect's global concurrency limits with ``PREFECT_API_URL`` set, else the
    registry's rate buckets; ``off``: each process paces alone."""

    lease_ttl_s: float = 120.0
    """A benchmark's lease expires this long after its holder last renewed it: a killed
    holder's benchmark is taken over by the next run after at most this long."""

    lease_heartbeat_s: float = 20.0
    """How often a benchmark renews its lease (at most half of ``lease_ttl_s``)."""

    lease_wait_s: float = 3600.0
    """How long a run waits for another process's benchmark of the same items to finish
    (it then reuses its results) before it gives up with an error."""

    retry_cooldown_s: float = 30.0
    """Pause before the retry pass over a benchmark's errored items."""

    evalset_max_rows: int = 100_000
    """Items an eval-set file may hold (``sync``, ``evalset import``)."""

    evalset_max_line_bytes: int = 1 << 20
    """Bytes one line of a JSONL or CSV eval set may hold."""

    @field_validator(
        "database_url", "gpu_deployment", "slack_token_block", "prefect_ui_url",
        "workload_deployment",
    )  # fmt: skip
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is set but empty; unset it to use the default, or give a value")
        return value

    @field_validator("max_concurrent_workloads", "evalset_max_rows", "evalset_max_line_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @field_validator("workload_retries")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must be 0 or more, got {value}")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        from sqlalchemy.engine import make_url

        try:
            url = make_url(value)
        except Exception:  # ArgumentError, ValueError: never echo it, it may hold a password
            raise ValueError(
                "is not a database URL: write sqlite:///PATH or "
                "postgresql+psycopg://USER@HOST:PORT/DB"
            ) from None
        if url.drivername not in SUPPORTED_DRIVERS:
            raise ValueError(
                f"uses {url.drivername!r}, which relitigate does not support: "
                "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
            )
        database = url.database or ""
        if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
            return value
        if database.startswith("file:"):  # a SQLite URI: sqlite3 itself resolves it
            return value
        folder = Path(database).expanduser().parent
        if not folder.is_dir() and not _same_folder(folder, info.data.get("data_dir")):
            raise ValueError(
                f"names a SQLite file in {str(folder)!r}, which does not exist: create "
                "that folder, or fix the path (only RELITIGATE_DATA_DIR is created)"
            )
        return value

    @field_validator("lease_ttl_s", "lease_heartbeat_s", "lease_wait_s", "retry_cooldown_s")
    @classmethod
    def _seconds(cls, value: float, info: ValidationInfo) -> float:
        least = "0" if info.field_name == "retry_cooldown_s" else "above 0"
        if not math.isfinite(value) or value < 0 or (value == 0 and least != "0"):
            raise ValueError(f"must be a finite number of seconds, {least}; got {value}")
        ttl = info.data.get("lease_ttl_s")
        if info.field_name == "lease_heartbeat_s" and ttl is not None and 2 * value > ttl:
            raise ValueError(f"must be at most half of RELITIGATE_LEASE_TTL_S ({ttl}); got {value}")
        return value

    def evalset_limits(self) -> EvalSetLimits:
        """The caps on eval-set files."""
        from registry.evalset_files import EvalSetLimits

        return EvalSetLimits(
            max_rows=self.evalset_max_rows, max_line_bytes=self.evalset_max_line_bytes
        )

    def resolved_database_url(self) -> str:
        """The registry URL: the configured one, or SQLite under :attr:`data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'registry.sqlite3'}"


def _same_folder(folder: Path, other: object) -> bool:
    if not isinstance(other, Path):
        return False
    return folder.absolute() == other.expanduser().absolute()


def load_settings() -> Settings:
    """Read the settings from the environment now.

    Raises:
        SettingsError: a variable is malformed; the message names it and what is wrong,
            never its value (it may be a secret).
    """
    from tasks.redaction import register_secret, register_url_password

    try:
        loaded = Settings()
        register_url_password(loaded.database_url)  # scrubbed from every text from now on
        register_secret(loaded.slack_token)
        register_secret(loaded.slack_app_token)
        register_secret(loaded.slack_signing_secret)
        return loaded
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()} "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise SettingsError(f"bad environment: {problems}") from None
