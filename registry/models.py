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
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Column types, the base, the decisions' and the outbox's tables, re-exported:
# ``registry.models`` names every table and type.
from registry.batch_models import FrontierBatch as FrontierBatch
from registry.catalog_models import CatalogEntryRow as CatalogEntryRow
from registry.catalog_models import RouteDeprecation as RouteDeprecation
from registry.catalog_models import TriggerCause as TriggerCause
from registry.columns import NAMING_CONVENTION as NAMING_CONVENTION
from registry.columns import Base as Base
from registry.columns import JSONType as JSONType
from registry.columns import NullableJSON as NullableJSON
from registry.columns import TimestampMixin as TimestampMixin
from registry.columns import UTCDateTime as UTCDateTime
from registry.columns import str_enum
from registry.columns import utcnow as utcnow
from registry.decision_models import Decision as Decision
from registry.decision_models import DecisionRevision as DecisionRevision
from registry.measured_models import MeasuredFact as MeasuredFact
from registry.measured_models import Proposal as Proposal
from registry.notice_action_models import NoticeAction as NoticeAction
from registry.notice_action_models import NoticeActionKind as NoticeActionKind
from registry.notice_models import NOTICE_CLAIM_CHECK as NOTICE_CLAIM_CHECK
from registry.notice_models import NOTICE_STATUS_CHECK as NOTICE_STATUS_CHECK
from registry.notice_models import Notice as Notice
from registry.notice_models import NoticeKind as NoticeKind
from registry.notice_models import NoticeStatus as NoticeStatus
from registry.notice_models import SlackIdentity as SlackIdentity
from registry.notice_models import notice_dedupe_key as notice_dedupe_key
from registry.rate_bucket_models import RateBucket as RateBucket
from registry.wave_models import SequentialEvaluation as SequentialEvaluation

# The kinds the registry shares with the workloads file and the engines, re-exported.
from vocabulary.kinds import CandidateRole as CandidateRole
from vocabulary.kinds import Case as Case
from vocabulary.kinds import ErrorKind as ErrorKind
from vocabulary.kinds import Runner as Runner
from vocabulary.kinds import Verdict as Verdict


class RunStatus(enum.StrEnum):
    """Lifecycle of one benchmark run."""

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    FAILED = "failed"


class Workload(TimestampMixin, Base):
    """One production AI task whose fine-tune is re-litigated every quarter."""

    __tablename__ = "workloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str | None] = mapped_column(String(320))
    owner_slack_user: Mapped[str | None] = mapped_column(String(64))
    slack_channel: Mapped[str | None] = mapped_column(String(200))
    case: Mapped[Case] = mapped_column(str_enum(Case, "workload_case"))
    volume_per_day: Mapped[int | None] = mapped_column(BigInteger)
    """Typed calls per day; None when ``measured_sources`` names a volume source."""
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
    measured_sources: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    """``{"volume": VolumeSource, "production_sample": ProductionSample}`` as declared
    (:mod:`vocabulary.measured`, file paths absolute); None when neither is declared."""
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
    role: Mapped[CandidateRole] = mapped_column(str_enum(CandidateRole, "candidate_role"))
    runner: Mapped[Runner] = mapped_column(str_enum(Runner, "candidate_runner"))
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
    production_api_base: Mapped[str | None] = mapped_column(String(500))
    """Where production calls the candidate, when not at ``api_base`` (the routing export)."""
    base_model: Mapped[str | None] = mapped_column(String(500))
    """The fine-tune's base model route, whose deprecation is watched."""
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
        str_enum(RunStatus, "run_status"), default=RunStatus.RUNNING
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
    error_kind: Mapped[ErrorKind | None] = mapped_column(str_enum(ErrorKind, "error_kind"))
    judge: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


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
