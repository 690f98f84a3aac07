"""The gate thresholds of a workload: written in ``relitigate.yaml``, applied by the
decision engine. Defaults come from the decision frame (``decision-frame.txt``) unless noted.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vocabulary.fields import Count, Strict


class Thresholds(Strict):
    """Every number a verdict depends on that a workload may override.

    In the workloads file every field is optional: only the ones given override the defaults,
    and only those are stored. The bounds here are the decision engine's own rules, so a
    value ``sync`` accepts is one the engine accepts."""

    quality_ratio_min: Annotated[float, Field(gt=0, le=2)] = 0.95
    """cost_distillation: fine-tune quality / buy quality must stay at or above this (frame:
    the 95% quality bar)."""
    min_volume_per_day: Count = 10_000_000
    """cost_distillation: production calls per day needed to justify distillation (frame:
    10M calls/day)."""
    min_training_examples: Count = 10_000
    """domain_expertise: training examples on record needed to justify the fine-tune (frame:
    10,000+ high-quality examples)."""
    min_items: Annotated[int, Field(ge=1)] = 200
    """Eval sets with fewer items support no verdict (``inconclusive``; frame: 200+ items)."""
    max_error_rate: Annotated[float, Field(ge=0, lt=1)] = 0.05
    """Provider errors above this share of a side's items (per side, never pooled) make the
    quarter inconclusive. Engine default, not from the frame."""
    warning_horizon_quarters: Annotated[int, Field(ge=0, le=40)] = 2
    """``watch`` when the trend projects erosion within this many quarters."""
    significance_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """Significance level of the paired tests; intervals are two-sided at
    ``1 - significance_alpha``. Engine default."""
    domain_margin_min: Annotated[float, Field(ge=0, le=1)] = 0.0
    """domain_expertise: the fine-tune's score advantage over buy (in score units, [0, 1])
    must have its interval's lower bound above this; 0 means "significantly better"."""
    deprecation_horizon_days: Annotated[int, Field(ge=0, le=3650)] = 90
    """Flag a buy, the fine-tune's serving route or its base model deprecated within this
    many days of the decision (or already deprecated): the buy leaves the comparison, the
    fine-tune gets ``watch``. Engine default."""
    sequential: bool = True
    """Call the buy alternatives in waves (200, 400, ... items in a seeded order) and stop
    when the verdict is settled; each look tests at an alpha-spending boundary, so the
    false-retire rate stays at ``significance_alpha / 2`` (docs/statistics.md, "Sequential
    evaluation"). ``false``: every item, one fixed test. Engine default."""
