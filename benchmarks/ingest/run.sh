#!/usr/bin/env bash
# Ingest benchmark: prints tables of rates and ratios measured in one run.
#   benchmarks/ingest/run.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOFLAGS=-tags=duckdb_arrow
ROWS=${1:-5000000}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

bash scripts/venv.sh >/dev/null
go build -o "$WORK/qry" ./cmd/qry
cat > "$WORK/qry.yaml" <<YAML
tables:
  - name: readings
    path: readings
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: ts, type: TIMESTAMP}
      - {name: sensor, type: INTEGER}
      - {name: value, type: DOUBLE}
    writable:
      tick: 2s
YAML
"$WORK/qry" serve --config "$WORK/qry.yaml" --listen 127.0.0.1:31481 --http 127.0.0.1:31482 --cache-dir "$WORK/cache" 2>"$WORK/qry.log" &
for i in $(seq 100); do grep -q serving "$WORK/qry.log" 2>/dev/null && break; sleep 0.2; done
echo "narrow rows (BIGINT, TIMESTAMP, INTEGER, DOUBLE), $(nproc) cores, client and server on one machine"
.venv/bin/python benchmarks/ingest/bench.py grpc://127.0.0.1:31481 http://127.0.0.1:31482 "$WORK/readings" "$ROWS"
