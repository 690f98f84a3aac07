"""Child process for the kill-and-resume test: runs a candidate with a JSONL file sink.

``python -m tests.evaluation.kill_child BASE_URL SINK_PATH N`` skips every item already in
the sink file (the resume path) and appends each result as one fsynced JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tasks.evaluation import CandidateSpec, ItemResult, Limits, run_candidate
from tasks.evaluation.scorers import build_scorer
from tests.evaluation.conftest import PRICE_IN, PRICE_OUT, make_items


class JsonlSink:
    """Appends results to a file, flushed to disk before ``write`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def write(self, results: Sequence[ItemResult]) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            for r in results:
                fh.write(
                    json.dumps(
                        {
                            "key": r.item_key,
                            "output": r.output,
                            "error": r.error,
                            "cost": str(r.cost_usd),
                        }
                    )
                    + "\n"
                )
            fh.flush()
            os.fsync(fh.fileno())


def finished_keys(path: Path) -> set[str]:
    """Keys with an error-free result in the sink file (what a resume skips)."""
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["key"] for r in rows if r["error"] is None}


def main() -> None:
    from decimal import Decimal

    from tasks.evaluation.types import Pricing

    base, sink_path, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    spec = CandidateSpec(
        name="killed",
        route="openai/perfect",
        api_base=base,
        pricing=Pricing(
            input_usd_per_token=Decimal(PRICE_IN), output_usd_per_token=Decimal(PRICE_OUT)
        ),
        limits=Limits(concurrency=4, timeout_s=30),
    )
    summary = asyncio.run(
        run_candidate(
            spec,
            make_items(n, prefix="k"),
            scorer=build_scorer({"kind": "exact"}),
            sink=JsonlSink(sink_path),
            skip_keys=finished_keys(sink_path),
            flush_every=1,
        )
    )
    print(
        json.dumps(
            {"done": summary.items_done, "skipped": summary.items_skipped, "status": summary.status}
        )
    )


if __name__ == "__main__":
    main()
