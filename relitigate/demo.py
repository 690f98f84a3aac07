"""``relitigate demo``: four quarters of re-litigation against the provider simulator.

Everything is real except the models: the project's loopback *simulator* plays the
fine-tunes and the frontier models, with declared accuracy, latency and error behaviour. The
demo writes its own registry (SQLite) and eval sets under one folder, then, quarter by
quarter, syncs a workloads file in which the buy alternatives are that quarter's simulated
frontier releases and runs the real ``relitigate-quarter`` flow. Three workloads:

- ``contract-review`` (domain expertise): the fine-tune keeps a wide, significant lead
  (``keep``, until its base model's deprecation makes the last quarter a ``watch``).
- ``ticket-triage`` (cost distillation): the frontier model improves every quarter until the
  fine-tune falls below 95% of its quality: ``keep``, then ``watch``, then ``retire`` and a
  notice for the owner.
- ``invoice-fields`` (cost distillation): in the last quarter the frontier provider fails
  half of its requests, so the quarter is ``inconclusive`` (never a ``retire``) and the
  platform channel hears about it.

In the last quarter the workloads file also gains a buy catalog: a new, cheaper frontier
model (``frontier-flash``) that ``contract-review`` and ``ticket-triage`` pick by tag, so it
challenges both fine-tunes without either workload naming it. The same file announces that
the base model the contract-review fine-tune was trained on is deprecated within the warning
horizon: the fine-tune still beats every buy, but its ``keep`` becomes ``watch`` (rule 9),
with the date and what must happen before it, and its owner gets a watch notice that says so.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from tasks.decide import DecisionSummary

QUARTERS = ("2026Q1", "2026Q2", "2026Q3", "2026Q4")
ITEMS = 400
PLATFORM_CHANNEL = "#ml-platform"


@dataclass(frozen=True)
class SimModel:
    """One simulated model of the demo (its accuracy is per item, deterministic)."""

    name: str
    accuracy: float
    error_rate: float = 0.0
    latency_ms: float = 15.0


# The simulated market, quarter by quarter. Frontier releases improve on triage; the legal
# domain stays hard for them; the invoice provider has an outage in the last quarter.
FINE_TUNES = [
    SimModel("triage-ft-v3", 0.86),
    SimModel("contracts-ft-v2", 0.92),
    SimModel("invoices-ft-v1", 0.90),
]
FRONTIER = {
    "2026Q1": [SimModel("frontier-2026q1", 0.74), SimModel("frontier-legal-2026q1", 0.70),
               SimModel("frontier-docs-2026q1", 0.85)],
    "2026Q2": [SimModel("frontier-2026q2", 0.80), SimModel("frontier-legal-2026q2", 0.71),
               SimModel("frontier-docs-2026q2", 0.86)],
    "2026Q3": [SimModel("frontier-2026q3", 0.86), SimModel("frontier-legal-2026q3", 0.72),
               SimModel("frontier-docs-2026q3", 0.86)],
    "2026Q4": [SimModel("frontier-2026q4", 0.98), SimModel("frontier-legal-2026q4", 0.72),
               SimModel("frontier-docs-2026q4", 0.97, error_rate=0.8)],
}  # fmt: skip
CATALOG_QUARTER = "2026Q4"
"""The quarter the buy catalog (with its one new, cheaper frontier model) appears."""
FLASH = SimModel("frontier-flash-2026q4", 0.80)
"""The catalog's new frontier model: cheaper, below both fine-tunes' quality."""
TRIAGE_BASE = "openai/sim-triage-base-2025"
"""The triage fine-tune's base model."""
CONTRACTS_BASE = "openai/sim-contracts-base-2025"
"""The contract-review fine-tune's base model, whose deprecation is announced in the last
quarter."""
DEPRECATED_WORKLOAD = "contract-review"
"""The workload whose fine-tune's base model is being deprecated (``watch`` in the last
quarter)."""
DEPRECATION_NOTICE_DAYS = 45
"""How far from the day the demo runs the base model's deprecation date lies."""


def sim_profile() -> dict[str, Any]:
    """The simulator profile serving every model of every quarter."""
    models = [*FINE_TUNES, *(m for q in QUARTERS for m in FRONTIER[q]), FLASH]
    return {
        "seed": 11,
        "models": [
            {
                "name": m.name,
                "version": f"{m.name}-sim",
                "accuracy": m.accuracy,
                "latency": {"fixed_ms": m.latency_ms},
                "error_rate": m.error_rate,
            }
            for m in models
        ],
    }


def _triage(i: int, rng: random.Random) -> tuple[str, str]:
    labels = ["billing", "outage", "login", "refund", "feature-request", "security"]
    label = labels[i % len(labels)]
    text = f"Ticket {i:05d}: customer {rng.randint(1000, 9999)} writes about {label} (case {i})."
    return text, label


