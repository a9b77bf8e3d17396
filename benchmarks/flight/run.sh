#!/usr/bin/env bash
# Flight throughput benchmark: prints one table of ratios measured in one run.
#   benchmarks/flight/run.sh [ROWS] [BATCH_ROWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOFLAGS=-tags=duckdb_arrow
ROWS=${1:-20000000}
BATCH=${2:-65536}
DATA=benchmarks/data/flight
BIN=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$BIN"' EXIT

bash scripts/venv.sh
go build -o "$BIN/qry" ./cmd/qry
go build -o "$BIN/flight" ./benchmarks/flight
if [ ! -f "$DATA/big.parquet" ] || [ "$(cat "$DATA/.rows" 2>/dev/null)" != "$ROWS" ]; then
  rm -rf "$DATA"; "$BIN/flight" gen "$DATA" "$ROWS"; echo "$ROWS" > "$DATA/.rows"
fi
"$BIN/qry" serve --data "$DATA" --listen 127.0.0.1:31471 --cache-dir "$BIN/cache" --batch-rows "$BATCH" 2>"$BIN/qry.log" &
"$BIN/flight" bare "$DATA/big.parquet" 127.0.0.1:31472 "$BATCH" 2>"$BIN/bare.log" &
# The same server with a result cache big enough for the whole result: its
# repeated runs stream from memory, like the bare server (not the headline:
# it shows what qry's Flight layer costs without DuckDB's decoding).
"$BIN/qry" serve --data "$DATA" --listen 127.0.0.1:31473 --cache-dir "$BIN/cache2" --batch-rows "$BATCH" --result-cache 10GB 2>"$BIN/qry2.log" &
for i in $(seq 100); do
  grep -q serving "$BIN/qry.log" 2>/dev/null && grep -q bare: "$BIN/bare.log" 2>/dev/null && grep -q serving "$BIN/qry2.log" 2>/dev/null && break
  sleep 0.2
done
echo "rows: $ROWS, 4 columns (BIGINT, UBIGINT, DOUBLE, INTEGER), batches of $BATCH rows, $(nproc) cores"
.venv/bin/python benchmarks/flight/bench.py "$DATA/big.parquet" grpc://127.0.0.1:31471 grpc://127.0.0.1:31472 3 grpc://127.0.0.1:31473
