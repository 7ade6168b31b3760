#!/usr/bin/env bash
# Creates .venv with a Python 3.10-3.14 and installs posecheck into it (editable, with the test and cluster extras).
# Safe to run again: it reuses a working .venv and reinstalls only when pyproject.toml changed.
# Environment: PYTHON=/path/to/python3.x picks the interpreter; POSECHECK_VENV=dir changes the venv folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${POSECHECK_VENV:-.venv}"
# The versions posecheck supports (pyproject.toml's classifiers; mediapipe 1.x has wheels for 3.9-3.14).
SUPPORTED='import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 14)))'

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python3.14 python3.13 python3.12 python3.11 python3.10; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c "$SUPPORTED" 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if ! "$VENV/bin/python" -c "$SUPPORTED" 2>/dev/null; then
  if ! python=$(find_python); then
    echo "Error: posecheck needs Python 3.10-3.14; set PYTHON=/path/to/python3.x" >&2
    exit 1
  fi
  echo "setup: creating $VENV with $("$python" --version 2>&1)" >&2
  rm -rf "$VENV"
  if ! "$python" -m venv "$VENV"; then
    echo "Error: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  fi
fi

stamp="$VENV/.posecheck-installed"
wanted=$("$VENV/bin/python" -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || ! "$VENV/bin/python" -c 'import posecheck.cli.app' 2>/dev/null; then
  echo "setup: installing posecheck and its dependencies into $VENV (first time: a few minutes)" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test,cluster]"
  echo "$wanted" >"$stamp"
fi
