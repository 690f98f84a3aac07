"""Child process for the journal test: one benchmark through the task layer.

``python -m tests.tasks.journal_child WORKLOAD CANDIDATE QUARTER FLUSH_S`` runs
:func:`tasks.benchmark.run_benchmark` against the registry in ``RELITIGATE_DATABASE_URL``,
with checkpoints to the registry every ``FLUSH_S`` seconds, and prints its outcome as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys


def main() -> None:
    import tasks.benchmark as benchmark
    from tasks.context import opened

    workload, candidate, quarter, flush_s = sys.argv[1:5]
    benchmark.FLUSH_S = float(flush_s)
    with opened() as ctx:
        outcome = asyncio.run(benchmark.run_benchmark(ctx, workload, candidate, quarter))
    print(json.dumps(outcome.to_json()))


if __name__ == "__main__":
    main()
