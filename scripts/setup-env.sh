#!/usr/bin/env bash
# Create .venv and install relitigate from the hash-locked requirements. Safe to run twice:
# it reinstalls only when a lock file changed.
#   scripts/setup-env.sh          runtime dependencies
#   scripts/setup-env.sh dev      runtime + test/lint tools (+ the CPU build of torch for the
#                                 in-process GPU runner's tests)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"
case "$profile" in
  runtime) lock=requirements.lock ;;
  dev) lock=requirements-dev.lock ;;
  *) echo "setup-env: unknown profile '$profile' (use runtime or dev)" >&2; exit 2 ;;
esac
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.relitigate-$profile.stamp"
want="$(cat "$lock" requirements-build.txt pyproject.toml $( [ "$profile" = dev ] && echo requirements-gpu.txt 2>/dev/null ) 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  # the build backend for the editable install below (no build isolation: nothing unpinned)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r requirements-build.txt
  if [ "$profile" = dev ] && [ -f requirements-gpu.txt ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-gpu.txt
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
