"""The decision registry's tables: SQLAlchemy 2 typed models, one schema on SQLite and PostgreSQL.

Table and column names are a contract the rest of the project codes against. Conventions:

- Integer surrogate keys named ``id``; natural keys are unique constraints (the keys that make
  re-runs idempotent: one run per (candidate, eval-set version, quarter), one item result per
  (run, item), one decision per (workload, quarter), one notice per (workload, quarter, kind)).
- Enumerations are :class:`enum.StrEnum` classes stored as their *values* in plain strings
  (non-native enums), so a member and its string compare equal and both may be passed in.
- JSON columns are ``JSON`` on SQLite and ``JSONB`` on PostgreSQL.
- Datetimes are timezone-aware UTC on the way in and on the way out (:class:`UTCDateTime`).
- Quarters are strings ``YYYYQn``.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The kinds the registry shares with the workloads file and the engines, re-exported.
from vocabulary.kinds import CandidateRole as CandidateRole
from vocabulary.kinds import Case as Case
from vocabulary.kinds import ErrorKind as ErrorKind
from vocabulary.kinds import Runner as Runner

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


def _str_enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        values_callable=_enum_values,
        validate_strings=True,
        length=max(len(v) for v in _enum_values(cls)),
    )


class RunStatus(enum.StrEnum):
    """Lifecycle of one benchmark run."""

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    FAILED = "failed"


class Verdict(enum.StrEnum):
    """The quarter's decision for a workload."""

    KEEP = "keep"
    WATCH = "watch"
    RETIRE = "retire"
    INCONCLUSIVE = "inconclusive"


class NoticeKind(enum.StrEnum):
    """What a Slack notice is about."""

    RETIRE = "retire"
    WATCH = "watch"
    INCONCLUSIVE = "inconclusive"
    DIGEST = "digest"


class NoticeStatus(enum.StrEnum):
    """Delivery state of a notice in the outbox.

    ``sending`` is a claim: one deliverer holds the notice since ``claimed_at``.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (Alembic needs names on SQLite)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """``created_at`` / ``updated_at`` columns, set in Python as aware UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Workload(TimestampMixin, Base):
    """One production AI task whose fine-tune is re-litigated every quarter."""

    __tablename__ = "workloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_slack_user: Mapped[str | None] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(200))
    case: Mapped[Case] = mapped_column(_str_enum(Case, "workload_case"))
    volume_per_day: Mapped[int] = mapped_column(BigInteger)
    fixed_costs_monthly_usd: Mapped[float] = mapped_column(Float, default=0.0)
    training_examples: Mapped[int | None] = mapped_column(BigInteger)
    task_stable: Mapped[bool] = mapped_column(Boolean, default=True)
    domain_stable: Mapped[bool] = mapped_column(Boolean, default=True)
    adopted_quarter: Mapped[str | None] = mapped_column(String(6))
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Threshold overrides only, as written (keys of :class:`vocabulary.Thresholds`)."""
    scorer: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Scorer settings as written: ``{"kind": "exact" | ..., **settings}``
    (:data:`vocabulary.ScorerSettings`)."""
    eval_set_id: Mapped[int | None] = mapped_column(ForeignKey("eval_sets.id"))
    eval_set_version_id: Mapped[int | None] = mapped_column(ForeignKey("eval_set_versions.id"))
    """The eval-set version the last sync pinned: the one this quarter's runs use."""
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    """sha256 of the workload's canonical declaration (eval-set content included)."""
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    candidates: Mapped[list[Candidate]] = relationship(
        back_populates="workload", order_by="Candidate.id"
    )
    eval_set: Mapped[EvalSet | None] = relationship()
    eval_set_version: Mapped[EvalSetVersion | None] = relationship()


