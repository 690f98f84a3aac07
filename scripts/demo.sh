#!/usr/bin/env bash
# Set up .venv and run the main job on the embedded default: the four-quarter demo against
# the provider simulator, with its own SQLite registry.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh runtime
exec .venv/bin/relitigate demo "$@"
