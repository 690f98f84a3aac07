"""Throughput and GPU-hour cost arithmetic (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tasks.gpu.throughput import gpu_cost_per_call, measure_throughput


@pytest.mark.parametrize(
    ("usd_per_hour", "gpus", "calls_per_s", "expected"),
    [
        (Decimal("3.60"), 1, 1.0, Decimal("0.001000000000")),
        (Decimal("3.60"), 2, 1.0, Decimal("0.002000000000")),
        (Decimal("2.50"), 1, 10.0, Decimal("0.000069444444")),
        (Decimal("2.50"), 8, 40.0, Decimal("0.000138888889")),
        (Decimal("0"), 1, 5.0, Decimal("0E-12")),
    ],
)
def test_cost_per_call(
    usd_per_hour: Decimal, gpus: int, calls_per_s: float, expected: Decimal
) -> None:
    assert (
        gpu_cost_per_call(gpu_usd_per_hour=usd_per_hour, gpus=gpus, calls_per_s=calls_per_s)
        == expected
    )


@pytest.mark.parametrize(
    ("usd_per_hour", "gpus", "calls_per_s"),
    [
        (Decimal("-1"), 1, 1.0),
        (Decimal("1"), 0, 1.0),
        (Decimal("1"), 1, 0.0),
        (Decimal("1"), 1, float("nan")),
    ],
)
def test_cost_per_call_rejects(usd_per_hour: Decimal, gpus: int, calls_per_s: float) -> None:
    with pytest.raises(ValueError):
        gpu_cost_per_call(gpu_usd_per_hour=usd_per_hour, gpus=gpus, calls_per_s=calls_per_s)


def test_report_rates_and_cost() -> None:
    report = measure_throughput(
        hardware="NVIDIA H100 80GB HBM3", device="cuda", batch_size=32, items=400,
        output_tokens=12_000, wall_s=20.0, gpu_usd_per_hour=Decimal("2.50"), gpus=1,
    )  # fmt: skip
    assert report.items_per_s == 20.0 and report.output_tokens_per_s == 600.0
    assert report.cost_per_call_usd == Decimal("0.000034722222")
    line = report.describe()
    assert line.startswith("NVIDIA H100 80GB HBM3 x1 (cuda), batch 32: 20.00 items/s")
    assert "$0.00003472 per call at $2.50/GPU-hour" in line


def test_report_without_price_or_measurement() -> None:
    unpriced = measure_throughput(
        hardware="cpu", device="cpu", batch_size=1, items=3, output_tokens=9, wall_s=1.5,
        gpu_usd_per_hour=None,
    )  # fmt: skip
    assert unpriced.cost_per_call_usd is None and unpriced.items_per_s == 2.0
    empty = measure_throughput(
        hardware="cpu", device="cpu", batch_size=4, items=0, output_tokens=0, wall_s=0.0,
        gpu_usd_per_hour=Decimal("1"),
    )  # fmt: skip
    assert (empty.items_per_s, empty.output_tokens_per_s, empty.cost_per_call_usd) == (0, 0, None)
    with pytest.raises(ValueError):
        measure_throughput(
            hardware="cpu", device="cpu", batch_size=0, items=1, output_tokens=1, wall_s=1,
            gpu_usd_per_hour=None,
        )  # fmt: skip
