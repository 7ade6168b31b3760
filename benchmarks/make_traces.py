"""Computes posecheck landmark traces for every clip in a folder (default ../shared/videos) into tests/data/traces.

The traces are posecheck's own output (landmarks), not footage, so they may be committed as test data.
Each clip goes through the loop ``posecheck analyze CLIP --save-trace`` runs (the session loop with the
trace recorder sink), so a trace here is the same as one saved by the command.
Usage: python benchmarks/make_traces.py [--videos DIR] [--out DIR] [--jobs N] [CLIP ...]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The session loop needs an engine; the poses it records do not depend on the spec that engine runs.
ANY_SPEC = "cat-cow"


def extract(video: Path, out_dir: Path) -> str:
    from posecheck import __version__
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model
    from posecheck.runtime.session import run_session
    from posecheck.sinks.trace import TraceRecorderSink
    from posecheck.specs import load_spec_by_id

    spec = load_spec_by_id(ANY_SPEC)
    model = resolve_model()
    out = out_dir / (video.stem + ".npz")
    recorder = TraceRecorderSink(
        out, {"source": video.name, "model": model.path.name, "model_sha256": model.sha256, "posecheck": __version__}
    )
    with VideoFileSource(video) as source, MediaPipeEstimator(model.path) as estimator:
        result = run_session(source, estimator, Engine(spec), [recorder], exercise=spec.id)
    return (f"{video.name}: {result.frames} frames, pose in {result.frames_with_pose}, "
            f"{result.processing_fps:.0f} fps -> {out}")


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

    resolve_model()  # a missing or damaged model stops here, before the workers start
    with ProcessPoolExecutor(args.jobs) as pool:
        for line in pool.map(extract, clips, [args.out] * len(clips)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
