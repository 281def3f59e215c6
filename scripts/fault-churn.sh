#!/usr/bin/env bash
# Fault (e) at full length: 1,000 WebSocket clients connecting and disconnecting in a loop
# for 60 s against a real server (loopback), then checks that the connection count is back
# to zero and the server's RSS within 5 % of its baseline. CI runs the same test for 20 s.
#   scripts/fault-churn.sh [seconds] [clients]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
FAULT_CHURN_SECONDS="${1:-60}" FAULT_CHURN_CLIENTS="${2:-1000}" \
  npx tap --timeout 600 dist/test/fault-churn.test.js
