"""Served runner: the project's provider simulator plays the model server.

The command template starts ``python -m relitigate.simulator`` the way a GPU worker starts
``vllm serve``; the eval set then goes through the engine's API runner to its route.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.evaluation.runner import run_candidate
from tasks.evaluation.types import CandidateSpec, ItemResult, Pricing
from tasks.gpu.config import ServingConfig
from tasks.gpu.errors import ServerDiedError, ServerStartError
from tasks.gpu.serving import ServedModel, run_served_candidate, serve_model
from tests.gpu.conftest import CollectingSink, exact_scorer, ticket_items

pytestmark = pytest.mark.anyio

MODEL = "triage-ft"
PRICE = Pricing(gpu_usd_per_hour=Decimal("4.00"), gpus=1)


def _gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether process group ``pid`` has no process left (polled for ``within_s``)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def sim_files(tmp_path: Path) -> tuple[Path, Path]:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        json.dumps(
            {
                "seed": 1,
                "models": [
                    {
                        "name": MODEL,
                        "version": "triage-ft-v3",
                        "accuracy": 0.8,
                        "latency": {"fixed_ms": 20},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    evalset = tmp_path / "evalset.jsonl"
    evalset.write_text(
        "".join(
            json.dumps({"id": i.key, "input": i.input, "target": i.target}) + "\n"
            for i in ticket_items(40)
        ),
        encoding="utf-8",
    )
    return profile, evalset


def _sim_config(files: tuple[Path, Path], **kw: object) -> ServingConfig:
    profile, evalset = files
    command = (
        f"{{python}} -m relitigate.simulator --profile {profile} --evalset {evalset} "
        "--host {host} --port {port}"
    )
    return ServingConfig(
        model="/models/triage-ft", command=command, startup_timeout_s=30, batch_size=4, **kw
    )


def _spec(**kw: object) -> CandidateSpec:
    base: dict[str, object] = {"name": MODEL, "route": f"hosted_vllm/{MODEL}", "pricing": PRICE}
    base.update(kw)
    return CandidateSpec(**base)  # type: ignore[arg-type]


async def test_benchmark_through_the_served_route(
    sim_files: tuple[Path, Path], tmp_path: Path, sink: CollectingSink
) -> None:
    items = ticket_items(40)
    run = await run_served_candidate(
        _spec(),
        _sim_config(sim_files),
        items,
        scorer=exact_scorer(),
        sink=sink,
        log_dir=tmp_path / "logs",
    )
    summary = run.summary
    assert summary.status == "complete" and summary.items_done == 40
    assert summary.items_errored == 0
    assert 20 <= summary.items_passed < 40  # the simulated model is 80% accurate
    assert summary.model_version == "triage-ft-v3"
    assert {r.item_key for r in sink.results} == {i.key for i in items}
    # Priced by the GPU-hour from the measured throughput, by the engine and by us alike.
    assert summary.gpu_cost_per_call_usd is not None
    assert run.throughput.cost_per_call_usd == summary.gpu_cost_per_call_usd
    assert run.throughput.device == "server" and run.throughput.batch_size == 4
    assert run.throughput.items_per_s > 0 and run.throughput.output_tokens_per_s > 0
    assert run.startup_s > 0 and run.log_path.parent == tmp_path / "logs"
    # Torn down: the server and its whole process group are gone.
    assert _gone(run.server_pid)


async def test_lifecycle_health_route_and_teardown(sim_files: tuple[Path, Path]) -> None:
    async with serve_model(candidate=MODEL, route=f"openai/{MODEL}", config=_sim_config(
        sim_files, route_prefix="openai")) as served:  # fmt: skip
        pid = served.server.pid
        assert os.getpgid(pid) == pid  # its own process group
        assert served.route == f"openai/{MODEL}"
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", served.api_base)
        assert MODEL in served.model_ids
        spec = served.candidate_spec(_spec(api_key_env="SOME_KEY"))
        assert (spec.route, spec.api_base, spec.api_key_env) == (
            served.route, served.api_base, None)  # fmt: skip
        assert spec.limits.concurrency == 4
        assert served.server.returncode is None
    assert served.server.returncode is not None
    assert _gone(pid)


async def test_never_healthy_times_out_with_the_log_tail(tmp_path: Path) -> None:
    command = (
        "{python} -c \"import os, time; print('pid', os.getpid(), flush=True); "
        "print('loading shards 1/30', flush=True); time.sleep(60)\""
    )
    config = ServingConfig(model="m", command=command, startup_timeout_s=1.0, stop_grace_s=2)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as info:
        async with serve_model(candidate="slow-ft", route=None, config=config, log_dir=tmp_path):
            pytest.fail("must not yield")
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "slow-ft" in message and "did not answer within 1 s" in message
    assert "loading shards 1/30" in message and info.value.log_path is not None
    assert info.value.exit_code == 2  # a user-fixable error for the CLI
    pid = int(re.search(r"pid (\d+)", message).group(1))  # type: ignore[union-attr]
    assert _gone(pid)


async def test_exit_during_startup_reports_code_and_log(tmp_path: Path) -> None:
    command = (
        "{python} -c \"import sys; print('CUDA out of memory while loading {model}'); sys.exit(3)\""
    )
    config = ServingConfig(model="big-model", command=command, startup_timeout_s=30)
    with pytest.raises(ServerStartError, match="exited with code 3") as info:
        async with serve_model(candidate="ft", route=None, config=config, log_dir=tmp_path):
            pass
    assert info.value.returncode == 3
    assert "CUDA out of memory while loading big-model" in info.value.log_tail


async def test_missing_executable_is_a_start_error(tmp_path: Path) -> None:
    config = ServingConfig(model="m", command="/nonexistent/vllm serve {model} --port {port}")
    with pytest.raises(ServerStartError, match="cannot execute '/nonexistent/vllm'"):
        async with serve_model(candidate="ft", route=None, config=config, log_dir=tmp_path):
            pass


async def test_server_that_does_not_serve_the_route(sim_files: tuple[Path, Path]) -> None:
    with pytest.raises(ServerStartError, match="does not serve model 'other-ft'"):
        async with serve_model(
            candidate="x", route="hosted_vllm/other-ft", config=_sim_config(sim_files)
        ):
            pass


async def test_server_dying_mid_run_is_a_clear_error(sim_files: tuple[Path, Path]) -> None:
    served_ref: list[ServedModel] = []

    class KillingSink(CollectingSink):
        async def write(self, results: Sequence[ItemResult]) -> None:
            await super().write(results)
            if len(self.results) >= 8:
                os.kill(served_ref[0].server.pid, signal.SIGKILL)

    sink = KillingSink()
    started = time.monotonic()
    with pytest.raises(ServerDiedError) as info:
        async with serve_model(
            candidate=MODEL, route=f"hosted_vllm/{MODEL}", config=_sim_config(sim_files)
        ) as served:
            served_ref.append(served)
            await served.guard(
                run_candidate(
                    served.candidate_spec(_spec()),
                    ticket_items(40),
                    scorer=exact_scorer(),
                    sink=sink,
                    flush_every=4,
                )
            )
    assert time.monotonic() - started < 15  # no hang on retries against a dead port
    assert info.value.returncode == -signal.SIGKILL
    assert MODEL in str(info.value) and "exited with code -9" in str(info.value)
    assert 8 <= len(sink.results) < 40  # what was done before the crash reached the sink
    assert _gone(served_ref[0].server.pid)


async def test_cancellation_stops_the_server(sim_files: tuple[Path, Path]) -> None:
    up = asyncio.Event()
    pids: list[int] = []

    async def benchmark() -> None:
        async with serve_model(
            candidate=MODEL, route=f"hosted_vllm/{MODEL}", config=_sim_config(sim_files)
        ) as served:
            pids.append(served.server.pid)
            up.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(benchmark())
    await asyncio.wait_for(up.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _gone(pids[0])


async def test_whole_process_group_is_stopped(sim_files: tuple[Path, Path], tmp_path: Path) -> None:
    """A launcher shell with the real server as its child: both go."""
    profile, evalset = sim_files
    command = (
        "sh -c '{python} -m relitigate.simulator "
        f"--profile {profile} --evalset {evalset} --host {{host}} --port {{port}} & "
        "echo child $! ; wait'"
    )
    config = ServingConfig(model="m", command=command, startup_timeout_s=30, stop_grace_s=5)
    async with serve_model(
        candidate=MODEL, route=f"hosted_vllm/{MODEL}", config=config, log_dir=tmp_path
    ) as served:
        pid = served.server.pid
        child = int(re.search(r"child (\d+)", served.server.log_tail()).group(1))  # type: ignore[union-attr]
        assert child != pid and os.getpgid(child) == pid
    assert _gone(pid)


async def test_run_self_hosted_dispatches_vllm(
    sim_files: tuple[Path, Path], tmp_path: Path, sink: CollectingSink
) -> None:
    from tasks.gpu.runners import run_self_hosted

    config = _sim_config(sim_files)
    run = await run_self_hosted(
        "vllm", _spec(), config.model_dump(), ticket_items(8), scorer=exact_scorer(),
        sink=sink, log_dir=tmp_path,
    )  # fmt: skip
    assert run.summary.items_done == 8 and run.server_log is not None
    assert run.server_log.exists() and run.server_log.parent == tmp_path
