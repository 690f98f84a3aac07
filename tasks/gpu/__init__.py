"""GPU worker runners for self-hosted candidates (runner ``vllm`` or ``transformers``).

- :mod:`tasks.gpu.serving`: start the candidate's model server (vLLM, SGLang, TGI...), hand
  its route to the engine's API runner, stop it and its process group.
- :mod:`tasks.gpu.inprocess`: batched generation with Hugging Face transformers (+ peft).
- :mod:`tasks.gpu.throughput`: items/s, output tokens/s and GPU-hour cost per call (pure).

Importing this package never imports torch, transformers or peft: the in-process runner
imports them when it loads a model, so the base install works without the GPU extra.
"""
