#!/usr/bin/env bash
# Reads every CSV/TSV file (also .gz and .zst) under each directory given
# through qry (each file a table of its own) and through DuckDB's read_csv
# with its auto-detection, and compares: the same columns and the same rows,
# value for value, for every file DuckDB reads; then count(*), min/max and
# predicates statistics may answer or prune. A file DuckDB refuses must be
# left out of qry's table. Prints each difference and a summary table per
# directory; exits non-zero when qry differs from DuckDB or refuses a file
# DuckDB reads.
#
#   testdata/csv-corpus/run.sh DIR [DIR...]
#
# See README.md beside this script for the corpora and their last results.
set -euo pipefail
if [ $# -eq 0 ]; then
	echo "usage: $0 DIR [DIR...]" >&2
	exit 2
fi
dirs=()
for d in "$@"; do
	dirs+=("$(cd "$d" && pwd)")
done
cd "$(dirname "$0")/../.."
status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for d in "${dirs[@]}"; do
	echo "== $d"
	if ! QRY_CSV_CORPUS="$d" go test -tags=duckdb_arrow ./engine -run '^TestCSVCorpus$' -count=1 -v -timeout 60m >"$log" 2>&1; then
		status=1
	fi
	grep -av -e '^=== RUN' -e '^PASS$' -e '^FAIL$' -e '^ok ' -e '^FAIL	' "$log" || true
done
exit $status
