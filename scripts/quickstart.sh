#!/usr/bin/env bash
# Sets everything up (.venv), fetches the cat-cow sample clip (from ../shared/videos if it is there, else
# from GitHub, checksum-verified) and analyses it: report and annotated video in posecheck-out/cat_cow_01/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
posecheck="${POSECHECK_VENV:-.venv}/bin/posecheck"
"$posecheck" samples fetch cat_cow_01 --dest posecheck-out/samples
"$posecheck" analyze posecheck-out/samples/cat_cow_01.mp4 --exercise cat-cow --out posecheck-out/cat_cow_01
