"""The decision registry: SQLAlchemy models, repositories, migrations, the workloads file.

Modules (import them directly; this package imports nothing so that loading it is free):

- ``models``         tables, enums (``Case``, ``Verdict``, ``RunStatus``...), ``notice_dedupe_key``
- ``db``             ``make_engine``, ``session_factory``, ``open_registry``,
                     ``upgrade_to_head``, ``downgrade_to_base``
- ``errors``         ``RegistryError`` (exit code 2) and its subclasses
- ``workload_file``  the ``relitigate.yaml`` schema and loader; ``sync``: apply it
- ``workload_parts`` its candidates (prompt, pricing, limits), scorers and eval-set reference
- ``evalset_files``  read, validate and hash eval-set files (JSONL, CSV, Parquet)
- ``evalsets``       version and store eval sets
- ``queries``        workloads with candidates and eval-set version; ``runs``: runs and item
                     results; ``decisions``: verdicts per quarter; ``notices``: the Slack outbox

Repository functions take a ``Session`` and never commit: the caller owns the transaction.
"""
