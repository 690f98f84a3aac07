"""Sequential evaluation: a seeded item order, waves, and boundaries valid under repeated looks.

The buy alternatives answer the eval set in waves (``min_items``, then :data:`WAVE_ITEMS`
more at a time, cumulative, in a seeded random order). After each wave the decision is taken
on the items answered so far; a settled ``retire`` or ``keep`` stops the calls to the
frontier. Looking after every wave is testing several times, so each look tests at a
stricter level than the fixed 2.5%: the levels come from **alpha spending** (Lan and DeMets,
1983) with the O'Brien-Fleming-type spending function
``a(t) = 2 - 2 Phi(z_{1 - a/2} / sqrt(t))``, ``t`` the share of the eval set answered.
The chance of crossing a boundary at some look, when the fine-tune sits at its bar, is
then at most ``a`` in all, ``a`` = 2.5% for erosion; nearly all of it is spent at the last
look, which therefore tests at almost the fixed level (near-full power).

* **Erosion** (``retire``): with ``k`` buys the fine-tune is eroded at a look when some
  buy's erosion p-value is below that look's boundary for ``a / k`` (the first step of
  Holm's method, which is what decides; docs/statistics.md, "Sequential evaluation").
  The decision core compares Holm-adjusted p-values with ``k`` times that boundary.
* **Holding** (``keep``): against every buy, each at that look's boundary for ``a``
  (intersection-union, no correction). The intervals are repeated intervals at that level.

Nothing here does I/O: the flow asks :func:`wave_plan` for the waves, :func:`item_order`
for the order, :func:`look_levels` for a look's levels and :func:`next_step` whether to go on.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, special

Spending = Literal["obrien_fleming", "pocock"]
Step = Literal["continue", "retire", "keep", "end"]

WAVE_ITEMS = 100
"""Items per wave after the first (which brings the set to ``min_items``): finer waves stop
closer to where the evidence settles (bench/bench_sequential.py measured 36% of a full run's
calls in clear cases with 100, 40% with 200)."""
MAX_WAVES = 10
"""At most this many waves: a large eval set gets larger waves. Every look tightens the last
look's boundary a little (O'Brien-Fleming: 2.11% with 5 looks, 1.87% with 10, 1.53% with 50)."""
_GRID = 801
"""Points of the grid the recursive integration runs on."""
_WIDTH = 8.5
"""The grid spans this many standard deviations below zero."""


class SequentialError(ValueError):
    """A wave plan or a look that cannot exist (bad sizes, a wave out of range)."""


@dataclass(frozen=True, slots=True)
class WavePlan:
    """The waves of one quarter's evaluation: cumulative item counts, the last the whole set."""

    seed: int
    """Seeds the item order (recorded, so a re-run draws the same waves)."""
    total: int
    sizes: tuple[int, ...]
    """Items answered after each wave, cumulative; ``sizes[-1] == total``."""
    min_items: int
    """No look decides before this many paired items (the eval-items gate)."""

    @property
    def waves(self) -> int:
        """How many waves in all."""
        return len(self.sizes)

    @property
    def looks(self) -> tuple[int, ...]:
        """The waves (1-based) after which the decision is taken: those with ``min_items``
        paired items or more, and always the last."""
        return tuple(
            w for w, n in enumerate(self.sizes, 1) if n >= self.min_items or w == self.waves
        )

    def fractions(self) -> tuple[float, ...]:
        """The share of the eval set answered at each look."""
        return tuple(self.sizes[w - 1] / self.total for w in self.looks)


def wave_plan(
    total: int, *, min_items: int, seed: int, wave_items: int = WAVE_ITEMS, sequential: bool = True
) -> WavePlan:
    """The waves for an eval set of ``total`` items: the first brings it to ``min_items`` (or
    ``wave_items``, if larger), each next one adds ``wave_items`` (more when that would make
    over :data:`MAX_WAVES` waves), the last ends at the whole set; one wave when
    ``sequential`` is off. A last wave under half a wave joins the one before, so no look is
    spent on a few items."""
    if total < 1 or wave_items < 1 or min_items < 1 or seed < 0:
        raise SequentialError(
            f"bad wave plan: total {total}, wave_items {wave_items}, min_items {min_items}, "
            f"seed {seed} (all must be >= 1, the seed >= 0)"
        )
    if not sequential:
        return WavePlan(seed, total, (total,), min_items)
    first = max(wave_items, min_items)
    step = max(wave_items, math.ceil((total - first) / (MAX_WAVES - 1)))
    sizes = list(range(first, total, step))
    if sizes and total - sizes[-1] < step / 2:
        sizes.pop()
    return WavePlan(seed, total, (*sizes, total), min_items)


