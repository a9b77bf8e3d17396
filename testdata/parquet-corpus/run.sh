#!/usr/bin/env bash
# Compares qry's answers with DuckDB's over every .parquet file under each
# directory given (each file a table of its own): count(*), min and max of
# every column, and predicates statistics may prune (=, >, < with values
# from the file, IS NULL, IS NOT NULL). Prints each difference, each file
# DuckDB or qry refused, and a summary table per directory. Exits non-zero
# when qry differs from DuckDB anywhere.
#
#   testdata/parquet-corpus/run.sh DIR [DIR...]
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
	if ! QRY_PARQUET_CORPUS="$d" go test -tags=duckdb_arrow ./engine -run '^TestParquetCorpus$' -count=1 -v -timeout 60m >"$log" 2>&1; then
		status=1
	fi
	grep -v -e '^=== RUN' -e '^PASS$' -e '^FAIL$' -e '^ok ' -e '^FAIL	' "$log" || true
done
exit $status
