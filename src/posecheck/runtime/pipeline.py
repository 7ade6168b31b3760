"""Pipelining for the one frame loop: decode ahead of the estimator, draw and encode behind it.

Why: the pose estimator keeps about one core busy. A serial loop adds decoding, colour conversion, drawing
and encoding to the same thread and loses about a third of the estimator's frame rate (see
``shared/MEDIAPIPE.md``). Those steps run in OpenCV, and MediaPipe's ``detect_for_video``, OpenCV's
decoding, conversion, drawing and encoding all release the GIL (measured: a Python thread ticking every
0.5 ms kept a median gap of 0.6 ms while ``detect_for_video`` calls of 54 ms ran), so doing them in two
helper threads overlaps them with inference on the other core.

The wrappers do not loop over a session themselves: :mod:`posecheck.runtime.session` stays the one frame loop.

- :class:`PrefetchSource` wraps a frame source: a thread reads and converts frames ahead into a bounded
  queue, the loop receives ``(t, frame_bgr, frame_rgb)``. :func:`frames_with_rgb` is what the session
  iterates (prefetched unless the source already reads in its own thread, as live sources do).
- :class:`BackgroundWorker` runs submitted calls in order on one thread behind a bounded queue, re-raises
  the first error in the caller, and flushes on close. :class:`BackgroundSink` uses it to run the sinks
  that declare ``background_safe`` (the annotated-video writer, the trace recorder) off the loop's thread;
  :func:`in_background` picks them.

(Several clips at once, one per worker process, is :mod:`posecheck.runtime.clips`.)

Bounded queues give back-pressure: a slow stage slows the loop rather than letting frames pile up in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from posecheck.runtime.cores import join_helper_cores
from posecheck.runtime.protocols import StopSession

log = logging.getLogger(__name__)

# How often a blocked thread wakes to check whether it was asked to stop, in seconds. It only bounds how
# long close() can wait on a thread blocked in a full or empty queue; it does not pace any frame.
_POLL_S = 0.05


class Prefetched(NamedTuple):
    """One frame read ahead by :class:`PrefetchSource`.

    Attributes:
        t: seconds from the start of the source.
        bgr: (H, W, 3) uint8 frame as OpenCV decodes it (for drawing and encoding); None for a source
            without pictures (trace replay).
        rgb: (H, W, 3) uint8 RGB copy (what the pose estimator takes), or None when conversion is off or
            there is no picture.
    """

    t: float
    bgr: np.ndarray | None
    rgb: np.ndarray | None


class StageTimes:
    """Per-stage durations recorded by the pipeline threads (and anyone else), for the benchmarks.

    Keeps a running count and total per stage plus the most recent ``keep`` samples for medians, so a
    session of any length uses bounded memory. Appends from several threads are safe under the GIL.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._keep = keep
        self._samples: dict[str, deque[float]] = {}
        self._count: dict[str, int] = {}
        self._total: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        """Records one duration (seconds) for ``stage``."""
        if stage not in self._samples:
            self._samples[stage] = deque(maxlen=self._keep)
            self._count[stage] = 0
            self._total[stage] = 0.0
        self._samples[stage].append(seconds)
        self._count[stage] += 1
        self._total[stage] += seconds

    def summary(self) -> dict[str, StageSummary]:
        """Stage name -> count, mean, median and 95th percentile of its durations (milliseconds)."""
        return {stage: StageSummary.of(list(self._samples[stage]), self._count[stage], self._total[stage])
                for stage in self._samples}


@dataclass(frozen=True)
class StageSummary:
    """Durations of one stage. ``count`` and ``total_s`` cover every call; the percentiles the kept samples."""

    count: int
    total_s: float
    mean_ms: float
    median_ms: float
    p95_ms: float

    @classmethod
    def of(cls, samples_s: list[float], count: int | None = None, total_s: float | None = None) -> StageSummary:
        """Summarises durations given in seconds."""
        count = len(samples_s) if count is None else count
        total_s = float(sum(samples_s)) if total_s is None else total_s
        if not samples_s:
            return cls(count, total_s, 0.0, 0.0, 0.0)
        ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
        return cls(count, total_s, total_s * 1000.0 / max(count, 1), float(np.median(ms)), float(np.percentile(ms, 95)))


