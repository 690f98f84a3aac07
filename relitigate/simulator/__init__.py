"""A loopback OpenAI-compatible provider **simulator** for dry runs, tests, demos, load tests.

It serves the models a profile file declares (accuracy, latency, token counts, error, timeout
and rate-limit behaviour) and, knowing the eval sets, answers each item right or wrong on
purpose, deterministically per (model, item), so a scenario's true quality is known. It binds
127.0.0.1 only. Nothing it returns is a real provider's answer, latency or price.
"""

from relitigate.simulator.control import SimulatorProcess, SimulatorServer, serve
from relitigate.simulator.profile import Latency, ModelProfile, Profile, load_profile

__all__ = [
    "Latency",
    "ModelProfile",
    "Profile",
    "SimulatorProcess",
    "SimulatorServer",
    "load_profile",
    "serve",
]
