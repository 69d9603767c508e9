#!/usr/bin/env bash
# Runs the shared contract smoke test (../shared/contract-smoke.sh) against target/muxgate.jar when the
# shared folder is present beside the project, as it is in CI. It needs python3 for its test origin.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=../shared/contract-smoke.sh
if [ ! -f "$smoke" ]; then
  echo "contract smoke: $smoke not found, skipped"
  exit 0
fi
if ! command -v python3 >/dev/null; then
  apt-get install -y --no-install-recommends python3 >/dev/null
fi
bash "$smoke"
