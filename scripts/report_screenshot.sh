#!/usr/bin/env bash
# Makes docs/report.png, the README's picture of report.html: posecheck analyses the MIT-licensed sample clip
# cat_cow_01 (fetched, checksum verified, from ../shared/videos or GitHub) and headless Chromium (Debian's
# chromium package) photographs the top of the report. --no-video: the picture shows no frame of the clip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export POSECHECK_DATA_DIR="$work/data"  # not the user's history
.venv/bin/posecheck samples fetch cat_cow_01 --dest "$work/clips" >/dev/null
.venv/bin/posecheck analyze "$work/clips/cat_cow_01.mp4" --exercise cat-cow --no-video --out "$work/out" >/dev/null
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
  --host-resolver-rules="MAP * ~NOTFOUND" --window-size=1000,1500 \
  --screenshot="$work/report.png" "file://$work/out/report.html" 2>/dev/null
.venv/bin/python - "$work/report.png" docs/report.png <<'PY'
import sys

import cv2

image = cv2.imread(sys.argv[1])
cv2.imwrite(sys.argv[2], image[:1350], [cv2.IMWRITE_PNG_COMPRESSION, 9])
PY
echo "wrote docs/report.png"
