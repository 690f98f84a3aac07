"""Where the task layer finds the registry: one engine per database URL per process.

Settings are read from the environment when a task first needs them (in a worker process the
flow run *is* the entry point). Nothing is built at import time.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from registry.db import make_engine, session_factory
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
    """The session factory of the registry at ``url`` (default: the configured registry)."""
    url = url or settings().resolved_database_url()
    with _lock:
        if url not in _factories:
            _factories[url] = session_factory(make_engine(url))
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
