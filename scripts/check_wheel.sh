#!/usr/bin/env bash
# Builds the sdist and, from it, the wheel (so a file missing from the sdist is missing from the wheel too),
# installs the wheel into a fresh venv (dependencies from PyPI) and runs posecheck from it outside the
# checkout: the built-in specs, the sample manifest and the model must all come from the package. The
# sample clip is analysed with the network cut off (unshare -n, when run as root on Linux).
# Usage: bash scripts/check_wheel.sh [--sdist]   --sdist also installs the sdist itself into a second venv.
#        PYTHON=/path/to/python3.x picks the interpreter (default python3); MIRROR=dir is where the sample
#        clip is copied from (default ../shared/videos beside the checkout).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
python="${PYTHON:-python3}"
mirror="${MIRROR:-$repo/../shared/videos}"
work=$(mktemp -d "${TMPDIR:-/tmp}/posecheck-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { echo "check_wheel: $*" >&2; }

say "building the sdist and the wheel with $("$python" --version 2>&1)"
"$python" -m venv "$work/build"
"$work/build/bin/python" -m pip install --quiet --disable-pip-version-check build >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; exit 1; }
"$work/build/bin/python" -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
sdist=$(ls "$work"/dist/*.tar.gz)
wheel=$(ls "$work"/dist/*.whl)
say "built $(basename "$sdist") and $(basename "$wheel")"

# Cut the network for a command when we can (a new network namespace has only a down loopback).
offline=()
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  offline=(unshare -n)
else
  say "cannot cut the network here (needs root and unshare); the analysis runs with the network up"
fi

check() {  # check NAME ARTIFACT: install ARTIFACT into a fresh venv and use it from an empty folder
  local name=$1 artifact=$2 venv="$work/venv-$1" run="$work/run-$1"
  say "$name: installing $(basename "$artifact") into a fresh venv"
  "$python" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$artifact" >"$work/install-$name.log" 2>&1; then
    grep -v "^WARNING: Location" "$work/install-$name.log" >&2
    exit 1
  fi
  "$venv/bin/python" -m pip check >&2
  mkdir -p "$run" && cd "$run"
  export POSECHECK_CACHE_DIR="$run/cache"
  "$venv/bin/python" - <<'EOF'
import importlib.metadata as m, sys
versions = {p: m.version(p) for p in ("posecheck-coach", "mediapipe", "numpy", "opencv-contrib-python")}
print("check_wheel:", f"Python {sys.version.split()[0]},", ", ".join(f"{k} {v}" for k, v in versions.items()), file=sys.stderr)
assert int(versions["mediapipe"].split(".")[0]) >= 1, "mediapipe 1.x expected"
assert int(versions["numpy"].split(".")[0]) >= 2, "numpy 2 expected"
import posecheck, pathlib
assert "site-packages" in posecheck.__file__, posecheck.__file__  # the installed copy, not a checkout
EOF
  "$venv/bin/posecheck" --version
  # Into files, then grep: `| grep -q` would close the pipe early and fail the command on SIGPIPE.
  "$venv/bin/posecheck" exercises list >"$work/exercises-$name.txt"
  grep -q cat-cow "$work/exercises-$name.txt"
  # The library from the installed copy: a spec that extends another and takes its measures from the shared
  # library (exercise_specs/_measures.yaml must be in the package).
  "$venv/bin/python" -c 'import posecheck; s = posecheck.load_spec("pelvic-curl"); assert s.extends == "glute-bridge" and s.measures, s; assert "cat-cow" in posecheck.exercises()'
  # The built-in routines are in the wheel, and their steps name specs the wheel has.
  "$venv/bin/posecheck" routine list >"$work/routines-$name.txt"
  # One check a line: under set -e a failure before the last command of an && list, or a negated command, does
  # not stop the script.
  grep -q back-care-15 "$work/routines-$name.txt"
  if grep -q BROKEN "$work/routines-$name.txt"; then cat "$work/routines-$name.txt" >&2; exit 1; fi
  "$venv/bin/posecheck" samples list >"$work/samples-$name.txt"
  grep -q cat_cow_01 "$work/samples-$name.txt"
  "${offline[@]}" "$venv/bin/posecheck" models --check >"$work/models-$name.txt"
  grep -q "loads and runs" "$work/models-$name.txt"
  grep -q "shipped with posecheck" "$work/models-$name.txt"
  "$venv/bin/posecheck" samples fetch cat_cow_01 --dest clips --mirror "$mirror"
  "${offline[@]}" "$venv/bin/posecheck" analyze clips/cat_cow_01.mp4 --exercise cat-cow --out out --no-video --json report.json >/dev/null
  "$venv/bin/python" -c 'import json; r = json.load(open("report.json")); assert r["reps"] == 2 and r["source"]["model"]["origin"] == "packaged", r["reps"]'
  # The speed benchmark's first-frame probe is a module run in a new process: it must be in the package too.
  "${offline[@]}" "$venv/bin/python" -m posecheck.bench.end_to_end clips/cat_cow_01.mp4 "" >"$work/probe-$name.txt"
  grep -q first_frame_s "$work/probe-$name.txt"
  say "$name: ok (specs, library, samples, model, analyze of cat_cow_01 with ${offline[*]:-the network up}: 2 reps, bench probe)"
  cd "$repo"
}

check wheel "$wheel"
if [ "${1:-}" = "--sdist" ]; then
  check sdist "$sdist"
  say "the wheel and the sdist both work without a checkout"
else
  say "the wheel (built from the sdist) works without a checkout"
fi
