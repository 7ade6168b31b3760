"""How the loop and the bare estimator scale with frame size and with the pose model.

Resolution: the same frames are resized (area averaging) to each height and written as mp4v clips, so
every size shows the same person doing the same thing; `posecheck bench` then runs on each clip.
Models: `posecheck bench` with each ``--model`` file (only the bundled full model exists offline here;
give official pose_landmarker_lite/heavy.task files to compare them).

Usage: python benchmarks/scaling.py --source CLIP [--heights 360 480 720] [--model FILE ...] [--frames N]
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from posecheck.bench.frames import preload_frames, write_video
from posecheck.bench.run import BenchConfig, run_bench


def _row(report: dict) -> dict:
    return {
        "width": report["source"]["width"],
        "height": report["source"]["height"],
        "estimator_fps": report["estimator_fps"],
        "end_to_end_fps": report["end_to_end_fps"],
        "ratio": report["ratio"],
        "serial_fps": report["serial_fps"],
        "serial_ratio": report["serial_ratio"],
        "cpu_share": report["cpu_share"],
        "latency_ms": report["latency_ms"],
        "peak_rss_mb": report["peak_rss_mb"],
    }


def by_resolution(source: Path, heights: list[int], frames: int, warmup: int, rounds: int, exercise: str,
                  progress=None) -> list[dict]:
    """One bench row per height: the source's first ``frames`` frames resized to it."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="posecheck-scaling-") as tmp:
        for height in heights:
            clip = Path(tmp) / f"{source.stem}-{height}p.mp4"
            resized = preload_frames(source, frames, height)
            write_video(resized, clip, 30.0)
            del resized
            if progress:
                progress(f"{height}p")
            report = run_bench(BenchConfig(source=clip, frames=frames, warmup=warmup, rounds=rounds, exercise=exercise,
                                           stages=False, engine=False, startup=False))
            rows.append({"label": f"{height}p", **_row(report)})
    return rows


def by_model(source: Path, models: list[Path | None], frames: int, warmup: int, rounds: int, exercise: str,
             progress=None) -> list[dict]:
    """One bench row per model file (None: the bundled full model)."""
    rows = []
    for model in models:
        if progress:
            progress(f"model {model or 'bundled full'}")
        report = run_bench(BenchConfig(source=source, frames=frames, warmup=warmup, rounds=rounds, exercise=exercise,
                                       model=model, stages=False, engine=False, startup=False))
        rows.append({"label": model.name if model else "bundled full (pose_landmark_full)", **_row(report)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--heights", type=int, nargs="+", default=[360, 480, 720])
    parser.add_argument("--model", type=Path, action="append", default=[], help="extra .task model (repeatable)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--exercise", default="cat-cow")
    args = parser.parse_args()
    say = lambda text: print(f"... {text}", file=sys.stderr, flush=True)  # noqa: E731
    result = {
        "resolution": by_resolution(args.source, args.heights, args.frames, args.warmup, args.rounds, args.exercise, say),
        "models": by_model(args.source, [None, *args.model], args.frames, args.warmup, args.rounds, args.exercise, say),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
