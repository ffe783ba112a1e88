#!/usr/bin/env bash
# bench-run.sh N [SECONDS] — measures `nvrguard run` beside a simulated LAN of
# N cameras (as root): CPU time and peak RSS over SECONDS (default 60) with
# the default sweep interval (one sweep at start, then idle but for the
# neighbour table and the MQTT keepalive), and the time from start to the
# first restricted device on MQTT and to the LED alarm (console LED).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-250}; secs=${2:-60}
p=nvr$$
out=$(mktemp -d)
cleanup() { [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null; wait 2>/dev/null; scripts/camlan.sh down "$p"; rm -rf "$out"; }
trap cleanup EXIT
go build -o "$out/nvrguard" ./firmware
go build -o "$out/camsim" ./drivers/camsim/cmd/camsim
scripts/camlan.sh spec "$n" "$p" > "$out/spec"
scripts/camlan.sh up "$p" "$out/spec" >/dev/null
"$out/camsim" --spec "$out/spec" > "$out/camsim.log" 2>&1 &
sim=$!
for _ in $(seq 1 120); do grep -q ready "$out/camsim.log" && break; sleep 0.5; done
start=$(date +%s.%N)
ip netns exec "$p-gw" timeout -s INT "$secs" /usr/bin/time -v "$out/nvrguard" run --led console \
  --state-dir "$out/state" --iface gw0 --cidr 10.99.0.0/22 > "$out/run.log" 2>&1 || true
led=$(grep -m1 'led: alarm' "$out/run.log" >/dev/null && echo yes || echo no)
first=$(grep -m1 'event=device_found.*verdict=restricted' "$out/run.log" | sed 's/^time=\([^ ]*\).*/\1/')
t0=$(grep -m1 'nvrguard running' "$out/run.log" | sed 's/^time=\([^ ]*\).*/\1/')
echo "cameras: $n, measured over ${secs}s"
echo "devices found: $(grep -c 'event=device_found' "$out/run.log") ($(grep -c 'event=device_found.*verdict=restricted' "$out/run.log") restricted); LED alarm shown: $led"
echo "start -> first restricted device_found (queued to MQTT): $t0 -> $first"
grep -E 'User time|System time|Percent of CPU|Maximum resident' "$out/run.log"
grep -m3 -E 'sweep done' "$out/run.log"
