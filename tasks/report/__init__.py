"""Reports over the decision registry: the quarter report, a workload's history, routing.

Layout (small modules, one concept each):

- ``records``: the plain records the reader returns (input of ``rows``).
- ``reader``: the only module that queries the registry (takes a ``Session``).
- ``rows``: records -> plain row dicts (one per decision), latest per workload, totals.
- ``frame``: rows -> pandas DataFrames, for the CSV and the charts only.
- ``document``: the versioned JSON documents (``docs/report-schema.md``), from rows.
- ``render``, ``html``, ``charts``: text, HTML and PNG forms, pure.
- ``routing``: the hybrid routing table and its litellm ``model_list``, pure.
- ``service``: a session in, what the CLI prints out.

Nothing here imports pandas, matplotlib or yaml at module level. ``report`` as a table, JSON
or markdown and ``history`` as a table or JSON never import pandas at all (the command then
starts faster); CSV, HTML and the PNG charts use pandas (and matplotlib) for the work.
"""

from tasks.report.errors import OutputError, ReportError

__all__ = ["OutputError", "ReportError"]
