"""Batched generation with a loaded model: prompt rendering, left-padded batches, stop cuts.

Blocking calls on a :class:`~tasks.gpu.loading.LoadedModel`; the in-process runner
(:mod:`tasks.gpu.inprocess`) runs them in a thread, one batch at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.gpu.loading import LoadedModel, gpu_stack
from tasks.gpu.prompts import plain_prompt


@dataclass(frozen=True, slots=True)
class Generation:
    """One generated answer."""

    text: str
    prompt_tokens: int
    completion_tokens: int


def render_prompt(loaded: LoadedModel, messages: Sequence[Mapping[str, Any]]) -> str:
    """The text the model sees: its chat template, or a plain template when it has none."""
    if loaded.has_chat_template:
        text = loaded.tokenizer.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
        )
        return str(text)
    return plain_prompt(messages)


def generate_batch(
    loaded: LoadedModel,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float | None = None,
    stop: Sequence[str] = (),
) -> list[Generation]:
    """Generate one answer per prompt, in one batch (left-padded). Blocking."""
    torch, _ = gpu_stack()
    tok = loaded.tokenizer
    encoded = tok(
        list(prompts),
        return_tensors="pt",
        padding=True,
        add_special_tokens=not loaded.has_chat_template,
    ).to(loaded.device)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": tok.pad_token_id,
        "do_sample": temperature > 0,
    }
    if temperature > 0:
        kwargs["temperature"] = temperature
        if top_p is not None:
            kwargs["top_p"] = top_p
    with torch.inference_mode():
        output = loaded.model.generate(**encoded, **kwargs)
    width = encoded["input_ids"].shape[1]
    new_tokens = output[:, width:].tolist()
    prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
    eos_ids = _eos_ids(loaded)
    results = []
    for row, prompt_len in zip(new_tokens, prompt_lengths, strict=True):
        kept = []
        for token in row:
            if token in eos_ids:
                break
            kept.append(token)
        # The eos token counts as generated output; padding after it does not.
        used = len(kept) + (1 if len(kept) < len(row) else 0)
        text = tok.decode(kept, skip_special_tokens=True).strip()
        results.append(
            Generation(text=_cut(text, stop), prompt_tokens=int(prompt_len), completion_tokens=used)
        )
    return results


def _eos_ids(loaded: LoadedModel) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(loaded.model, "generation_config", None), loaded.tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def _cut(text: str, stop: Sequence[str]) -> str:
    for marker in stop:
        if marker and marker in text:
            text = text[: text.index(marker)]
    return text
