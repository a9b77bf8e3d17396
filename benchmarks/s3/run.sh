#!/usr/bin/env bash
# Runs the object-storage benchmark against a SeaweedFS started here (built
# by scripts/seaweedfs.sh), with DuckDB's httpfs from the project venv.
# Arguments go to the benchmark (-files N -rows N -repeats N).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/seaweedfs.sh
bash scripts/venv.sh
ext=$(ls -d .venv/lib/python3*/site-packages | head -1)
work=$(mktemp -d)
trap 'kill $weed 2>/dev/null; wait $weed 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/data"
cat > "$work/s3.json" <<JSON
{"identities":[{"name":"bench","credentials":[{"accessKey":"benchkey","secretKey":"bench-secret-0123456789"}],"actions":["Admin","Read","List","Tagging","Write"]}]}
JSON
.cache/bin/weed server -dir="$work/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port=29333 -master.port.grpc=39333 \
  -volume.port=28080 -volume.port.grpc=38080 -filer.port=28888 -filer.port.grpc=38888 \
  -s3 -s3.port=28333 -s3.port.grpc=38333 -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$work/s3.json" \
  -master.telemetry=false -volume.max=50 >"$work/weed.log" 2>&1 &
weed=$!
for _ in $(seq 1 600); do
  curl -s -o /dev/null http://127.0.0.1:28333/ && break
  sleep 0.2
done
export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=bench-secret-0123456789 AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:28333 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
GOFLAGS=-tags=duckdb_arrow go run ./benchmarks/s3 -extension-dir "$ext" "$@"
