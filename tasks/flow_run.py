"""The Prefect flow run this process works for: its id (recorded with leases) and its link in
the Prefect UI (in memos, notices and digests)."""

from __future__ import annotations


def current_flow_run_id() -> str | None:
    """The id of the flow run in progress; None outside one (``relitigate bench``)."""
    from prefect.runtime import flow_run

    value = flow_run.id
    return None if value is None else str(value)


def flow_run_url(ui_url: str | None) -> str | None:
    """The link to the flow run in progress under the Prefect UI at ``ui_url``
    (``RELITIGATE_PREFECT_UI_URL``); None without a UI URL or outside a flow run."""
    if not ui_url:
        return None
    run_id = current_flow_run_id()
    return None if run_id is None else f"{ui_url.rstrip('/')}/runs/flow-run/{run_id}"