def item_order(keys: Sequence[str], seed: int) -> tuple[str, ...]:
    """The eval set's item keys in the seeded order the waves follow (the same keys and seed
    give the same order, whatever order the keys come in)."""
    ordered = sorted(keys)
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    return tuple(ordered[i] for i in permutation)


def wave_keys(order: Sequence[str], plan: WavePlan, wave: int) -> tuple[str, ...]:
    """The items answered once wave ``wave`` (1-based) is done: waves 1..``wave``."""
    if not 1 <= wave <= plan.waves:
        raise SequentialError(f"wave {wave} is not in 1..{plan.waves}")
    return tuple(order[: plan.sizes[wave - 1]])


def spent(t: float, level: float, spending: Spending = "obrien_fleming") -> float:
    """The one-sided level spent once a share ``t`` of the eval set is answered."""
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return level
    if spending == "pocock":
        return level * math.log(1.0 + (math.e - 1.0) * t)
    z = float(special.ndtri(1.0 - level / 2.0))
    return float(2.0 * special.ndtr(-z / math.sqrt(t)))


@functools.lru_cache(maxsize=256)
def nominal_levels(
    fractions: tuple[float, ...], level: float, spending: Spending = "obrien_fleming"
) -> tuple[float, ...]:
    """Each look's nominal one-sided level: a p-value below it at that look crosses.

    The boundaries ``c_k`` on the standardised statistic are found look by look so that the
    chance of crossing first at look ``k`` equals the level spent between looks ``k - 1`` and
    ``k``, under the canonical joint distribution of the statistics (a Brownian motion in
    the share answered: ``corr(Z_j, Z_k) = sqrt(t_j / t_k)``), by recursive numerical
    integration over a grid. Deterministic: the same looks always give the same levels.
    """
    if not fractions or any(b <= a for a, b in itertools.pairwise(fractions)):
        raise SequentialError(f"look fractions {fractions} must be increasing")
    if not (fractions[0] > 0.0 and fractions[-1] <= 1.0):
        raise SequentialError(f"look fractions {fractions} must lie in (0, 1]")
    out: list[float] = []
    grid = weights = density = np.zeros(0)
    before, previous = 0.0, 0.0
    for k, t in enumerate(fractions):
        target = spent(t, level, spending) - previous
        previous = spent(t, level, spending)
        sd = math.sqrt(t)
        if k == 0:
            z = float(special.ndtri(1.0 - target)) if target > 0 else math.inf
        else:
            z = _next_boundary(grid, weights * density, t - before, sd, target)
        out.append(float(special.ndtr(-z)) if math.isfinite(z) else 0.0)
        bound = z * sd if math.isfinite(z) else _WIDTH * sd
        new_grid = np.linspace(-_WIDTH * sd, bound, _GRID)
        if k == 0:
            density = np.exp(-0.5 * (new_grid / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        else:
            step = math.sqrt(t - before)
            kernel = np.exp(-0.5 * ((new_grid[:, None] - grid[None, :]) / step) ** 2)
            density = kernel @ (weights * density) / (step * math.sqrt(2 * math.pi))
        grid, weights, before = new_grid, _trapezoid(new_grid), t
    return tuple(out)


def _trapezoid(grid: np.ndarray) -> np.ndarray:
    h = grid[1] - grid[0]
    w = np.full(grid.size, h)
    w[0] = w[-1] = h / 2.0
    return w


def _next_boundary(
    grid: np.ndarray, mass: np.ndarray, delta: float, sd: float, target: float
) -> float:
    """The standardised boundary at the next look whose first-crossing chance is ``target``."""
    if target <= 1e-15:
        return math.inf
    step = math.sqrt(delta)

    def crossing(z: float) -> float:
        return float(mass @ special.ndtr((grid - z * sd) / step)) - target

    if crossing(0.0) <= 0.0:
        return 0.0
    return float(optimize.brentq(crossing, 0.0, 40.0, xtol=1e-10))


@dataclass(frozen=True, slots=True)
class LookLevels:
    """The levels the decision core tests at, at one look."""

    wave: int
    """The wave after which this look is taken (1-based)."""
    waves: int
    items: int
    """Paired items the look uses."""
    total: int
    erosion: float
    """Holm-adjusted erosion p-values below this erode the fine-tune (``k`` buys: ``k`` times
    the boundary for ``a / k``; the fixed test: ``a``)."""
    holding: float
    """Each buy's holding test, and the intervals, at this one-sided level."""

    @property
    def final(self) -> bool:
        """The look on the whole eval set."""
        return self.wave == self.waves


def look_levels(
    plan: WavePlan, wave: int, *, alpha: float, buys: int, spending: Spending = "obrien_fleming"
) -> LookLevels:
    """The levels at the look after ``wave``; with one wave, the fixed test's ``alpha / 2``."""
    if wave not in plan.looks:
        raise SequentialError(f"wave {wave} is no look of the plan (looks: {plan.looks})")
    if buys < 1:
        raise SequentialError(f"a look needs at least one buy alternative, got {buys}")
    level = alpha / 2.0
    index = plan.looks.index(wave)
    fractions = plan.fractions()
    holding = nominal_levels(fractions, level, spending)[index]
    erosion = buys * nominal_levels(fractions, level / buys, spending)[index]
    if plan.waves == 1:
        holding = erosion = level
    return LookLevels(wave, plan.waves, plan.sizes[wave - 1], plan.total, erosion, holding)


@dataclass(frozen=True, slots=True)
class NextStep:
    """What to do after a look."""

    step: Step
    """``continue``; ``retire`` or ``keep``: settled, stop calling the frontier; ``end``: the
    whole set is answered."""
    reason: str


def next_step(plan: WavePlan, wave: int, *, verdict: str, failed: Sequence[str]) -> NextStep:
    """Stop or go on after ``wave``, given the verdict taken on its items.

    ``failed`` names the criterion gates that failed. A ``keep`` stops; a ``retire`` stops
    unless it rests on the net savings alone (whether a buy is shown worse than the fine-tune,
    which would make it no replacement, can change with more items: the run goes on). Every
    other verdict (``watch``, ``inconclusive``: borderline or noisy) goes on to the end.
    """
    n = plan.sizes[wave - 1]
    if wave == plan.waves:
        return NextStep("end", f"the whole eval set ({plan.total} items) is answered")
    if wave not in plan.looks:
        return NextStep(
            "continue", f"{n} paired items, fewer than the {plan.min_items} a verdict needs"
        )
    at = f"after wave {wave} of {plan.waves} ({n} of {plan.total} items)"
    if verdict == "keep":
        return NextStep("keep", f"keep settled {at}: the fine-tune holds against every buy")
    if verdict == "retire" and any(name != "net_savings" for name in failed):
        named = ", ".join(name for name in failed if name != "net_savings")
        return NextStep("retire", f"retire settled {at}: {named} failed")
    return NextStep("continue", f"{verdict} {at}: not settled, the next wave is called")


def saved_usd(spent_usd: float, called: int, not_called: int) -> float:
    """Frontier spend a full run would have added: the mean cost per item so far times the
    items never called (0 when nothing was called yet)."""
    if called <= 0:
        return 0.0
    return spent_usd / called * max(0, not_called)


@dataclass(frozen=True, slots=True)
class SequentialUse:
    """What a decision used: the record the memo, report and registry show."""

    seed: int
    spending: str
    waves_planned: int
    waves_done: int
    stopped_at_wave: int | None
    """The wave after which a settled verdict stopped the frontier calls; None: no stop."""
    reason: str
    items_total: int
    items_used: int
    """Paired items the decision rests on."""
    fine_tune_items: int
    """Items the fine-tune answered (it runs the whole set)."""
    buy_items: tuple[tuple[str, int], ...]
    """Items each buy was called on."""
    buy_spend_usd: float
    saved_usd: float
    """Estimated frontier spend avoided against a full run."""
    erosion_level: float
    holding_level: float

    @property
    def share_called(self) -> float:
        """Frontier calls made as a share of a full run's."""
        full = self.items_total * max(1, len(self.buy_items))
        return sum(n for _, n in self.buy_items) / full if full else 1.0

    def sentence(self) -> str:
        """What was used and saved, in one sentence."""
        if self.stopped_at_wave is None:
            head = f"ran all {self.waves_done} wave(s) to the whole eval set ({self.reason})"
        else:
            head = (
                f"stopped after wave {self.stopped_at_wave} of {self.waves_planned} ({self.reason})"
            )
        return (
            f"Sequential evaluation {head}; the decision uses {self.items_used} of "
            f"{self.items_total} paired items, the buys were called on "
            f"{100 * self.share_called:.0f}% of a full run's items, saving about "
            f"${self.saved_usd:,.2f} of frontier spend"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for the registry's JSON columns."""
        return {
            "seed": self.seed,
            "spending": self.spending,
            "waves_planned": self.waves_planned,
            "waves_done": self.waves_done,
            "stopped_at_wave": self.stopped_at_wave,
            "reason": self.reason,
            "items_total": self.items_total,
            "items_used": self.items_used,
            "fine_tune_items": self.fine_tune_items,
            "buy_items": dict(self.buy_items),
            "buy_spend_usd": self.buy_spend_usd,
            "saved_usd": self.saved_usd,
            "share_called": self.share_called,
            "erosion_level": self.erosion_level,
            "holding_level": self.holding_level,
        }
