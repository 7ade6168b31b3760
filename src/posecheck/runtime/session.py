"""The one loop: frame source -> pose estimator -> engine -> sinks.

``posecheck analyze``, ``live`` and ``bench`` are all this loop with different sources (video file, trace,
camera, paced file) and sinks (report, annotated video, trace recorder, window, terminal, progress bar).
The loop does as little as possible per frame; everything else is a sink.

Protocols (defined in `posecheck.runtime.protocols`, so that what plugs into the loop need not import it):
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
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from posecheck.engine.events import SessionSummary
from posecheck.runtime.cores import pinned, plan_split
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
from posecheck.runtime.protocols import (
    Engine,
    Estimator,
    FrameSource,
    SessionInfo,
    Sink,
    SourceInfo,
    StopSession,
)

#: The loop's interface, protocols included: a caller of run_session finds all of it here.
__all__ = [
    "Engine",
    "Estimator",
    "FrameSource",
    "SessionInfo",
    "SessionResult",
    "Sink",
    "SourceInfo",
    "StopSession",
    "run_session",
]

log = logging.getLogger(__name__)


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


def start_sinks(sinks: Sequence[Sink], session_info: SessionInfo, engine: Engine) -> None:
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
    start_sinks(sinks, session_info, engine)
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
            if sinks:  # the state snapshot is for the sinks: an analysis with none (eval, a cluster task) skips it
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
            hand_on_end_events(engine, sinks, last_t)
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


def hand_on_end_events(engine: Engine, sinks: Sequence[Sink], t_end: float) -> None:
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