class _End:
    """Queue marker: the producer finished (``error`` set when it failed)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def _bgr_to_rgb(frame_bgr: np.ndarray | None) -> np.ndarray | None:
    if frame_bgr is None:  # trace replay without canvases: no picture
        return None
    import cv2  # kept out of module scope so that trace replay never needs it

    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)


class PrefetchSource:
    """Reads (and converts) frames ahead of the loop in a background thread.

    Wraps any iterable of ``(t, frame_bgr)`` (a video file, a camera, a paced source). The thread iterates
    the wrapped source, converts each frame to RGB, and keeps up to ``depth`` frames ready in a queue;
    iterating this object yields :class:`Prefetched` frames in the source's order. An exception raised by
    the source (or the conversion) is re-raised by the iteration, after the frames read before it.

    Ownership: closing this wrapper stops the thread and then closes the wrapped source (if it has a
    ``close``). Attributes it does not define (``info``, ...) are read from the wrapped source.

    For a live camera keep ``depth`` small (1-2): every queued frame is latency the user can see.

    Args:
        source: iterable of (t seconds, (H, W, 3) uint8 BGR frame).
        depth: how many frames may wait in the queue (>= 1).
        to_rgb: convert each frame to RGB in the thread (the estimator's input); False yields rgb=None.
        times: where to record "decode" and "convert" durations, or None.
    """

    #: It reads in its own thread: frames_with_rgb() does not wrap it again.
    reads_ahead = True

    def __init__(self, source: Iterable[tuple[float, np.ndarray]], depth: int = 4, *, to_rgb: bool = True,
                 times: StageTimes | None = None) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.source = source
        self.depth = depth
        self.to_rgb = to_rgb
        self.times = times
        self._queue: queue.Queue[Prefetched | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found normally: expose the wrapped source's (info, path...).
        if name == "source":  # not yet set (during unpickling or a failed __init__)
            raise AttributeError(name)
        return getattr(self.source, name)

    def __iter__(self) -> Iterator[Prefetched]:
        if self._started:
            raise RuntimeError("a PrefetchSource can be iterated only once")
        self._started = True
        self._thread = threading.Thread(target=self._produce, name="posecheck-prefetch", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    return
                yield item
        finally:
            self._stop_thread()

    def _produce(self) -> None:
        join_helper_cores()
        try:
            clock = time.perf_counter
            iterator = iter(self.source)
            while not self._stop.is_set():
                start = clock()
                try:
                    t, frame_bgr = next(iterator)
                except StopIteration:
                    break
                decoded = clock()
                frame_rgb = _bgr_to_rgb(frame_bgr) if self.to_rgb else None
                if self.times is not None:
                    self.times.add("decode", decoded - start)
                    if self.to_rgb:
                        self.times.add("convert", clock() - decoded)
                if not self._put(Prefetched(t, frame_bgr, frame_rgb)):
                    return
            self._put(_End())
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(_End(exc))

    def _put(self, item: Prefetched | _End) -> bool:
        """Puts into the bounded queue, giving up (False) if the consumer asked to stop."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _stop_thread(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        # Drop frames nobody will read, so their memory goes now rather than with this object.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        """Stops the reading thread, then closes the wrapped source."""
        self._stop_thread()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> PrefetchSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Task(NamedTuple):
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    result: Future | None  # set for call(): the caller waits on it; None for submit()


class BackgroundWorker:
    """Runs submitted calls one at a time, in submission order, on one background thread.

    ``submit`` queues a call and returns; it blocks while ``depth`` calls are already waiting
    (back-pressure). The first exception a submitted call raises is re-raised, once, in the caller by the
    next ``submit``, ``flush`` or ``close``; submitted calls after a failure are dropped, since their output
    (a video being written, a window) is already broken, and later ``submit``s raise RuntimeError.

    ``call`` runs a function on the same thread after everything queued before it and returns its result
    (or raises its exception) in the caller. It runs even after a failure, so that cleanup (closing the
    video file) happens on the thread that did the work.

    Args:
        depth: how many submitted calls may wait (>= 1).
        name: the thread's name (shows in tracebacks and profilers).
        times: where to record each submitted call's duration, under ``stage``; or None.
    """

    def __init__(self, depth: int = 4, *, name: str = "posecheck-worker", times: StageTimes | None = None,
                 stage: str = "background") -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.times = times
        self.stage = stage
        self._queue: queue.Queue[_Task | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._error_raised = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        join_helper_cores()
        clock = time.perf_counter
        while True:
            task = self._queue.get()
            try:
                if task is None:
                    return
                if task.result is not None:
                    if task.result.set_running_or_notify_cancel():
                        try:
                            task.result.set_result(task.fn(*task.args, **task.kwargs))
                        except BaseException as exc:  # noqa: BLE001 - handed to the caller of call()
                            task.result.set_exception(exc)
                elif self._error is None:
                    start = clock()
                    try:
                        task.fn(*task.args, **task.kwargs)
                    except BaseException as exc:  # noqa: BLE001 - re-raised in the submitting thread
                        self._error = exc
                    if self.times is not None:
                        self.times.add(self.stage, clock() - start)
            finally:
                self._queue.task_done()

    @property
    def failed(self) -> bool:
        """True once a submitted call raised."""
        return self._error is not None

    def _raise_error(self) -> None:
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            raise self._error

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("BackgroundWorker is closed")

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queues ``fn(*args, **kwargs)``; raises the error of an earlier call if one failed."""
        self._check_open()
        self._raise_error()
        if self._error is not None:
            raise RuntimeError(f"an earlier background call failed: {self._error!r}")
        self._queue.put(_Task(fn, args, kwargs, None))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs ``fn(*args, **kwargs)`` on the worker thread after the queued calls; returns its result."""
        self._check_open()
        result: Future = Future()
        self._queue.put(_Task(fn, args, kwargs, result))
        return result.result()

    def flush(self) -> None:
        """Waits until every queued call has run; raises the first error a submitted call raised."""
        if self._thread.is_alive():
            self._queue.join()
        self._raise_error()

    def close(self) -> None:
        """Runs what is queued, stops the thread, and raises the first error (if not raised already)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            if self._thread.is_alive() and self._thread is not threading.current_thread():
                self._queue.put(None)
                self._thread.join()

    def __enter__(self) -> BackgroundWorker:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        # Already unwinding from an error: stop without masking it by a second one.
        try:
            self.close()
        except BaseException:  # noqa: BLE001
            log.debug("background worker error while unwinding from another error", exc_info=True)


class BackgroundSink:
    """Runs session sinks on a background thread, so drawing and encoding overlap with pose inference.

    Wraps a list of sinks (see `posecheck.runtime.protocols.Sink`) and calls them in their order, frame after frame,
    on one worker thread: all of a sink's calls (``on_start``, ``on_frame``, ``on_finish``) happen on that
    same thread, which matters to GUI toolkits and keeps every sink single-threaded.

    - ``on_start`` waits for the sinks' ``on_start`` and raises its error (e.g. an unwritable video file)
      right away.
    - ``on_frame`` queues the frame and returns. A sink's error (including `StopSession`, a window's
      "quit") surfaces in the loop at a later ``on_frame`` (up to ``depth`` frames later), or at
      ``on_finish``.
    - ``on_end`` (the session's end events) is queued behind the frames for the sinks that define it.
    - ``on_finish`` lets the queued frames finish, then calls every sink's ``on_finish`` (also after a sink
      failed, so files get closed), stops the thread, and raises the first error not raised yet (but not a
      `StopSession` from the last frames: the loop has ended already).

    The frame, pose, state and events handed to ``on_frame`` must not be changed by the loop afterwards:
    the session never does (each frame comes fresh from its source; state is a frozen snapshot).

    Args:
        sinks: the sinks to run, in order.
        depth: frames that may wait for the sinks (>= 1). Keep it small for a live view: a queued frame is
            one the user sees late.
        times: where to record each frame's time in the sinks, under "sinks"; or None.
    """

    def __init__(self, sinks: Sequence[Any], depth: int = 2, *, times: StageTimes | None = None) -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.sinks = list(sinks)
        self.depth = depth
        self.times = times
        self._worker: BackgroundWorker | None = None

    def on_start(self, info: Any) -> None:
        self._worker = BackgroundWorker(self.depth, name="posecheck-sinks", times=self.times, stage="sinks")
        try:
            for sink in self.sinks:
                self._worker.call(sink.on_start, info)
        except BaseException:
            self._worker.close()
            self._worker = None
            raise

    def _on_frame(self, frame_bgr: np.ndarray | None, pose: Any, state: Any, events: list[Any]) -> None:
        for sink in self.sinks:
            sink.on_frame(frame_bgr, pose, state, events)

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Any, state: Any, events: list[Any]) -> None:
        if self._worker is None:
            raise RuntimeError("BackgroundSink.on_frame before on_start")
        self._worker.submit(self._on_frame, frame_bgr, pose, state, events)

    def on_end(self, state: Any, events: list[Any]) -> None:
        takers = [sink for sink in self.sinks if hasattr(sink, "on_end")]
        if self._worker is None or not takers:
            return
        try:
            self._worker.submit(self._on_end, takers, state, events)
        except StopSession:
            pass  # a sink asked to stop on one of the last frames: the loop has ended anyway

    @staticmethod
    def _on_end(takers: list[Any], state: Any, events: list[Any]) -> None:
        for sink in takers:
            sink.on_end(state, events)

    def on_finish(self, summary: Any) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            worker.flush()
        except StopSession:
            pass  # a sink asked to stop on one of the last frames: the loop has ended anyway
        finally:
            try:
                finish_each(self.sinks, summary, call=worker.call)
            finally:
                worker.close()


