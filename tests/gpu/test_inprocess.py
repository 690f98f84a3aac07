"""In-process runner, end to end on a tiny model built offline (CPU in CI, CUDA if present)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.evaluation.types import CandidateSpec, EvalItem, Pricing, PromptSpec
from tasks.gpu.config import ServingConfig
from tasks.gpu.errors import AdapterNotFoundError, ModelNotFoundError, ServingConfigError
from tests.gpu.conftest import CollectingSink, exact_scorer, ticket_items

pytestmark = pytest.mark.anyio

GPU_PRICE = Pricing(gpu_usd_per_hour=Decimal("2.50"), gpus=2)


def _spec(**kw: object) -> CandidateSpec:
    base: dict[str, object] = {
        "name": "triage-ft",
        "route": "hosted_vllm/triage-ft",
        "params": {"max_tokens": 6},
        "pricing": GPU_PRICE,
    }
    base.update(kw)
    return CandidateSpec(**base)  # type: ignore[arg-type]


async def test_runs_scores_measures_and_prices(tiny_model_dir: Path, sink: CollectingSink) -> None:
    from tasks.gpu.inprocess import run_inprocess_candidate

    items = ticket_items()
    config = ServingConfig(model=str(tiny_model_dir), batch_size=8, device="auto")
    run = await run_inprocess_candidate(_spec(), config, items, scorer=exact_scorer(), sink=sink)
    summary, report = run.summary, run.throughput

    assert {r.item_key for r in sink.results} == {i.key for i in items}
    assert all(r.output for r in sink.results)
    # The tiny model was taught these tickets: scoring sees right answers.
    assert summary.items_passed >= len(items) * 0.75
    assert summary.items_done == len(items) and summary.items_errored == 0
    assert summary.completion_tokens == sum(r.completion_tokens for r in sink.results) > 0
    assert all(r.cost_usd == 0 for r in sink.results)
    assert sink.batches == 3  # one write per generated batch

    assert report.batch_size == 8 and report.items == len(items)
    assert report.items_per_s > 0 and report.output_tokens_per_s > 0
    assert report.device in ("cpu", "cuda") and report.hardware
    expected = (Decimal("2.50") * 2 / 3600 / Decimal(repr(report.items_per_s))).quantize(
        Decimal("1e-12")
    )
    assert report.cost_per_call_usd == expected
    assert summary.gpu_cost_per_call_usd == expected
    assert summary.cost_usd == expected * summary.items_done
    assert summary.status == "complete" and summary.throughput_items_per_s == report.items_per_s
    assert "batch 8" in report.describe() and "per call" in report.describe()


async def test_lora_adapter_is_applied(
    tiny_model_dir: Path, tiny_adapter_dir: Path, sink: CollectingSink
) -> None:
    import torch

    from tasks.gpu.inprocess import run_inprocess_candidate
    from tasks.gpu.loading import load_model

    base = load_model(ServingConfig(model=str(tiny_model_dir)), candidate="c")
    tuned = load_model(
        ServingConfig(model=str(tiny_model_dir), adapter=str(tiny_adapter_dir)), candidate="c"
    )
    assert type(tuned.model).__name__.startswith("Peft")
    ids = base.tokenizer("ticket 1 : the login is broken", return_tensors="pt")
    with torch.inference_mode():
        differs = not torch.allclose(base.model(**ids).logits, tuned.model(**ids).logits)
    assert differs, "the random LoRA adapter should change the logits"

    items = ticket_items(6)
    config = ServingConfig(model=str(tiny_model_dir), adapter=str(tiny_adapter_dir), batch_size=4)
    run = await run_inprocess_candidate(
        _spec(), config, items, scorer=exact_scorer(), sink=sink, loaded=tuned
    )
    assert len(sink.results) == 6 and run.summary.items_done == 6
    assert run.summary.model_version is not None and "adapter" in run.summary.model_version
    assert run.throughput.cost_per_call_usd is not None


async def test_resume_skips_done_items(tiny_model_dir: Path, sink: CollectingSink) -> None:
    from tasks.gpu.inprocess import run_inprocess_candidate

    items = ticket_items(10)
    done = {i.key for i in items[:7]}
    run = await run_inprocess_candidate(
        _spec(),
        ServingConfig(model=str(tiny_model_dir), batch_size=2),
        items,
        scorer=exact_scorer(),
        sink=sink,
        skip_keys=done,
    )
    assert {r.item_key for r in sink.results} == {i.key for i in items[7:]}
    assert run.summary.items_skipped == 7 and run.summary.items_done == 3


async def test_plain_template_when_tokenizer_has_none(
    gpu_stack: None, tmp_path: Path, sink: CollectingSink
) -> None:
    from tasks.gpu.generation import render_prompt
    from tasks.gpu.inprocess import run_inprocess_candidate
    from tasks.gpu.loading import load_model
    from tasks.gpu.tiny import build_tiny_model

    items = ticket_items(4)
    folder = build_tiny_model(
        tmp_path / "plain",
        texts=["System User Assistant :"],
        teach=[(str(i.input), i.target) for i in items],
        chat_template=False,
    )
    config = ServingConfig(model=str(folder), batch_size=4)
    loaded = load_model(config, candidate="plain")
    assert not loaded.has_chat_template
    prompt = render_prompt(loaded, [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "hi"}])  # fmt: skip
    assert prompt == "System: Be brief.\nUser: hi\nAssistant:"
    per_token = Pricing(input_usd_per_token=Decimal("1e-6"), output_usd_per_token=Decimal("2e-6"))
    spec = _spec(prompt=PromptSpec(template="{input}"), pricing=per_token)
    run = await run_inprocess_candidate(
        spec, config, items, scorer=exact_scorer(), sink=sink, loaded=loaded
    )
    assert len(sink.results) == 4
    assert run.throughput.cost_per_call_usd is None  # not priced by the GPU-hour
    for r in sink.results:
        want = Decimal("1e-6") * r.prompt_tokens + Decimal("2e-6") * r.completion_tokens
        assert r.cost_usd == want
    assert run.summary.cost_usd == sum(r.cost_usd for r in sink.results)


async def test_scorer_failure_keeps_the_output(tiny_model_dir: Path, sink: CollectingSink) -> None:
    from tasks.evaluation.types import Score
    from tasks.gpu.inprocess import run_inprocess_candidate

    async def broken(output: str, item: EvalItem) -> Score:
        raise RuntimeError("judge unavailable")

    run = await run_inprocess_candidate(
        _spec(), ServingConfig(model=str(tiny_model_dir)), ticket_items(2),
        scorer=broken, sink=sink,
    )  # fmt: skip
    assert run.summary.items_errored == 2
    assert all(r.error_kind == "scorer" and r.output for r in sink.results)


async def test_unpriced_candidate_fails_before_loading(sink: CollectingSink) -> None:
    from tasks.evaluation.errors import MissingPriceError
    from tasks.gpu.inprocess import run_inprocess_candidate

    with pytest.raises(MissingPriceError):
        await run_inprocess_candidate(
            _spec(pricing=None), ServingConfig(model="/nowhere"), ticket_items(2),
            scorer=exact_scorer(), sink=sink,
        )  # fmt: skip
    assert sink.results == []


async def test_progress_hears_every_item(tiny_model_dir: Path, sink: CollectingSink) -> None:
    from tasks.evaluation.types import ProgressUpdate
    from tasks.gpu.inprocess import run_inprocess_candidate

    updates: list[ProgressUpdate] = []

    def hear(update: ProgressUpdate) -> None:
        updates.append(update)

    await run_inprocess_candidate(
        _spec(), ServingConfig(model=str(tiny_model_dir), batch_size=3), ticket_items(5),
        scorer=exact_scorer(), sink=sink, progress=hear,
    )  # fmt: skip
    assert [u.done for u in updates] == [1, 2, 3, 4, 5]
    assert all(u.total == 5 and u.candidate == "triage-ft" for u in updates)


def test_missing_local_model_is_a_named_error(tmp_path: Path) -> None:
    from tasks.gpu.loading import load_model

    with pytest.raises(ModelNotFoundError, match="nothing is downloaded") as info:
        load_model(ServingConfig(model=str(tmp_path / "nope")), candidate="ft")
    assert info.value.exit_code == 2 and "ft" in str(info.value)


def test_unknown_model_id_is_not_downloaded() -> None:
    from tasks.gpu.loading import load_model

    with pytest.raises(ModelNotFoundError, match="relitigate-test/does-not-exist"):
        load_model(ServingConfig(model="relitigate-test/does-not-exist"), candidate="ft")


def test_missing_adapter_is_a_named_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    from tasks.gpu.loading import load_model

    config = ServingConfig(model=str(tiny_model_dir), adapter=str(tmp_path / "no-adapter"))
    with pytest.raises(AdapterNotFoundError, match="LoRA adapter"):
        load_model(config, candidate="ft")


def test_cuda_requested_without_cuda(tiny_model_dir: Path) -> None:
    import torch

    from tasks.gpu.loading import load_model

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ServingConfigError, match="no CUDA device"):
        load_model(ServingConfig(model=str(tiny_model_dir), device="cuda"), candidate="ft")


def test_package_works_without_the_gpu_extra() -> None:
    """With torch, transformers and peft unimportable, the package imports and says why."""
    code = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'transformers', 'peft'):
            raise ImportError(f'blocked {name}')
sys.meta_path.insert(0, Block())
import tasks.gpu, tasks.gpu.serving, tasks.gpu.server_process, tasks.gpu.inprocess
import tasks.gpu.loading, tasks.gpu.generation, tasks.gpu.runners, tasks.gpu.tiny
from tasks.gpu.config import ServingConfig
from tasks.gpu.errors import GpuExtraMissingError
from tasks.gpu.loading import load_model
try:
    load_model(ServingConfig(model='/m'), candidate='c')
except GpuExtraMissingError as exc:
    assert "relitigate[gpu]" in str(exc), exc
else:
    raise AssertionError('no error')
assert not [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


async def test_run_self_hosted_dispatches_transformers(
    tiny_model_dir: Path, sink: CollectingSink
) -> None:
    from tasks.gpu.runners import run_self_hosted

    run = await run_self_hosted(
        "transformers", _spec(), {"model": str(tiny_model_dir), "batch_size": 4},
        ticket_items(4), scorer=exact_scorer(), sink=sink,
    )  # fmt: skip
    assert run.summary.items_done == 4 and run.server_log is None
    assert run.throughput.cost_per_call_usd == run.summary.gpu_cost_per_call_usd


async def test_run_self_hosted_rejects_bad_settings_before_anything(sink: CollectingSink) -> None:
    from tasks.gpu.runners import run_self_hosted

    with pytest.raises(ServingConfigError, match="runner 'api' is not self-hosted"):
        await run_self_hosted("api", _spec(), {"model": "m"}, [], scorer=exact_scorer(), sink=sink)
    with pytest.raises(ServingConfigError, match="batch_sise"):
        await run_self_hosted(
            "vllm", _spec(), {"model": "m", "batch_sise": 8}, [], scorer=exact_scorer(), sink=sink
        )
