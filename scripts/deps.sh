#!/usr/bin/env bash
# Makes sure the tools `make test` needs are here (the list is
# scripts/test-deps.txt, the one list; .ci/run uses it too).
#
#   scripts/deps.sh check     exit 0 when everything is here, else print one line naming what is missing
#   scripts/deps.sh ensure    check; when something is missing and this runs as root with apt-get,
#                             install it; otherwise the one line and exit 1 (make test runs this)
#   scripts/deps.sh install   as root with apt-get: install every package on the list (CI)
#   scripts/deps.sh list      print the package names
#
# GO (default go) names the Go command to look for too.
set -euo pipefail
list="$(dirname "$0")/test-deps.txt"
go=${GO:-go}

packages() { sed -e 's/#.*//' "$list" | awk 'NF >= 2 { print $1 }'; }

# present reports whether one of the |-separated commands or paths exists.
present() {
  local p
  for p in ${1//|/ }; do
    case $p in
      /*) [ -e "$p" ] && return 0 ;;
      *) command -v "$p" >/dev/null 2>&1 && return 0 ;;
    esac
  done
  return 1
}

# missing prints the packages whose command or file is absent.
missing() {
  sed -e 's/#.*//' "$list" | while read -r pkg probe _; do
    [ -n "${pkg:-}" ] && [ -n "${probe:-}" ] || continue
    present "$probe" || echo "$pkg"
  done
}

can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  echo "deps: apt-get install $*" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

check_go() {
  command -v "$go" >/dev/null 2>&1 && return 0
  echo "deps: no '$go' command: install Go 1.26 from https://go.dev/dl/ (tar -C /usr/local -xzf go1.26.*.linux-*.tar.gz; PATH=\$PATH:/usr/local/go/bin)" >&2
  return 1
}

case ${1:-} in
  list)
    packages ;;
  check | ensure)
    check_go
    miss=$(missing | tr '\n' ' ')
    miss=${miss% }
    [ -z "$miss" ] && exit 0
    if [ "$1" = ensure ] && can_install; then
      # shellcheck disable=SC2086 # one word per package
      apt_install $miss
      miss=$(missing | tr '\n' ' ')
      miss=${miss% }
      [ -z "$miss" ] && exit 0
      echo "deps: still missing after apt-get install: $miss" >&2
      exit 1
    fi
    if command -v apt-get >/dev/null 2>&1; then
      echo "deps: make test needs $miss: run it as root to install them, or: sudo apt-get install -y --no-install-recommends $miss" >&2
    else
      echo "deps: make test needs $miss (Debian/Ubuntu package names; scripts/test-deps.txt says what each is for): install them with this system's package manager" >&2
    fi
    exit 1 ;;
  install)
    can_install || { echo "deps: install needs root and apt-get" >&2; exit 1; }
    # shellcheck disable=SC2046 # one word per package
    apt_install $(packages) ;;
  *)
    echo "usage: scripts/deps.sh check|ensure|install|list" >&2
    exit 2 ;;
esac
