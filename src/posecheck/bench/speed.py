"""Speed benchmarks: the whole loop against the bare estimator on the same frames, stage by stage.

Figures drift from run to run on a shared machine; the ratios measured within one run (end-to-end fps over
the bare estimator's fps on the same frames, engine time over frame time) are what the report is for.

Every timed part runs after a warm-up of ``warmup`` frames whose time is not counted. The parts:

- **end to end**: the real session loop (:mod:`posecheck.runtime.session`, the one loop ``analyze`` uses) on the
  source, writing an annotated video like ``analyze --output`` does; fps, per-frame latency (frame read ->
  frame written), CPU share (process CPU time / wall time), peak memory.
- **estimator**: a bare MediaPipe loop over the same frames, decoded and converted to RGB beforehand:
  nothing but ``detect_for_video``. The ceiling the loop is compared with.
- **stages**: each stage alone over the same frames: decode, BGR->RGB, inference (with our Pose
  conversion), smoothing + engine, drawing, encoding.
- **engine**: the engine alone replaying recorded landmark traces, per exercise.
- **start-up**: ``posecheck --help`` in a new process; first analysed frame in a new process, twice (the
  second run finds the libraries and the model in the operating system's file cache).

This module imports cv2 and mediapipe lazily, inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.runtime.cores import CoreSplit, pinned, plan_split
from posecheck.errors import InputError
from posecheck.runtime.pipeline import DEFAULT_BACKGROUND, DEFAULT_PREFETCH, StageSummary, StageTimes

log = logging.getLogger(__name__)

DEFAULT_FRAMES = 300
DEFAULT_WARMUP = 30
# Each frame of the bare-estimator run is kept decoded in memory (a 720p RGB frame is 2.8 MB): refuse
# runs that would need more than this rather than swap a shared machine.
MAX_PRELOAD_BYTES = 2 * 1024**3


# ---------------------------------------------------------------------------------------------- results


def per_second(amount: float, seconds: float) -> float:
    """``amount / seconds``; 0.0 for an empty interval (too few frames were timed)."""
    return amount / seconds if seconds > 0 else 0.0


@dataclass
class Rate:
    """Frames timed after the warm-up, and how fast they went.

    Attributes:
        frames: frames timed (warm-up excluded).
        seconds: wall time for them.
        cpu_s: process CPU time (all threads) over the same interval.
    """

    frames: int
    seconds: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return per_second(self.frames, self.seconds)

    @property
    def cpu_share(self) -> float:
        """Process CPU time / wall time: 1.0 is one core kept busy, 2.0 two."""
        return per_second(self.cpu_s, self.seconds)

    def to_dict(self) -> dict[str, float]:
        return {"frames": self.frames, "seconds": self.seconds, "fps": self.fps, "cpu_share": self.cpu_share}


class RateClock:
    """Measures a :class:`Rate` from per-frame ticks, ignoring the first ``warmup`` frames."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.count = 0
        self._start: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def tick(self) -> None:
        """Call once per finished frame."""
        self.count += 1
        now = (time.perf_counter(), time.process_time())
        if self.count == self.warmup or (self.warmup <= 0 and self._start is None):
            self._start = now
        self._last = now

    def rate(self) -> Rate:
        if self._start is None or self._last is None or self.count <= max(self.warmup, 1):
            return Rate(0, 0.0, 0.0)
        timed = self.count - max(self.warmup, 1)
        return Rate(timed, self._last[0] - self._start[0], self._last[1] - self._start[1])


def summary_dict(s: StageSummary) -> dict[str, float]:
    return {"median_ms": s.median_ms, "p95_ms": s.p95_ms, "mean_ms": s.mean_ms, "count": s.count}


# ------------------------------------------------------------------------------------------- machine


