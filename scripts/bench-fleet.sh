#!/usr/bin/env bash
# bench-fleet.sh [RUNS] — the control-room benchmark of issue 12: 200
# simulated gateways of 50 devices each retain their findings (status,
# state, device records, register entries) on a real mosquitto on a free
# loopback port; `nvrguard report --broker` (HTML, CSV) and `nvrguard watch
# --once` run over it as separate processes under /usr/bin/time -v (wall
# time, peak RSS), RUNS times (default 3). Goal: report <= 5 s, <= 100 MB.
# Needs mosquitto and /usr/bin/time (packages mosquitto, time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
go test -run '^$' -bench '^BenchmarkFleet$' -benchtime "${runs}x" -v ./firmware/ 2>&1 |
  grep -E 'published|report-|watch-|HTML report|BenchmarkFleet|over the goal|^(ok|FAIL|PASS)'
