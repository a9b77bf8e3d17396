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
exec "$(dirname "$0")/../corpus.sh" TestParquetCorpus QRY_PARQUET_CORPUS "$@"
