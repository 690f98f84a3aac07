"""One benchmark in its own process, its calls under the shared provider limits.

``python -m tests.tasks.rate_limit_child WORKLOAD CANDIDATE QUARTER``; the registry and the
rest come from the ``RELITIGATE_*`` environment. Prints the outcome as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from tasks.benchmark import run_benchmark
from tasks.context import opened
from tasks.rate_limits import shared_rate_limits


def main() -> None:
    workload, candidate, quarter = sys.argv[1:4]
    with opened() as ctx, shared_rate_limits(ctx):
        outcome = asyncio.run(run_benchmark(ctx, workload, candidate, quarter, retry_level=0))
    print(json.dumps(outcome.to_json()))


if __name__ == "__main__":
    main()
