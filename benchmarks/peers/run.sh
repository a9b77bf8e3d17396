#!/usr/bin/env bash
# TPC-H peer benchmark: the 22 queries over the same Parquet files through
# DuckDB in-process (the reference), qry serve (plain, and accelerated when
# the binary has --accelerate), DataFusion, Polars and ROAPI, side by side in
# one run; answers are checked against DuckDB's. Prints one markdown table,
# writes benchmarks/data/peers/results-sf<SF>.json and a chart
# (benchmarks/peers/chart.png for SF 1, benchmarks/data/peers/ otherwise).
#   benchmarks/peers/run.sh [SF]        SF: 1 (default), 10, or a fraction such as 0.01
# QRY_BIN=path uses that qry binary instead of building one.
# PEERS_NO_BULK=1 leaves out the bulk-transfer line (at SF 10 it holds lineitem,
# about 13 GB of Arrow, in the client).
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOFLAGS=-tags=duckdb_arrow
SF=$(python3 -c 'import sys; v = float(sys.argv[1]); assert 0 < v <= 1000; print("%g" % v)' "${1:-1}" 2>/dev/null) ||
  { echo "usage: $0 [SCALE_FACTOR]   (a number such as 1, 10 or 0.01)" >&2; exit 2; }
HERE=benchmarks/peers
VENV=.venv-peers
OUT=benchmarks/data/peers
DATA=$OUT/sf$SF
TMP=$(mktemp -d -t qry-peers-XXXXXX)
export PEERS_PIDS_FILE=$TMP/pids

cleanup() {
  # bench.py stops its servers when it ends or gets SIGTERM; the pids it
  # wrote are for when it could not (killed with SIGKILL, say).
  if [ -n "${BENCH_PID:-}" ]; then kill "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
  if [ -f "$PEERS_PIDS_FILE" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$PEERS_PIDS_FILE"
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The benchmark's own venv (not the tests' .venv), made again only when
# requirements.txt changes.
want=$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "making $VENV from $HERE/requirements.txt ..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  echo '*' >"$VENV/.gitignore"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" >"$VENV/.requirements.sha256"
fi

# TPC-H data: one directory of Parquet files per table (ceil(SF) files each,
# small tables one), made again only when missing or made by another
# tpchgen-cli. The marker sits beside the directory, since every entry of
# the directory becomes a qry table.
gen=$("$VENV/bin/tpchgen-cli" --version)
if [ "$(cat "$DATA.complete" 2>/dev/null)" != "$gen" ]; then
  parts=$(python3 -c 'import math, sys; print(max(1, math.ceil(float(sys.argv[1]))))' "$SF")
  echo "generating TPC-H SF$SF with $gen ($parts file(s) per table) in $DATA ..." >&2
  rm -rf "$DATA" "$DATA.tmp" "$DATA.complete"
  mkdir -p "$OUT"
  "$VENV/bin/tpchgen-cli" parquet --scale-factor "$SF" --parts "$parts" --output-dir "$DATA.tmp" --quiet
  mv "$DATA.tmp" "$DATA"
  echo "$gen" >"$DATA.complete"
fi

if [ -n "${QRY_BIN:-}" ]; then
  QRY=$QRY_BIN
else
  echo "building qry ..." >&2
  go build -o "$TMP/qry" ./cmd/qry
  QRY=$TMP/qry
fi

if [ "$SF" = 1 ]; then CHART=$HERE/chart.png; else CHART=$OUT/chart-sf$SF.png; fi

# In the background and waited for, so that a signal runs the trap at once.
"$VENV/bin/python" "$HERE/bench.py" --sf "$SF" --data "$DATA" --qry "$QRY" --roapi "$VENV/bin/roapi" \
  --tmp "$TMP" --out "$OUT/results-sf$SF.json" --chart "$CHART" ${PEERS_NO_BULK:+--no-bulk} &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
