#!/usr/bin/env bash
# Sets everything up (.venv) and runs the test suite. Arguments go to pytest, e.g.
#   bash scripts/test.sh tests/test_cli.py -k json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
status=0
"${POSECHECK_VENV:-.venv}/bin/python" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  # pytest's "no tests collected": fine for a filter that matched nothing, a broken suite otherwise.
  if [ "$#" -gt 0 ]; then
    echo "test: no test matched '$*' (pytest exit 5); nothing failed" >&2
    exit 0
  fi
  echo "Error: pytest collected no tests at all" >&2
  exit 1
fi
exit "$status"
