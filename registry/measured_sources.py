"""The ``workloads.measured_sources`` column: a workload's volume source and production sample
as declared (:mod:`vocabulary.measured`), with file paths made absolute against the folder of
the file that declared them, so they are read from the same place at every decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from registry.workload_file import WorkloadSpec
from vocabulary.measured import ProductionSample, VolumeSource


def absolute(path: str, base_dir: str | None) -> str:
    """``path`` against ``base_dir`` when relative, resolved."""
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return str(p.resolve())


def stored_volume(source: VolumeSource) -> dict[str, Any]:
    """The volume source as the registry keeps it."""
    out = source.model_dump(mode="json", exclude_none=True)
    if source.csv is not None:
        out["csv"]["path"] = absolute(source.csv.path, source.csv.base_dir)
    return out


def stored_sample(sample: ProductionSample) -> dict[str, Any]:
    """The production sample as the registry keeps it."""
    out = sample.model_dump(mode="json", exclude_none=True)
    if sample.path is not None:
        out["path"] = absolute(sample.path, sample.base_dir)
    return out


def measured_sources(spec: WorkloadSpec) -> dict[str, Any] | None:
    """The column's value; None when the workload declares neither."""
    out: dict[str, Any] = {}
    if not isinstance(spec.volume_per_day, int):
        out["volume"] = stored_volume(spec.volume_per_day)
    if spec.production_sample is not None:
        out["production_sample"] = stored_sample(spec.production_sample)
    return out or None
