#!/usr/bin/env bash
# Builds bin/nvrguard and says what it is doing meanwhile: the first build
# compiles every dependency (about a minute on a small machine), and
# `go build` is silent until it ends. Every package compiled is counted
# on one line (one line each when the output is not a terminal); compiler
# errors are printed as they come.
#
#   scripts/build.sh OUTPUT PACKAGE [go build flags...]
set -euo pipefail
out=$1 pkg=$2
shift 2
go=${GO:-go}
echo "build: $out from $pkg (the first build compiles every dependency and takes a minute or so)"
tty=0
[ -t 1 ] && tty=1
start=$SECONDS
n=0
set +e
CGO_ENABLED=0 "$go" build -v "$@" -o "$out" "$pkg" 2>&1 | {
  while IFS= read -r line; do
    if [[ $line =~ ^[A-Za-z0-9._~/-]+$ ]]; then
      n=$((n + 1))
      if [ "$tty" = 1 ]; then
        printf '\rbuild: %d package(s) compiled, now %-50.50s' "$n" "$line"
      else
        echo "build: compiling $line"
      fi
    else
      [ "$tty" = 1 ] && [ "$n" -gt 0 ] && printf '\n'
      n=0
      printf '%s\n' "$line"
    fi
  done
  [ "$tty" = 1 ] && [ "$n" -gt 0 ] && printf '\n'
  exit 0
}
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" != 0 ]; then
  echo "build: failed" >&2
  exit "$rc"
fi
echo "build: $out ready ($((SECONDS - start))s)"
