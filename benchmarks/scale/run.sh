#!/usr/bin/env bash
# Scale-out benchmark (see bench.py): 2 qry replicas against 1, each with
# DuckDB on one thread and its own CPU, read by Dask through 8 partitions
# and by 8 clients through HAProxy; and the cost of 8 endpoints against 1.
#   benchmarks/scale/run.sh [ROWS_PER_FILE]     (16 files; default 1000000)
# Needs HAProxy (Debian: apt-get install haproxy) and the test venv
# (scripts/venv.sh: Dask, distributed, qry's Python package).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOFLAGS=-tags=duckdb_arrow
command -v haproxy >/dev/null || { echo "needs haproxy: apt-get install haproxy" >&2; exit 2; }
bash scripts/venv.sh
mkdir -p bin
go build -o bin/qry ./cmd/qry
QRY_BIN=$PWD/bin/qry exec .venv/bin/python benchmarks/scale/bench.py "$@"
