#!/usr/bin/env bash
# Runs every fuzz target of the repository, one after the other, for the
# given time each (default 60s): go test -run='^$' -fuzz=^Name$ -fuzztime=T PKG
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-60s}
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | while read -r f; do
    echo "== $pkg $f ($t)"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg" 2>&1 | tail -3
  done
done
