"""Where the task layer finds the registry: one engine per database URL per process.

Settings are read from the environment when a task first needs them (in a worker process the
flow run *is* the entry point). Nothing is built at import time.

The first time a process opens a registry it is checked (:func:`registry.db.open_registry`:
reachable, initialised, at this code's schema revision), so an old or empty database fails
with "run `relitigate init`" before any work instead of with a missing column half-way.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from registry.db import open_registry
from relitigate.settings import Settings, load_settings

_lock = threading.Lock()
_settings: list[Settings] = []
_factories: dict[str, sessionmaker[Session]] = {}


def settings() -> Settings:
    """The process's settings, read from the environment once."""
    with _lock:
        if not _settings:
            _settings.append(load_settings())
        return _settings[0]


def registry_sessions(url: str | None = None) -> sessionmaker[Session]:
    """The session factory of the registry at ``url`` (default: the configured registry),
    checked once per process and URL.

    Raises:
        registry.errors.DatabaseError: unreachable, not initialised, or at another schema
            revision (the message says to run ``relitigate init`` where that helps).
    """
    url = url or settings().resolved_database_url()
    with _lock:
        if url not in _factories:
            _factories[url] = open_registry(url)
        return _factories[url]


def memo_dir() -> Path:
    """Where decision memos and their charts are written."""
    return settings().data_dir / "memos"


def reset() -> None:
    """Forget the settings and dispose of every engine (the demo switches registries)."""
    with _lock:
        for factory in _factories.values():
            bind = factory.kw.get("bind")
            if bind is not None:
                bind.dispose()
        _factories.clear()
        _settings.clear()
