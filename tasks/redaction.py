"""Secrets scrubbed from every text the process writes: one registry of values, one scrubber.

Every secret value the process learns (a provider or judge key, the Slack token, the
database password) is passed to :func:`register_secret` where it is read. :func:`scrub`
then removes each registered value from any text, and also the shapes keys have even when
nobody registered them (``Bearer <token>``, ``sk-...``, ``xoxb-...``, a URL's password),
because a provider or a proxy may echo a key the process never held (a rotated one, a
header added by a gateway).

Texts reach the outside through logs, exceptions and stored rows, so the scrubber sits at
each: :class:`ScrubFilter` on logging handlers (Prefect's API log handler included, so
nothing reaches Prefect's database unscrubbed), :func:`install_log_scrubbing` for the whole
process, and the callers that turn provider errors into their own exceptions or write rows.

This module imports only the standard library, so every layer may import it.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import traceback
import urllib.parse
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

MIN_SECRET_LENGTH = 6
"""Shorter values are not registered: scrubbing them would mangle ordinary words."""

ANYWHERE_LENGTH = 16
"""Registered values at least this long are scrubbed even inside a longer word."""

_KEY_SHAPES: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    # (substrings one of which must be present, pattern, replacement); the substring test
    # is a fast C scan that spares most texts the regular expression.
    # an Authorization header echoed back: "Bearer sk-..."
    (
        ("earer", "EARER"),
        re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
        r"\1\2" + REDACTED,
    ),
    # OpenAI / Anthropic / most OpenAI-compatible provider keys: sk-..., sk-proj-..., sk-ant-...
    (("sk-",), re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    # Slack tokens: bot, user, app-level, legacy, refresh
    (("xox",), re.compile(r"\bxox[abprse]-[A-Za-z0-9-]{8,}"), REDACTED),
    (("xapp-",), re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), REDACTED),
    # Google API keys
    (("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),
    # a password in a URL: scheme://user:password@host
    (("://",), re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + REDACTED + "@"),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_forms: tuple[str, ...] = ()
_pattern: re.Pattern[str] | None = None


def register_secret(value: object) -> None:
    """Scrub ``value`` (a str, or anything with ``get_secret_value()``) from now on.

    Also registers the forms the value takes inside a URL and inside JSON. Empty values and
    values shorter than :data:`MIN_SECRET_LENGTH` are ignored. The first secret registered
    installs scrubbing process-wide (:func:`install_scrubbing`): a process that knows a
    secret scrubs every log record and every SQL parameter from then on.
    """
    getter = getattr(value, "get_secret_value", None)
    text = getter() if callable(getter) else value
    if not isinstance(text, str) or len(text.strip()) < MIN_SECRET_LENGTH:
        return
    forms = {text, text.strip(), urllib.parse.quote(text, safe=""), json.dumps(text)[1:-1]}
    forms = {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
    global _pattern, _forms
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        ordered = sorted(_secrets, key=len, reverse=True)  # longest first: no partial hits
        _pattern = re.compile("|".join(_bounded(s) for s in ordered))
        _forms = tuple(ordered)
    install_scrubbing()


def _bounded(secret: str) -> str:
    """``secret`` as a pattern. A short one (under :data:`ANYWHERE_LENGTH`: a password,
    say) does not match inside a longer word, so a password ``postgres`` is scrubbed from
    ``user postgres`` but not from ``postgresql``; a long one (a key) matches anywhere."""
    if len(secret) >= ANYWHERE_LENGTH:
        return re.escape(secret)
    head = r"(?<![A-Za-z0-9])" if secret[0].isalnum() else ""
    tail = r"(?![A-Za-z0-9])" if secret[-1].isalnum() else ""
    return head + re.escape(secret) + tail


def register_url_password(url: object) -> None:
    """Register the password of a URL (``scheme://user:password@host/...``), if it has one,
    both as written and percent-decoded."""
    if not isinstance(url, str) or "@" not in url:
        return
    try:
        raw = urllib.parse.urlsplit(url).password
    except ValueError:
        return
    if raw:
        register_secret(raw)
        register_secret(urllib.parse.unquote(raw))


def register_secrets(values: Iterable[object]) -> None:
    """:func:`register_secret` for each of ``values``."""
    for value in values:
        register_secret(value)


def forget_secrets() -> None:
    """Drop every registered value (for tests)."""
    global _pattern, _forms
    with _lock:
        _secrets.clear()
        _forms = ()
        _pattern = None


def scrub(text: str) -> str:
    """``text`` with every registered secret and every key-shaped token replaced."""
    if not text:
        return text
    pattern, forms = _pattern, _forms
    if pattern is not None and any(form in text for form in forms):
        text = pattern.sub(REDACTED, text)
    for needles, shape, replacement in _KEY_SHAPES:
        if any(needle in text for needle in needles):
            text = shape.sub(replacement, text)
    return text


def scrub_value(value: object) -> object:
    """``value`` with :func:`scrub` applied to every string inside it (dicts, lists,
    tuples; keys included). Other values are returned unchanged."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub_value(v) for v in value)
    return value


def scrub_exception(exc: BaseException) -> str:
    """``"Type: message"`` of ``exc``, scrubbed (for an error column or a wrapped error)."""
    return scrub(f"{type(exc).__name__}: {exc}")


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs a record's message, arguments, traceback and stack.

    The message is formatted with its arguments first (a secret may sit in either) and the
    traceback rendered into ``exc_text``, which ``logging.Formatter`` (Prefect's console and
    API handlers use one) prints instead of rendering ``exc_info`` again. Never drops a
    record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub ``record`` in place (see :class:`ScrubFilter`) and return it."""
    if getattr(record, "_relitigate_scrubbed", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what there is, scrubbed
        message = f"{record.msg!s} {record.args!r}"
    record.msg = scrub(message)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        rendered = record.exc_text or "".join(traceback.format_exception(*record.exc_info))
        record.exc_text = scrub(rendered.rstrip("\n"))
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    record._relitigate_scrubbed = True
    return record


_FILTER = ScrubFilter()
_factory_installed = False
_db_installed = False


def install_scrubbing() -> None:
    """:func:`install_log_scrubbing` and :func:`install_db_scrubbing`: from now on nothing
    this process logs or sends to a database carries a registered secret. Idempotent."""
    install_log_scrubbing()
    install_db_scrubbing()


def install_log_scrubbing(logger_names: Iterable[str] = ("", "prefect")) -> None:
    """Scrub every log record of the process, whichever handler it reaches.

    Wraps the log-record factory (records made later by any logger, Prefect's run loggers
    included, are scrubbed as they are made) and attaches :class:`ScrubFilter` to the
    handlers now on the named loggers and their children (records made before, or by hand).
    Idempotent; call again after logging is reconfigured.
    """
    global _factory_installed
    with _lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                return scrub_record(previous(*args, **kwargs))

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    for handler in _handlers_under(tuple(logger_names)):
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def _handlers_under(names: tuple[str, ...]) -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger(n) for n in names]
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and any(
            n and (name == n or name.startswith(n + ".")) for n in names
        ):
            loggers.append(logger)
    handlers: list[logging.Handler] = []
    for logger in loggers:
        handlers.extend(h for h in logger.handlers if h not in handlers)
    return handlers


def install_db_scrubbing() -> None:
    """Scrub every string parameter of every SQL statement any SQLAlchemy engine of this
    process executes (the registry's, and Prefect's own when its server runs in-process).

    A ``before_cursor_execute`` listener on the ``Engine`` class, so every engine, made
    before or after, is covered, and the registry package needs no import from here.
    SQLAlchemy is imported only now. Idempotent.
    """
    global _db_installed
    with _lock:
        if _db_installed:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", _scrub_statement_parameters, retval=True)
        _db_installed = True


def _scrub_statement_parameters(
    conn: object,
    cursor: object,
    statement: str,
    parameters: object,
    context: object,
    executemany: bool,
) -> tuple[str, object]:
    return statement, _scrub_parameters(parameters)


def _scrub_parameters(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _scrub_parameters(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_parameters(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_scrub_parameters(v) for v in value)
    wrapped = getattr(value, "obj", None)  # psycopg's Json / Jsonb wrappers
    if wrapped is not None and type(value).__name__ in ("Json", "Jsonb"):
        clean = copy.copy(value)
        clean.obj = scrub_value(wrapped)  # type: ignore[attr-defined]
        return clean
    return value
