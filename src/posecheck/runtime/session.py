"""The one loop: frame source -> pose estimator -> engine -> sinks.

``posecheck analyze``, ``live`` and ``bench`` are all this loop with different sources (video file, trace,
camera, paced file) and sinks (report, annotated video, trace recorder, window, terminal, progress bar).
The loop does as little as possible per frame; everything else is a sink.

Protocols:
  * `FrameSource`: iterable of ``(t, frame_bgr or None)`` in time order, with ``.info`` and ``close()``.
    A None frame means "no picture" (trace replay): the estimator is then asked by time alone.
  * `Sink`: ``on_start(info)``, ``on_frame(frame_bgr, pose, state, events)``, ``on_finish(summary)``.
    ``on_finish`` is called whatever ends the loop (end of source, Ctrl-C, `StopSession`, an error),
    and for every sink even when another sink's ``on_finish`` fails, so files being written are always
    closed properly. When a sink's ``on_start`` fails, the sinks started before it are finished and the
    rest are never started. A sink may raise `StopSession` to end the loop
    early (a window's "q" key) without it counting as an error. A sink that wants every event also
    defines ``on_end(state, events)``: just before ``on_finish`` it gets the events that ending the
    session causes (`Engine.end`: the ``HoldFinished`` of a hold still running), when there are any.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from posecheck.runtime.cores import pinned, plan_split
from posecheck.engine.events import EngineState, Event, SessionSummary
from posecheck.errors import InputError
from posecheck.runtime.pipeline import (
    DEFAULT_BACKGROUND,
    DEFAULT_PREFETCH,
    BackgroundSink,
    Prefetched,
    finish_each,
    frames_with_rgb,
    in_background,
    reads_ahead,
)
from posecheck.core.pose import Pose
from posecheck.core.trace import Trace

log = logging.getLogger(__name__)


class StopSession(Exception):
    """Raised by a sink (or a source) to end the session normally, e.g. when the user closes the window."""


class SourceInfo(Protocol):
    """What a frame source knows about itself (`posecheck.sources.capture.VideoInfo` satisfies it)."""

    path: Path
    fps: float
    frame_count: int  # 0 when unknown (cameras)
    width: int
    height: int


@runtime_checkable
class FrameSource(Protocol):
    """Frames in time order: ``(t seconds, frame (H, W, 3) uint8 BGR or None)``."""

    info: SourceInfo

    def __iter__(self) -> Iterator[tuple[float, np.ndarray | None]]: ...

    def close(self) -> None: ...


class Estimator(Protocol):
    """`posecheck.estimators.base.PoseEstimator`, as far as the loop needs it."""

    def estimate(self, frame_rgb: np.ndarray | None, t: float) -> Pose | None: ...


class Engine(Protocol):
    """`posecheck.engine.engine.Engine`, as far as the loop needs it."""

    def update(self, t: float, pose: Pose | None) -> list[Event]: ...

    @property
    def state(self) -> EngineState: ...

    def end(self, t_end: float) -> list[Event]: ...

    def finish(self, t_end: float) -> SessionSummary: ...


@dataclass(frozen=True)
class SessionInfo:
    """Given to every sink before the first frame.

    Attributes:
        exercise: the spec id.
        source: the source's path or name, for display.
        fps: frames per second of the source.
        frame_size: (width, height) in pixels.
        frame_count: frames the source says it has; 0 when unknown (a camera).
    """

    exercise: str
    source: str
    fps: float
    frame_size: tuple[int, int]
    frame_count: int


@runtime_checkable
class Sink(Protocol):
    """Receives the session as it happens. See the module docstring for the call order."""

    def on_start(self, info: SessionInfo) -> None: ...

    def on_frame(
        self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]
    ) -> None: ...

    def on_finish(self, summary: SessionSummary) -> None: ...


@dataclass(frozen=True)
class SessionResult:
    """What the loop saw, beside the engine's summary.

    Attributes:
        info: as given to the sinks.
        summary: the engine's summary (reps, holds, cues, gaps).
        frames: frames processed.
        frames_with_pose: frames in which the estimator found a person.
        first_t, last_t: time of the first and last processed frame, seconds (0 when there were none).
        interrupted: the user pressed Ctrl-C; the results cover the frames up to that point.
        stopped: a sink or the source ended the session early on purpose (`StopSession`).
        wall_seconds: processing time, for speed reports (never part of an analysis report).
    """

    info: SessionInfo
    summary: SessionSummary
    frames: int
    frames_with_pose: int
    first_t: float
    last_t: float
    interrupted: bool
    stopped: bool
    wall_seconds: float

    @property
    def ended_early(self) -> bool:
        """True when the source delivered fewer frames than it announced (a truncated or corrupt file)."""
        return (
            not self.interrupted
            and not self.stopped
            and self.info.frame_count > 0
            and self.frames < self.info.frame_count
        )

    @property
    def processing_fps(self) -> float:
        return self.frames / self.wall_seconds if self.wall_seconds > 0 else 0.0


def run_session(
    source: FrameSource,
    estimator: Estimator,
    engine: Engine,
    sinks: Sequence[Sink] = (),
    *,
    exercise: str,
    prefetch: int = DEFAULT_PREFETCH,
    background: int = DEFAULT_BACKGROUND,
    pin_cores: bool = True,
) -> SessionResult:
    """Runs every frame of ``source`` through the estimator and the engine and hands the results to the sinks.

    Ctrl-C ends the loop like the end of the source does: the engine is finished and every sink gets
    ``on_finish``, so a partial report can still be written. The caller owns ``source`` and ``estimator``
    (open and close them around this call).

    Args:
        source: frames in time order.
        estimator: turns a frame (RGB) into a pose. An estimator with ``needs_frames = False`` (trace
            replay) is asked by time only and gets None instead of a frame.
        engine: a fresh engine for the exercise.
        sinks: called in order for every frame.
        exercise: the spec id (passed on to the sinks).
        prefetch: frames decoded and converted to RGB ahead of the estimator in a thread
            (`posecheck.runtime.pipeline.PrefetchSource`); 0 reads each frame when it is needed. Sources that read in
            their own thread (cameras, paced files) are never prefetched: that would only queue stale frames.
        background: frames that may wait for the sinks that declare ``background_safe = True`` (file
            writers), which then run on a worker thread (`posecheck.runtime.pipeline.BackgroundSink`) while the
            estimator works on the next frame; 0 calls every sink in the loop. Other sinks (windows) always
            run in the loop. A background sink's error or `StopSession` reaches the loop up to
            ``background`` frames later.
        pin_cores: when the loop has helper threads and runs a real estimator, keep the estimator's threads
            on one core and the helpers on another (`posecheck.runtime.cores` says why); False leaves it to the
            operating system (as several clips in parallel processes do).

    Returns:
        The summary and frame counts. Exceptions other than KeyboardInterrupt and `StopSession`
        propagate after the sinks were finished.
    """
    info = source.info
    session_info = SessionInfo(
        exercise=exercise,
        source=str(info.path),
        fps=float(info.fps),
        frame_size=(int(info.width), int(info.height)),
        frame_count=int(info.frame_count),
    )
    # Decoding ahead and drawing/encoding behind overlap with inference on another core (pipeline.py says why).
    needs_frames = getattr(estimator, "needs_frames", True)
    frames_in = frames_with_rgb(source, prefetch, to_rgb=needs_frames)
    sinks = in_background(sinks, background)
    has_helpers = prefetch > 0 or reads_ahead(source) or any(isinstance(sink, BackgroundSink) for sink in sinks)
    split = plan_split() if (pin_cores and needs_frames and has_helpers) else None
    with pinned(split):
        return _loop(frames_in, estimator, engine, sinks, session_info)


def _start_each(sinks: Sequence[Sink], session_info: SessionInfo, engine: Engine) -> None:
    """Starts the sinks in order. If one cannot start (a window that does not open), the session ends
    before its first frame: the sinks started before it are finished (a recording's file is closed as a
    valid, empty video rather than left unreadable), then its error is raised."""
    started: list[Sink] = []
    try:
        for sink in sinks:
            sink.on_start(session_info)
            started.append(sink)
    except BaseException:
        try:
            finish_each(started, engine.finish(0.0))
        except Exception as exc:  # noqa: BLE001 - the start's error is the one to report
            log.error("closing the sinks after a failed start failed too: %r", exc)
        raise


def _loop(frames_in: Generator[Prefetched, None, None], estimator: Estimator,
          engine: Engine, sinks: Sequence[Sink], session_info: SessionInfo) -> SessionResult:
    """run_session's loop, once the source and the sinks are wrapped for pipelining."""
    _start_each(sinks, session_info, engine)
    log.info("session started: %s, %s frames at %.2f fps", session_info.source, session_info.frame_count or "?",
             session_info.fps)

    frames = frames_with_pose = 0
    first_t = last_t = 0.0
    interrupted = stopped = False
    started = time.perf_counter()
    try:
        for t, frame, frame_rgb in frames_in:
            pose = estimator.estimate(frame_rgb, t)
            events = engine.update(t, pose)
            state = engine.state
            for sink in sinks:
                sink.on_frame(frame, pose, state, events)
            if frames == 0:
                first_t = t
            last_t = t
            frames += 1
            frames_with_pose += pose is not None
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted after %d frames (%.1f s)", frames, last_t)
    except StopSession:
        stopped = True
    finally:
        # Also on errors: sinks close their files, so what was written so far stays readable.
        frames_in.close()  # stops the prefetch thread, if any (the caller closes the source)
        wall = time.perf_counter() - started
        try:
            _hand_on_end_events(engine, sinks, last_t)
        finally:
            summary = engine.finish(last_t)
            finish_each(sinks, summary)
    return SessionResult(
        info=session_info,
        summary=summary,
        frames=frames,
        frames_with_pose=frames_with_pose,
        first_t=first_t,
        last_t=last_t,
        interrupted=interrupted,
        stopped=stopped,
        wall_seconds=wall,
    )


