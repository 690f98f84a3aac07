"""Column types and the declarative base every registry table shares.

- Enumerations are :class:`enum.StrEnum` classes stored as their *values* in plain strings
  (non-native enums, :func:`str_enum`), so a member and its string compare equal.
- JSON columns are ``JSON`` on SQLite and ``JSONB`` on PostgreSQL.
- Datetimes are timezone-aware UTC on the way in and on the way out (:class:`UTCDateTime`).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and always returned timezone-aware.

    SQLite has no timezone support and hands back naive values; PostgreSQL stores
    ``timestamptz``. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC (naive UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL. A Python ``None`` is stored as JSON ``null``."""

NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""Like :data:`JSONType`, but a Python ``None`` is stored as SQL ``NULL``."""


def _enum_values(cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in cls]


def str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    """A non-native enum column storing the members' values, as long as the longest."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        values_callable=_enum_values,
        validate_strings=True,
        length=max(len(v) for v in _enum_values(cls)),
    )


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (Alembic needs names on SQLite)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns, set in Python as aware UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
