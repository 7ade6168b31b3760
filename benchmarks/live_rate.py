"""How fast the live loop (``posecheck live --source FILE``) could go, against the bare estimator.

A live source hands over frames at the file's own pace (30 fps), far below what the loop can do, so its
frame rate says nothing about capacity. Instead the loop's busy time is measured: for each frame, from
the moment the loop got it to the moment it asked for the next one (inference, engine, the live sinks:
window or terminal). Capacity = frames / busy time, after a warm-up. The bare estimator runs on the same
frames, decoded beforehand, in the same run.

Usage: python benchmarks/live_rate.py --source CLIP [--window] [--warmup N]
(--window needs a display: run under xvfb-run.) Prints JSON.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from posecheck.bench.estimator import bench_bare_estimator
from posecheck.bench.frames import preload_frames
from posecheck.bench.rates import per_second


class BusyMeter:
    """Wraps a live source and notes when the loop received each frame and when it asked for the next."""

    reads_ahead = True  # a live source reads in its own thread; the session must not prefetch it

    def __init__(self, source: Any) -> None:
        self.source = source
        self.info = source.info
        self.got_at: list[float] = []
        self.asked_at: list[float] = []

    def __getattr__(self, name: str) -> Any:  # stop, pause, resume, frames_dropped, end_reason...
        return getattr(self.source, name)

    def __iter__(self):
        iterator = iter(self.source)
        while True:
            self.asked_at.append(time.perf_counter())
            try:
                item = next(iterator)
            except StopIteration:
                return
            self.got_at.append(time.perf_counter())
            yield item

    def busy_seconds(self, warmup: int) -> tuple[int, float]:
        """(frames, seconds) the loop spent on frames after the warm-up (waiting for frames excluded)."""
        spans = [asked - got for got, asked in zip(self.got_at, self.asked_at[1:])][warmup:]
        return len(spans), sum(spans)

    def close(self) -> None:
        self.source.close()


def live_capacity(clip: Path, model_path: Path, exercise: str, *, window: bool, warmup: int) -> dict[str, Any]:
    """Runs ``posecheck live`` on ``clip`` (paced at its frame rate) and returns its capacity and drops."""
    from posecheck.sources.paced_file import PacedFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.runtime.live import TerminalSink, run_live
    from posecheck.specs import load_spec_by_id

    spec = load_spec_by_id(exercise)
    with PacedFileSource(clip) as paced, MediaPipeEstimator(model_path) as estimator:
        meter = BusyMeter(paced)
        terminal = TerminalSink(spec, stream=io.StringIO(), interactive=False)
        result = run_live(spec, meter, estimator, lambda: Engine(spec), window=window, terminal=terminal)
    frames, busy = meter.busy_seconds(warmup)
    return {
        "view": "window" if window else "terminal",
        "frames_shown": result.session.frames,
        "frames_dropped": result.frames_dropped,
        "capacity_fps": per_second(frames, busy),
        "busy_ms_per_frame": 1000 * busy / frames if frames else 0.0,
    }


def measure(clip: Path, exercise: str, *, window: bool, warmup: int = 30, frames: int = 10_000) -> dict[str, Any]:
    from posecheck.estimators.model import resolve_model

    import cv2

    model = resolve_model()
    live = live_capacity(clip, model.path, exercise, window=window, warmup=warmup)
    decoded = preload_frames(clip, min(frames, live["frames_shown"] + live["frames_dropped"]))
    plain, on_one_core = bench_bare_estimator([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for _, f in decoded], model.path,
                                              warmup)
    # Against the faster way of running the bare estimator (as scheduled, or pinned to one core as the loop is).
    best = max(plain.fps, on_one_core.fps if on_one_core is not None else 0.0)
    return {**live, "estimator_fps": best, "estimator_unpinned_fps": plain.fps,
            "estimator_pinned_fps": on_one_core.fps if on_one_core is not None else None,
            "ratio": live["capacity_fps"] / best if best else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--window", action="store_true", help="show the live window (needs a display)")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    if args.window:
        from posecheck.runtime.live import require_display

        require_display()
    print(json.dumps(measure(args.source, args.exercise, window=args.window, warmup=args.warmup), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
