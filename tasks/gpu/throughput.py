"""Throughput and GPU-hour price arithmetic: plain functions over plain numbers, no I/O.

A self-hosted candidate is paid by the GPU-hour, not by the token. Its cost per call is the
hourly price of the GPUs it holds divided by the calls they answer per hour, at the batch
size the benchmark measured::

    cost per call = GPU $/hour x GPUs / 3600 / measured calls per second
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tasks.evaluation.pricing import gpu_cost_per_call as engine_gpu_cost_per_call


def gpu_cost_per_call(*, gpu_usd_per_hour: Decimal, gpus: int, calls_per_s: float) -> Decimal:
    """Cost of one call on self-hosted GPUs, in US dollars.

    Args:
        gpu_usd_per_hour: Price of one GPU for one hour.
        gpus: GPUs the server holds.
        calls_per_s: Measured calls (eval items) answered per second at the batch size used.

    Returns:
        ``gpu_usd_per_hour x gpus / 3600 / calls_per_s``, to 1e-12 dollars (the engine's
        :func:`tasks.evaluation.pricing.gpu_cost_per_call`, so both runners price alike).

    Raises:
        ValueError: a negative price, fewer than one GPU, or a non-positive throughput.
    """
    if gpu_usd_per_hour < 0:
        raise ValueError(f"gpu_usd_per_hour must be >= 0, got {gpu_usd_per_hour}")
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}")
    if not calls_per_s > 0:
        raise ValueError(f"calls_per_s must be > 0, got {calls_per_s}")
    return engine_gpu_cost_per_call(gpu_usd_per_hour * gpus, float(calls_per_s))


@dataclass(frozen=True, slots=True)
class ThroughputReport:
    """What a self-hosted benchmark measured, and the per-call price it implies.

    The memo quotes it: the hardware, batch size and throughput behind the cost figure.
    """

    hardware: str
    """E.g. ``NVIDIA H100 80GB HBM3`` or ``CPU (x86_64, 2 cores)``."""
    device: str
    """``cuda``, ``cpu``, or ``server`` (a model server the worker started)."""
    batch_size: int
    """Sequences generated together (in-process) or requests in flight (served)."""
    items: int
    """Items generated in the measured window."""
    output_tokens: int
    wall_s: float
    """Generation time of the measured window (model loading and server start excluded)."""
    items_per_s: float
    output_tokens_per_s: float
    gpu_usd_per_hour: Decimal | None
    gpus: int
    cost_per_call_usd: Decimal | None
    """None when no GPU price is declared or nothing was measured."""

    def describe(self) -> str:
        """One line for the memo, e.g. ``NVIDIA H100 x1, batch 32: 41.2 items/s, ...``."""
        line = (
            f"{self.hardware} x{self.gpus} ({self.device}), batch {self.batch_size}: "
            f"{self.items_per_s:.2f} items/s, {self.output_tokens_per_s:.1f} output tokens/s "
            f"over {self.items} items"
        )
        if self.cost_per_call_usd is not None and self.gpu_usd_per_hour is not None:
            line += f"; ${self.cost_per_call_usd:.8f} per call at ${self.gpu_usd_per_hour}/GPU-hour"
        return line


def measure_throughput(
    *,
    hardware: str,
    device: str,
    batch_size: int,
    items: int,
    output_tokens: int,
    wall_s: float,
    gpu_usd_per_hour: Decimal | None,
    gpus: int = 1,
) -> ThroughputReport:
    """Turn counts and a measured wall time into rates and a per-call GPU price.

    Args:
        hardware: Name of the accelerator (or CPU) that generated.
        device: ``cuda``, ``cpu`` or ``server``.
        batch_size: Batch size (or requests in flight) used.
        items: Items generated in ``wall_s``.
        output_tokens: Tokens generated in ``wall_s``.
        wall_s: Seconds of generation.
        gpu_usd_per_hour: Hourly price of one GPU, or None when not priced by the hour.
        gpus: GPUs held.

    Returns:
        The report; rates are 0 and the cost None when nothing was measured.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if items < 0 or output_tokens < 0 or wall_s < 0:
        raise ValueError("items, output_tokens and wall_s must be >= 0")
    measured = items > 0 and wall_s > 0
    items_per_s = items / wall_s if measured else 0.0
    tokens_per_s = output_tokens / wall_s if measured else 0.0
    cost = (
        gpu_cost_per_call(gpu_usd_per_hour=gpu_usd_per_hour, gpus=gpus, calls_per_s=items_per_s)
        if measured and gpu_usd_per_hour is not None
        else None
    )
    return ThroughputReport(
        hardware=hardware,
        device=device,
        batch_size=batch_size,
        items=items,
        output_tokens=output_tokens,
        wall_s=wall_s,
        items_per_s=items_per_s,
        output_tokens_per_s=tokens_per_s,
        gpu_usd_per_hour=gpu_usd_per_hour,
        gpus=gpus,
        cost_per_call_usd=cost,
    )
