#!/usr/bin/env bash
# Checks the built jar end to end: that SIGTERM stops it cleanly (scripts/stop-check.sh), then the shared
# contract smoke test (../shared/contract-smoke.sh) when the shared folder is present beside the project,
# as it is in CI. Both need python3 (free ports, the smoke test's origin).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v python3 >/dev/null; then
  apt-get install -y --no-install-recommends python3 >/dev/null
fi
bash scripts/stop-check.sh
smoke=../shared/contract-smoke.sh
if [ ! -f "$smoke" ]; then
  echo "contract smoke: $smoke not found, skipped"
  exit 0
fi
bash "$smoke"
