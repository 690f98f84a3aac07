"""The scrubber: registered values and key shapes out of texts, log records and SQL
parameters; ordinary text untouched."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import urllib.parse
from collections.abc import Iterator

import pytest

from tasks import redaction
from tasks.redaction import (
    REDACTED,
    ScrubFilter,
    register_secret,
    register_url_password,
    scrub,
    scrub_value,
)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    redaction.forget_secrets()
    yield
    redaction.forget_secrets()


def _canary(prefix: str = "") -> str:
    """A secret built at run time (no token-shaped string is committed)."""
    return prefix + secrets.token_urlsafe(24)


def test_a_registered_value_is_scrubbed_in_every_form_it_takes() -> None:
    value = _canary() + '"/ @x'  # characters a URL and JSON both escape
    register_secret(value)
    texts = [
        f"plain {value} text",
        f"https://h/x?key={urllib.parse.quote(value, safe='')}",
        json.dumps({"echo": value}),
    ]

    for text in texts:
        assert value not in scrub(text)
        assert urllib.parse.quote(value, safe="") not in scrub(text)
        assert json.dumps(value)[1:-1] not in scrub(text)
        assert REDACTED in scrub(text)


def test_a_secret_str_is_registered_by_its_value() -> None:
    from pydantic import SecretStr

    value = _canary()
    register_secret(SecretStr(value))

    assert scrub(f"token={value}") == f"token={REDACTED}"


@pytest.mark.parametrize("short", ["", "   ", "ab", "12345"])
def test_short_or_empty_values_are_not_registered(short: str) -> None:
    register_secret(short)
    register_secret(None)

    assert scrub("ab 12345 abc") == "ab 12345 abc"


def test_a_registered_word_is_not_scrubbed_inside_a_longer_word() -> None:
    register_secret("postgres")

    assert scrub("user postgres on postgresql://h") == f"user {REDACTED} on postgresql://h"


def test_url_passwords_are_registered_as_written_and_decoded() -> None:
    raw = _canary() + "%40x"  # percent-encoded "@x"
    register_url_password(f"postgresql+psycopg://app:{raw}@db.internal:5432/registry")
    decoded = urllib.parse.unquote(raw)

    assert scrub(f"password {decoded}.") == f"password {REDACTED}."
    assert scrub(f"password {raw}.") == f"password {REDACTED}."
    register_url_password("sqlite:////tmp/registry.sqlite3")  # no password: nothing to do
    register_url_password(None)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "Incorrect API key provided: Bearer {t}",
            f"Incorrect API key provided: Bearer {REDACTED}",
        ),
        ("key sk-{t} rejected", f"key {REDACTED} rejected"),
        ("key sk-proj-{t}.", f"key {REDACTED}."),
        ("slack xoxb-1234-{t} revoked", f"slack {REDACTED} revoked"),
        ("app xapp-1-{t}", f"app {REDACTED}"),
        ("google AIza{t}{t}", f"google {REDACTED}"),
        ("postgresql://app:{t}@db/x", f"postgresql://app:{REDACTED}@db/x"),
    ],
)
def test_key_shapes_are_scrubbed_without_registration(template: str, expected: str) -> None:
    token = secrets.token_hex(12)

    assert scrub(template.format(t=token)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "task-runner risk-free desk-top ask-me",
        "route 'openai/gpt-5': provider answered HTTP 429: rate limited",
        "postgresql+psycopg://postgres@127.0.0.1:5432/relitigate",
        "http://127.0.0.1:8765/v1/chat/completions",
        "bearer of bad news",
        "",
    ],
)
def test_ordinary_text_is_unchanged(text: str) -> None:
    register_secret(_canary())

    assert scrub(text) == text


def test_scrub_value_walks_mappings_lists_and_tuples() -> None:
    value = _canary()
    register_secret(value)
    data = {"error": f"echo {value}", value: [1, (f"x{value} ", None)], "n": 3}

    assert scrub_value(data) == {
        "error": f"echo {REDACTED}",
        REDACTED: [1, (f"x{REDACTED} ", None)],
        "n": 3,
    }


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("t", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_the_filter_scrubs_message_arguments_and_traceback() -> None:
    value = _canary()
    register_secret(value)
    try:
        try:
            raise RuntimeError(f"provider said Bearer {value}")
        except RuntimeError as inner:
            raise ValueError("wrapped") from inner
    except ValueError as exc:
        record = _record("call with %s failed: %r", value, {"key": value}, exc=exc)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter())

    assert ScrubFilter().filter(record) is True
    handler.handle(record)

    out = stream.getvalue()
    assert value not in out and "provider said Bearer" in out and "wrapped" in out
    assert record.getMessage() == f"call with {REDACTED} failed: {{'key': '{REDACTED}'}}"


def test_installed_scrubbing_covers_records_of_any_logger_and_existing_handlers() -> None:
    value = _canary()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("relitigate.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        register_secret(value)  # the first registration installs process-wide scrubbing
        logger.warning("key %s", value)
        logger.error("stack", stack_info=True, extra={"k": 1})
        manual = _record("built by hand with %s", value)
        redaction.install_log_scrubbing(["relitigate.test.redaction"])
        handler.handle(manual)  # not made by the factory: the handler's filter scrubs it
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    out = stream.getvalue()
    assert value not in out
    assert f"key {REDACTED}" in out and f"built by hand with {REDACTED}" in out


def test_sql_parameters_are_scrubbed_on_both_dialects(database_url: str) -> None:
    from sqlalchemy import JSON, Column, Integer, MetaData, Table, Text, create_engine, select
    from sqlalchemy.dialects.postgresql import JSONB

    value = _canary()
    register_secret(value)
    metadata = MetaData()
    table = Table(
        "redaction_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("text", Text),
        Column("data", JSON().with_variant(JSONB(), "postgresql")),
    )
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
            conn.execute(table.insert(), {"text": f"echo {value}", "data": {"e": [value]}})
            conn.execute(
                table.insert(),
                [{"text": value, "data": {"k": value}}, {"text": "plain", "data": {"n": 1}}],
            )
            rows = conn.execute(select(table.c.text, table.c.data).order_by(table.c.id)).all()
            metadata.drop_all(conn)
    finally:
        engine.dispose()

    assert [tuple(r) for r in rows] == [
        (f"echo {REDACTED}", {"e": [REDACTED]}),
        (REDACTED, {"k": REDACTED}),
        ("plain", {"n": 1}),
    ]


def test_scrub_is_cheap_on_long_texts() -> None:
    """The scrubber runs on every log record and SQL parameter: a 4 kB model output with a
    few dozen registered secrets scrubs in well under a millisecond."""
    import time

    for _ in range(24):
        register_secret(_canary())
    text = (os.urandom(1500).hex() + " ") * 2
    start = time.perf_counter()
    for _ in range(200):
        scrub(text)
    per_call_ms = (time.perf_counter() - start) / 200 * 1000

    assert per_call_ms < 1.0, per_call_ms
