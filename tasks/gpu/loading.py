"""Model loading for the in-process runner: tokenizer, weights and LoRA adapter, offline.

Weights come from a local folder or a model id already in the local cache: every load
passes ``local_files_only=True`` (and ``HF_HUB_OFFLINE=1`` is set before the first import),
so a missing model is :class:`~tasks.gpu.errors.ModelNotFoundError`, never a download.
torch, transformers and peft are imported here, lazily, when a model is loaded.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.gpu.config import ServingConfig
from tasks.gpu.errors import (
    AdapterNotFoundError,
    GpuExtraMissingError,
    ModelNotFoundError,
    ServingConfigError,
)
from tasks.gpu.hardware import cpu_name


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model and tokenizer ready to generate."""

    model: Any
    tokenizer: Any
    device: str
    """``cuda`` or ``cpu``."""
    dtype: str
    hardware: str
    has_chat_template: bool
    adapter: str | None
    load_s: float


def gpu_stack() -> tuple[Any, Any]:
    """torch and transformers, imported now (offline); the GPU extra's error if missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
    except ImportError as exc:
        raise GpuExtraMissingError(package="torch") from exc
    try:
        import transformers
    except ImportError as exc:
        raise GpuExtraMissingError(package="transformers") from exc
    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    return torch, transformers


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~"))
        or os.sep + os.sep in name
        or Path(name).expanduser().exists()
    )


def _resolve(name: str, *, candidate: str, adapter: bool) -> str:
    error = AdapterNotFoundError if adapter else ModelNotFoundError
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_dir():
            raise error(candidate=candidate, model=name, detail="no such folder")
        return str(path)
    if name.count("/") > 1 or not name.strip():
        raise error(candidate=candidate, model=name, detail="not a folder nor a model id")
    return name


def _pick_device(torch: Any, config: ServingConfig, candidate: str) -> str:
    has_cuda = bool(torch.cuda.is_available())
    if config.device == "cuda" and not has_cuda:
        raise ServingConfigError(
            candidate=candidate,
            problem="device 'cuda' requested but torch sees no CUDA device; use device "
            "'auto' to fall back to the CPU, or run on a GPU worker",
        )
    if config.device == "cpu":
        return "cpu"
    return "cuda" if has_cuda else "cpu"


def _pick_dtype(torch: Any, config: ServingConfig, device: str) -> tuple[Any, str]:
    name = config.dtype
    if name == "auto":
        if device == "cuda":
            name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            name = "float32"
    return getattr(torch, name), name


def load_model(config: ServingConfig, *, candidate: str) -> LoadedModel:
    """Load the tokenizer, the model and (if declared) its LoRA adapter, offline.

    Raises:
        GpuExtraMissingError: torch, transformers or peft is not installed.
        ModelNotFoundError: the model is neither a local folder nor in the local cache.
        AdapterNotFoundError: likewise for the adapter.
        ServingConfigError: CUDA requested where there is none.
    """
    started = time.perf_counter()
    torch, transformers = gpu_stack()
    model_ref = _resolve(config.model, candidate=candidate, adapter=False)
    device = _pick_device(torch, config, candidate)
    dtype, dtype_name = _pick_dtype(torch, config, device)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_ref, local_files_only=True)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            model_ref, local_files_only=True, dtype=dtype
        )
    except OSError as exc:
        raise ModelNotFoundError(
            candidate=candidate, model=config.model, detail=_first_line(exc)
        ) from exc
    if config.adapter:
        adapter_ref = _resolve(config.adapter, candidate=candidate, adapter=True)
        try:
            import peft
        except ImportError as exc:
            raise GpuExtraMissingError(package="peft") from exc
        try:
            model = peft.PeftModel.from_pretrained(model, adapter_ref, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AdapterNotFoundError(
                candidate=candidate, model=config.adapter, detail=_first_line(exc)
            ) from exc
    model.to(device)
    model.eval()
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    hardware = config.hardware or (
        str(torch.cuda.get_device_name(0)) if device == "cuda" else cpu_name()
    )
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=device,
        dtype=dtype_name,
        hardware=hardware,
        has_chat_template=bool(getattr(tokenizer, "chat_template", None)),
        adapter=config.adapter,
        load_s=time.perf_counter() - started,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
