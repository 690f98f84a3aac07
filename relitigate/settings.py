"""Settings, read once at the entry point from the environment (prefix ``RELITIGATE_``).

Nothing here is built at import time: call :func:`load_settings` where a command starts.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The per-user data directory that holds the embedded SQLite registry and memos."""
    return user_data_path("relitigate", appauthor=False)


class Settings(BaseSettings):
    """Everything relitigate reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="RELITIGATE_", extra="ignore")

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

    def resolved_database_url(self) -> str:
        """The registry URL: the configured one, or SQLite under :attr:`data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'registry.sqlite3'}"


def load_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings()
