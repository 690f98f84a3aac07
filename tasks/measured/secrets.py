"""A source's connection URL, from the environment or a Prefect Secret block (never the file)."""

from __future__ import annotations

from collections.abc import Mapping

from tasks.credentials import BlockLoader, credentials_for, load_secret_block
from tasks.redaction import register_secret, register_url_password
from vocabulary.measured import SqlSource


class SourceUnreadableError(Exception):
    """A volume source or production sample could not be read; the message says why (no
    secrets: every URL read is registered for scrubbing first)."""


def source_url(
    source: SqlSource, *, environ: Mapping[str, str] | None, load_block: BlockLoader | None
) -> str:
    """The SQLAlchemy URL the source names, registered for scrubbing.

    Raises:
        SourceUnreadableError: the variable or block is not set.
    """
    if source.url_env is not None:
        found = credentials_for([source.url_env], environ=environ, load_block=load_block)
        url = found.get(source.url_env)
        if url is None:
            raise SourceUnreadableError(
                f"environment variable {source.url_env} (or Secret block of that name) is not "
                "set: set it to the database URL"
            )
    else:
        name = source.url_secret or ""
        url = (load_block or load_secret_block)(name)
        if not url:
            raise SourceUnreadableError(
                f"Prefect Secret block {name!r} is missing or empty: create it with the "
                "database URL"
            )
        register_secret(url)
    register_url_password(url)
    return url
