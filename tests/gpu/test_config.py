"""Serving settings: validation, command templates, served model names."""

from __future__ import annotations

import sys

import pytest

from tasks.gpu.config import ServedNames, ServingConfig, parse_serving, served_names
from tasks.gpu.errors import ServingConfigError
from tasks.gpu.server_process import build_command


def test_default_command_is_vllm_on_loopback() -> None:
    config = ServingConfig(model="/models/triage ft")
    argv = build_command(
        config, names=served_names(config, candidate="triage-ft", route=None), port=8123
    )
    assert argv == [
        "vllm", "serve", "/models/triage ft", "--host", "127.0.0.1", "--port", "8123",
        "--served-model-name", "triage-ft",
    ]  # fmt: skip


def test_adapter_and_extra_args() -> None:
    config = ServingConfig(
        model="/models/base",
        adapter="/adapters/ticket v3",
        adapter_name="ticket-v3",
        extra_args=["--max-num-seqs", "{batch_size}", "--gpu-memory-utilization", "0.9"],
        batch_size=64,
    )
    argv = build_command(config, names=served_names(config, candidate="c", route=None), port=9000)
    tail = argv[argv.index("--enable-lora") :]
    assert tail == [
        "--enable-lora", "--lora-modules", "ticket-v3=/adapters/ticket v3",
        "--max-num-seqs", "64", "--gpu-memory-utilization", "0.9",
    ]  # fmt: skip


def test_other_servers_by_template() -> None:
    sglang = ServingConfig(
        model="/m",
        command="{python} -m sglang.launch_server --model-path {model} --port {port} "
        "--served-model-name {served_model_name}",
        route_prefix="openai",
    )
    argv = build_command(sglang, names=served_names(sglang, candidate="ft", route=None), port=30000)
    assert argv[:3] == [sys.executable, "-m", "sglang.launch_server"] and "30000" in argv


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({}, "model: Field required"),
        ({"model": "m", "gpu": 1}, "gpu: Extra inputs are not permitted"),
        ({"model": "m", "command": "vllm serve {modle}"}, "unknown placeholder(s) ['modle']"),
        ({"model": "m", "extra_args": ["--x={nope}"]}, "unknown placeholder(s) ['nope']"),
        ({"model": "m", "command": "vllm {"}, "malformed template"),
        ({"model": "m", "batch_size": 0}, "batch_size"),
        ({"model": "m", "route_prefix": "anthropic"}, "route_prefix"),
    ],
)
def test_bad_settings_name_candidate_and_field(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(ServingConfigError) as info:
        parse_serving("triage-ft", raw)
    assert "triage-ft" in str(info.value) and problem in str(info.value)
    assert info.value.exit_code == 2


def test_literal_braces() -> None:
    config = parse_serving("c", {"model": "m", "extra_args": ['--json={{"a": 1}}']})
    assert (
        build_command(config, names=served_names(config, candidate="s", route=None), port=1)[-1]
        == '--json={"a": 1}'
    )


@pytest.mark.parametrize(
    ("explicit", "route", "expected"),
    [
        ("named", "hosted_vllm/ft-v3", "named"),
        (None, "hosted_vllm/ft-v3", "ft-v3"),
        (None, "openai/org/ft", "org/ft"),
        (None, "anthropic/claude", "cand"),
        (None, None, "cand"),
    ],
)
def test_served_names_without_adapter(
    explicit: str | None, route: str | None, expected: str
) -> None:
    config = ServingConfig(model="m", served_model_name=explicit)
    assert served_names(config, candidate="cand", route=route) == ServedNames(
        base=expected, route_model=expected, adapter=None
    )


@pytest.mark.parametrize(
    ("adapter_name", "base", "expected"),
    [
        (None, None, ServedNames(base="legal-ft-v2-base", route_model="legal-ft-v2",
                                 adapter="legal-ft-v2")),
        ("legal", "llama-8b", ServedNames(base="llama-8b", route_model="legal", adapter="legal")),
    ],
)  # fmt: skip
def test_served_names_with_adapter(
    adapter_name: str | None, base: str | None, expected: ServedNames
) -> None:
    config = ServingConfig(
        model="/models/base", adapter="/a", adapter_name=adapter_name, served_model_name=base
    )
    names = served_names(config, candidate="c", route="hosted_vllm/legal-ft-v2")
    assert names == expected
    argv = build_command(config, names=names, port=1)
    assert f"{expected.adapter}=/a" in argv and argv[argv.index("--served-model-name") + 1] == (
        expected.base
    )
