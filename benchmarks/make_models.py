"""Builds lite and heavy pose-model bundles, so that the benchmarks can compare lite / full / heavy offline.

The mediapipe 0.10.21 wheel carries only the full landmark model (posecheck ships it bundled, see
``src/posecheck/models/NOTICE.md``). The npm package ``@mediapipe/pose`` (Apache-2.0, the legacy JavaScript
solution) carries all three legacy landmark models; its full model is byte-identical to the wheel's, so its
lite and heavy ones bundle the same way (wheel's detector + landmark model with the metadata the Tasks API
needs), by ``scripts/build_model.sh`` (a throwaway venv with mediapipe 0.10.21, whose metadata writer is
needed). The package comes from the npm registry (`npm pack`), or from a folder where it was unpacked.

Usage:
    python benchmarks/make_models.py [--from DIR] [--out DIR]
Prints the built ``.task`` paths, one per line (lite, then heavy). Nothing here is committed: the models
are large and not ours.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from posecheck.estimators.model import cache_dir
from posecheck.samples import sha256_of

ROOT = Path(__file__).resolve().parents[1]

NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
#: sha256 of the landmark models in that package version (checked before bundling).
LANDMARK_SHA256 = {
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}


def fetch_package(into: Path) -> Path:
    """Downloads and unpacks the npm package into ``into``; returns the folder holding its files."""
    done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent", "--pack-destination", str(into)],
                          capture_output=True, text=True, check=False)
    tarballs = sorted(into.glob("*.tgz"))
    if done.returncode != 0 or not tarballs:
        raise SystemExit(f"npm pack {NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
    with tarfile.open(tarballs[0]) as tar:
        tar.extractall(into, filter="data")
    return into / "package"


def build_models(source: Path, out: Path) -> list[Path]:
    """Bundles ``source/pose_landmark_{lite,heavy}.tflite`` into ``out/pose_landmarker_{variant}_posecheck.task``."""
    out.mkdir(parents=True, exist_ok=True)
    built = []
    with tempfile.TemporaryDirectory(prefix="posecheck-build-venv-") as venv:
        for variant, sha256 in LANDMARK_SHA256.items():
            tflite = source / f"pose_landmark_{variant}.tflite"
            if not tflite.is_file():
                raise SystemExit(f"{tflite}: missing")
            if sha256_of(tflite) != sha256:
                raise SystemExit(f"{tflite}: unexpected sha256 (not the model of {NPM_PACKAGE})")
            task = out / f"pose_landmarker_{variant}_posecheck.task"
            # One venv for both variants (BUILD_VENV), made by the first call, removed with the folder.
            subprocess.run(["bash", str(ROOT / "scripts" / "build_model.sh"), "--landmark", str(tflite),
                            "--variant", variant, "--out", str(task)],
                           env={**os.environ, "BUILD_VENV": venv}, check=True)
            built.append(task)
    return built


def ensure_models(out: Path | None = None, source: Path | None = None) -> list[Path]:
    """The lite and heavy bundles, built (and the package fetched) when missing."""
    out = out or cache_dir() / "extra-models"
    wanted = [out / f"pose_landmarker_{variant}_posecheck.task" for variant in LANDMARK_SHA256]
    if all(path.is_file() for path in wanted):
        return wanted
    if source is not None:
        return build_models(source, out)
    with tempfile.TemporaryDirectory(prefix="posecheck-npm-") as tmp:
        return build_models(fetch_package(Path(tmp)), out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, help="folder of the unpacked npm package")
    parser.add_argument("--out", type=Path, help="where the .task files go (default: the model cache)")
    args = parser.parse_args()
    for path in ensure_models(args.out, args.source):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
