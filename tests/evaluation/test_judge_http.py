"""The LLM judge against a simulated judge model, over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relitigate.simulator import SimulatorServer
from tasks.evaluation import run_candidate
from tasks.evaluation.errors import JudgeIsContestantError, MissingCredentialsError
from tasks.evaluation.scorers import build_scorer, check_judge_independent, llm_judge
from tasks.evaluation.scorers.judge import parse_verdict
from tasks.evaluation.types import Pricing
from tests.evaluation.conftest import JUDGE_ITEMS, ListSink, spec_for

pytestmark = pytest.mark.anyio
JUDGE_PRICE = Pricing(
    input_usd_per_token=Decimal("0.000001"), output_usd_per_token=Decimal("0.000004")
)


def judge_for(sim: SimulatorServer, route: str = "openai/judge") -> object:
    return llm_judge(
        route,
        "Pass if the answer names the same queue as the reference.",
        api_base=sim.base_url,
        pricing=JUDGE_PRICE,
    )


async def test_judge_scores_and_its_cost_is_counted_apart(fresh_sim: SimulatorServer) -> None:
    judge = judge_for(fresh_sim)
    sink = ListSink()
    s = await run_candidate(
        spec_for(fresh_sim, "seventy"),
        JUDGE_ITEMS,
        scorer=judge,  # type: ignore[arg-type]
        sink=sink,
    )
    targets = {i.key: i.target for i in JUDGE_ITEMS}
    for r in sink.rows:
        assert r.passed == (r.output == targets[r.item_key])  # a perfect simulated judge
        assert r.judge is not None and r.judge.route == "openai/judge"
        assert r.judge.model_version == "judge-v7"
        assert r.judge_cost_usd > 0
    assert s.judge_cost_usd == sum((r.judge_cost_usd for r in sink.rows), Decimal(0))
    assert s.cost_usd == sum((r.cost_usd for r in sink.rows), Decimal(0))
    stats = fresh_sim.stats()["models"]
    assert stats["judge"]["completions"] == len(JUDGE_ITEMS)
    assert stats["seventy"]["completions"] == len(JUDGE_ITEMS)


async def test_judge_may_not_be_a_contestant(fresh_sim: SimulatorServer) -> None:
    judge = judge_for(fresh_sim, route="openai/seventy")
    with pytest.raises(JudgeIsContestantError, match="seventy"):
        await run_candidate(
            spec_for(fresh_sim, "seventy"),
            JUDGE_ITEMS,
            scorer=judge,  # type: ignore[arg-type]
            sink=ListSink(),
        )
    other = spec_for(fresh_sim, "perfect", route="hosted_vllm/seventy")
    with pytest.raises(JudgeIsContestantError):
        check_judge_independent(judge, [spec_for(fresh_sim, "perfect"), other])  # type: ignore[arg-type]
    assert fresh_sim.stats()["models"]["seventy"]["requests"] == 0


def test_judge_credentials_are_checked_when_built() -> None:
    with pytest.raises(MissingCredentialsError, match="JUDGE_KEY_UNSET"):
        build_scorer(
            {
                "kind": "llm_judge",
                "route": "openai/judge",
                "rubric": "r",
                "api_key_env": "JUDGE_KEY_UNSET",
                "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 4.0},
            },
            env={},
        )


@pytest.mark.parametrize(
    ("reply", "value"),
    [
        ('{"score": 1, "reason": "ok"}', 1.0),
        ('{"score": 0.25}', 0.25),
        ('```json\n{"score": 0}\n```', 0.0),
        ('verdict: {"score": "0.5", "reason": x', 0.5),
    ],
)
def test_parse_verdict(reply: str, value: float) -> None:
    assert parse_verdict(reply)[0] == value


@pytest.mark.parametrize("reply", ["PASS", '{"score": 3}'])
def test_parse_verdict_rejects(reply: str) -> None:
    with pytest.raises(ValueError):
        parse_verdict(reply)
