"""Name the hardware behind a throughput figure (the memo quotes it)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path


def cpu_name() -> str:
    """A readable CPU name with the core count, e.g. ``CPU: AMD EPYC 7B13 (2 cores)``."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown"
    return f"CPU: {model} ({os.cpu_count() or '?'} cores)"


def nvidia_gpu_name() -> str | None:
    """The first GPU's name as ``nvidia-smi`` reports it, or None without one."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return names[0] if done.returncode == 0 and names else None


def server_hardware(declared: str | None) -> str:
    """What a model server on this worker runs on: declared, else the GPU, else the CPU."""
    return declared or nvidia_gpu_name() or cpu_name()
