"""Calls per day read from a source instead of typed, and the volume gate on that reading.

The task layer reads the source (``tasks/measured/volume.py``) and hands the reading here as
a :class:`MeasuredVolume`; nothing here does I/O. A source that could not be read is
``value=None`` with the reason: the volume gate is then ``unknown`` (rule 6: ``watch``),
never ``fail``, so an unreadable source can never retire a fine-tune.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from tasks.decision.drift import DriftReport, drift_lines
from tasks.decision.gates import GateOutcome, volume_gate


@dataclass(frozen=True, slots=True)
class MeasuredVolume:
    """One reading of a workload's volume source."""

    value: float | None
    """Calls per day; None when the source could not be read."""
    source: str
    """What was read, without secrets, e.g. ``csv /data/calls.csv (mean of 28 days)``."""
    read_at: datetime
    error: str | None = None
    """Why the source could not be read (None when it was)."""

    def __post_init__(self) -> None:
        if (self.value is None) == (self.error is None):
            raise ValueError("a volume reading has a value or an error, not both or neither")
        if self.value is not None and not self.value >= 0:
            raise ValueError(f"a measured volume must be >= 0, got {self.value!r}")


def measured_volume_gate(reading: MeasuredVolume, *, min_volume: float) -> GateOutcome:
    """:func:`~tasks.decision.gates.volume_gate` on the reading, its source in the evidence;
    an unread source is ``unknown`` with the reason."""
    gate = volume_gate(reading.value, min_volume=min_volume)
    when = reading.read_at.strftime("%Y-%m-%d %H:%M UTC")
    if reading.value is None:
        evidence = (
            f"volume source {reading.source} could not be read at {when}: {reading.error} "
            f"(needs >= {min_volume:,.0f} calls/day); fix the source, the verdict waits"
        )
    else:
        evidence = f"{gate.evidence} (measured: {reading.source}, read {when})"
    return dataclasses.replace(gate, evidence=evidence)


def volume_lines(reading: MeasuredVolume) -> list[str]:
    """The memo's lines on the reading."""
    when = reading.read_at.strftime("%Y-%m-%d %H:%M UTC")
    if reading.value is None:
        return [f"- Volume: source {reading.source} unreadable at {when}: {reading.error}."]
    return [f"- Volume: {reading.value:,.0f} calls/day from {reading.source}, read {when}."]


def measured_section(volume: MeasuredVolume | None, drift: DriftReport | None) -> list[str]:
    """The memo's "Measured facts" section, or nothing when both facts were typed."""
    if volume is None and drift is None:
        return []
    lines = ["## Measured facts", ""]
    if volume is not None:
        lines += volume_lines(volume)
    if drift is not None:
        lines += ([""] if volume is not None else []) + drift_lines(drift)
    return ["\n".join(lines)]
