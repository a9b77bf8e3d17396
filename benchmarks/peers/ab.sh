#!/usr/bin/env bash
# Two qry builds side by side over the 22 TPC-H queries, through the same
# ADBC client, in turns: per-query medians and the geomean of B/A.
#   benchmarks/peers/ab.sh A_BIN B_BIN [ROUNDS]
# AB_FLAGS adds flags to both servers (e.g. "--accelerate all
# --accelerate-mode memory"); AB_FLAGS_A / AB_FLAGS_B to one, and
# AB_ENV_A / AB_ENV_B set environment variables ("GOGC=100") for one. The
# same binary twice with different flags or environments compares those.
# The servers run with --result-cache 0 unless the flags say otherwise. AB_SF picks the
# scale factor (default 1). Needs .venv-peers and the data, which
# benchmarks/peers/run.sh makes.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: $0 A_BIN B_BIN [ROUNDS]" >&2; exit 2; }
SF=${AB_SF:-1}
DATA=benchmarks/data/peers/sf$SF
if [ ! -x .venv-peers/bin/python ] || [ ! -f "$DATA.complete" ]; then
  echo "$0: run benchmarks/peers/run.sh $SF first (it makes .venv-peers and $DATA)" >&2
  exit 2
fi
exec .venv-peers/bin/python benchmarks/peers/ab.py --data "$DATA" --a "$1" --b "$2" --rounds "${3:-5}" \
  --flags-a "${AB_FLAGS:-} ${AB_FLAGS_A:-}" --flags-b "${AB_FLAGS:-} ${AB_FLAGS_B:-}" \
  --env-a "${AB_ENV_A:-}" --env-b "${AB_ENV_B:-}"
