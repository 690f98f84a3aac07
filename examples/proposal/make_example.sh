#!/usr/bin/env bash
# Regenerate examples/proposal/support-triage/memo.md (relitigate propose) and
# examples/volumes/memo.md (a decision on measured volume and drift) with the real commands,
# against the provider simulator on 127.0.0.1:8765 and a throwaway registry. No keys needed.
# Usage: examples/proposal/make_example.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=$(mktemp -d)
export RELITIGATE_DATA_DIR="$DIR" RELITIGATE_DATABASE_URL="sqlite:///$DIR/registry.sqlite3"
export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_OFFLINE_MODE=true COLUMNS=160
R=.venv/bin/relitigate
$R sim serve --profile examples/simulator.yaml \
  --evalset examples/evalsets/ticket-triage.jsonl >"$DIR/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 8765), 1)" \
    2>/dev/null && break
  sleep 0.2
done
$R init >/dev/null
$R propose examples/proposal/proposal.yaml --out examples/proposal
$R sync examples/volumes/relitigate.yaml >/dev/null
$R run --quarter 2026Q4 --workload ticket-triage-measured >/dev/null
cp "$DIR/memos/ticket-triage-measured/2026Q4/memo.md" examples/volumes/memo.md
# the memos name the files they read; shown from the repository root, not this machine's
sed -i "s#$PWD/##g" examples/volumes/memo.md examples/proposal/support-triage/memo.md
echo "wrote examples/proposal/support-triage/memo.md and examples/volumes/memo.md"
