"""API keys: the environment first, then a Prefect Secret block where a Prefect API is at
hand; keys named by candidates are found, missing ones stay missing for the preflight."""

from __future__ import annotations

import os

import pytest

from tasks.credentials import acredentials_for, block_name, credentials_for, load_secret_block
from tasks.redaction import REDACTED, scrub


def test_environment_wins_over_blocks() -> None:
    asked: list[str] = []

    def loader(name: str) -> str | None:
        asked.append(name)
        return "from-block"

    found = credentials_for(
        ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"],
        environ={"OPENAI_API_KEY": "from-env"},
        load_block=loader,
    )

    assert found == {"OPENAI_API_KEY": "from-env", "ANTHROPIC_API_KEY": "from-block"}
    assert asked == ["anthropic-api-key"]


def test_missing_everywhere_stays_missing_and_empty_values_count_as_missing() -> None:
    found = credentials_for(
        ["EMPTY_KEY", "ABSENT_KEY", "", "EMPTY_KEY"],
        environ={"EMPTY_KEY": ""},
        load_block=lambda name: None,
    )

    assert found == {}


def test_without_a_prefect_api_only_the_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("RELITIGATE_TEST_ONLY_KEY", "k")

    found = credentials_for(["RELITIGATE_TEST_ONLY_KEY", "RELITIGATE_TEST_ABSENT_KEY"])

    assert found == {"RELITIGATE_TEST_ONLY_KEY": "k"}


def test_block_name_is_the_variable_in_block_form() -> None:
    assert block_name("OPENAI_API_KEY") == "openai-api-key"
    assert block_name(" Vendor_Key2 ") == "vendor-key2"


def test_secret_block_is_read_inside_a_flow_run() -> None:
    """A real (temporary) Prefect API: the block is found inside a flow run, a missing block
    is None, and outside a run without PREFECT_API_URL no block is consulted."""
    from prefect import flow
    from prefect.blocks.system import Secret
    from prefect.testing.utilities import prefect_test_harness

    value = "sk-" + os.urandom(8).hex()
    with prefect_test_harness(server_startup_timeout=120):
        Secret(value=value).save("relitigate-test-provider-key", overwrite=True)

        @flow
        def lookup() -> dict[str, str]:
            return credentials_for(
                ["RELITIGATE_TEST_PROVIDER_KEY", "RELITIGATE_TEST_NO_SUCH_KEY"], environ={}
            )

        assert lookup() == {"RELITIGATE_TEST_PROVIDER_KEY": value}
        assert load_secret_block("relitigate-test-no-such-key") is None
        _secret_block_is_read_inside_async_runs(value)
        token = "xoxb-" + os.urandom(8).hex()
        Secret(value=token).save("relitigate-test-slack-token", overwrite=True)
        _slack_token_block_is_read_sync_and_awaited(token)
    assert scrub(f"echo {value}") == f"echo {REDACTED}"  # registered as it was read
    assert scrub(f"echo {token}") == f"echo {REDACTED}"


def _secret_block_is_read_inside_async_runs(value: str) -> None:
    """Inside an async flow's async task (the benchmark's shape): from a worker thread, as
    the benchmark reads keys, and awaited on the event loop. Prefect's ``Block.load`` would
    hand back an un-awaited coroutine in both places."""
    import asyncio
    import gc
    import warnings

    import anyio
    from prefect import flow, task

    names = ["RELITIGATE_TEST_PROVIDER_KEY", "RELITIGATE_TEST_NO_SUCH_KEY"]

    @task
    async def read_keys() -> list[dict[str, str]]:
        in_thread = await anyio.to_thread.run_sync(lambda: credentials_for(names, environ={}))
        awaited = await acredentials_for(names, environ={})
        return [in_thread, awaited]

    @flow
    async def benchmark_like() -> list[dict[str, str]]:
        return await read_keys()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = asyncio.run(benchmark_like())
        gc.collect()
    assert found == [{"RELITIGATE_TEST_PROVIDER_KEY": value}] * 2
    assert not [w for w in caught if "never awaited" in str(w.message)]


def _slack_token_block_is_read_sync_and_awaited(token: str) -> None:
    """The Slack token from its Secret block: synchronously (the CLI), from a worker thread
    and awaited inside an async flow run; a missing block is an error naming the block."""
    import asyncio
    import gc
    import warnings

    import anyio
    from prefect import flow

    from tasks.credentials import aload_slack_token, load_slack_token
    from tasks.notify.errors import NoticeError

    block = "relitigate-test-slack-token"
    loaded = load_slack_token(token=None, secret_block=block)
    assert loaded is not None and loaded.value.get_secret_value() == token
    assert block in loaded.setting and token not in loaded.setting

    @flow
    async def deliver_like() -> list[str]:
        in_thread = await anyio.to_thread.run_sync(
            lambda: load_slack_token(token=None, secret_block=block)
        )
        awaited = await aload_slack_token(token=None, secret_block=block)
        return [t.value.get_secret_value() for t in (in_thread, awaited) if t is not None]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(deliver_like()) == [token, token]
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
    with pytest.raises(NoticeError, match="relitigate-test-no-such-block"):
        load_slack_token(token=None, secret_block="relitigate-test-no-such-block")
