"""A simulated model's state: its random stream, rate bucket, latency draw and counters."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

from relitigate.simulator.profile import ModelProfile


@dataclass
class Counters:
    """What one model did since the last reset (``GET /stats``)."""

    requests: int = 0
    completions: int = 0
    errors_injected: int = 0
    timeouts_injected: int = 0
    disconnects_injected: int = 0
    rate_limited: int = 0
    answered: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        """The counters as ``GET /stats`` shows them."""
        return {
            "requests": self.requests,
            "completions": self.completions,
            "errors_injected": self.errors_injected,
            "timeouts_injected": self.timeouts_injected,
            "disconnects_injected": self.disconnects_injected,
            "rate_limited": self.rate_limited,
            "items_answered": len(self.answered),
            "duplicate_completions": sum(n - 1 for n in self.answered.values()),
        }


class SimModel:
    """A profile model with its random stream, rate bucket and counters."""

    def __init__(self, profile: ModelProfile, seed: int) -> None:
        self.p = profile
        self.rng = random.Random(f"{seed}:{profile.name}")
        self.sigma = profile.latency.sigma()
        self.counters = Counters()
        self.capacity = max(1.0, (profile.rpm or 0) / 60)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take_rate_token(self) -> float:
        """0 if a request may pass now, else the seconds until it may."""
        if self.p.rpm is None:
            return 0.0
        now = time.monotonic()
        rate = self.p.rpm / 60
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate

    def latency_s(self) -> float:
        """One reply's latency: fixed, or drawn log-normally around the median."""
        lat = self.p.latency
        if lat.fixed_ms is not None:
            return lat.fixed_ms / 1000
        assert lat.median_ms is not None
        return lat.median_ms * math.exp(self.sigma * self.rng.gauss()) / 1000
