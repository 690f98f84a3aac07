"""The simulator's profile file: which simulated models it serves and how they behave.

A profile is YAML or JSON::

    seed: 7                       # random seed for latency, errors, timeouts (optional)
    api_key: sk-sim               # if set, requests must send "Authorization: Bearer sk-sim"
    batch_delay_s: 1.0            # a batch completes this long after it is created
    batch_max_requests: 50000     # a batch with more lines fails as a whole (optional)
    models:
      - name: frontier-sim        # the model name clients send ("openai/frontier-sim")
        version: frontier-sim-2026-01-15   # reported as the response's "model"
        accuracy: 0.92            # share of eval items answered right (deterministic)
        latency: {median_ms: 200, p95_ms: 450}   # lognormal; or {fixed_ms: 200}
        prompt_tokens: null       # null: ceil(characters / 4) of the messages
        completion_tokens: null   # null: ceil(characters / 4) of the answer, at least 1
        error_rate: 0.02          # share of requests answered HTTP 500
        timeout_rate: 0.0         # share of requests held for timeout_hold_s
        timeout_hold_s: 30
        disconnect_rate: 0.0      # share of requests whose connection is closed, no reply
        rpm: 600                  # token bucket; over it: HTTP 429 with Retry-After
        role: answer              # or "judge" (see relitigate.simulator.behaviour)

These are simulated models: nothing here is a real provider's behaviour or price.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Latency(BaseModel):
    """Response latency: fixed, or lognormal given its median and 95th percentile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed_ms: float | None = Field(default=None, ge=0)
    """Every response takes exactly this long."""
    median_ms: float | None = Field(default=None, gt=0)
    """Lognormal median."""
    p95_ms: float | None = Field(default=None, gt=0)
    """Lognormal 95th percentile (>= median)."""

    @model_validator(mode="after")
    def _one_shape(self) -> Latency:
        if self.fixed_ms is None and self.median_ms is None:
            raise ValueError("latency needs fixed_ms, or median_ms (and optionally p95_ms)")
        if self.fixed_ms is not None and self.median_ms is not None:
            raise ValueError("latency takes fixed_ms or median_ms, not both")
        if self.median_ms is not None and self.p95_ms is not None and self.p95_ms < self.median_ms:
            raise ValueError(f"latency p95_ms {self.p95_ms} is below median_ms {self.median_ms}")
        return self

    def sigma(self) -> float:
        """The lognormal's sigma (0 for fixed latency or a missing p95)."""
        if self.median_ms is None or self.p95_ms is None:
            return 0.0
        return math.log(self.p95_ms / self.median_ms) / 1.6448536269514722


class ModelProfile(BaseModel):
    """One simulated model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """The model name a client sends."""
    version: str | None = None
    """Reported in the response's ``model`` field; default: ``name``."""
    accuracy: float = Field(default=1.0, ge=0, le=1)
    """Share of eval items answered with the target; the rest get a wrong answer."""
    latency: Latency = Latency(fixed_ms=0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    """Fixed prompt token count; None: ceil(characters of all message contents / 4)."""
    completion_tokens: int | None = Field(default=None, ge=0)
    """Fixed completion token count; None: ceil(characters of the answer / 4), at least 1."""
    error_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests answered with HTTP 500."""
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests held for ``timeout_hold_s`` (past any sane client timeout)."""
    timeout_hold_s: float = Field(default=30.0, gt=0)
    disconnect_rate: float = Field(default=0.0, ge=0, le=1)
    """Share of requests whose connection is closed without a reply (a dropped network)."""
    rpm: int | None = Field(default=None, gt=0)
    """Requests per minute (a token bucket holding one second's worth, at least 1)."""
    role: Literal["answer", "judge"] = "answer"
    """``judge`` models grade ``<answer>`` against ``<reference>`` instead of answering items."""

    @model_validator(mode="after")
    def _rates_add_up(self) -> ModelProfile:
        total = self.error_rate + self.timeout_rate + self.disconnect_rate
        if total > 1:
            raise ValueError(f"error_rate + timeout_rate + disconnect_rate is {total:g}; at most 1")
        return self

    @property
    def reported_model(self) -> str:
        """What the response's ``model`` field says."""
        return self.version or self.name


class Profile(BaseModel):
    """A simulator profile file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[ModelProfile] = Field(min_length=1)
    seed: int = 0
    """Seeds latency, error and timeout draws (answers are seeded by model and item)."""
    api_key: str | None = None
    """If set, requests must carry ``Authorization: Bearer <api_key>`` (else HTTP 401)."""
    batch_delay_s: float = Field(default=1.0, ge=0)
    """A batch (``POST /v1/batches``) completes this many seconds after it was created."""
    batch_max_requests: int = Field(default=50_000, ge=1)
    """A batch with more request lines fails as a whole (``too_many_tasks``), as OpenAI's does."""

    @model_validator(mode="after")
    def _unique_names(self) -> Profile:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {', '.join(dupes)}")
        return self


def load_profile(path: str | Path) -> Profile:
    """Read a YAML or JSON profile file (YAML under the workloads file's limits: at most
    1 MiB, no alias bombs; errors name the file and line)."""
    if str(path).endswith(".json"):
        return Profile.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    from registry.errors import InputError
    from registry.yaml_lines import read_yaml_file

    return Profile.model_validate(read_yaml_file(path, error=InputError)[0])
