#!/usr/bin/env bash
# Runs one corpus differential test of the engine package over each
# directory given, and prints what it logged: each difference, each file
# refused, and a summary table per directory. Exits non-zero when the test
# failed for any directory. Called by testdata/*-corpus/run.sh.
#
#   testdata/corpus.sh TEST VARIABLE DIR [DIR...]
set -euo pipefail
if [ $# -lt 3 ]; then
	echo "usage: $0 TEST VARIABLE DIR [DIR...]" >&2
	exit 2
fi
test=$1 var=$2
shift 2
dirs=()
for d in "$@"; do
	dirs+=("$(cd "$d" && pwd)")
done
cd "$(dirname "$0")/.."
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for d in "${dirs[@]}"; do
	echo "== $d"
	if ! env "$var=$d" go test -tags=duckdb_arrow ./engine -run "^$test\$" -count=1 -v -timeout 60m >"$log" 2>&1; then
		status=1
	fi
	grep -av -e '^=== RUN' -e '^PASS$' -e '^FAIL$' -e '^ok ' -e '^FAIL	' "$log" || true
done
exit $status