def finish_each(sinks: Sequence[Any], summary: Any, *, call: Callable[..., Any] | None = None) -> None:
    """Calls every sink's ``on_finish``, also after one of them raised; then raises the first error.

    One sink failing to close (a full disk under a recording) must not leave the sinks after it unclosed: a
    video file unreadable, a live window open with nothing left to end it.

    Args:
        sinks: the sinks, finished in order.
        summary: handed to each ``on_finish``.
        call: runs ``call(sink.on_finish, summary)`` (a worker's thread); None calls it here.
    """
    first_error: BaseException | None = None
    for sink in sinks:
        try:
            if call is None:
                sink.on_finish(summary)
            else:
                call(sink.on_finish, summary)
        except BaseException as exc:  # noqa: BLE001 - raised below, once every sink is finished
            if first_error is None:
                first_error = exc
            else:
                log.error("%s.on_finish failed too: %r", type(sink).__name__, exc)
    if first_error is not None:
        raise first_error


# ------------------------------------------------------------------------------- what the session uses

#: Frames decoded ahead of the estimator by default (each 720p frame is ~2.8 MB BGR + 2.8 MB RGB).
DEFAULT_PREFETCH = 4
#: Frames that may wait for the sinks by default: enough to ride out an uneven encode, few enough that a
#: live window never shows a picture more than a couple of frames late.
DEFAULT_BACKGROUND = 2


