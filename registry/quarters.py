"""Quarters are strings ``YYYYQn`` everywhere they are stored or passed."""

from __future__ import annotations

import re

from registry.errors import InvalidValueError

QUARTER_RE = r"^\d{4}Q[1-4]$"
_QUARTER = re.compile(QUARTER_RE)


def check_quarter(quarter: str) -> str:
    """Return ``quarter`` if it is ``YYYYQn``.

    Raises:
        InvalidValueError: it is not.
    """
    if not isinstance(quarter, str) or not _QUARTER.match(quarter):
        raise InvalidValueError(f"bad quarter {quarter!r}: write it as YYYYQn, e.g. 2026Q4")
    return quarter
