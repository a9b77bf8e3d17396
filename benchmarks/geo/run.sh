#!/usr/bin/env bash
# Geodata benchmark: point in polygon (1,000,000 GeoParquet points, hive-
# partitioned, joined to 1,000 GeoPackage polygons, points per polygon)
# and a bbox-selective count over 1,000 GeoParquet files, through qry and
# through DuckDB with the spatial extension on the files directly (one Go
# process, ./benchmarks/geo), and the point-in-polygon through geopandas
# (sjoin). Answers must agree. Prints one markdown table.
#   benchmarks/geo/run.sh [POINTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOFLAGS=-tags=duckdb_arrow
bash scripts/venv.sh
out=$(mktemp -t qry-geo-XXXXXX.json)
trap 'rm -f "$out"' EXIT
go run ./benchmarks/geo -points "${1:-1000000}" -out "$out"
.venv/bin/python benchmarks/geo/geopandas_bench.py "$out" "benchmarks/data/geo/p${1:-1000000}"
