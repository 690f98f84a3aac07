"""Facts read from production instead of typed: where calls per day and a sample of recent
inputs come from.

``volume_per_day`` is a number, or one of three sources::

    volume_per_day: {sql: {url_env: SPEND_DB_URL, query: "select ..."}}
    volume_per_day: {prometheus: {url: "http://127.0.0.1:9090", query: "...", per: second}}
    volume_per_day: {csv: {path: volumes/triage.csv, column: calls}}

``production_sample`` names recent production inputs (a JSONL or CSV file, or a SQL query)
to compare with the eval set (``tasks/decision/drift.py``). File paths are relative to the
workloads file; the loader passes its folder as the validation context (``base_dir``), kept
as ``base_dir`` on the model, and the registry stores the absolute path
(:mod:`registry.measured_sources`). A connection URL is never written here: only the NAME of
the environment variable or Prefect Secret block that holds it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vocabulary.fields import Count, EnvName, Share, Strict

Query = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
BlockName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,199}$")]
"""A Prefect Secret block name (lower case, digits and ``-``)."""
LoopbackOrHttpUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/\S*)?$")]


class SqlSource(Strict):
    """A query against a database the user names; the URL comes from the environment or a
    Prefect Secret block, never from the file."""

    url_env: EnvName | None = None
    """NAME of the environment variable holding the SQLAlchemy URL."""
    url_secret: BlockName | None = None
    """NAME of the Prefect Secret block holding the SQLAlchemy URL."""
    query: Query
    """Volume: one row with one number (calls per day), or one row per day whose last column
    is that day's calls (their mean is used). Sample: one input per row, first column."""

    @model_validator(mode="after")
    def _one_url(self) -> SqlSource:
        if (self.url_env is None) == (self.url_secret is None):
            raise ValueError("give exactly one of url_env, url_secret")
        return self

    def describe(self) -> str:
        """Where the value came from, without the URL."""
        where = f"env {self.url_env}" if self.url_env else f"secret block {self.url_secret}"
        return f"sql ({where})"


class PrometheusSource(Strict):
    """A Prometheus instant query (``GET {url}/api/v1/query``), e.g. a ``rate()`` of the
    serving engine's request counter."""

    url: LoopbackOrHttpUrl
    """The Prometheus base URL, e.g. ``http://127.0.0.1:9090``."""
    query: Query
    """PromQL whose result is one sample (a vector's values are summed)."""
    per: Literal["day", "second"] = "day"
    """What the query's value counts: calls per day, or per second (x 86,400)."""


class CsvVolume(Strict):
    """A CSV file of daily call counts; the mean of the last ``days`` days is used."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    """Relative to the workloads file."""
    column: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "calls"
    """The column of daily counts."""
    date_column: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "date"
    """The column of dates (ISO ``YYYY-MM-DD``)."""
    days: Annotated[int, Field(ge=1, le=366)] = 28
    """How many days, counted back from the newest date, the mean covers."""
    _base: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _remember_base(self, info: ValidationInfo) -> CsvVolume:
        self._base = _base_dir(info)
        return self

    @property
    def base_dir(self) -> str | None:
        """The folder of the file this was read from (relative paths start there)."""
        return self._base


class VolumeSource(Strict):
    """Exactly one of ``sql``, ``prometheus``, ``csv``."""

    sql: SqlSource | None = None
    prometheus: PrometheusSource | None = None
    csv: CsvVolume | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VolumeSource:
        given = [n for n in ("sql", "prometheus", "csv") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of sql, prometheus, csv")
        return self


class DriftThresholds(Strict):
    """When a production sample counts as drifted from the eval set (any one suffices).

    Defaults are the engine's, stated in ``docs/measured-facts.md``.
    """

    length_ks_max: Share = 0.2
    """Input length: drifted when the two-sample KS statistic exceeds this..."""
    length_p_max: Share = 0.01
    """...and its p-value is under this."""
    label_shift_max: Share = 0.15
    """Label mix: drifted when the total variation distance exceeds this..."""
    label_p_max: Share = 0.01
    """...and the chi-square test's p-value is under this."""
    token_coverage_min: Share = 0.8
    """Vocabulary: drifted when under this share of the sample's tokens occur in the eval
    set."""


class ProductionSample(Strict):
    """Recent production inputs: a JSONL or CSV file, or a SQL query (exactly one)."""

    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    """A ``.jsonl`` or ``.csv`` file, relative to the workloads file."""
    input_field: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "input"
    """The field (JSONL) or column (CSV) holding each input."""
    sql: SqlSource | None = None
    """A query returning one input per row (first column)."""
    max_items: Annotated[int, Field(ge=10, le=100_000)] = 500
    """At most this many inputs are read (and sent to the fine-tune)."""
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    """When the sample counts as drifted."""
    _base: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> ProductionSample:
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of path, sql")
        if self.path is not None and not self.path.lower().endswith((".jsonl", ".csv")):
            raise ValueError("path must name a .jsonl or .csv file")
        self._base = _base_dir(info)
        return self

    @property
    def base_dir(self) -> str | None:
        """The folder of the file this was read from (relative paths start there)."""
        return self._base


def _base_dir(info: ValidationInfo) -> str | None:
    context = info.context if isinstance(info.context, dict) else {}
    base = context.get("base_dir")
    return None if base is None else str(base)


def _one_error(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """A number is checked as a count and a mapping as a source, so an error names the field
    once (not once per member of the union)."""
    if isinstance(value, dict | VolumeSource):
        if isinstance(value, VolumeSource):
            return value
        return VolumeSource.model_validate(value, context=info.context)
    try:
        return handler(value)
    except ValidationError as exc:
        first = next((e for e in exc.errors() if e["loc"][:1] != ("VolumeSource",)), None)
        if first is None:
            raise
        raise PydanticCustomError(first["type"], first["msg"]) from None


Volume = Annotated[Count | VolumeSource, WrapValidator(_one_error)]
"""Calls per day: a count, or a source it is read from (:class:`VolumeSource`)."""
