#!/usr/bin/env bash
# Regenerate the sample report, history and routing files in this folder from the demo
# registry. Usage: examples/report/make_examples.sh [DEMO_DIR]
# DEMO_DIR holding a registry.sqlite3 from `relitigate demo --dir DEMO_DIR` is reused;
# otherwise the demo runs first (about 45 s, no keys needed). Needs /usr/bin/chromium for the
# screenshot (scripts/install-chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=examples/report
DIR=${1:-$(mktemp -d)}
if [ ! -f "$DIR/registry.sqlite3" ]; then
  .venv/bin/relitigate demo --dir "$DIR" >/dev/null
fi
export RELITIGATE_DATABASE_URL="sqlite:///$DIR/registry.sqlite3" COLUMNS=160
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true
R=.venv/bin/relitigate
$R report --format html --output "$OUT/report.html"
$R report --format json --output "$OUT/report.json"
$R report --format md --output "$OUT/report.md"
$R history ticket-triage --json --plot "$OUT/history-ticket-triage.png" >"$OUT/history-ticket-triage.json"
$R routing --format litellm --output "$OUT/routing.litellm.yaml"
$R routing --format json --output "$OUT/routing.json"
PROFILE=$(mktemp -d)
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$PROFILE" --hide-scrollbars --window-size=1300,3950 \
  --screenshot="$PWD/$OUT/report.png" "file://$PWD/$OUT/report.html" >/dev/null 2>&1
rm -rf "$PROFILE"
echo "wrote $OUT/{report.html,report.png,report.json,report.md,history-ticket-triage.*,routing.*}"
