#!/usr/bin/env bash
# camlan.sh — a simulated camera LAN in network namespaces, for tests and demos.
#
#   scripts/camlan.sh up PREFIX SPEC    build the LAN described by SPEC
#   scripts/camlan.sh down PREFIX       delete every namespace of the LAN
#   scripts/camlan.sh spec N            print a SPEC of N cameras (a mix of every profile)
#
# SPEC has one camera per line, NETNS,PROFILE,MAC,IP (the camsim format):
#   nvg1-cam1,hikvision,58:50:ed:1f:e3:85,10.99.0.11
# `up` makes a bridge in namespace PREFIX-lan, the gateway namespace PREFIX-gw
# (interface gw0, address $GW_ADDR, default 10.99.0.1/16) and, for each camera,
# its namespace with interface eth0 carrying the camera's MAC and IP, each
# joined by a veth pair to the bridge. Then start the cameras with
#   go run ./drivers/camsim/cmd/camsim --spec SPEC      (as root)
# and run the gateway inside PREFIX-gw:
#   ip netns exec PREFIX-gw bin/nvrguard scan --json --cidr 10.99.0.0/24
# Needs root and iproute2. Touches nothing outside the namespaces it creates.
set -euo pipefail
GW_ADDR=${GW_ADDR:-10.99.0.1/16}

die() { echo "camlan: $*" >&2; exit 1; }

up() {
  local p=$1 spec=$2 bits=${GW_ADDR#*/} i=0
  [ -r "$spec" ] || die "no spec file $spec"
  ip netns add "$p-lan"
  ip -n "$p-lan" link add br0 type bridge
  # Flood multicast to every port: no IGMP querier runs on this bridge.
  ip -n "$p-lan" link set br0 type bridge mcast_snooping 0
  ip -n "$p-lan" link set br0 up
  ip netns add "$p-gw"
  ip link add gw0 netns "$p-gw" type veth peer name gw netns "$p-lan"
  ip -n "$p-lan" link set gw master br0 up
  ip -n "$p-gw" addr add "$GW_ADDR" dev gw0
  ip -n "$p-gw" link set gw0 up
  ip -n "$p-gw" link set lo up
  while IFS=, read -r ns profile mac addr _opts; do
    case "$ns" in ''|\#*) continue ;; esac
    i=$((i + 1))
    ip netns add "$ns"
    ip link add eth0 netns "$ns" address "$mac" type veth peer name "c$i" netns "$p-lan"
    ip -n "$p-lan" link set "c$i" master br0 up
    ip -n "$ns" addr add "$addr/$bits" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done < "$spec"
  echo "camlan: $p up: gateway $GW_ADDR in $p-gw, $i camera namespace(s)"
}

down() {
  local p=$1
  ip netns list | awk '{print $1}' | while read -r ns; do
    case "$ns" in "$p"-*) ip netns del "$ns" || true ;; esac
  done
  # Camera namespaces are named by the spec; by convention they share the prefix.
}

spec() {
  local n=$1 p=${2:-nvg} i
  local profiles=(hikvision dahua lorex axis silent)
  local ouis=(58:50:ed 4c:11:bf 00:1f:54 ac:cc:8e 02:00:00)
  for ((i = 0; i < n; i++)); do
    local k=$((i % 5)) h=$((i + 11))
    printf '%s-cam%d,%s,%s:%02x:%02x:%02x,10.99.%d.%d\n' "$p" "$i" "${profiles[$k]}" "${ouis[$k]}" \
      $(((i >> 16) & 255)) $(((i >> 8) & 255)) $((i & 255)) $((h / 250)) $((h % 250 + 2))
  done
}

case "${1:-}" in
  up) [ $# -eq 3 ] || die "usage: camlan.sh up PREFIX SPEC"; up "$2" "$3" ;;
  down) [ $# -eq 2 ] || die "usage: camlan.sh down PREFIX"; down "$2" ;;
  spec) [ $# -ge 2 ] || die "usage: camlan.sh spec N [PREFIX]"; spec "$2" "${3:-nvg}" ;;
  *) die "usage: camlan.sh up PREFIX SPEC | down PREFIX | spec N [PREFIX]" ;;
esac
