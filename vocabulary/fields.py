"""Field types and the base model shared by everything a user writes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
"""A workload, candidate or eval-set name: letters, digits, ``.``, ``_`` and ``-``."""
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")]
"""The NAME of an environment variable, never a key. In flow runs a variable missing from the
environment is read from the Prefect Secret block of that name in block form
(``OPENAI_API_KEY`` -> ``openai-api-key``; see :mod:`tasks.credentials`)."""
NonNegative = Annotated[float, Field(ge=0)]
BIGINT_MAX = 2**63 - 1
"""The largest count the registry's integer columns hold."""
Count = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
"""A count (calls, examples) that fits the registry's BIGINT columns."""
Share = Annotated[float, Field(ge=0, le=1)]
"""A number in [0, 1]: a score, a pass mark."""


def _finite_everywhere(value: Any, where: str = "") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where or 'value'}: {value!r} is not a finite number")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _finite_everywhere(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _finite_everywhere(item, f"{where}[{index}]")


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    _finite_everywhere(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
"""Free-form settings stored as JSON: every number in them finite (JSON has no NaN or inf)."""


class Strict(BaseModel):
    """Base of every model a user writes: unknown keys are errors, numbers are finite, values
    are frozen (the engines hold them as value objects)."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, frozen=True, allow_inf_nan=False
    )
