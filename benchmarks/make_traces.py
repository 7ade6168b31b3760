"""Computes posecheck landmark traces for every clip in a folder (default ../shared/videos) into tests/data/traces.

The traces are posecheck's own output (landmarks), not footage, so they may be committed as test data.
Usage: python benchmarks/make_traces.py [--videos DIR] [--out DIR] [--jobs N] [CLIP ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extract(video: Path, out_dir: Path) -> str:
    import cv2

    from posecheck import __version__
    from posecheck.capture import VideoFileSource
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model
    from posecheck.trace import Trace

    model = resolve_model()
    frames = []
    start = time.perf_counter()
    with VideoFileSource(video) as source, MediaPipeEstimator(model.path) as estimator:
        for t, frame in source:
            frames.append((t, estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)))
        info = source.info
    trace = Trace.from_poses(
        frames,
        (info.width, info.height),
        info.fps,
        meta={"source": video.name, "model": model.path.name, "model_sha256": model.sha256, "posecheck": __version__},
    )
    out = out_dir / (video.stem + ".npz")
    trace.save(out)
    found = int(trace.has_pose.sum())
    return f"{video.name}: {len(trace)} frames, pose in {found}, {len(trace) / (time.perf_counter() - start):.0f} fps -> {out}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=Path, default=ROOT.parent / "shared" / "videos")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "traces")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("clips", nargs="*")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clips = [args.videos / c for c in args.clips] if args.clips else sorted(args.videos.glob("*.mp4"))
    from posecheck.estimators.model import resolve_model

    resolve_model()  # build once, before the workers race to build it
    with ProcessPoolExecutor(args.jobs) as pool:
        for line in pool.map(extract, clips, [args.out] * len(clips)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
