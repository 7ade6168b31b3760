"""posecheck's own wiring, timed: the real session loop on a source's first frames
(:func:`run_end_to_end`, the loop ``analyze`` runs, writing an annotated video), and, run as a program
(``python -m posecheck.bench.end_to_end VIDEO [MODEL]``), the first analysed frame in a new process
(:func:`first_frame_probe`).

Both open the estimator and wire source -> estimator -> engine -> sinks themselves; they are kept together so
that they can move to the public wiring at once. Only the standard library is imported at the top: the
probe's clock must start before cv2, numpy and mediapipe are imported.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecheck.bench.machine import current_rss_mb, peak_rss_mb
from posecheck.bench.rates import Rate, RateClock, summary_dict

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterator

    import numpy as np

    from posecheck.runtime.pipeline import StageSummary


class FirstFrames:
    """The first ``count`` frames of a source, noting when each one was read (for per-frame latency).

    Behaves as the wrapped source for the session (``info``, ``reads_ahead``); ``info.frame_count`` says
    how many frames will come, so a short benchmark is not reported as a truncated file. Does not close
    the wrapped source (its owner does).
    """

    def __init__(self, source: Any, count: int) -> None:
        self.source = source
        self.count = count
        announced = source.info.frame_count
        self.info = replace(source.info, frame_count=min(count, announced) if announced else count)
        self.reads_ahead = bool(getattr(source, "reads_ahead", False))
        self.read_at: list[float] = []

    def __iter__(self) -> Iterator[tuple[float, np.ndarray | None]]:
        for t, frame in islice(self.source, self.count):
            self.read_at.append(time.perf_counter())
            yield t, frame

    def close(self) -> None:
        """Nothing to release here: the wrapped source belongs to the caller."""


class ClockSink:
    """The benchmark's stopwatch, as a session sink placed after the real sinks.

    It runs where they run (on the worker thread with them when they run in the background), so a frame
    counts as done once it was drawn and written. Records per-frame completion times, the rate after the
    warm-up, and resident memory every ``rss_every`` frames.

    Args:
        warmup: frames not timed.
        rss_every: sample resident memory every this many frames (0: never).
    """

    background_safe = True

    def __init__(self, warmup: int, rss_every: int = 30) -> None:
        self.clock = RateClock(warmup)
        self.done_at: list[float] = []
        self.rss_every = rss_every
        self.rss_mb: list[tuple[float, float]] = []  # (seconds since start, MB)
        self._started = 0.0

    def on_start(self, info: Any) -> None:
        self._started = time.perf_counter()
        self.rss_mb.append((0.0, current_rss_mb()))

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Any, state: Any, events: list[Any]) -> None:
        self.clock.tick()
        now = time.perf_counter()
        self.done_at.append(now)
        if self.rss_every and len(self.done_at) % self.rss_every == 0:
            self.rss_mb.append((now - self._started, current_rss_mb()))

    def on_finish(self, summary: Any) -> None:
        self.rss_mb.append((time.perf_counter() - self._started, current_rss_mb()))


class TimedEngine:
    """The engine as the loop uses it, timing each frame's ``update`` plus ``state`` (after the warm-up).

    In the loop the engine runs with caches cold from ~20 ms of inference, so it costs more than alone on a
    trace; this is the figure the "engine share of the frame time" is about.
    """

    def __init__(self, engine: Any, warmup: int) -> None:
        self._engine = engine
        self._warmup = warmup
        self._frames = 0
        self._update_s: float | None = None  # the last update's time, until the state read that follows it
        self.seconds: list[float] = []  # per timed frame

    def update(self, t: float, pose: Any) -> list[Any]:
        start = time.perf_counter()
        events = self._engine.update(t, pose)
        self._update_s = time.perf_counter() - start
        return events

    @property
    def state(self) -> Any:
        start = time.perf_counter()
        state = self._engine.state
        # Only the read that follows an update is a frame's: the loop reads the state once more after end()
        # when a hold runs to the end of the source, and that read must not count the last update again.
        if self._update_s is not None:
            self._frames += 1
            if self._frames > self._warmup:
                self.seconds.append(self._update_s + time.perf_counter() - start)
            self._update_s = None
        return state

    def __getattr__(self, name: str) -> Any:  # end(), finish() and the rest go to the engine untimed
        return getattr(self._engine, name)


@dataclass
class EndToEnd:
    """One run of the real session loop.

    Attributes:
        prefetch, background: the pipelining used (0, 0 = the serial loop).
        rate: frames after the warm-up, wall and CPU time.
        latency: per-frame time from read (decoded) to written, in ms, warm-up excluded.
        frames, frames_with_pose: what the session saw.
        rss_mb: (seconds, MB) resident memory samples during the run.
        peak_rss_mb: the process's peak resident memory at the end of the run (ru_maxrss).
        engine_ms: the engine's time per frame in the loop (update + state), warm-up excluded.
    """

    prefetch: int
    background: int
    rate: Rate
    latency: StageSummary
    frames: int
    frames_with_pose: int
    rss_mb: list[tuple[float, float]]
    peak_rss_mb: float
    engine_ms: StageSummary

    def to_dict(self) -> dict[str, Any]:
        rss = [mb for _, mb in self.rss_mb]
        return {
            "prefetch": self.prefetch,
            "background": self.background,
            **self.rate.to_dict(),
            "latency_ms": {"median": self.latency.median_ms, "p95": self.latency.p95_ms},
            "frames_total": self.frames,  # warm-up included ("frames" counts the timed ones)
            "frames_with_pose": self.frames_with_pose,
            "rss_start_mb": rss[0] if rss else None,
            "rss_end_mb": rss[-1] if rss else None,
            "peak_rss_mb": self.peak_rss_mb,
            "engine_ms": summary_dict(self.engine_ms),
        }


def run_end_to_end(opened: Any, spec: Any, frames: int, warmup: int, out_dir: Path, *,
                   prefetch: int, background: int, rss_every: int = 30) -> EndToEnd:
    """The loop ``posecheck analyze`` runs (estimator, engine, annotated video), on the first ``frames`` frames.

    Args:
        opened: an input opened by `posecheck.runtime.wiring` (a video or a camera, with its estimator); the
            caller closes it.
        spec: the `ExerciseSpec` for the engine and the overlay.
        frames, warmup: frames to run, of which the first ``warmup`` are not timed.
        out_dir: where the annotated video goes.
        prefetch, background: passed to `run_session` (0, 0: the serial loop).
    """
    from functools import partial

    from posecheck.engine.engine import Engine
    from posecheck.runtime import wiring
    from posecheck.runtime.pipeline import StageSummary
    from posecheck.sinks.render import annotate
    from posecheck.sinks.video import VideoWriterSink

    first = FirstFrames(opened.source, frames)
    clock = ClockSink(warmup, rss_every)
    # The same sinks as `posecheck analyze` (minus the progress bar), then the stopwatch.
    sinks = [VideoWriterSink(out_dir / f"annotated-{prefetch}-{background}.mp4", partial(annotate, spec=spec, copy=False)),
             clock]
    engine = TimedEngine(Engine(spec), warmup)
    result = wiring.run(opened, spec, sinks, engine=engine, source=first, prefetch=prefetch, background=background)
    latencies = [done - read for done, read in zip(clock.done_at, first.read_at)][warmup:]
    return EndToEnd(prefetch, background, clock.clock.rate(), StageSummary.of(latencies), result.frames,
                    result.frames_with_pose, clock.rss_mb, peak_rss_mb(), StageSummary.of(engine.seconds))


# ----------------------------------------------------------------------------------- the first frame


def first_frame_probe(video: str, model: str | None) -> dict[str, Any]:
    """Imports, resolves the model, opens the estimator and analyses the first frame of ``video``, timing
    each step (seconds). Meant for a new process (:func:`posecheck.bench.startup.bench_startup` runs
    ``python -m posecheck.bench.end_to_end VIDEO MODEL``): the imports are only slow the first time.

    The clock starts before cv2 and posecheck's source, estimator and model modules are imported; the
    parent packages ``posecheck`` and ``posecheck.bench`` and this module's standard-library imports come
    before it (this module imports nothing heavy at the top for that reason).
    """
    start = time.perf_counter()
    import cv2

    from posecheck.runtime import wiring

    imported = time.perf_counter()
    resolved_model = wiring.resolve(model or None)
    resolved = time.perf_counter()
    # VIDEO mode as `posecheck analyze` runs a clip of 20 fps or more (the bench's clips are).
    with wiring.open_video(video, model=resolved_model, running_mode="video") as opened:
        opened_at = time.perf_counter()
        t, frame = next(iter(opened.source))
        opened.estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
        done = time.perf_counter()
    return {"import_s": imported - start, "resolve_model_s": resolved - imported, "model_origin": resolved_model.origin,
            "open_estimator_s": opened_at - resolved, "first_frame_s": done - opened_at, "total_s": done - start}


def main(argv: list[str] | None = None) -> None:
    """``python -m posecheck.bench.end_to_end VIDEO [MODEL]``: prints :func:`first_frame_probe`'s timings as
    one JSON line (an empty MODEL means the packaged model)."""
    args = sys.argv[1:] if argv is None else argv
    print(json.dumps(first_frame_probe(args[0], args[1] if len(args) > 1 else None)))


if __name__ == "__main__":
    main()
