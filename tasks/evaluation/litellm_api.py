"""The one module that imports litellm: lazily, offline and quiet.

``import litellm`` takes about 3 s, so it happens on first use, never when the engine is
imported. litellm reads two settings at import: unset, it fetches its price list from the
internet (and retries in a background thread) and token counting may try a model hub. So
:func:`load_litellm` sets ``LITELLM_LOCAL_MODEL_COST_MAP`` and ``LITELLM_OFFLINE_MODE`` where
the user has not, right before the first import. The command line applies the same defaults
at start-up (``relitigate.prefect_env``); this covers a process that reaches the engine
another way (a Prefect worker running a deployment).

Everything else of litellm's that the engine uses goes through the functions here, so the
rest of the engine holds no ``import litellm``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

OFFLINE_DEFAULTS = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true"}
"""litellm's settings for its bundled price map and no model-hub lookups (a user's value wins)."""


def load_litellm() -> Any:
    """The litellm module, imported on first use: offline, quiet, no telemetry or callbacks."""
    if "litellm" not in sys.modules:
        for name, value in OFFLINE_DEFAULTS.items():
            os.environ.setdefault(name, value)
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.drop_params = False
    return litellm


def provider_chat_config(model: str, provider: str) -> Any:
    """litellm's chat config (``BaseConfig``) for ``provider``, or None when it has none."""
    litellm = load_litellm()
    from litellm.utils import ProviderConfigManager

    return ProviderConfigManager.get_provider_chat_config(
        model=model, provider=litellm.LlmProviders(provider)
    )


def with_api_route(base: str, route: str) -> str:
    """``base`` with the provider's API ``route`` appended, as litellm's handlers do."""
    load_litellm()
    from litellm.litellm_core_utils.url_utils import ensure_api_route

    return str(ensure_api_route(base, route))
