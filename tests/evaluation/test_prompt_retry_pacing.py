"""Prompt rendering, retry policy and pacing (no network)."""

from __future__ import annotations

import random
import time

import pytest

from tasks.evaluation.errors import (
    ConfigurationError,
    PermanentProviderError,
    TransientProviderError,
)
from tasks.evaluation.pacing import Pacer, TokenBucket
from tasks.evaluation.prompt import render
from tasks.evaluation.retry import Attempts, RetryPolicy, backoff_s, call_with_retry
from tasks.evaluation.types import EvalItem, FewShot, Limits, PromptSpec
from tasks.evaluation.wire import retry_after_s, status_error

pytestmark = pytest.mark.anyio
PROMPT = PromptSpec(
    system="Route tickets.",
    few_shot=(FewShot("printer jam", "facilities"),),
    template="[{lang}] Ticket: {input}",
)


def test_render_text_with_system_few_shot_and_template() -> None:
    msgs = render(PROMPT, EvalItem("k", "vpn down", "it", {"lang": "en"}))
    assert msgs == [
        {"role": "system", "content": "Route tickets."},
        {"role": "user", "content": "printer jam"},
        {"role": "assistant", "content": "facilities"},
        {"role": "user", "content": "[en] Ticket: vpn down"},
    ]


def test_render_chat_input_is_appended_as_given() -> None:
    chat = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yes?"},
        {"role": "user", "content": "vpn down"},
    ]
    msgs = render(PromptSpec(system="S"), EvalItem("k", chat, "it"))
    assert msgs[0] == {"role": "system", "content": "S"} and msgs[1:] == chat


def test_render_errors_name_the_item() -> None:
    with pytest.raises(ConfigurationError, match=r"item 'k7'.*lang"):
        render(PROMPT, EvalItem("k7", "x", "y"))
    with pytest.raises(ConfigurationError, match="needs 'role' and 'content'"):
        render(PromptSpec(), EvalItem("k8", [{"content": "x"}], "y"))


def transient(kind: str = "server", retry_after: float | None = None) -> TransientProviderError:
    return TransientProviderError("boom", route="r", kind=kind, retry_after_s=retry_after)


def test_backoff_honours_retry_after_and_caps_exponential() -> None:
    rng, policy = random.Random(0), RetryPolicy(base_s=1, cap_s=5)
    assert 2.0 <= backoff_s(policy, 1, transient("rate_limit", 2.0), rng) <= 2.21
    for attempt in range(1, 10):
        assert 0 <= backoff_s(policy, attempt, transient(), rng) <= min(5, 2 ** (attempt - 1))


async def test_call_with_retry_retries_transient_then_succeeds() -> None:
    outcomes: list[Exception | str] = [transient(), transient("rate_limit", 0.5), "ok"]
    slept: list[float] = []
    held: list[float] = []

    async def fn() -> str:
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    async def sleep(s: float) -> None:
        slept.append(s)

    attempts = Attempts()
    assert (
        await call_with_retry(
            fn,
            RetryPolicy(),
            attempts=attempts,
            rng=random.Random(1),
            on_retry_after=held.append,
            sleep=sleep,
        )
        == "ok"
    )
    assert attempts.count == 3 and attempts.rate_limited == 1
    assert held == [0.5] and slept[1] >= 0.5


async def test_call_with_retry_gives_up_and_never_retries_permanent() -> None:
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise transient()

    async def nosleep(s: float) -> None:
        return None

    with pytest.raises(TransientProviderError):
        await call_with_retry(
            failing,
            RetryPolicy(max_attempts=3),
            attempts=Attempts(),
            rng=random.Random(),
            sleep=nosleep,
        )
    assert calls == 3

    async def forbidden() -> None:
        nonlocal calls
        calls += 1
        raise status_error("r", 400, "bad")

    calls = 0
    with pytest.raises(PermanentProviderError):
        await call_with_retry(
            forbidden, RetryPolicy(), attempts=Attempts(), rng=random.Random(), sleep=nosleep
        )
    assert calls == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, "auth"),
        (403, "auth"),
        (404, "unknown_model"),
        (400, "permanent"),
        (422, "permanent"),
        (429, "rate_limit"),
        (500, "server"),
        (503, "server"),
        (408, "server"),
    ],
)
def test_status_errors(status: int, kind: str) -> None:
    assert status_error("r", status, "m").kind == kind


def test_retry_after_headers() -> None:
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({}) is None


def test_token_bucket_waits_and_tolerates_debt() -> None:
    bucket = TokenBucket(600)  # 10/s, burst 10
    assert bucket.wait_s(10) == 0
    bucket.take(10)
    assert 0.05 < bucket.wait_s(1) <= 0.1
    bucket.take(5)  # debt
    assert bucket.wait_s(1) > 0.5


async def test_pacer_bounds_concurrency_and_holds_afterretry_after_s() -> None:
    pacer = Pacer(Limits(concurrency=2))
    pacer.hold(0.1)
    t0 = time.monotonic()
    async with pacer.slot():
        assert time.monotonic() - t0 >= 0.09
