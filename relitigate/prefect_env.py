"""Prefect settings relitigate applies before Prefect is imported.

The embedded default (no ``PREFECT_API_URL``) starts Prefect's temporary API server in a
subprocess on the first flow run. Prefect waits 20 seconds for it by default; with a fresh
``PREFECT_HOME`` on a busy two-core machine the start-up alone (imports and database
migrations) has taken 16 seconds, so relitigate waits longer. A value the user set wins.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

EPHEMERAL_STARTUP_TIMEOUT_S = 180
"""Seconds to wait for the temporary API server (Prefect's default: 20)."""

DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_TIMEOUT_S),
}


def apply_prefect_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Set relitigate's Prefect defaults in ``environ`` (default ``os.environ``) where unset.

    Call before the first ``import prefect`` of the process: Prefect reads its settings then.
    """
    env = os.environ if environ is None else environ
    for name, value in DEFAULTS.items():
        env.setdefault(name, value)
