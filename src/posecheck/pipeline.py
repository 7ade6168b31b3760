"""Pipelining wrappers for the one frame loop: decode ahead of the estimator, draw and encode behind it.

Why: the pose estimator keeps about one core busy. A serial loop adds decoding, colour conversion, drawing
and encoding to the same thread and loses about a third of the estimator's frame rate (see
``shared/MEDIAPIPE.md``). OpenCV releases the GIL while it decodes, converts, draws and encodes, so doing
those in two helper threads overlaps them with inference on the other core.

The wrappers do not loop over a session themselves: :mod:`posecheck.session` stays the one frame loop.

- :class:`PrefetchSource` wraps a frame source: a thread reads and converts frames ahead into a bounded
  queue, the loop receives ``(t, frame_bgr, frame_rgb)``.
- :class:`BackgroundWorker` runs submitted calls in order on one thread behind a bounded queue, re-raises
  the first error in the caller, and flushes on close. :class:`BackgroundSink` uses it to run a sink's
  per-frame drawing/encoding off the loop's thread.

Bounded queues give back-pressure: a slow stage slows the loop rather than letting frames pile up in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

log = logging.getLogger(__name__)

# How often a blocked thread wakes to check whether it was asked to stop, in seconds. It only bounds how
# long close() can wait on a thread blocked in a full or empty queue; it does not pace any frame.
_POLL_S = 0.05


class Prefetched(NamedTuple):
    """One frame read ahead by :class:`PrefetchSource`.

    Attributes:
        t: seconds from the start of the source.
        bgr: (H, W, 3) uint8 frame as OpenCV decodes it (for drawing and encoding).
        rgb: (H, W, 3) uint8 RGB copy (what the pose estimator takes), or None when conversion is off.
    """

    t: float
    bgr: np.ndarray
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

    def stages(self) -> list[str]:
        return list(self._samples)

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


def _bgr_to_rgb(frame_bgr: np.ndarray) -> np.ndarray:
    import cv2

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


class BackgroundWorker:
    """Runs submitted calls one at a time, in submission order, on a background thread.

    ``submit`` blocks while ``depth`` calls are already waiting (back-pressure). The first exception a call
    raises is re-raised in the caller by the next ``submit``, ``flush`` or ``close``; calls submitted after a
    failure are dropped, since their output (a video being written, a window) is already broken.

    Args:
        depth: how many calls may wait (>= 1).
        name: the thread's name (shows in tracebacks and profilers).
        times: where to record each call's duration, under ``stage``; or None.
    """

    def __init__(self, depth: int = 4, *, name: str = "posecheck-worker", times: StageTimes | None = None,
                 stage: str = "background") -> None:
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.times = times
        self.stage = stage
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple, dict] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._error_raised = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        clock = time.perf_counter
        while True:
            task = self._queue.get()
            try:
                if task is None:
                    return
                if self._error is None:
                    fn, args, kwargs = task
                    start = clock()
                    try:
                        fn(*args, **kwargs)
                    except BaseException as exc:  # noqa: BLE001 - re-raised in the submitting thread
                        self._error = exc
                    if self.times is not None:
                        self.times.add(self.stage, clock() - start)
            finally:
                self._queue.task_done()

    def _raise_error(self) -> None:
        # The error stays set (the thread keeps dropping calls) but is raised to the caller only once.
        if self._error is not None and not self._error_raised:
            self._error_raised = True
            # Later calls were dropped and the output is broken: stop taking work.
            self._closed = True
            self._shutdown()
            raise self._error

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queues ``fn(*args, **kwargs)``; raises the error of an earlier call if one failed."""
        self._raise_error()
        if self._closed:
            raise RuntimeError("BackgroundWorker is closed")
        self._queue.put((fn, args, kwargs))

    def flush(self) -> None:
        """Waits until every submitted call has run; raises the first error any of them raised."""
        if self._thread.is_alive():
            self._queue.join()
        self._raise_error()

    def _shutdown(self) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        """Runs what is queued, stops the thread, and raises the first error (if any)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._shutdown()

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