def _contract(i: int, rng: random.Random) -> tuple[str, str]:
    labels = ["indemnity", "termination", "liability-cap", "governing-law", "assignment"]
    label = labels[i % len(labels)]
    text = f"Clause {i:05d} (agreement {rng.randint(100, 999)}): classify the {label} provision."
    return text, label


def _invoice(i: int, rng: random.Random) -> tuple[str, str]:
    amount = f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}"
    text = f"Invoice {i:05d} from vendor {rng.randint(100, 999)}: total due EUR {amount}."
    return text, amount


def write_evalset(path: Path, make: Callable[[int, random.Random], tuple[str, str]]) -> None:
    """A deterministic synthetic eval set of :data:`ITEMS` items."""
    rng = random.Random(path.stem)
    lines = []
    for i in range(ITEMS):
        text, target = make(i, rng)
        lines.append(json.dumps({"id": f"{path.stem}-{i:04d}", "input": text, "target": target}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _candidate(name: str, model: str, api_base: str, prices: tuple[float, float]) -> dict[str, Any]:
    return {
        "name": name,
        "route": f"openai/{model}",
        "api_base": api_base,
        "api_key_env": "RELITIGATE_DEMO_SIM_KEY",
        "prompt": {"system": "Answer with the label or value only.", "template": "{input}"},
        "params": {"temperature": 0, "max_tokens": 16},
        "pricing": {"input_per_mtok": prices[0], "output_per_mtok": prices[1]},
        "limits": {"concurrency": 32, "max_attempts": 2, "timeout_s": 10},
    }


def _catalog(quarter: str, api_base: str, *, today: date) -> dict[str, Any]:
    """The file's buy catalog and deprecations (from :data:`CATALOG_QUARTER` on)."""
    if quarter < CATALOG_QUARTER:
        return {}
    flash = _candidate("frontier-flash", FLASH.name, api_base, (0.15, 0.6))
    return {
        "catalog": [{**flash, "tags": ["frontier", "cheap"]}],
        "deprecations": {
            "routes": {CONTRACTS_BASE: today + timedelta(days=DEPRECATION_NOTICE_DAYS)}
        },
    }


def workloads_file(quarter: str, api_base: str, *, today: date | None = None) -> dict[str, Any]:
    """The workloads file as the platform team would keep it in ``quarter``."""
    triage_buy, legal_buy, docs_buy = FRONTIER[quarter]
    frontier_prices = (1.25, 10.0)
    catalog = _catalog(quarter, api_base, today=today or date.today())
    pick = {"catalog": {"tags": ["cheap"]}} if catalog else {}
    return catalog | {
        "version": 1,
        "workloads": [
            {
                "name": "contract-review",
                "description": "Classify contract clauses for the legal review queue.",
                "owner": {"email": "legal-ml@example.com", "slack_channel": "#legal-ml"},
                "case": "domain_expertise",
                "volume_per_day": 40_000,
                "fixed_costs_monthly_usd": 6_000,
                "training_examples": 14_500,
                "adopted": "2025Q3",
                "eval_set": {"path": "evalsets/contract-review.jsonl", "scorer": {"kind": "exact"}},
                "fine_tune": _candidate("contracts-ft", FINE_TUNES[1].name, api_base, (0.2, 0.8))
                | {"base_model": CONTRACTS_BASE},
                "buy": [_candidate("frontier", legal_buy.name, api_base, frontier_prices)],
                **pick,
            },
            {
                "name": "invoice-fields",
                "description": "Extract the total due from supplier invoices.",
                "owner": {"email": "ap-ml@example.com", "slack_channel": "#ap-ml"},
                "case": "cost_distillation",
                "volume_per_day": 12_000_000,
                "fixed_costs_monthly_usd": 9_000,
                "adopted": "2025Q4",
                "eval_set": {
                    "path": "evalsets/invoice-fields.jsonl",
                    "scorer": {"kind": "numeric", "tolerance": 0.005},
                },
                "fine_tune": _candidate("invoices-ft", FINE_TUNES[2].name, api_base, (0.1, 0.4)),
                "buy": [_candidate("frontier", docs_buy.name, api_base, frontier_prices)],
            },
            {
                "name": "ticket-triage",
                "description": "Route support tickets to one of six queues.",
                "owner": {"email": "support-ml@example.com", "slack_channel": "#support-ml"},
                "case": "cost_distillation",
                "volume_per_day": 25_000_000,
                "fixed_costs_monthly_usd": 21_000,
                "adopted": "2025Q1",
                "eval_set": {"path": "evalsets/ticket-triage.jsonl", "scorer": {"kind": "exact"}},
                "fine_tune": _candidate("triage-ft", FINE_TUNES[0].name, api_base, (0.1, 0.4))
                | {"base_model": TRIAGE_BASE},
                "buy": [_candidate("frontier", triage_buy.name, api_base, frontier_prices)],
                **pick,
            },
        ],
    }


def prepare(folder: Path, *, api_key: str | None = None) -> tuple[Path, list[Path]]:
    """Write the simulator profile and the eval sets; returns (profile, eval-set paths)."""
    evals = folder / "evalsets"
    evals.mkdir(parents=True, exist_ok=True)
    makers = {"contract-review": _contract, "invoice-fields": _invoice, "ticket-triage": _triage}
    paths = []
    for name, make in makers.items():
        path = evals / f"{name}.jsonl"
        write_evalset(path, make)
        paths.append(path)
    profile = folder / "simulator-profile.yaml"
    data = sim_profile() | ({"api_key": api_key} if api_key else {})
    profile.write_text(
        "# The demo's simulated models: not real providers, prices or behaviour.\n"
        + yaml.safe_dump(data, sort_keys=False),
        encoding="utf-8",
    )
    return profile, paths


def write_workloads(folder: Path, quarter: str, api_base: str) -> Path:
    """The quarter's workloads file (in the demo folder, beside its eval sets)."""
    path = folder / f"relitigate-{quarter}.yaml"
    path.write_text(
        f"# relitigate demo: the workloads as declared in {quarter}\n"
        + yaml.safe_dump(workloads_file(quarter, api_base), sort_keys=False),
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class DemoResult:
    """What the demo leaves behind."""

    folder: Path
    database_url: str
    decisions: list[DecisionSummary]
    simulator_requests: int
    catalog_added: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Catalog entries new in each quarter's sync."""


def demo_environment(folder: Path) -> dict[str, str]:
    """The environment the demo runs under: its own registry, Prefect home and no Slack token
    (a real token in the caller's environment must never receive demo notices)."""
    return {
        "RELITIGATE_DATABASE_URL": f"sqlite:///{folder / 'registry.sqlite3'}",
        "RELITIGATE_DATA_DIR": str(folder),
        "RELITIGATE_SLACK_PLATFORM_CHANNEL": PLATFORM_CHANNEL,
        "RELITIGATE_DEMO_SIM_KEY": "sim-demo-key",
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }


def run_demo(
    folder: Path, *, on_quarter: Callable[[str, list[DecisionSummary]], None]
) -> DemoResult:
    """Run the four demo quarters in ``folder`` (a previous demo there is replaced)."""
    import asyncio
    import os
    import shutil

    for stale in ("registry.sqlite3", "registry.sqlite3-wal", "registry.sqlite3-shm"):
        (folder / stale).unlink(missing_ok=True)
    shutil.rmtree(folder / "memos", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    env = demo_environment(folder)
    for name in ("RELITIGATE_SLACK_TOKEN", "RELITIGATE_SLACK_TOKEN_BLOCK", "PREFECT_API_URL"):
        os.environ.pop(name, None)
    os.environ.update(env)
    from relitigate.prefect_env import apply_prefect_defaults

    apply_prefect_defaults()

    from registry.db import upgrade_to_head
    from registry.sync import sync_workloads
    from relitigate.simulator import SimulatorProcess
    from tasks.context import handed_down, opened

    upgrade_to_head(env["RELITIGATE_DATABASE_URL"])
    profile, evalsets = prepare(folder, api_key=env["RELITIGATE_DEMO_SIM_KEY"])
    from flows.parameters import QuarterRequest
    from flows.quarter import relitigate_quarter
    from registry.catalog_triggers import settle_decided
    from registry.models import utcnow

    decisions: list[DecisionSummary] = []
    added: dict[str, tuple[str, ...]] = {}
    with SimulatorProcess(profile, evalsets) as sim, opened() as ctx, handed_down(ctx):

        async def quarters() -> None:
            for quarter in QUARTERS:
                path = write_workloads(folder, quarter, sim.base_url)
                with ctx.sessions.begin() as session:
                    added[quarter] = sync_workloads(session, path).catalog_added
                started = utcnow()
                outcome = await relitigate_quarter(QuarterRequest(quarter=quarter))
                with ctx.sessions.begin() as session:  # the run decided what the sync caused
                    done = [d.workload for d in outcome.decisions]
                    settle_decided(session, workloads=done, quarter=quarter, before=started)
                decisions.extend(outcome.decisions)
                on_quarter(quarter, outcome.decisions)

        asyncio.run(quarters())
        served = sum(int(m.get("requests", 0)) for m in sim.stats()["models"].values())
    return DemoResult(folder, env["RELITIGATE_DATABASE_URL"], decisions, served, added)
