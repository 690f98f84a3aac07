#!/usr/bin/env bash
# Set up .venv (dev profile) and run the whole check: ruff, mypy, pytest on SQLite and
# PostgreSQL. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh dev
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
scripts/install-chromium.sh
.venv/bin/python -m pytest "$@"
