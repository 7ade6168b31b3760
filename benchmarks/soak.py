"""Memory over a long session: the real loop on a clip played over and over, resident memory sampled.

The source loops the clip (times keep increasing, as one long recording) for ``--minutes``; the loop is
the one ``posecheck analyze`` runs (estimator, engine, annotated video to a temporary file, which is
what grows on disk, not in memory). Resident memory is sampled every ``--every`` seconds; the report
gives the first and last minute's medians and a least-squares slope after the first minute
(MB per minute), which stays near 0 when nothing accumulates.

Usage: python benchmarks/soak.py --source CLIP [--minutes 10] [--every 5] [--no-video]
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.bench import current_rss_mb, peak_rss_mb


class LoopedFile:
    """A video file played again and again for ``seconds`` of wall time; frame times keep increasing."""

    def __init__(self, path: Path, seconds: float) -> None:
        from posecheck.capture import VideoFileSource

        self.path = path
        self.seconds = seconds
        with VideoFileSource(path) as probe:
            self.info = replace(probe.info, frame_count=0)  # unknown length, as a camera
        self.loops = 0

    def __iter__(self):
        from posecheck.capture import VideoFileSource

        deadline = time.perf_counter() + self.seconds
        offset = 0.0
        while time.perf_counter() < deadline:
            with VideoFileSource(self.path) as source:
                t = 0.0
                for t, frame in source:
                    if time.perf_counter() >= deadline:
                        return
                    yield offset + t, frame
            offset += t + 1.0 / self.info.fps
            self.loops += 1

    def close(self) -> None:
        """Each pass opens and closes its own file."""


class RssSampler:
    """A session sink that samples resident memory every ``every`` seconds (on the loop's side)."""

    background_safe = True

    def __init__(self, every: float) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._start = self._next = 0.0
        self.frames = 0

    def on_start(self, info: Any) -> None:
        self._start = time.perf_counter()
        self._next = self._start

    def on_frame(self, *args: Any) -> None:
        self.frames += 1
        now = time.perf_counter()
        if now >= self._next:
            self.samples.append((now - self._start, current_rss_mb()))
            self._next = now + self.every

    def on_finish(self, summary: Any) -> None:
        self.samples.append((time.perf_counter() - self._start, current_rss_mb()))


def analyse_samples(samples: list[tuple[float, float]]) -> dict[str, float]:
    """First/last minute medians and the slope (MB/min) after the first minute (the model, the first frames'
    buffers and the codec settle in during it). Runs shorter than two minutes use halves instead of minutes."""
    t = np.array([s[0] for s in samples])
    mb = np.array([s[1] for s in samples])
    settle = min(60.0, t[-1] / 2)
    settled = t >= settle
    slope = float(np.polyfit(t[settled] / 60.0, mb[settled], 1)[0]) if settled.sum() >= 3 else float("nan")
    first = mb[t <= settle]
    last = mb[t >= t[-1] - settle]
    return {
        "minutes": float(t[-1] / 60.0),
        "first_minute_mb": float(np.median(first)),
        "last_minute_mb": float(np.median(last)),
        "min_mb": float(mb.min()),
        "max_mb": float(mb.max()),
        "slope_mb_per_min_after_first_minute": slope,
    }


def soak(source: Path, minutes: float, every: float, exercise: str, video: bool, model: Path | None = None) -> dict:
    from functools import partial

    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model
    from posecheck.render import annotate
    from posecheck.session import VideoWriterSink, run_session
    from posecheck.specs import load_spec_by_id

    spec = load_spec_by_id(exercise)
    looped = LoopedFile(source, minutes * 60.0)
    sampler = RssSampler(every)
    with tempfile.TemporaryDirectory(prefix="posecheck-soak-") as tmp:
        sinks: list = [VideoWriterSink(Path(tmp) / "soak.mp4", partial(annotate, spec=spec, copy=False))] if video else []
        with MediaPipeEstimator(resolve_model(model).path) as estimator:
            result = run_session(looped, estimator, Engine(spec), [*sinks, sampler], exercise=spec.id)
    return {
        "source": str(source),
        "video": video,
        "frames": result.frames,
        "loops": looped.loops,
        "fps": result.processing_fps,
        "peak_rss_mb": peak_rss_mb(),
        **analyse_samples(sampler.samples),
        "samples": [(round(t, 1), round(mb, 1)) for t, mb in sampler.samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--no-video", dest="video", action="store_false")
    args = parser.parse_args()
    print(json.dumps(soak(args.source, args.minutes, args.every, args.exercise, args.video), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