def reads_ahead(source: Any) -> bool:
    """True for sources that already read in their own thread (cameras, paced files, PrefetchSource).

    Prefetching those would only queue stale frames: a live source hands over its newest frame and drops
    the ones the loop had no time for, which a queue in front of the loop would defeat.
    """
    return bool(getattr(source, "reads_ahead", False))


def frames_with_rgb(source: Iterable[tuple[float, np.ndarray | None]], prefetch: int = DEFAULT_PREFETCH, *,
                    to_rgb: bool = True, times: StageTimes | None = None) -> Iterator[Prefetched]:
    """The session's frames as ``(t, frame_bgr, frame_rgb)``, read and converted ahead when that helps.

    With ``prefetch > 0`` and a source that does not read ahead itself, a :class:`PrefetchSource` thread
    decodes and converts up to ``prefetch`` frames ahead; otherwise each frame is converted as it comes.
    Closing the returned generator stops the thread (the source itself is left open: its owner closes it).

    Args:
        source: (t seconds, (H, W, 3) uint8 BGR frame or None) in time order.
        prefetch: frames to read ahead (0: none).
        to_rgb: whether the estimator needs RGB frames; False (trace replay) yields rgb=None.
        times: where the prefetch thread records "decode" and "convert" durations, or None.
    """
    # A source that reads ahead itself would only queue stale frames; one without pictures (a trace replayed
    # without a canvas) has nothing to decode, and a thread would only add two queue hand-offs a frame.
    if prefetch > 0 and not reads_ahead(source) and getattr(source, "has_pictures", True):
        # Iterating (not closing) the wrapper: its thread stops with the iteration, the source stays open.
        yield from PrefetchSource(source, prefetch, to_rgb=to_rgb, times=times)
        return
    for t, frame_bgr in source:
        yield Prefetched(t, frame_bgr, _bgr_to_rgb(frame_bgr) if to_rgb else None)


def background_safe(sink: Any) -> bool:
    """True for sinks that declare ``background_safe = True``: they may run on a worker thread.

    A sink declares it when it only writes its own outputs (a video file, a trace) and shares no state with
    other sinks or with the loop. Sinks that do not declare it stay on the loop's thread. That default
    matters: OpenCV's windows must stay on one thread for the life of the process (showing a window from
    a second worker thread, after a first one ended, hangs: `posecheck.sinks.gui` keeps one), and a window's keys
    act on the source and the engine, which the loop's thread is using.
    """
    return bool(getattr(sink, "background_safe", False))


def in_background(sinks: Sequence[Any], depth: int = DEFAULT_BACKGROUND, *,
                  times: StageTimes | None = None) -> list[Any]:
    """The sinks for the loop: the background-safe ones moved behind one :class:`BackgroundSink`.

    The sinks that stay on the loop's thread keep their order and come first; the background-safe ones keep
    their order among themselves on the worker thread. With ``depth <= 0`` or no background-safe sink, the
    sinks are returned as they are.
    """
    safe = [sink for sink in sinks if background_safe(sink)]
    if depth <= 0 or not safe:
        return list(sinks)
    in_loop = [sink for sink in sinks if not background_safe(sink)]
    return [*in_loop, BackgroundSink(safe, depth, times=times)]
