#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, Go tests (unit, differential,
# end-to-end with the real binary), a short fuzz run, and the Python client
# tests against a real server. Installs what it needs (golangci-lint into
# .cache/bin, a Python venv in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=-tags=duckdb_arrow
LINT_VERSION=2.15.0
BIN="$PWD/.cache/bin"

step() { printf '\n== %s\n' "$*"; }

step "go modules"
go mod download

step "lint (golangci-lint v$LINT_VERSION)"
if ! "$BIN/golangci-lint" version 2>/dev/null | grep -q "version $LINT_VERSION"; then
  GOBIN="$BIN" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$LINT_VERSION"
fi
go vet ./...
"$BIN/golangci-lint" run ./...

step "python venv (client tests, DuckDB's extension wheels)"
bash scripts/venv.sh
# Go tests load DuckDB's official extensions from the venv's wheels, and
# must find them here.
export QRY_REQUIRE_EXTENSIONS=1

step "SeaweedFS (the object-storage tests' real S3 server)"
bash scripts/seaweedfs.sh
export QRY_REQUIRE_S3=1

step "Apache Kafka and a schema registry (the Kafka source tests' real broker; Apicurio Registry for Avro)"
bash scripts/kafka.sh
bash scripts/registry.sh
if command -v java >/dev/null && [ -f .cache/kafka/version ] && [ -f .cache/registry/version ]; then
  export QRY_REQUIRE_KAFKA=1
fi

step "go test"
go test -count=1 -timeout 15m ./...

step "race detector (engine, live, resultcache, server, shell)"
go test -race -count=1 -timeout 15m ./engine ./live/... ./resultcache ./server/... ./shell

step "fuzz (short)"
# Budgets are counts of executions (about 10 s each on an idle 2-core
# machine), not durations: with -fuzztime as a duration, Go before 1.27
# can fail a run that found nothing with "context deadline exceeded" when
# a loaded machine keeps a worker busy at the deadline (go.dev/issue/75804).
for target in ./connectors/geojson:FuzzParse:40000 ./sql:FuzzAnalyze:10000 ./connectors/csv:FuzzInspect:1500 ./engine:FuzzGate:500 ./server/flightsql:FuzzClaims:40000; do
  IFS=: read -r pkg name count <<<"$target"
  go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "${count}x" -timeout 10m
done

if [ -d tests/python ]; then
  step "python clients"
  .venv/bin/python -m pytest -q -s tests/python
fi

step "kubernetes manifests (schema validation)"
make --no-print-directory lint-deploy
