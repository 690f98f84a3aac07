#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the HTML report test, if it is missing.
# Idempotent and quiet: does nothing when /usr/bin/chromium exists; prints one line otherwise.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "install-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: $CHROMIUM is still missing after apt-get install chromium" >&2
  exit 1
fi
