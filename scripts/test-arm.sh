#!/usr/bin/env bash
# Builds the test binaries of the packages that must hold on the gateway's
# CPU (policy, inventory, every parser) for linux/arm GOARM=6, GOARM=7 and
# arm64, and runs them under qemu-user: qemu-arm-static -cpu arm1176 for
# ARMv6 (Raspberry Pi Zero/1), qemu-arm-static for ARMv7, qemu-aarch64-static.
# Each binary runs in its package directory so that testdata/ is found.
# Needs qemu-user-static (apt-get install -y qemu-user-static).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=${ARM_PKGS:-"./firmware/policy ./firmware/inventory ./firmware/classify ./firmware/config ./drivers/identity ./drivers/sadp ./drivers/dhip ./drivers/wsd ./drivers/ssdp ./drivers/onvif ./drivers/banner ./drivers/arp ./drivers/led ./boards ./drivers/serial ./drivers/serial/serialtest ./drivers/console ./drivers/pelco ./drivers/usb ./drivers/usb/usbtest ./firmware/scan ./mqtt/outbox"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for q in qemu-arm-static qemu-aarch64-static; do
  command -v "$q" >/dev/null || { echo "test-arm: $q not found (apt-get install -y qemu-user-static)" >&2; exit 1; }
done
fail=0
for target in "arm 6 qemu-arm-static -cpu arm1176" "arm 7 qemu-arm-static" "arm64 - qemu-aarch64-static"; do
  set -- $target
  arch=$1 arm=$2; shift 2
  for p in $pkgs; do
    [ -d "$p" ] || continue
    name=$(echo "$p" | tr '/.' '__')
    bin="$out/$name.$arch$arm.test"
    if [ "$arm" = "-" ]; then
      GOOS=linux GOARCH=$arch CGO_ENABLED=0 go test -c -o "$bin" "$p"
    else
      GOOS=linux GOARCH=$arch GOARM=$arm CGO_ENABLED=0 go test -c -o "$bin" "$p"
    fi
    [ -f "$bin" ] || continue   # a package without tests builds no binary
    if (cd "$p" && "$@" "$bin" -test.count=1 >"$bin.log" 2>&1); then
      echo "ok   $p ($arch${arm/-/} under $*)"
    else
      echo "FAIL $p ($arch${arm/-/} under $*)"; tail -30 "$bin.log"; fail=1
    fi
  done
done
exit $fail