def package_version(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (e.g. ``"mediapipe"``), None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; elsewhere what `platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def machine_info() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, Python, library versions, commit, date (UTC)."""
    import cv2

    from posecheck import __version__

    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        load = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_1min": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "mediapipe": package_version("mediapipe"),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "posecheck": __version__,
        "commit": _git_commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss: KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


# -------------------------------------------------------------------------------------------- frames


def resize_to_height(frame: np.ndarray, height: int | None) -> np.ndarray:
    """(H, W, 3) -> (height, W * height / H, 3) with area averaging; the frame itself when height is None."""
    if height is None or frame.shape[0] == height:
        return frame
    import cv2

    width = max(2, round(frame.shape[1] * height / frame.shape[0] / 2) * 2)  # even: codecs want it
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def preload_frames(video: Path, count: int, height: int | None = None) -> list[tuple[float, np.ndarray]]:
    """Decodes the first ``count`` frames of ``video`` into memory as (t, (H, W, 3) uint8 BGR).

    Raises:
        InputError: the file cannot be read, or the frames would not fit in MAX_PRELOAD_BYTES.
    """
    from posecheck.sources.video_file import VideoFileSource

    with VideoFileSource(video) as source:
        h = height or source.info.height
        check_preload(round(source.info.width * h / source.info.height), h, count)
        return [(t, resize_to_height(frame, height)) for t, frame in islice(source, count)]


def write_video(frames: list[tuple[float, np.ndarray]], path: Path, fps: float) -> Path:
    """Writes BGR frames to an mp4v ``.mp4`` (used to make same-content clips at other resolutions)."""
    from posecheck.sinks.video import open_video_writer

    h, w = frames[0][1].shape[:2]
    writer = open_video_writer(path, "mp4v", fps, (w, h))
    if writer is None:
        raise InputError(f"cannot write {path} with the mp4v codec")
    try:
        for _, frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


# ------------------------------------------------------------------------------------- bare estimator


def bench_raw_estimator(frames_rgb: list[np.ndarray], model_path: Path, warmup: int = DEFAULT_WARMUP, *,
                        cores: CoreSplit | None = None) -> Rate:
    """The bare estimator: ``detect_for_video`` over frames already decoded to RGB, nothing else.

    Args:
        frames_rgb: (H, W, 3) uint8 RGB frames in video order.
        model_path: the ``.task`` bundle.
        warmup: frames run before timing starts (the first ones of ``frames_rgb``).
        cores: run with the estimator's threads pinned as a pipelined session pins them (its threads are
            created inside the pinned block, so MediaPipe's own threads stay there too); None: as the
            operating system schedules them, as a plain MediaPipe script runs.
    """
    import mediapipe as mp
    from mediapipe.tasks.python import vision

    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator

    options = MediaPipeEstimator(model_path).landmarker_options()  # the same options as the loop's estimator
    clock = RateClock(warmup)
    with pinned(cores), vision.PoseLandmarker.create_from_options(options) as landmarker:
        for i, frame in enumerate(frames_rgb):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
            landmarker.detect_for_video(image, i + 1)
            clock.tick()
    return clock.rate()


def bench_bare_estimator(frames_rgb: list[np.ndarray], model_path: Path, warmup: int = DEFAULT_WARMUP
                         ) -> tuple[Rate, Rate | None]:
    """The bare estimator as the operating system schedules it, then pinned to one core as a pipelined session
    pins it (None when this machine does not pin: see `posecheck.runtime.cores`). Compare a loop with the faster."""
    plain = bench_raw_estimator(frames_rgb, model_path, warmup)
    split = plan_split()
    return plain, (bench_raw_estimator(frames_rgb, model_path, warmup, cores=split) if split is not None else None)


# ------------------------------------------------------------------------------------ stages, one by one


def time_each(items: Iterable[Any], fn, times: StageTimes, stage: str, warmup: int) -> list[Any]:
    """Calls ``fn(item)`` for each item, recording durations after the first ``warmup``; returns results."""
    clock = time.perf_counter
    out = []
    for i, item in enumerate(items):
        start = clock()
        out.append(fn(item))
        if i >= warmup:
            times.add(stage, clock() - start)
    return out


def bench_decode(video: Path, count: int, warmup: int, times: StageTimes, height: int | None = None) -> None:
    """Times reading (decoding) each frame of ``video`` (and the resize to ``height``, if any)."""
    from posecheck.sources.video_file import VideoFileSource

    clock = time.perf_counter
    with VideoFileSource(video) as source:
        iterator = iter(source)
        for i in range(count):
            start = clock()
            item = next(iterator, None)
            if item is None:
                break
            resize_to_height(item[1], height)
            if i >= warmup:
                times.add("decode", clock() - start)


# ------------------------------------------------------------------------------------------- engine


@dataclass
class EngineRate:
    """The engine alone on recorded traces of one exercise."""

    traces: list[str]
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return per_second(self.frames, self.seconds)

    @property
    def us_per_frame(self) -> float:
        return 1e6 * self.seconds / self.frames if self.frames else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"traces": self.traces, "frames": self.frames, "seconds": self.seconds, "fps": self.fps,
                "us_per_frame": self.us_per_frame}


def traces_for_exercise(exercise: str, traces_dir: Path) -> list[Path]:
    """Recorded traces of ``exercise``: files named after it, ``<id with _ for ->_<NN>.npz``.

    The shared clips are named ``cat_cow_01.mp4`` for exercise ``cat-cow``, and their traces keep the name.
    """
    stem = exercise.replace("-", "_")
    return sorted(p for p in traces_dir.glob(f"{stem}_*.npz") if p.stem[len(stem) + 1:].isdigit())


def bench_engine(traces_dir: Path, specs_dir: Path | None = None, repeat: int = 3,
                 exercises: list[str] | None = None) -> tuple[dict[str, EngineRate], dict[str, str]]:
    """Frames per second of the engine alone, per exercise, on that exercise's recorded traces.

    Poses are built from the traces before timing starts, so only what the loop asks of the engine per
    frame (``update``, then the ``state`` snapshot) and ``finish`` are timed. Each exercise runs ``repeat``
    times; the fastest run is kept (the others lost time to the rest of the machine, not to the engine).

    Returns:
        exercise -> its rate (exercises without traces are left out), and exercise -> why it was skipped
        (a spec that does not load).
    """
    from posecheck.engine.engine import Engine
    from posecheck.errors import SpecError
    from posecheck.specs import SpecRegistry
    from posecheck.core.trace import Trace

    registry = SpecRegistry.default(specs_dir)
    results: dict[str, EngineRate] = {}
    skipped: dict[str, str] = {}
    for exercise in exercises or registry.ids():
        paths = traces_for_exercise(exercise, traces_dir)
        if not paths:
            continue
        try:
            spec = registry.load(exercise)
        except SpecError as exc:
            skipped[exercise] = "; ".join(exc.problems)
            log.warning("engine benchmark skips %s: %s", exercise, skipped[exercise])
            continue
        recordings = [list(Trace.load(p).poses()) for p in paths]
        frames = sum(len(r) for r in recordings)
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            for poses in recordings:
                engine = Engine(spec)
                for t, pose in poses:
                    engine.update(t, pose)
                    engine.state  # noqa: B018 - the loop reads the snapshot after every update
                engine.finish(poses[-1][0] if poses else 0.0)
            best = min(best, time.perf_counter() - start)
        results[exercise] = EngineRate([p.name for p in paths], frames, best)
    return results, skipped


# ------------------------------------------------------------------------------------------ start-up


_FIRST_FRAME_PROBE = """
import json, sys, time
start = time.perf_counter()
import cv2
from posecheck.sources.video_file import VideoFileSource
from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
from posecheck.estimators.model import resolve_model
imported = time.perf_counter()
model = resolve_model(sys.argv[2] or None)
resolved = time.perf_counter()
with VideoFileSource(sys.argv[1]) as source, MediaPipeEstimator(model.path) as estimator:
    opened = time.perf_counter()
    t, frame = next(iter(source))
    estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
    done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "resolve_model_s": resolved - imported, "model_origin": model.origin,
                  "open_estimator_s": opened - resolved, "first_frame_s": done - opened, "total_s": done - start}))
"""


def _run_probe(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _FIRST_FRAME_PROBE, *args], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"first-frame probe failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def posecheck_command() -> list[str]:
    """How to start ``posecheck`` in a new process: the installed console script, which is what users start;
    without one (a bare checkout), the same entry point through this Python."""
    script = Path(sys.executable).parent / "posecheck"
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from posecheck.cli.app import main; main()"]


def bench_startup(video: Path, model: Path | None = None, help_runs: int = 3) -> dict[str, Any]:
    """Start-up costs, each in a new process.

    Returns:
        ``help_s``: median wall time of ``posecheck --help``;
        ``first_frame_runs``: two runs (a new process each) of importing, resolving the model (``model`` or
        the packaged one, checksum checked), opening the estimator and analysing the first frame, in seconds.
        The second finds the libraries and the model file in the operating system's file cache.
    """
    env = dict(os.environ)
    command = posecheck_command()
    help_times = []
    for _ in range(help_runs):
        start = time.perf_counter()
        out = subprocess.run([*command, "--help"], capture_output=True, env=env, timeout=120, check=False)
        help_times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise RuntimeError(f"posecheck --help failed: {out.stderr.decode(errors='replace').strip()[-300:]}")
    result: dict[str, Any] = {"help_s": statistics.median(help_times)}
    env.pop("POSECHECK_MODEL", None)
    model_arg = str(model) if model else ""
    result["first_frame_runs"] = [_run_probe([str(video), model_arg], env) for _ in range(2)]
    return result


# ------------------------------------------------------------------------------------------ end to end


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


def run_end_to_end(source: Any, model_path: Path, spec: Any, frames: int, warmup: int, out_dir: Path, *,
                   prefetch: int, background: int, rss_every: int = 30) -> EndToEnd:
    """The loop ``posecheck analyze`` runs (estimator, engine, annotated video), on the first ``frames`` frames.

    Args:
        source: an opened frame source (a `VideoFileSource`, a `CameraSource`...); the caller closes it.
        model_path: the ``.task`` model.
        spec: the `ExerciseSpec` for the engine and the overlay.
        frames, warmup: frames to run, of which the first ``warmup`` are not timed.
        out_dir: where the annotated video goes.
        prefetch, background: passed to `run_session` (0, 0: the serial loop).
    """
    from functools import partial

    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.sinks.render import annotate
    from posecheck.runtime.session import run_session
    from posecheck.sinks.video import VideoWriterSink

    first = FirstFrames(source, frames)
    clock = ClockSink(warmup, rss_every)
    # The same sinks as `posecheck analyze` (minus the progress bar), then the stopwatch.
    sinks = [VideoWriterSink(out_dir / f"annotated-{prefetch}-{background}.mp4", partial(annotate, spec=spec, copy=False)),
             clock]
    engine = TimedEngine(Engine(spec), warmup)
    with MediaPipeEstimator(model_path) as estimator:
        result = run_session(first, estimator, engine, sinks, exercise=spec.id, prefetch=prefetch,
                             background=background)
    latencies = [done - read for done, read in zip(clock.done_at, first.read_at)][warmup:]
    return EndToEnd(prefetch, background, clock.clock.rate(), StageSummary.of(latencies), result.frames,
                    result.frames_with_pose, clock.rss_mb, peak_rss_mb(), StageSummary.of(engine.seconds))


# ------------------------------------------------------------------------------------ stages, in a row


def bench_stages(video: Path | None, frames_bgr: list[np.ndarray], model_path: Path, spec: Any, warmup: int,
                 out_dir: Path) -> tuple[dict[str, StageSummary], list[str]]:
    """Each stage of the loop alone, one after the other, over the same frames.

    Returns:
        stage -> durations (ms per frame), and notes on stages that could not be measured here.
    """
    import cv2

    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.sinks.render import annotate
    from posecheck.sinks.video import open_video_writer

    times = StageTimes()
    notes: list[str] = []
    if video is not None:
        bench_decode(video, len(frames_bgr), warmup, times)
    else:
        notes.append("decode: not measured for a camera (frames arrive at the camera's pace)")
    # Timed without keeping the results: holding hundreds of new frames would make every conversion fault
    # in fresh memory, which the loop (where each frame's memory is soon reused) does not pay.
    time_each(frames_bgr, lambda f: cv2.cvtColor(f, cv2.COLOR_BGR2RGB) is None, times, "convert", warmup)
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames_bgr]
    with MediaPipeEstimator(model_path) as estimator:
        poses = time_each(list(enumerate(rgb)), lambda item: estimator.estimate(item[1], item[0] / 30.0),
                          times, "infer", warmup)
    del rgb
    engine = Engine(spec)

    def engine_step(item: tuple[int, Any]) -> Any:
        i, pose = item
        engine.update(i / 30.0, pose)
        return engine.state  # the loop reads the state snapshot after every update

    states = time_each(list(enumerate(poses)), engine_step, times, "engine", warmup)
    canvases = [f.copy() for f in frames_bgr]
    drawn = time_each(list(zip(canvases, poses, states)), lambda a: annotate(a[0], a[1], a[2], spec, copy=False),
                      times, "draw", warmup)
    h, w = frames_bgr[0].shape[:2]
    writer = open_video_writer(out_dir / "stages.mp4", "mp4v", 30.0, (w, h))
    if writer is None:  # a writer that did not open takes frames and does nothing: the timing would be void
        raise InputError(f"cannot write video {out_dir / 'stages.mp4'} (codec mp4v) for the encode stage")
    try:
        time_each(drawn, writer.write, times, "encode", warmup)
    finally:
        writer.release()
    del canvases, drawn
    if os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin"):
        from posecheck.sinks.gui import OpenCvWindow, gui_thread

        # OpenCV's windows must stay on one thread for the life of the process (posecheck.sinks.gui), so this is
        # timed as a call to that thread. The window is made like the live one (with a window that imshow
        # makes by itself, Qt warns at exit that its timers belong to another thread).
        window, gui = OpenCvWindow("posecheck bench"), gui_thread()

        def display(frame: np.ndarray) -> None:
            window.show(frame)
            window.poll_key(1)

        try:
            gui.call(window.open, (w, h))
            time_each(frames_bgr, lambda f: gui.call(display, f), times, "display", warmup)
        finally:
            gui.call(window.close)
    else:
        notes.append("display: not measured (no DISPLAY; run under xvfb-run to include it)")
    return times.summary(), notes


# ------------------------------------------------------------------------------------------ the report


@dataclass
class BenchConfig:
    """What ``posecheck bench`` measures.

    Attributes:
        source: a video file, or None with ``camera``.
        camera: a camera index, or None with ``source``.
        frames: frames per run (warm-up included).
        warmup: frames at the start of each run that are not timed.
        exercise: spec id for the engine and the overlay.
        model: a ``.task`` file, or None for the bundled model.
        rounds: how often the loop and the bare estimator are run, alternately; the fastest of each is
            compared (what the machine can do when nothing else gets in the way).
        stages, engine, startup: whether to run those parts.
        specs_dir: extra spec folder.
        traces_dir: recorded traces for the engine-alone benchmark.
    """

    source: Path | None = None
    camera: int | None = None
    frames: int = DEFAULT_FRAMES
    warmup: int = DEFAULT_WARMUP
    exercise: str = "cat-cow"
    model: Path | None = None
    rounds: int = 1
    stages: bool = True
    engine: bool = True
    startup: bool = True
    specs_dir: Path | None = None
    traces_dir: Path | None = None


def default_traces_dir() -> Path | None:
    """tests/data/traces of a source checkout, if there is one."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "tests" / "data" / "traces"
        if candidate.is_dir() and (parent / "pyproject.toml").is_file():
            return candidate
    return None


def _open_source(config: BenchConfig):
    if config.source is not None:
        from posecheck.sources.video_file import VideoFileSource

        return VideoFileSource(config.source)
    from posecheck.sources.camera import CameraSource

    return CameraSource(config.camera or 0)


def _capture_frames(config: BenchConfig, count: int) -> list[np.ndarray]:
    """The frames the bare estimator and the stages run on: the source's first ``count`` (BGR)."""
    with _open_source(config) as source:
        return [frame for _, frame in islice(source, count)]


def run_bench(config: BenchConfig, progress=None) -> dict[str, Any]:
    """Runs the benchmark and returns the report (JSON-ready; see the module docstring).

    Args:
        config: what to measure.
        progress: called with a short text before each part (for a status line), or None.

    Raises:
        InputError: no source, an unreadable source, or too many frames to hold in memory.
        CameraError, ModelError, UnknownExerciseError: as the commands that use them.
    """
    import cv2

    from posecheck.estimators.model import resolve_model
    from posecheck.specs import load_spec_by_id

    say = progress or (lambda text: None)
    if config.source is None and config.camera is None:
        raise InputError("give a video with --source FILE or a camera with --camera N")
    if config.frames <= config.warmup + 1:
        raise InputError(f"--frames ({config.frames}) must be larger than the warm-up ({config.warmup}) + 1")
    # Read once: an unknown exercise fails now, not after a minute, and every run uses the same spec.
    spec = load_spec_by_id(config.exercise, config.specs_dir)
    model = resolve_model(config.model)
    report: dict[str, Any] = {"machine": machine_info(),
                              "model": {"path": str(model.path), "origin": model.origin, "sha256": model.sha256}}

    with tempfile.TemporaryDirectory(prefix="posecheck-bench-") as tmp:
        out_dir = Path(tmp)
        pipelined: list[EndToEnd] = []
        serial: list[EndToEnd] = []
        raw: list[Rate] = []  # the bare estimator as the operating system schedules it
        raw_pinned: list[Rate] = []  # and pinned like the pipelined loop pins it (when it does)
        split = plan_split()
        frames_bgr: list[np.ndarray] | None = None
        for round_index in range(max(1, config.rounds)):
            # The pipelined loop runs first, before any frame is held in memory, so that its peak memory is
            # the loop's own.
            say(f"end to end, pipelined (round {round_index + 1})")
            with _open_source(config) as source:
                info = source.info
                pipelined.append(run_end_to_end(source, model.path, spec, config.frames, config.warmup,
                                                out_dir, prefetch=DEFAULT_PREFETCH, background=DEFAULT_BACKGROUND))
            if frames_bgr is None:
                # BGR frames and their RGB copies
                check_preload(info.width, info.height, config.frames, copies=2, purpose="the bare-estimator run")
                say("decoding frames for the bare estimator")
                frames_bgr = _capture_frames(config, config.frames)
            say(f"bare estimator (round {round_index + 1})")
            frames_rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames_bgr]
            plain, on_one_core = bench_bare_estimator(frames_rgb, model.path, config.warmup)
            raw.append(plain)
            if on_one_core is not None:
                raw_pinned.append(on_one_core)
            del frames_rgb
            say(f"end to end, serial (round {round_index + 1})")
            with _open_source(config) as source:
                serial.append(run_end_to_end(source, model.path, spec, config.frames, config.warmup,
                                             out_dir, prefetch=0, background=0))

        best_pipe = max(pipelined, key=lambda r: r.rate.fps)
        best_serial = max(serial, key=lambda r: r.rate.fps)
        # The loop is compared with the faster way of running the bare estimator, so that pinning cannot make
        # the ratio look better than the estimator alone could do.
        best_raw = max(raw + raw_pinned, key=lambda r: r.fps)
        report["source"] = {"path": str(config.source) if config.source else f"camera:{config.camera}",
                            "width": info.width, "height": info.height, "fps": info.fps,
                            "frames": config.frames, "warmup": config.warmup, "exercise": config.exercise}
        report["end_to_end_fps"] = best_pipe.rate.fps
        report["estimator_fps"] = best_raw.fps
        report["ratio"] = best_pipe.rate.fps / best_raw.fps if best_raw.fps else 0.0
        report["serial_fps"] = best_serial.rate.fps
        report["serial_ratio"] = best_serial.rate.fps / best_raw.fps if best_raw.fps else 0.0
        report["latency_ms"] = {"median": best_pipe.latency.median_ms, "p95": best_pipe.latency.p95_ms}
        report["cpu_share"] = best_pipe.rate.cpu_share
        report["estimator_cpu_share"] = best_raw.cpu_share
        report["estimator_unpinned_fps"] = max(r.fps for r in raw)
        report["estimator_pinned_fps"] = max((r.fps for r in raw_pinned), default=None)
        report["cores"] = ({"estimator": sorted(split.estimator), "helpers": sorted(split.helpers)}
                           if split is not None else None)
        report["engine_in_loop_ms"] = summary_dict(best_pipe.engine_ms)
        frame_ms = 1000.0 / best_pipe.rate.fps if best_pipe.rate.fps else 0.0
        # The engine as the loop runs it, against the loop's frame time: the figure the 1 % target is about.
        report["engine_share"] = best_pipe.engine_ms.mean_ms / frame_ms if frame_ms else 0.0
        report["peak_rss_mb"] = pipelined[0].peak_rss_mb
        report["runs"] = {"end_to_end": [r.to_dict() for r in pipelined], "serial": [r.to_dict() for r in serial],
                          "estimator": [r.to_dict() for r in raw],
                          "estimator_pinned": [r.to_dict() for r in raw_pinned]}

        if config.stages:
            say("stages one by one")
            stages, notes = bench_stages(config.source, frames_bgr or [], model.path, spec,
                                         min(config.warmup, len(frames_bgr or []) // 2), out_dir)
            report["stages"] = {name: summary_dict(s) for name, s in stages.items()}
            report["stage_notes"] = notes
            if "engine" in stages and frame_ms:
                # The engine alone (warm caches) against the same frame time, for comparison.
                report["engine_share_alone"] = stages["engine"].mean_ms / frame_ms
        del frames_bgr

    if config.engine:
        traces_dir = config.traces_dir or default_traces_dir()
        if traces_dir is None:
            report["engine"] = {}
            report["engine_note"] = "no traces folder (tests/data/traces of a source checkout)"
        else:
            say("engine alone on recorded traces")
            rates, skipped = bench_engine(traces_dir, config.specs_dir)
            report["engine"] = {k: v.to_dict() for k, v in rates.items()}
            if skipped:
                report["engine_skipped"] = skipped
    if config.startup:
        say("start-up")
        if config.source is not None:
            report["startup"] = bench_startup(config.source, config.model)
        else:
            report["startup"] = {"note": "start-up is measured on a video file (--source)"}
    return report


def check_preload(width: int, height: int, count: int, copies: int = 1, *, purpose: str = "the benchmark") -> None:
    """Raises InputError if ``copies`` decoded copies of ``count`` frames would not fit in MAX_PRELOAD_BYTES
    (``purpose`` names the run that needs them, for the message)."""
    frame_bytes = width * height * 3 * copies
    if count * frame_bytes > MAX_PRELOAD_BYTES:
        raise InputError(f"{count} frames of {width}x{height} need {count * frame_bytes / 1e9:.1f} GB in memory for "
                         f"{purpose}; use --frames {MAX_PRELOAD_BYTES // frame_bytes} or fewer")


def format_report(report: dict[str, Any]) -> str:
    """The report as plain text for a terminal."""
    m = report["machine"]
    src = report["source"]
    lines = [
        f"posecheck bench - {src['path']} ({src['width']}x{src['height']}), {src['frames']} frames "
        f"({src['warmup']} warm-up), exercise {src['exercise']}",
        f"machine: {m['cpu']}, {m['cores']} cores, load {m['load_1min']:.1f}; python {m['python']}, "
        f"mediapipe {m['mediapipe']}, opencv {m['opencv']}; commit {m['commit']}; {m['date']}"
        if m.get("load_1min") is not None else f"machine: {m['cpu']}, {m['cores']} cores",
        f"model: {report['model']['path']} ({report['model']['origin']})",
        "",
        f"bare estimator     {report['estimator_fps']:7.1f} fps  (CPU {report['estimator_cpu_share']:.2f} cores)"
        + (f"  [as scheduled {report['estimator_unpinned_fps']:.1f}, on one core {report['estimator_pinned_fps']:.1f}]"
           if report.get("estimator_pinned_fps") else ""),
        f"end to end         {report['end_to_end_fps']:7.1f} fps  = {report['ratio']:.2f} x estimator"
        f"  (CPU {report['cpu_share']:.2f} cores)",
        f"serial loop        {report['serial_fps']:7.1f} fps  = {report['serial_ratio']:.2f} x estimator",
        f"latency per frame  median {report['latency_ms']['median']:.1f} ms, p95 {report['latency_ms']['p95']:.1f} ms"
        f"  (read -> written)",
        f"peak memory        {report['peak_rss_mb']:.0f} MB",
        f"engine in the loop median {report['engine_in_loop_ms']['median_ms']:.3f} ms, "
        f"mean {report['engine_in_loop_ms']['mean_ms']:.3f} ms = {100 * report['engine_share']:.2f} % of the frame time",
    ]
    if "stages" in report:
        lines += ["", "stage (alone)      median ms   p95 ms"]
        for name, s in report["stages"].items():
            lines.append(f"  {name:<16} {s['median_ms']:9.3f} {s['p95_ms']:8.3f}")
        lines += [f"  ({note})" for note in report.get("stage_notes", [])]
        if "engine_share_alone" in report:
            lines.append(f"engine alone against the loop's frame time: {100 * report['engine_share_alone']:.2f} %")
    if report.get("engine"):
        lines += ["", "engine alone       frames    fps       us/frame"]
        for name, e in report["engine"].items():
            lines.append(f"  {name:<16} {e['frames']:6d} {e['fps']:9.0f} {e['us_per_frame']:9.1f}")
    startup = report.get("startup")
    if startup and "help_s" in startup:
        first, second = startup["first_frame_runs"]
        lines += ["", f"posecheck --help   {startup['help_s'] * 1000:.0f} ms",
                  f"first frame        {first['total_s']:.2f} s in a new process "
                  f"(model {first['model_origin']}, found and checked in {first['resolve_model_s'] * 1000:.0f} ms), "
                  f"{second['total_s']:.2f} s the second time; "
                  f"import {second['import_s']:.2f} s, open estimator {second['open_estimator_s']:.2f} s, "
                  f"first estimate {second['first_frame_s'] * 1000:.0f} ms"]
    return "\n".join(lines) + "\n"
