"""Options that take one of a fixed set of words: an enum, its words listed in ``--help``, and
a word outside it refused in one line (exit 2) like every other bad input.

Usage::

    fmt: Annotated[ReportFormat, choice_option(ReportFormat, "--format", "-f", help=...)]
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

import typer

E = TypeVar("E", bound=enum.StrEnum)


class BadChoiceError(Exception):
    """An option was given a word outside its choices (the CLI prints one line, exits 2)."""

    exit_code = 2


def parse_choice(enum_type: type[E], option: str) -> Callable[[Any], E]:
    """A parser from a word (any case) to the member of ``enum_type`` with that value."""

    def parse(value: Any) -> E:
        if isinstance(value, enum_type):
            return value
        text = str(value).strip().lower()
        for member in enum_type:
            if member.value == text:
                return member
        words = ", ".join(member.value for member in enum_type)
        raise BadChoiceError(f"bad {option} {value!r}: use one of {words}")

    return parse


def choice_option(enum_type: type[E], *names: str, help: str) -> Any:
    """A ``typer.Option`` taking one of ``enum_type``'s values, listed as its metavar."""
    words = "|".join(member.value for member in enum_type)
    return typer.Option(*names, parser=parse_choice(enum_type, names[0]), metavar=f"[{words}]",
                        help=help)  # fmt: skip
