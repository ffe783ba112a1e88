#!/usr/bin/env bash
# bench-lan.sh N — measures one scan of a simulated LAN of N cameras (as root).
# Builds a camera LAN with camlan.sh (profiles mixed evenly: hikvision, dahua,
# lorex, axis, silent), starts camsim, then inside the gateway namespace:
#   1. /usr/bin/time -v nvrguard scan --json, without and with a --cidr sweep
#      (wall time, peak RSS, devices by verdict; silent hosts need the sweep)
#   2. go test -bench BenchmarkScanLAN          (time and allocations per scan)
# and tears the LAN down. Needs root, iproute2, /usr/bin/time (package time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-250}
p=nvb$$
out=$(mktemp -d)
# The kernel limits the .deb installs (scripts/packaging/60-nvrguard.conf):
# the neighbour table and rmem_max are global, shared by every namespace of
# the simulated LAN. NVRGUARD_BENCH_SYSCTL=0 keeps the host's own (to
# measure what they cost). The old values are restored at the end.
keys=$(sed -n 's/^\([a-z][a-z0-9_.]*\) *=.*/\1/p' scripts/packaging/60-nvrguard.conf)
saved=$(for k in $keys; do echo "$k=$(sysctl -n "$k")"; done)
cleanup() {
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null; wait 2>/dev/null; scripts/camlan.sh down "$p"; rm -rf "$out"
  for kv in $saved; do sysctl -q -w "$kv" >/dev/null || true; done
}
trap cleanup EXIT
if [ "${NVRGUARD_BENCH_SYSCTL:-1}" = 1 ]; then sysctl -q -p scripts/packaging/60-nvrguard.conf; fi
go build -o "$out/nvrguard" ./firmware
go build -o "$out/camsim" ./drivers/camsim/cmd/camsim
go test -c -o "$out/scan.test" ./firmware/scan
scripts/camlan.sh spec "$n" "$p" > "$out/spec"
t0=$(date +%s.%N)
scripts/camlan.sh up "$p" "$out/spec"
echo "namespaces up in $(echo "$(date +%s.%N) - $t0" | bc) s"
"$out/camsim" --spec "$out/spec" > "$out/camsim.log" 2>&1 &
sim=$!
for _ in $(seq 1 120); do grep -q ready "$out/camsim.log" && break; sleep 0.5; done
grep ready "$out/camsim.log"

cidr=${NVRGUARD_BENCH_CIDR:-10.99.0.0/20}   # 4,094 hosts; camlan.sh spec puts 1,000 cameras in 10.99.0.2-10.99.4.12
for args in "" "--cidr $cidr"; do
  echo "== nvrguard scan --json --timeout 20s $args"
  # shellcheck disable=SC2086
  ip netns exec "$p-gw" /usr/bin/time -v "$out/nvrguard" scan --json --timeout 20s $args > "$out/scan.json" 2> "$out/time.txt" || true
  grep -E 'Elapsed|Maximum resident' "$out/time.txt"
  python3 - "$out/scan.json" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1]))
print(len(d), "devices:", dict(collections.Counter(x["verdict"] for x in d)))
PY
done
ip netns exec "$p-gw" env NVRGUARD_BENCH_IFACE=gw0 NVRGUARD_BENCH_CIDR="$cidr" \
  "$out/scan.test" -test.run '^$' -test.bench BenchmarkScanLAN -test.benchtime 3x -test.benchmem
