"""A run's results on local disk the moment they arrive, ahead of their batched checkpoint.

The engine hands results to the registry in batches (every quarter second or so): cheap,
but a process killed between two batches (SIGKILL, the OOM killer, a pod evicted) would
lose the results it had received and paid for since the last one, and the resume would pay
for those items again. So each result is also appended to a journal file as it arrives: one
JSON line, written to the operating system before the next await (it survives the death of
the process, not of the machine). When the benchmark of the same run starts again on the
same machine, the journal's results are upserted into the registry before the items still
to call are chosen, and the journal is removed once the registry holds everything.

Upserts keep the registry's rule (a successful result is never replaced), so replaying a
journal whose results already reached the registry changes nothing. A torn last line (the
process died mid-write) is ignored: that result was not complete on disk.

Every text of a result (an output, an error that quotes a provider's body) is scrubbed of
secrets (:func:`tasks.redaction.scrub_value`) before it reaches the disk.

What a kill can still cost: the calls in flight at that moment, which the provider may have
answered and charged; no client can know.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from registry.runs import ItemResultRow
from tasks.redaction import scrub_value


def journal_path(data_dir: Path, database_url: str, run_id: int) -> Path:
    """The journal of ``run_id`` in the registry at ``database_url`` (run ids are per
    registry, so the registry's URL is part of the name, as a digest: it may hold a
    password)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return data_dir / "journal" / f"{digest}-run-{run_id}.jsonl"


class ResultJournal:
    """The append-only journal of one run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def record(self, row: ItemResultRow) -> None:
        """Append one result and hand it to the operating system now."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        line = json.dumps(scrub_value(asdict(row)), default=str, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()

    def rows(self) -> list[dict[str, Any]]:
        """The complete results on disk (a torn last line is skipped), oldest first."""
        if not self.path.exists():
            return []
        found: list[dict[str, Any]] = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("item_key"):
                found.append(row)
        return found

    def close(self) -> None:
        """Close the file (the journal stays on disk)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        """Remove the journal: the registry holds every result it had."""
        self.close()
        self.path.unlink(missing_ok=True)
