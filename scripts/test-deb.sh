#!/usr/bin/env bash
# test-deb.sh — checks the .deb packages that `make deb` built (run as root,
# on a Debian-like machine: CI does).
#  1. contents and metadata of the armhf, arm64 and amd64 packages;
#  2. the armhf binary is ARMv6 (Go writes no ARM attributes section, so
#     `readelf -A` is empty: the build info says GOARM=6, and it runs on an
#     ARM1176 CPU model under qemu);
#  3. dpkg -i of the amd64 package with services denied by policy-rc.d (the
#     daemon must not start and scan the CI machine's network), the user,
#     groups, state directory and conffile checked, `systemd-analyze verify`
#     of the installed unit and its device list (GPIO chips and serial ports,
#     no virtual terminal), then dpkg --purge. (.ci/run checks the unit's
#     `systemd-analyze security` exposure.)
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "test-deb: $*" >&2; exit 1; }
shopt -s nullglob
debs=(bin/nvrguard_*_armhf.deb bin/nvrguard_*_arm64.deb bin/nvrguard_*_amd64.deb)
[ ${#debs[@]} -eq 3 ] || fail "want 3 packages in bin/, found: ${debs[*]:-none} (run make deb)"
for deb in "${debs[@]}"; do
  arch=$(dpkg-deb -f "$deb" Architecture)
  case "$deb" in *"_$arch.deb") ;; *) fail "$deb says Architecture: $arch" ;; esac
  [ "$(dpkg-deb -f "$deb" Package)" = nvrguard ] || fail "$deb: wrong package name"
  grep -q adduser <<<"$(dpkg-deb -f "$deb" Depends)" || fail "$deb: Depends lacks adduser"
  list=$(dpkg-deb -c "$deb" | awk '{print $NF}')
  for f in ./usr/bin/nvrguard ./etc/nvrguard/config.yaml ./lib/systemd/system/nvrguard.service \
           ./lib/udev/rules.d/60-nvrguard-leds.rules ./lib/udev/rules.d/61-nvrguard-serial.rules \
           ./usr/share/doc/nvrguard/README.md ./var/lib/nvrguard/; do
    grep -qx -- "$f" <<<"$list" || fail "$deb lacks $f"
  done
  # Outputs are captured before grep -q reads them: with pipefail, grep
  # exiting at its first match can fail the writer with SIGPIPE.
  conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
  grep -qx /etc/nvrguard/config.yaml <<<"$conffiles" || fail "$deb: config.yaml is not a conffile"
  ctrl=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
  for s in preinst postinst prerm postrm; do
    grep -qx "./$s" <<<"$ctrl" || fail "$deb lacks $s"
  done
  echo "ok   $deb: $arch, $(dpkg-deb -f "$deb" Version), $(grep -c . <<<"$list") paths"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x bin/nvrguard_*_armhf.deb "$tmp/armhf"
grep -q 'ARM, EABI5' <<<"$(file "$tmp/armhf/usr/bin/nvrguard")" || fail "armhf binary: $(file "$tmp/armhf/usr/bin/nvrguard")"
grep -q 'GOARM=6' <<<"$(go version -m "$tmp/armhf/usr/bin/nvrguard")" || fail "armhf binary is not GOARM=6"
if command -v qemu-arm-static >/dev/null; then
  grep -q 'GOARM=6' <<<"$(qemu-arm-static -cpu arm1176 "$tmp/armhf/usr/bin/nvrguard" version)" || fail "armhf binary does not run on an ARM1176"
fi
echo "ok   armhf binary is ARMv6 (GOARM=6, runs on arm1176)"

[ "$(id -u)" -eq 0 ] || { echo "test-deb: not root: dpkg -i skipped"; exit 0; }
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e $policy ] && { had_policy=1; cp -a $policy "$tmp/policy-rc.d"; }
printf '#!/bin/sh\nexit 101\n' > $policy; chmod 0755 $policy
cleanup_policy() { if [ $had_policy = 1 ]; then cp -a "$tmp/policy-rc.d" $policy; else rm -f $policy; fi; }
trap 'cleanup_policy; dpkg --purge nvrguard >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
out=$(DEBIAN_FRONTEND=noninteractive dpkg -i bin/nvrguard_*_amd64.deb 2>&1) || { echo "$out"; fail "dpkg -i failed"; }
if grep -qi 'warning\|error' <<<"$out"; then echo "$out"; fail "dpkg -i printed a warning"; fi
getent passwd nvrguard >/dev/null || fail "no nvrguard user"
grep -qw gpio <<<"$(id -nG nvrguard)" || fail "nvrguard is not in group gpio"
grep -qw dialout <<<"$(id -nG nvrguard)" || fail "nvrguard is not in group dialout"
[ "$(stat -c %U:%a /var/lib/nvrguard)" = nvrguard:750 ] || fail "state dir: $(stat -c %U:%a /var/lib/nvrguard)"
[ "$(stat -c %G /etc/nvrguard/config.yaml)" = nvrguard ] || fail "config group: $(stat -c %G /etc/nvrguard/config.yaml)"
/usr/bin/nvrguard version >/dev/null || fail "installed binary does not run"
/usr/bin/nvrguard policy show >/dev/null || fail "installed binary: policy show"
if systemctl is-active --quiet nvrguard 2>/dev/null; then fail "the service started despite policy-rc.d"; fi
out=$(systemd-analyze verify /lib/systemd/system/nvrguard.service 2>&1 || true)
if [ -n "$out" ]; then echo "$out"; fail "systemd-analyze verify is not clean"; fi
# The unit's devices are GPIO chips and serial ports only: never the virtual
# terminals or the console (char-ttyS, char-tty, char-vc* name all of major 4
# or 5; /dev/char/4:N below 64 is a VT).
allowed=$(sed -n 's/^DeviceAllow=//p' /lib/systemd/system/nvrguard.service)
[ -n "$allowed" ] || fail "the unit has no DeviceAllow="
while read -r dev _; do
  case "$dev" in
    char-gpiochip|char-ttyUSB|char-ttyACM|char-ttyAMA) ;;
    /dev/char/4:*)
      minor=${dev#/dev/char/4:}
      [[ "$minor" =~ ^[0-9]+$ ]] && [ "$minor" -ge 64 ] && [ "$minor" -le 255 ] || fail "DeviceAllow=$dev is not a ttyS port" ;;
    *) fail "DeviceAllow=$dev is not a GPIO chip or a serial port" ;;
  esac
done <<<"$allowed"
echo "ok   dpkg -i: user nvrguard (gpio, dialout), /var/lib/nvrguard, conffile, systemd-analyze verify clean, devices GPIO and serial only"
dpkg --purge nvrguard >/dev/null
getent passwd nvrguard >/dev/null && fail "purge left the nvrguard user"
[ -e /usr/bin/nvrguard ] && fail "purge left /usr/bin/nvrguard"
echo "ok   dpkg --purge"
