"""The ``serving`` settings of a self-hosted candidate (runner ``vllm`` or ``transformers``).

What a user writes in the workload file under a candidate's ``serving:`` key, stored as JSON
in the registry, and validated here before any server starts or any weights load.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tasks.gpu.errors import ServingConfigError

DEFAULT_COMMAND = (
    "vllm serve {model} --host {host} --port {port} --served-model-name {served_model_name}"
)
DEFAULT_ADAPTER_ARGS = "--enable-lora --lora-modules {adapter_name}={adapter}"
PLACEHOLDERS = frozenset(
    {"python", "model", "host", "port", "served_model_name", "adapter", "adapter_name",
     "batch_size"}
)  # fmt: skip


class ServingConfig(BaseModel):
    """How a GPU worker brings a self-hosted candidate up.

    Command templates are :meth:`str.format` strings, split like a shell line *before* the
    values are filled in (so paths with spaces stay one argument). Placeholders: ``{model}``,
    ``{host}``, ``{port}``, ``{served_model_name}``, ``{adapter}``, ``{adapter_name}``,
    ``{batch_size}`` and ``{python}`` (this interpreter).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    """Local folder of the weights, or a model id already in the local cache (never fetched)."""
    adapter: str | None = None
    """Local folder of a LoRA adapter (peft format) to apply, if any."""
    adapter_name: str | None = None
    """Name the served adapter answers to (vLLM ``--lora-modules NAME=PATH``); default: the
    route's model name, else the candidate name. The route then targets the adapter."""
    served_model_name: str | None = None
    """The base model's name on the server; default: the route's model name, else the
    candidate name (with an adapter: that name + ``-base``)."""
    command: str = DEFAULT_COMMAND
    """Served runner: the server's command line (vLLM by default; SGLang or TGI by another)."""
    adapter_args: str = DEFAULT_ADAPTER_ARGS
    """Served runner: appended to ``command`` when ``adapter`` is declared."""
    extra_args: list[str] = Field(default_factory=list)
    """Served runner: appended last, one argument per entry (placeholders allowed)."""
    env: dict[str, str] = Field(default_factory=dict)
    """Served runner: extra environment for the server (``HF_HUB_OFFLINE=1`` is the default)."""
    route_prefix: Literal["hosted_vllm", "openai"] = "hosted_vllm"
    """litellm provider prefix of the route the eval set is sent to."""
    host: str = "127.0.0.1"
    startup_timeout_s: float = Field(default=900.0, gt=0)
    """Served runner: how long the server may take until ``GET /v1/models`` answers."""
    stop_grace_s: float = Field(default=15.0, ge=0)
    """Served runner: seconds between SIGTERM and SIGKILL when stopping the server."""
    batch_size: int = Field(default=16, ge=1)
    """In-process: sequences per ``generate`` call. Served: requests kept in flight."""
    max_new_tokens: int = Field(default=256, ge=1)
    """In-process: used when the candidate's params carry no ``max_tokens``."""
    device: Literal["auto", "cuda", "cpu"] = "auto"
    """In-process: ``auto`` takes CUDA when present."""
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    """In-process: ``auto`` is bfloat16 on CUDA, float32 on CPU."""
    hardware: str | None = None
    """Hardware name quoted in the memo; default: detected (CUDA device name, else the CPU)."""

    @field_validator("command", "adapter_args")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        _check_template(value)
        return value

    @field_validator("extra_args")
    @classmethod
    def _known_placeholders_in_args(cls, value: list[str]) -> list[str]:
        for arg in value:
            _check_template(arg)
        return value


def _check_template(template: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from exc
    unknown = sorted(fields - PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {unknown} in {template!r}; known: {sorted(PLACEHOLDERS)} "
            "(write {{ and }} for literal braces)"
        )


def parse_serving(candidate: str, raw: Mapping[str, Any]) -> ServingConfig:
    """Validate a candidate's ``serving`` mapping.

    Raises:
        ServingConfigError: naming the candidate, the field and what is wrong.
    """
    try:
        return ServingConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ServingConfigError(candidate=candidate, problem=problems) from exc


@dataclass(frozen=True, slots=True)
class ServedNames:
    """The names a server answers to."""

    base: str
    """The base model (``{served_model_name}``)."""
    route_model: str
    """What requests ask for: the adapter's name when there is one, else ``base``."""
    adapter: str | None
    """The adapter's name (``{adapter_name}``), if an adapter is declared."""


def served_names(config: ServingConfig, *, candidate: str, route: str | None) -> ServedNames:
    """Resolve the served names from the settings, the candidate's route and its name.

    The route's model part (``hosted_vllm/<name>`` or ``openai/<name>``), else the candidate
    name, is what requests ask for: the adapter when one is declared, else the base model.
    """
    default = candidate
    if route:
        prefix, _, rest = route.partition("/")
        if prefix in ("hosted_vllm", "openai") and rest:
            default = rest
    if not config.adapter:
        base = config.served_model_name or default
        return ServedNames(base=base, route_model=base, adapter=None)
    adapter = config.adapter_name or default
    base = config.served_model_name or f"{adapter}-base"
    return ServedNames(base=base, route_model=adapter, adapter=adapter)


def python_executable() -> str:
    """The interpreter running relitigate (the ``{python}`` placeholder)."""
    return sys.executable
