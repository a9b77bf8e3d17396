#!/usr/bin/env bash
# Creates .venv with the Python client test requirements and DuckDB's
# extension wheels (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
req=tests/python/requirements.txt
ext=tests/python/extensions.txt
stamp=.venv/.requirements
pkg=python/pyproject.toml
if [ -f "$stamp" ] && cat "$req" "$ext" "$pkg" | cmp -s - "$stamp"; then
  exit 0
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r "$ext"
# qry's own Python package (python/), editable: the tests run its source.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e ./python
cat "$req" "$ext" "$pkg" > "$stamp"
