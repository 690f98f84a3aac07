"""The frame's criteria that rest on this quarter's measurements: the quality bar (or domain
margin) against every buy, and the net savings.

Like every gate (:mod:`tasks.decision.gates`), a ``fail`` rests on a measured fact: an
interval entirely on the wrong side of its bar, or savings known to be gone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tasks.decision.comparison import BuyComparison
from tasks.decision.gates import GateOutcome, GateStatus
from tasks.decision.money import MoneySummary


def _p(x: float) -> str:
    return f"= {x:.2g}" if x >= 0.001 else "< 0.001"


def _shown(c: BuyComparison, *, ratio: bool) -> str:
    e = c.ratio if ratio else c.difference
    what = "quality ratio" if ratio else "fine-tune - buy"
    fmt = "{:.3f}" if ratio else "{:+.3f}"
    return (
        f"{what} vs `{c.buy}` {fmt.format(e.value)} (95% CI {fmt.format(e.low)} to "
        f"{fmt.format(e.high)})"
    )


def advantage_gate(
    comparisons: Sequence[BuyComparison],
    *,
    measure: str,
    bar: float,
    alpha: float,
    correction: str,
    erosion_level: float | None = None,
) -> GateOutcome:
    """Frame, case 1 quality bar (95% of the buy) or case 2 margin, against every buy.

    Fail: against some buy the fine-tune is below the bar, with the erosion test's
    Holm-adjusted p-value under ``alpha / 2``. Pass: against every buy it is shown above the
    bar (each interval's lower end clears it). Otherwise the evidence is borderline: unknown.
    The evidence names the buy that decided and the correction used. ``erosion_level``
    replaces ``alpha / 2`` at a sequential look (:mod:`tasks.decision.sequential`).
    """
    ratio = measure == "ratio"
    level = alpha / 2.0 if erosion_level is None else erosion_level
    name = "quality_ratio" if ratio else "domain_margin"
    worst = min(comparisons, key=lambda c: (c.p_adjusted, c.p_eroded))
    bar_text = f"{bar:.2f}" if ratio else f"{bar:+.3f}"
    tail = f"; {correction}"
    eroded = [c for c in comparisons if c.p_adjusted < level]
    if eroded:
        status: GateStatus = "fail"
        evidence = (
            f"{_shown(worst, ratio=ratio)}: below {bar_text}, erosion p {_p(worst.p_eroded)}, "
            f"adjusted p {_p(worst.p_adjusted)} < {level:.3g}, eroded{tail}"
        )
    elif all(c.holds for c in comparisons):
        status = "pass"
        weakest = min(comparisons, key=lambda c: (c.ratio if ratio else c.difference).low)
        evidence = (
            f"{_shown(weakest, ratio=ratio)}: lower bound clears {bar_text} against every buy "
            f"({len(comparisons)}){tail}"
        )
    else:
        status = "unknown"
        evidence = (
            f"{_shown(worst, ratio=ratio)} straddles {bar_text}: borderline (erosion p "
            f"{_p(worst.p_eroded)}, adjusted p {_p(worst.p_adjusted)} >= {level:.3g}){tail}"
        )
    return GateOutcome(
        name=name,
        status=status,
        evidence=evidence,
        threshold=bar,
        observed=(worst.ratio if ratio else worst.difference).value,
        kind="criterion",
        rule=(
            "frame: fine-tune case 1, quality bar"
            if ratio
            else "frame: fine-tune case 2, prompting ceiling"
        ),
    )


def _savings(m: MoneySummary) -> float | None:
    x = m.net_monthly_savings_usd
    return None if x is None or math.isnan(x) else x


def net_savings_gate(
    moneys: Sequence[MoneySummary], comparisons: Sequence[BuyComparison]
) -> GateOutcome:
    """Frame, case 1: the token savings must exceed what the fine-tune costs to keep.

    The fine-tune must save money against every buy that could replace it. Fail: keeping it
    costs money against a buy it is not shown to beat on quality (that buy is named).
    Unknown: it costs money only against buys it beats on quality (no replacement, but the
    cost case no longer holds), or a saving cannot be computed (volume unknown, or a side
    answered nothing). Pass: it saves against every buy. Costs come from answered calls.
    """
    pairs = list(zip(moneys, comparisons, strict=True))
    losing = [(m, c) for m, c in pairs if _savings(m) is not None and (_savings(m) or 0.0) <= 0]
    replaceable = [m for m, c in losing if not c.beats]
    unknown = [m for m, _ in pairs if _savings(m) is None]
    status: GateStatus
    if replaceable:
        status, money = "fail", min(replaceable, key=lambda m: _savings(m) or 0.0)
    elif losing:
        status, money = "unknown", min((m for m, _ in losing), key=lambda m: _savings(m) or 0.0)
    elif unknown:
        status, money = "unknown", unknown[0]
    else:
        status, money = "pass", min(moneys, key=lambda m: _savings(m) or 0.0)
    savings = _savings(money)
    per_call = (
        f"${money.fine_tune_cost_per_call_usd:.6f} vs ${money.buy_cost_per_call_usd:.6f} per "
        f"answered call (`{money.buy}`)"
    )
    if savings is None:
        evidence = f"{per_call}; production volume or answered calls missing, savings unknown"
    else:
        evidence = (
            f"{per_call}; at {money.volume_per_day:,.0f} calls/day x "
            f"{money.days_per_month} days, net of ${money.fixed_costs_monthly_usd:,.0f} fixed "
            f"costs, keeping the fine-tune {'saves' if savings > 0 else 'costs'} "
            f"${abs(savings):,.0f}/month"
            + (f" (the least of {len(moneys)} buys)" if len(moneys) > 1 else "")
            + (
                "; the fine-tune is shown better than that buy, so it is no replacement, but "
                "the cost case no longer holds"
                if status == "unknown"
                else ""
            )
        )
    return GateOutcome(
        name="net_savings",
        status=status,
        evidence=evidence,
        threshold=0.0,
        observed=savings,
        kind="criterion",
        rule="frame: fine-tune case 1, token cost is the binding constraint",
    )
