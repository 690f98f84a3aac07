"""Settings, read once at the entry point from the environment (prefix ``RELITIGATE_``).

Nothing here is built at import time: call :func:`load_settings` where a command starts.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "RELITIGATE_"


class SettingsError(Exception):
    """An environment variable holds a value relitigate cannot use."""

    exit_code = 2


def default_data_dir() -> Path:
    """The per-user data directory that holds the embedded SQLite registry and memos."""
    return user_data_path("relitigate", appauthor=False)


class Settings(BaseSettings):
    """Everything relitigate reads from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str | None = None
    """SQLAlchemy URL of the registry. Default: SQLite in the user's data directory."""

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the embedded registry, memos and charts are written."""

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

    max_concurrent_workloads: int = 4
    """Workloads re-litigated at once by the quarterly flow."""

    @field_validator("database_url", "gpu_deployment", "slack_token_block", "prefect_ui_url")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is set but empty; unset it to use the default, or give a value")
        return value

    @field_validator("max_concurrent_workloads")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    def resolved_database_url(self) -> str:
        """The registry URL: the configured one, or SQLite under :attr:`data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'registry.sqlite3'}"


def load_settings() -> Settings:
    """Read the settings from the environment now.

    Raises:
        SettingsError: a variable is malformed; the message names it and what is wrong,
            never its value (it may be a secret).
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()} "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors(include_url=False, include_input=False)
        )
        raise SettingsError(f"bad environment: {problems}") from None
