#!/usr/bin/env bash
# regen-oui.sh: regenerate firmware/policy/data/oui.tsv (the IEEE MAC block table the policy
# embeds) from Debian's ieee-data CSVs with scripts/ouigen.
#
# Usage, from anywhere in the repository:
#   scripts/regen-oui.sh [ouigen flags...]
#   scripts/regen-oui.sh -extra scripts/ouigen/testdata/oui-restricted.tsv     # the committed table
#
# It installs nothing. Get the registry with `apt-get install ieee-data`, and refresh it with
# `update-ieee-data` (which writes /var/lib/ieee-data). The script reads /var/lib/ieee-data when
# its copy is newer than /usr/share/ieee-data (by .lastupdate, else oui.csv's mtime), otherwise
# /usr/share/ieee-data. Every argument is passed to ouigen after "-dir DIR", so a later -dir, or
# -oui/-mam/-oui36/-iab FILE for single newer CSVs, overrides that choice. Debian bookworm's
# ieee-data is from 2022-08-27: pass -extra with a newer oui-restricted.tsv-format file (rows
# prefix, length, organisation, entity; a "# registry-date: YYYY-MM-DD" comment dates it) to keep
# the blocks registered since. Edit firmware/policy/data/oui-makers.tsv to name more makers.
# Counts per maker, notes and warnings go to stderr; review the diff before committing.
set -euo pipefail

cd "$(dirname "$0")/.."

# stamp DIR: the registry date of a ieee-data directory, in Unix seconds (0 when absent).
stamp() {
	local d=$1 s=""
	if [[ -r $d/.lastupdate ]]; then
		s=$(tr -cd '0-9' <"$d/.lastupdate")
	fi
	if [[ -z $s && -r $d/oui.csv ]]; then
		s=$(stat -L -c %Y "$d/oui.csv")
	fi
	echo "${s:-0}"
}

dir=/usr/share/ieee-data
if [[ -d /var/lib/ieee-data ]] && (($(stamp /var/lib/ieee-data) > $(stamp /usr/share/ieee-data))); then
	dir=/var/lib/ieee-data
fi

exec go run ./scripts/ouigen -dir "$dir" "$@"
