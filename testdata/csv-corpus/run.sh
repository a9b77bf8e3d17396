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
exec "$(dirname "$0")/../corpus.sh" TestCSVCorpus QRY_CSV_CORPUS "$@"
