"""How the memo writes its numbers: markdown tables, estimates, money, p-values, sides."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tasks.decision.sequential import SequentialUse
from tasks.decision.sides import SideSummary
from tasks.decision.stats import Estimate


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(header), "|" + "|".join("---" for _ in header) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def est(e: Estimate, *, signed: bool = False) -> str:
    fmt = "{:+.3f}" if signed else "{:.3f}"
    return f"{fmt.format(e.value)} ({fmt.format(e.low)} to {fmt.format(e.high)}, {e.method})"


def usd(x: float, digits: int) -> str:
    if x != x:  # NaN: no answered call
        return "n/a (no answered call)"
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.{digits}f}"


def per_task(x: float | None) -> str:
    return "n/a (nothing passed)" if x is None else usd(x, 6)


def monthly(x: float | None) -> str:
    return "unknown" if x is None else usd(x, 0)


def num(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


def pvalue(p: float) -> str:
    return f"{p:.3g}" if p >= 0.001 else "< 0.001"


def errors(s: SideSummary) -> str:
    return f"{s.n_errors} ({s.error_rate:.1%})"


def latency(s: SideSummary) -> str:
    if s.latency_p50_ms is None or s.latency_p95_ms is None:
        return "n/a"
    return f"{s.latency_p50_ms:,.0f} / {s.latency_p95_ms:,.0f} ms"


def pricing(s: SideSummary) -> str:
    if s.throughput is not None:
        t = s.throughput
        batch = "" if t.batch_size is None else f", batch {t.batch_size}"
        return f"GPU: {t.hardware}, {t.items_per_s:,.1f} items/s{batch}" + (
            "" if t.gpu_usd_per_hour is None else f", ${t.gpu_usd_per_hour:,.2f}/h"
        )
    if not s.pricing:
        return "unrecorded"
    return ", ".join(f"{k}={v}" for k, v in s.pricing.items())


_SPENDING = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock"}


def sequential_section(use: SequentialUse) -> str:
    """The items the decision used, the wave it stopped at and why, and the spend saved."""
    stop = "none (the whole set)" if use.stopped_at_wave is None else str(use.stopped_at_wave)
    rows = [
        ("Waves done / planned", f"{use.waves_done} / {use.waves_planned}"),
        ("Stopped after wave", stop),
        ("Why", use.reason),
        ("Paired items used", f"{use.items_used} of {use.items_total}"),
        ("Fine-tune items answered", f"{use.fine_tune_items} (it runs the whole set)"),
        *((f"Buy `{name}` items called", str(n)) for name, n in use.buy_items),
        ("Frontier calls vs a full run", f"{100 * use.share_called:.0f}%"),
        ("Frontier spend", usd(use.buy_spend_usd, 4)),
        ("Frontier spend saved (estimate)", usd(use.saved_usd, 4)),
        (
            "Levels at the deciding look",
            f"erosion {use.erosion_level:.3g} (Holm-adjusted), holding {use.holding_level:.3g}",
        ),
        ("Item order seed", str(use.seed)),
    ]
    return (
        "## Items used (sequential evaluation)\n\n"
        + table(("What", "Value"), rows)
        + "\n\nThe buys answered the eval set in waves, in a seeded random order; after each "
        "wave the verdict was taken at a level that stays valid under repeated looks "
        f"({_SPENDING.get(use.spending, use.spending)}-type alpha spending, "
        'docs/statistics.md, "Sequential evaluation"). The '
        "saving is the mean frontier cost per item so far times the items not called."
    )