class Candidate(TimestampMixin, Base):
    """One model that can answer a workload: its fine-tune or a buy alternative."""

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("workload_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[CandidateRole] = mapped_column(_str_enum(CandidateRole, "candidate_role"))
    runner: Mapped[Runner] = mapped_column(_str_enum(Runner, "candidate_runner"))
    route: Mapped[str] = mapped_column(String(500))
    """litellm route, e.g. ``openai/gpt-5`` or ``hosted_vllm/my-model``."""
    api_base: Mapped[str | None] = mapped_column(String(500))
    api_key_env: Mapped[str | None] = mapped_column(String(200))
    """NAME of the env var or Prefect Secret block holding the key; never the key itself."""
    prompt: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``{"system": str | None, "few_shot": [{"input", "output"}], "template": str}``
    (:class:`vocabulary.Prompt`)."""
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    pricing: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``{"input_per_mtok", "output_per_mtok"}`` or ``{"gpu_hourly_usd", "gpus"}``
    (:class:`vocabulary.Pricing`)."""
    serving: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Self-hosted runners: command template, model path, adapter, batch size, ..."""
    limits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Pacing overrides as written (:class:`vocabulary.Limits`): ``concurrency``, ``rpm``,
    ``tpm``, ``timeout_s``, ``max_attempts``."""
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    workload: Mapped[Workload] = relationship(back_populates="candidates")


class EvalSet(Base):
    """A named eval set; its content lives in versions."""

    __tablename__ = "eval_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[EvalSetVersion]] = relationship(
        back_populates="eval_set", order_by="EvalSetVersion.version"
    )


