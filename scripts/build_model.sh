#!/usr/bin/env bash
# Rebuilds the packaged pose model (src/posecheck/models/pose_landmarker_full_posecheck.task) from its sources
# and checks that it is byte for byte the committed file. Its sources are inside the mediapipe 0.10.21 wheel,
# which exists for CPython 3.9-3.12 only, so this makes a throwaway venv with such a Python and installs that
# release from PyPI into it (about 1 GB, a few minutes). See scripts/build_model.py for what the build does.
# Usage: bash scripts/build_model.sh [--check | --out FILE | ...]   (arguments go to build_model.py;
#        default --check). PYTHON=/path/to/python3.x picks the interpreter; BUILD_VENV=dir keeps the venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUPPORTED='import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 12)))'
python=""
for candidate in "${PYTHON:-}" python3.12 python3.11 python3.10 python3; do
  [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
  if "$candidate" -c "$SUPPORTED" 2>/dev/null; then python=$(command -v "$candidate"); break; fi
done
if [ -z "$python" ]; then
  echo "Error: building the model needs Python 3.9-3.12 (mediapipe 0.10.21 has no wheels for others); set PYTHON=/path/to/python3.x" >&2
  exit 1
fi

venv="${BUILD_VENV:-}"
if [ -z "$venv" ]; then
  venv=$(mktemp -d "${TMPDIR:-/tmp}/posecheck-model-build.XXXXXX")
  trap 'rm -rf "$venv"' EXIT
fi
if ! "$venv/bin/python" -c 'import importlib.metadata as m; assert m.version("mediapipe") == "0.10.21"' 2>/dev/null; then
  echo "build_model: installing mediapipe==0.10.21 into $venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mediapipe==0.10.21"
fi
[ "$#" -gt 0 ] || set -- --check
# Not exec: the EXIT trap must still remove the throwaway venv.
"$venv/bin/python" scripts/build_model.py "$@"
