"""The decision registry: SQLAlchemy models, repositories, migrations, the workloads file.

Modules (import them directly; this package imports nothing so that loading it is free):

- ``models``         every table and enum (``Case``, ``Verdict``, ``RunStatus``...),
                     ``notice_dedupe_key``; defined in ``columns`` (types, base),
                     ``decision_models`` and ``notice_models``
- ``db``             ``make_engine``, ``session_factory``, ``open_registry``,
                     ``upgrade_to_head``, ``downgrade_to_base``
- ``errors``         ``RegistryError`` (exit code 2) and its subclasses
- ``workload_file``  the ``relitigate.yaml`` schema and loader; ``sync``: apply it
- ``workload_parts`` its candidates and eval-set reference (the settings inside them, and
                     the thresholds, are the shared ``vocabulary`` package)
- ``stored_form``    a declaration as the registry stores it, and its ``config_hash``
- ``evalset_files``  read, validate and hash eval-set files (JSONL, CSV, Parquet); one
                     item's rules are ``evalset_items``, the readers ``evalset_readers``
- ``evalsets``       version and store eval sets
- ``queries``        workloads with candidates and eval-set version; ``runs``: runs and item
                     results; ``decisions``: verdicts per quarter; ``notices``: the Slack outbox

Repository functions take a ``Session`` and never commit: the caller owns the transaction.
"""
