"""Route resolution: ``openai/<model>`` without importing litellm, as litellm resolves it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tasks.evaluation.provider import resolve_route
from tasks.evaluation.types import CandidateSpec

ROUTES = [
    ("openai/gpt-5", None, "auto"),
    ("openai/sim-model", "http://127.0.0.1:8000/v1", "auto"),
    ("openai/ft:gpt-4o:org:abc", None, "auto"),
    ("openai/org/model-7b", "http://127.0.0.1:9000/v1", "auto"),
    ("openai/gpt-5", None, "acompletion"),
]


def _spec(route: str, api_base: str | None, transport: str) -> CandidateSpec:
    return CandidateSpec(name="c", route=route, api_base=api_base, transport=transport)  # type: ignore[arg-type]


@pytest.mark.parametrize(("route", "api_base", "transport"), ROUTES)
def test_an_openai_route_resolves_as_litellm_resolves_it(
    route: str, api_base: str | None, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tasks.evaluation.provider as provider

    fast = resolve_route(_spec(route, api_base, transport))
    # the same spec through litellm's own resolution (the fast path switched off)
    monkeypatch.setattr(provider, "OPENAI_PREFIX", "\0never/")
    assert resolve_route(_spec(route, api_base, transport)) == fast


def test_a_run_of_openai_routes_resolves_them_without_importing_litellm() -> None:
    code = (
        "import sys\n"
        "from tasks.evaluation.preflight import check_candidate\n"
        "from tasks.evaluation.types import CandidateSpec, Pricing\n"
        "spec = CandidateSpec(name='c', route='openai/sim', api_base='http://127.0.0.1:9/v1',\n"
        "    pricing=Pricing(input_usd_per_token=1e-6, output_usd_per_token=2e-6))\n"
        "check_candidate(spec, env={})\n"
        "print('litellm' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
