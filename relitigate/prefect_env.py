"""Process settings relitigate applies before Prefect or litellm is imported.

The embedded default (no ``PREFECT_API_URL``) starts Prefect's temporary API server in a
subprocess on the first flow run. Prefect waits 20 seconds for it by default; with a fresh
``PREFECT_HOME`` on a busy two-core machine the start-up alone (imports and database
migrations) has taken 16 seconds, so relitigate waits longer.

No connection leaves the machine unless the user configured its destination, so:

- Prefect's server (the temporary one included, which inherits this environment) posts no
  usage analytics (``PREFECT_SERVER_ANALYTICS_ENABLED``; with no network it would also log
  a failed call and a "database is locked" traceback at every start), and its UI shows no
  promotional content;
- litellm reads its bundled price map and never fetches one (``LITELLM_LOCAL_MODEL_COST_MAP``,
  ``LITELLM_OFFLINE_MODE``; :mod:`tasks.evaluation.litellm_api` sets them too, before its
  first import of litellm).

A value the user set wins.

:func:`enter_project` is the deployments' pull step: it finds the project on a worker that
sets nothing (``RELITIGATE_HOME`` is optional).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

EPHEMERAL_STARTUP_TIMEOUT_S = 180
"""Seconds to wait for the temporary API server (Prefect's default: 20)."""

DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_TIMEOUT_S),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_OFFLINE_MODE": "true",
}


def apply_prefect_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """Set relitigate's defaults in ``environ`` (default ``os.environ``) where unset.

    Call before the first ``import prefect`` or ``import litellm`` of the process: both read
    their settings then.
    """
    env = os.environ if environ is None else environ
    for name, value in DEFAULTS.items():
        env.setdefault(name, value)


class ProjectNotFoundError(RuntimeError):
    """A flow run's pull step found no folder holding relitigate's ``flows/``."""


def enter_project() -> dict[str, str]:
    """Prefect pull step (``deployments/prefect.yaml``): change into the folder holding
    ``flows/``, which the deployments' entrypoints are relative to.

    ``$RELITIGATE_HOME`` when set (a checkout on a process worker); else the folder the
    installed ``flows`` package sits in (the worker image, or any ``pip install``), so a bare
    worker that sets nothing runs too.

    Raises:
        ProjectNotFoundError: neither holds ``flows/quarter.py``.
    """
    home = os.environ.get("RELITIGATE_HOME", "").strip()
    if home:
        folder = Path(home).expanduser()
    else:
        import flows

        folder = Path(flows.__file__).resolve().parent.parent
    if not (folder / "flows" / "quarter.py").is_file():
        where = f"RELITIGATE_HOME={home}" if home else f"the installed flows package ({folder})"
        raise ProjectNotFoundError(
            f"{where} holds no flows/quarter.py; set RELITIGATE_HOME to the folder holding "
            "relitigate's flows/ (a checkout), or run the worker image (Dockerfile)"
        )
    os.chdir(folder)
    return {"directory": str(folder)}
