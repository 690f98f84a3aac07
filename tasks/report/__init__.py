"""Reports over the decision registry: the quarter report, a workload's history, routing.

Layout (small modules, one concept each):

- ``records``: the plain rows everything else takes.
- ``reader``: the only module that queries the registry (takes a ``Session``).
- ``frame``: records -> pandas DataFrames (one row per decision), latest per workload, totals.
- ``document``: the versioned JSON documents (``docs/report-schema.md``).
- ``render``, ``html``, ``charts``: text, HTML and PNG forms, pure.
- ``routing``: the hybrid routing table and its litellm ``model_list``, pure.
- ``service``: a session in, what the CLI prints out.

Nothing here imports pandas, matplotlib or yaml at module level.
"""

from tasks.report.errors import OutputError, ReportError

__all__ = ["OutputError", "ReportError"]