def _hand_on_end_events(engine: Engine, sinks: Sequence[Sink], t_end: float) -> None:
    """Ends the engine and hands the events that causes to the sinks with an ``on_end``.

    A hold still running when the session ends (a plank held until "q") finishes here; without this its
    ``HoldFinished`` would only be in the summary, and an event-following sink (the terminal view) would
    show every hold finish but the last.
    """
    events = engine.end(t_end)
    if not events:
        return
    state = engine.state
    for sink in sinks:
        on_end = getattr(sink, "on_end", None)
        if on_end is not None:
            on_end(state, events)


# ------------------------------------------------------------------------------------------------ sinks


def open_video_writer(path: Path, fourcc: str, fps: float, frame_size: tuple[int, int]):
    """A ``cv2.VideoWriter`` for ``path`` (``fourcc`` codec, ``frame_size`` (width, height) pixels), or None
    when OpenCV cannot write it (the caller says why, in its own words)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, frame_size)
    if not writer.isOpened():
        writer.release()
        return None
    return writer


class VideoWriterSink:
    """Writes every frame (optionally drawn on first) to a video file.

    Frames that are None (trace replay without canvases) are skipped. Drawing and encoding run on the
    session's worker thread (``background_safe``): this sink touches nothing but its frame and its file,
    so ``draw`` must not share state with anything else either (`posecheck.sinks.render.annotate` does not).

    Args:
        path: output file; ``.mp4`` with the ``mp4v`` codec (the pip OpenCV wheels cannot encode H.264).
        draw: ``draw(frame_bgr, pose, state) -> frame_bgr``, e.g. `posecheck.sinks.render.annotate` bound to
            a spec; None writes the frames as they come.
        fourcc: four-character codec code.
    """

    background_safe = True

    def __init__(
        self,
        path: str | Path,
        draw: Callable[[np.ndarray, Pose | None, EngineState], np.ndarray] | None = None,
        *,
        fourcc: str = "mp4v",
    ) -> None:
        self.path = Path(path)
        self.draw = draw
        self.fourcc = fourcc
        self._writer = None
        self.frames_written = 0
        #: Why writing stopped early ("Type: message"), or None. A failed frame stops the video, not the
        #: session: the file keeps the frames before it, and the count and report go on.
        self.failure: str | None = None

    def on_start(self, info: SessionInfo) -> None:
        self._writer = open_video_writer(self.path, self.fourcc, info.fps, info.frame_size)
        if self._writer is None:
            raise InputError(f"cannot write video {self.path} (codec {self.fourcc}, {info.frame_size[0]}x{info.frame_size[1]})")

    def on_frame(
        self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]
    ) -> None:
        if frame_bgr is None or self._writer is None or self.failure is not None:
            return
        try:
            self._writer.write(self.draw(frame_bgr, pose, state) if self.draw else frame_bgr)
        except Exception as exc:  # noqa: BLE001 - the caller reports it in its own words once the report is saved
            self.failure = f"{type(exc).__name__}: {exc}"
            log.info("writing %s stopped after %d frames (%s); the analysis goes on without it", self.path,
                     self.frames_written, self.failure)
            return
        self.frames_written += 1

    def on_finish(self, summary: SessionSummary) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class PoseRecorderSink:
    """Keeps every frame's ``(t, pose or None)`` in ``poses`` (the eval's baseline and variants use them)."""

    #: Only appends to its own list: may run on the session's worker thread.
    background_safe = True

    def __init__(self) -> None:
        self.poses: list[tuple[float, Pose | None]] = []
        self.info: SessionInfo | None = None

    def on_start(self, info: SessionInfo) -> None:
        self.info = info
        self.poses = []

    def on_frame(
        self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]
    ) -> None:
        self.poses.append((state.t, pose))

    def on_finish(self, summary: SessionSummary) -> None:
        """Nothing to close: the poses stay in memory."""


class TraceRecorderSink(PoseRecorderSink):
    """Records every frame's pose and saves them as a `Trace` (``--save-trace``) when the session ends.

    Args:
        path: the ``.npz`` file to write.
        meta: extra metadata stored in the trace (source name, model, version).
    """

    def __init__(self, path: str | Path, meta: dict | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.meta = dict(meta or {})

    def on_finish(self, summary: SessionSummary) -> None:
        assert self.info is not None, "on_start was not called"
        trace = Trace.from_poses(self.poses, self.info.frame_size, self.info.fps, self.meta)
        trace.save(self.path)
        log.info("saved trace %s (%d frames)", self.path, len(trace))
