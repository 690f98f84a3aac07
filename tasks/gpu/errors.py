"""Errors the GPU runners raise.

Exception tree::

    GpuRunnerError                 base; exit_code = 2 (a user can fix the cause)
    ├── ServingConfigError         a candidate's ``serving`` settings are invalid
    ├── GpuExtraMissingError       torch / transformers / peft are not installed
    ├── ModelNotFoundError         weights not on disk nor in the local model cache
    │   └── AdapterNotFoundError   the declared LoRA adapter is missing
    ├── ServerStartError           the model server exited or never answered /v1/models
    └── ServerDiedError            the model server exited while the benchmark ran

``GpuRunnerError`` subclasses the engine's ``EvaluationError``, so a flow or the CLI that
handles engine errors handles these too. Messages say what failed, the offending value and
what to do next; server errors carry the exit code and the tail of the server's log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tasks.evaluation.errors import EvaluationError


class GpuRunnerError(EvaluationError):
    """Base of every error the GPU runners raise on purpose."""

    exit_code = 2


class ServingConfigError(GpuRunnerError):
    """A candidate's ``serving`` settings are invalid."""

    def __init__(self, *, candidate: str, problem: str) -> None:
        self.candidate, self.problem = candidate, problem
        super().__init__(f"candidate {candidate!r}: invalid serving settings: {problem}")


class GpuExtraMissingError(GpuRunnerError):
    """The in-process runner needs the optional GPU extra."""

    def __init__(self, *, package: str) -> None:
        self.package = package
        super().__init__(
            f"the in-process runner needs {package!r}, which is not installed; install the "
            "GPU extra (pip install 'relitigate[gpu]', or pip install -r requirements-gpu.txt)"
        )


class ModelNotFoundError(GpuRunnerError):
    """The weights are neither a local folder nor a model id in the local cache."""

    what = "model"

    def __init__(self, *, candidate: str, model: str, detail: str | None = None) -> None:
        self.candidate, self.model, self.detail = candidate, model, detail
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"candidate {candidate!r}: {self.what} {model!r} is not a local folder and is not "
            f"in the local model cache{extra}; nothing is downloaded at run time: copy the "
            "weights to the worker (or pre-fill the cache) and point serving.model / "
            "serving.adapter at them"
        )


class AdapterNotFoundError(ModelNotFoundError):
    """The declared LoRA adapter is missing."""

    what = "LoRA adapter"


@dataclass(frozen=True)
class ServerRecord:
    """A model server as its errors describe it: which, how started, how ended, its output."""

    server: str
    command: str
    returncode: int | None
    log_path: Path | None
    log_tail: str


class _ServerError(GpuRunnerError):
    def __init__(self, headline: str, record: ServerRecord) -> None:
        self.record = record
        self.server, self.command = record.server, record.command
        self.returncode, self.log_path, self.log_tail = (
            record.returncode, record.log_path, record.log_tail
        )  # fmt: skip
        where = f"; full log: {record.log_path}" if record.log_path else ""
        tail = record.log_tail.strip() or "(the server wrote nothing)"
        super().__init__(f"{headline}{where}\n--- server log (last lines) ---\n{tail}")


class ServerStartError(_ServerError):
    """The model server exited during start-up or did not answer in time."""

    def __init__(self, record: ServerRecord, *, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"model server {record.server!r} did not start: {reason} (command: "
            f"{record.command}); check the command template, the model path and the GPU, or "
            "raise serving.startup_timeout_s",
            record,
        )


class ServerDiedError(_ServerError):
    """The model server exited while the benchmark was running."""

    def __init__(self, record: ServerRecord) -> None:
        super().__init__(
            f"model server {record.server!r} exited with code {record.returncode} while the "
            "benchmark was running; results so far are checkpointed, fix the cause (out of "
            "memory? see the log) and run again to resume",
            record,
        )
