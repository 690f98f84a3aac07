"""GPU worker runners for self-hosted candidates (runner ``vllm`` or ``transformers``).

- :mod:`tasks.gpu.runners`: :func:`~tasks.gpu.runners.run_self_hosted`, one entry point
  for either runner.
- :mod:`tasks.gpu.serving`: start the candidate's model server (vLLM, SGLang, TGI... from a
  command template), hand its route to the engine's API runner, stop it and its process
  group; a server that dies mid-run is a :class:`~tasks.gpu.errors.ServerDiedError`.
- :mod:`tasks.gpu.server_process`: the server process itself: command line, start in its own
  process group, health wait on ``/v1/models``, log tail, stop.
- :mod:`tasks.gpu.inprocess`: batched generation with Hugging Face transformers (+ peft).
- :mod:`tasks.gpu.loading`: the in-process runner's offline model, tokenizer and LoRA loading.
- :mod:`tasks.gpu.generation`: one left-padded batch of generation on a loaded model.
- :mod:`tasks.gpu.throughput`: items/s, output tokens/s and GPU-hour cost per call (pure).
- :mod:`tasks.gpu.config`: the ``serving`` settings a workload file declares.
- :mod:`tasks.gpu.tiny`: a tiny model built offline, for tests, benchmarks and the demo.

Importing this package never imports torch, transformers or peft: the in-process runner
imports them when it loads a model, so the base install works without the GPU extra.
"""