class EvalSetVersion(Base):
    """One content-hashed version of an eval set. Same content, same version."""

    __tablename__ = "eval_set_versions"
    __table_args__ = (
        UniqueConstraint("eval_set_id", "content_hash"),
        UniqueConstraint("eval_set_id", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    eval_set_id: Mapped[int] = mapped_column(ForeignKey("eval_sets.id"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    item_count: Mapped[int] = mapped_column(Integer)
    source_path: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    eval_set: Mapped[EvalSet] = relationship(back_populates="versions")


class EvalItem(Base):
    """One item of an eval-set version. ``item_key`` is the user's ``id``."""

    __tablename__ = "eval_items"
    __table_args__ = (
        UniqueConstraint("version_id", "item_key"),
        Index("ix_eval_items_version_id_position", "version_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("eval_set_versions.id"))
    item_key: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer)
    input: Mapped[Any] = mapped_column(JSONType)
    """A string, or a list of chat messages ``{"role", "content"}``."""
    target: Mapped[Any] = mapped_column(JSONType)
    item_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)


class Run(Base):
    """One quarter's benchmark of one candidate on one eval-set version, in one attempt.

    ``attempt`` is 1 unless the quarter was re-benchmarked from scratch (``run --fresh``):
    each attempt has its own runs and results, and earlier attempts stay as they were.
    """

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("candidate_id", "eval_set_version_id", "quarter", "attempt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    eval_set_version_id: Mapped[int] = mapped_column(ForeignKey("eval_set_versions.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    retry_passes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Retry passes granted so far: an errored item is called again while its stored
    ``attempts`` are below the candidate's ``max_attempts`` x (1 + ``retry_passes``)."""
    status: Mapped[RunStatus] = mapped_column(
        _str_enum(RunStatus, "run_status"), default=RunStatus.RUNNING
    )
    model_version: Mapped[str | None] = mapped_column(String(500))
    budget_usd: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Throughput, latency percentiles, hardware, totals: whatever the engine measured, for
    the pass that called the most items; ``stats["passes"]`` keeps every pass's own."""
    error: Mapped[str | None] = mapped_column(Text)

    candidate: Mapped[Candidate] = relationship()
    eval_set_version: Mapped[EvalSetVersion] = relationship()


class ItemResult(Base):
    """One candidate's answer to one eval item in one run (checkpointed as it arrives)."""

    __tablename__ = "item_results"
    __table_args__ = (UniqueConstraint("run_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("eval_items.id"))
    output: Mapped[str | None] = mapped_column(Text)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    judge_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    """NULL when the item produced an output; such a row is never overwritten."""
    error_kind: Mapped[ErrorKind | None] = mapped_column(_str_enum(ErrorKind, "error_kind"))
    judge: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Decision(TimestampMixin, Base):
    """One workload's verdict for one quarter, with the evidence behind it."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("workload_id", "quarter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workload_id: Mapped[int] = mapped_column(ForeignKey("workloads.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    verdict: Mapped[Verdict] = mapped_column(_str_enum(Verdict, "verdict"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    gates: Mapped[Any] = mapped_column(JSONType, default=list)
    trend: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reproducibility: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    memo: Mapped[str] = mapped_column(Text, default="")
    next_review: Mapped[date | None] = mapped_column(Date)
    fine_tune_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    buy_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """The benchmark attempt (``Run.attempt``) the decision was taken on."""
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """1 for the first decision of the quarter, + 1 each time it is replaced (the one it
    replaced is kept in ``decision_revisions``)."""

    workload: Mapped[Workload] = relationship()


class DecisionRevision(Base):
    """A decision as it stood before it was replaced (``--force``, ``--fresh``, or a retry of
    an ``inconclusive`` quarter): the quarter's earlier verdicts stay on record."""

    __tablename__ = "decision_revisions"
    __table_args__ = (UniqueConstraint("decision_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    revision: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[Verdict] = mapped_column(_str_enum(Verdict, "verdict"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    gates: Mapped[Any] = mapped_column(JSONType, default=list)
    trend: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reproducibility: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    memo: Mapped[str] = mapped_column(Text, default="")
    fine_tune_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    buy_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    superseded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    superseded_because: Mapped[str] = mapped_column(String(200))
    """``force``, ``fresh attempt N`` or ``retry pass``: why it was replaced."""


class Lease(Base):
    """A named lease held by one process until ``expires_at`` (see :mod:`registry.leases`)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    """What is leased, e.g. ``benchmark:<candidate>:<eval-set version>:<quarter>:<attempt>``."""
    token: Mapped[str] = mapped_column(String(64))
    """The holder's random token: every renewal and release is conditional on it."""
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


def notice_dedupe_key(workload_id: int | None, quarter: str, kind: str) -> str:
    """The outbox's idempotency key: ``"{workload_id or '*'}:{quarter}:{kind}"``.

    Digests have no workload, so a plain unique (workload_id, quarter, kind) would not stop a
    second digest (NULLs never collide); this key does.
    """
    return f"{workload_id if workload_id is not None else '*'}:{quarter}:{kind}"


def _default_dedupe_key(context: DefaultExecutionContext) -> str:
    params: dict[str, Any] = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return notice_dedupe_key(params.get("workload_id"), params["quarter"], str(params["kind"]))


NOTICE_STATUS_CHECK = "status IN ('pending', 'sending', 'sent', 'failed')"
"""The notice status values, enforced by the database (``ck_notices_status``)."""

NOTICE_CLAIM_CHECK = (
    "(status = 'sending' AND claimed_at IS NOT NULL) "
    "OR (status <> 'sending' AND claimed_at IS NULL)"
)
"""A notice has a claim time exactly while it is ``sending`` (``ck_notices_claim``)."""


class Notice(Base):
    """A Slack message in the outbox. One per (workload, quarter, kind); digests per quarter.

    ``dedupe_key`` defaults to :func:`notice_dedupe_key` of the row's workload, quarter and
    kind; upserts can use it as their conflict target.

    ``status`` is ``pending`` -> ``sending`` (claimed at ``claimed_at``) -> ``sent`` (Slack
    accepted it at ``sent_at``) or ``failed``; a transient failure puts it back to
    ``pending``. See :mod:`registry.notices`.
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("workload_id", "quarter", "kind"),
        CheckConstraint(NOTICE_STATUS_CHECK, name="status"),
        CheckConstraint(NOTICE_CLAIM_CHECK, name="claim"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True, default=_default_dedupe_key)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"))
    workload_id: Mapped[int | None] = mapped_column(ForeignKey("workloads.id"))
    quarter: Mapped[str] = mapped_column(String(6))
    kind: Mapped[NoticeKind] = mapped_column(_str_enum(NoticeKind, "notice_kind"))
    status: Mapped[NoticeStatus] = mapped_column(
        _str_enum(NoticeStatus, "notice_status"), default=NoticeStatus.PENDING
    )
    destination: Mapped[str | None] = mapped_column(String(320))
    """Slack user id, email or channel, as configured for the workload."""
    channel_id: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(64))
    thread_ts: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """``{"text": str, "blocks": [...]}`` as sent to ``chat.postMessage``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the current delivery claim was taken (``sending`` only): the claim's fencing token."""
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When Slack accepted the message (``sent`` only)."""


class SlackIdentity(Base):
    """Cache of Slack ``users.lookupByEmail``."""

    __tablename__ = "slack_identities"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
