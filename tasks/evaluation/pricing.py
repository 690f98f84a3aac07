"""Money per call, exact: Decimal US dollars, never floats.

Three ways to price a candidate, chosen once per run by :func:`price_plan`:

1. the candidate's own per-token prices (:class:`~tasks.evaluation.types.Pricing`);
2. GPU hours: ``gpu_usd_per_hour x gpus / 3600 / measured calls per second`` per call, known
   once the run's throughput is measured (:func:`gpu_cost_per_call`);
3. litellm's cost map, looked up once per run (``provider.cost_map_prices``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tasks.evaluation.errors import ConfigurationError, MissingPriceError
from tasks.evaluation.provider import TokenPrices
from tasks.evaluation.types import CandidateSpec, Pricing

_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class PricePlan:
    """How one run prices its calls: per token, or per GPU hour."""

    tokens: TokenPrices | None
    gpu_usd_per_hour: Decimal | None = None
    """Total for all GPUs (``gpu_usd_per_hour x gpus``)."""
    source: str = "cost_map"
    """``candidate``, ``cost_map`` or ``gpu_hours``."""

    def call_cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """The exact cost of one call (zero under GPU pricing: see :func:`gpu_cost_per_call`)."""
        if self.tokens is None:
            return Decimal(0)
        return (
            self.tokens.input_usd_per_token * prompt_tokens
            + self.tokens.output_usd_per_token * completion_tokens
        )


def price_plan(spec: CandidateSpec, cost_map: TokenPrices | None) -> PricePlan:
    """Pick the candidate's pricing; no price at all raises MissingPriceError."""
    pricing = spec.pricing
    if pricing is not None:
        return _own_plan(spec, pricing)
    if cost_map is None:
        raise MissingPriceError(candidate=spec.name, route=spec.route)
    return PricePlan(tokens=cost_map, source="cost_map")


def _own_plan(spec: CandidateSpec, pricing: Pricing) -> PricePlan:
    per_token = (pricing.input_usd_per_token, pricing.output_usd_per_token)
    if pricing.gpu_usd_per_hour is not None:
        if any(p is not None for p in per_token):
            raise ConfigurationError(
                f"candidate {spec.name!r}: pricing has both GPU USD/hour and per-token "
                "prices; keep one"
            )
        if pricing.gpu_usd_per_hour < 0 or pricing.gpus < 1:
            raise ConfigurationError(
                f"candidate {spec.name!r}: GPU pricing needs gpu_usd_per_hour >= 0 and "
                f"gpus >= 1, got {pricing.gpu_usd_per_hour} and {pricing.gpus}"
            )
        return PricePlan(
            tokens=None,
            gpu_usd_per_hour=pricing.gpu_usd_per_hour * pricing.gpus,
            source="gpu_hours",
        )
    if any(p is None for p in per_token) or any(p is not None and p < 0 for p in per_token):
        raise ConfigurationError(
            f"candidate {spec.name!r}: per-token pricing needs both input_usd_per_token and "
            f"output_usd_per_token >= 0, got {per_token[0]} and {per_token[1]}"
        )
    assert pricing.input_usd_per_token is not None and pricing.output_usd_per_token is not None
    return PricePlan(
        TokenPrices(pricing.input_usd_per_token, pricing.output_usd_per_token), source="candidate"
    )


def gpu_cost_per_call(usd_per_hour: Decimal, calls_per_second: float) -> Decimal:
    """Per-call cost of self-hosted serving: hourly cost / calls per hour.

    ``calls_per_second`` is measured (a float); the result is rounded to 1e-12 USD.
    """
    if calls_per_second <= 0:
        raise ValueError(f"calls_per_second must be > 0, got {calls_per_second}")
    per_call = usd_per_hour / _HOUR / Decimal(repr(calls_per_second))
    return per_call.quantize(Decimal("1e-12"))


def per_million(usd_per_million: str | float | Decimal) -> Decimal:
    """USD per million tokens -> USD per token, exactly (``per_million("0.15")``)."""
    return Decimal(str(usd_per_million)) / Decimal(1_000_000)
