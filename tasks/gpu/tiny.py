"""Build a tiny causal LM and tokenizer offline: for tests, benchmarks and the CPU demo.

Nothing is downloaded: the tokenizer is a word-level ``tokenizers`` model built from the
given texts, wrapped in ``PreTrainedTokenizerFast`` with a chat template; the model is a
small Llama with random weights, optionally taught a few (prompt, answer) pairs so that
its answers can be scored. Needs the GPU extra (torch, transformers; peft for adapters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "<s>", "</s>")
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
_WORD = re.compile(r"\w+|[^\w\s]")


def _words(texts: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text):
            seen.setdefault(word, None)
    return list(seen)


def build_tokenizer(texts: Iterable[str], *, chat_template: bool = True) -> Any:
    """A word-level fast tokenizer knowing every word and punctuation mark of ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *ROLE_TOKENS))}
    for word in _words(texts):
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=list(ROLE_TOKENS),
    )
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(
    folder: Path,
    *,
    texts: Iterable[str],
    teach: Sequence[tuple[str, str]] = (),
    steps: int = 80,
    hidden_size: int = 64,
    layers: int = 2,
    seed: int = 0,
    chat_template: bool = True,
) -> Path:
    """Save a tiny random Llama and its tokenizer to ``folder``; return ``folder``.

    Args:
        folder: Where ``save_pretrained`` writes (created).
        texts: Every text the model will see or say (the vocabulary comes from them).
        teach: (user message, answer) pairs trained for ``steps`` steps, so that the
            greedy answer to those messages is (usually) the answer.
        steps: Training steps when ``teach`` is given.
        hidden_size: Model width.
        layers: Decoder layers.
        seed: Seeds the weights and the training.
        chat_template: Give the tokenizer a chat template (else runners fall back to plain).
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    texts = list(texts) + [text for pair in teach for text in pair]
    tokenizer = build_tokenizer(texts, chat_template=chat_template)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    if teach:
        _teach(model, tokenizer, teach, steps=steps, chat_template=chat_template)
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _prompt_text(tokenizer: Any, message: str, chat_template: bool) -> str:
    if chat_template:
        return str(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
            )
        )
    from tasks.gpu.prompts import plain_prompt

    return plain_prompt([{"role": "user", "content": message}])


def _teach(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    steps: int,
    chat_template: bool,
) -> None:
    import torch

    rows = []
    for message, answer in pairs:
        prompt = tokenizer(
            _prompt_text(tokenizer, message, chat_template),
            add_special_tokens=not chat_template,
        )["input_ids"]
        target = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append((prompt + target, [-100] * len(prompt) + target))
    width = max(len(ids) for ids, _ in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids, _ in rows])
    labels = torch.tensor([[-100] * (width - len(lab)) + lab for _, lab in rows])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids, _ in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def build_tiny_adapter(model_folder: Path, folder: Path, *, rank: int = 4, seed: int = 1) -> Path:
    """Save a randomly initialised LoRA adapter (peft) for the model in ``model_folder``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_folder, local_files_only=True)
    config = LoraConfig(
        r=rank,
        lora_alpha=rank * 2,
        target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,  # random A and B: the adapter changes the answers
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(base, config)
    folder.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(folder))
    return folder
