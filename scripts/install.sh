#!/usr/bin/env bash
# install.sh — installs nvrguard on a Raspberry Pi (or any systemd Linux)
# without the .deb: the same files, user and unit the package installs.
#
#   sudo scripts/install.sh [BINARY]          install (BINARY: default picks bin/nvrguard-linux-<arch>)
#   sudo scripts/install.sh --uninstall       stop, disable and remove (keeps /etc/nvrguard and the state)
#   sudo scripts/install.sh --purge           ... and remove /etc/nvrguard, /var/lib/nvrguard and the user
#
# Build the binaries first on any machine with `make cross` and copy the
# repository (or just bin/ and scripts/) to the Pi.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 1; }
pkg=scripts/packaging

uninstall() {
  systemctl disable --now nvrguard.service 2>/dev/null || true
  rm -f /usr/bin/nvrguard /lib/systemd/system/nvrguard.service \
        /lib/udev/rules.d/60-nvrguard-leds.rules /lib/udev/rules.d/61-nvrguard-serial.rules
  systemctl daemon-reload || true
  udevadm control --reload-rules 2>/dev/null || true
}

case "${1:-}" in
  --uninstall) uninstall; echo "nvrguard removed (config and state kept)"; exit 0 ;;
  --purge) uninstall; rm -rf /etc/nvrguard /var/lib/nvrguard
           getent passwd nvrguard >/dev/null && userdel nvrguard || true
           echo "nvrguard purged"; exit 0 ;;
esac

bin=${1:-}
if [ -z "$bin" ]; then
  case "$(uname -m)" in
    aarch64|arm64) bin=bin/nvrguard-linux-arm64 ;;
    armv7l) bin=bin/nvrguard-linux-armv7 ;;
    armv6l) bin=bin/nvrguard-linux-armv6 ;;
    x86_64) bin=bin/nvrguard ;;
    *) echo "install.sh: unknown machine $(uname -m); give the binary" >&2; exit 1 ;;
  esac
fi
[ -x "$bin" ] || { echo "install.sh: no binary $bin (run make cross)" >&2; exit 1; }
"$bin" version >/dev/null || { echo "install.sh: $bin does not run on this machine" >&2; exit 1; }

for g in gpio dialout; do getent group "$g" >/dev/null || groupadd --system "$g"; done
getent passwd nvrguard >/dev/null || useradd --system --user-group --home-dir /var/lib/nvrguard \
  --no-create-home --shell /usr/sbin/nologin --comment "nvrguard daemon" nvrguard
usermod -a -G gpio,dialout nvrguard

install -m 0755 "$bin" /usr/bin/nvrguard
install -d -m 0755 /etc/nvrguard
[ -e /etc/nvrguard/config.yaml ] || install -m 0640 -g nvrguard $pkg/config.yaml /etc/nvrguard/config.yaml
install -d -m 0750 -o nvrguard -g nvrguard /var/lib/nvrguard
install -m 0644 $pkg/nvrguard.service /lib/systemd/system/nvrguard.service
install -m 0644 $pkg/60-nvrguard-leds.rules $pkg/61-nvrguard-serial.rules /lib/udev/rules.d/
udevadm control --reload-rules 2>/dev/null || true
udevadm trigger --subsystem-match=leds --action=add 2>/dev/null || true
systemctl daemon-reload
systemctl enable --now nvrguard.service
echo "nvrguard $(/usr/bin/nvrguard version | head -1 | cut -d' ' -f2) installed and started:"
echo "  journalctl -u nvrguard -f        # what it is doing"
echo "  nvrguard scan                    # one sweep by hand"
echo "  mosquitto_sub -h 127.0.0.1 -t 'nvrguard/#' -v   # what it publishes"
