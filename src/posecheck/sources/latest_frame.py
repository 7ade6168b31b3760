"""The live sources' common machinery: a reader thread hands the newest frame to the loop through a one-frame slot.

A live view must show what is in front of the camera now. Cameras deliver frames at their own pace
whatever the loop does, so each live source reads in its own thread into a one-frame slot: the loop
always gets the newest frame, a frame the loop had no time for is dropped (counted, never queued), and
a slow frame (inference hiccup, window redraw) delays one picture instead of adding lasting latency.

`_LatestFrameSource` and `_POLL_S` are private to this package: `posecheck.sources.camera` and
`posecheck.sources.paced_file` build on them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import numpy as np

from posecheck.runtime.cores import join_helper_cores
from posecheck.sources.video_file import VideoInfo

log = logging.getLogger(__name__)

#: How long close() waits for a reader thread blocked inside the capture backend before giving up on it.
_JOIN_TIMEOUT_S = 3.0
#: How often a sleeping or waiting thread wakes to notice stop/pause requests; paces nothing.
_POLL_S = 0.05


class LatestFrameSlot:
    """A one-frame mailbox between a reader thread and the loop: a new frame replaces an untaken one.

    ``put`` never blocks (the camera never waits for the loop); ``take`` blocks until a frame newer than
    the last one taken arrives, or the producer ended. ``dropped`` counts frames replaced before anyone
    took them.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[float, np.ndarray] | None = None
        self._item_put_at = 0.0
        self._ended = False
        self._error: BaseException | None = None
        self.dropped = 0
        #: ``time.perf_counter()`` when the frame last taken was put (to measure capture-to-display latency).
        self.taken_put_at: float | None = None

    def put(self, item: tuple[float, np.ndarray]) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._item_put_at = time.perf_counter()
            self._cond.notify_all()

    def end(self, error: BaseException | None = None) -> None:
        """Marks the end of the frames; ``error`` (if any) is raised by ``take`` after the last frame."""
        with self._cond:
            self._ended = True
            if error is not None and self._error is None:
                self._error = error
            self._cond.notify_all()

    def take(self) -> tuple[float, np.ndarray] | None:
        """The newest untaken frame, waiting for one if needed; None once the producer ended."""
        with self._cond:
            while self._item is None and not self._ended:
                self._cond.wait()
            if self._item is not None:
                item, self._item = self._item, None
                self.taken_put_at = self._item_put_at
                return item
            if self._error is not None:
                raise self._error
            return None


class _LatestFrameSource:
    """Base of the live sources: a reader thread fills a `LatestFrameSlot`; iterating takes from it.

    Subclasses implement ``_run`` (the thread body: read frames, ``self._slot.put`` them, return at the
    end or when ``self._stop`` is set) and set ``self.info``.

    Control (safe to call from any thread, e.g. a window's key handler or a signal handler):
    ``stop()`` ends the iteration after the frame in hand, ``pause()`` / ``resume()`` freeze the source's
    clock so that paused time never reaches the engine (a hold timer must not run while paused).
    """

    info: VideoInfo
    #: Reads in its own thread: the session loop must not queue frames ahead of it (posecheck.runtime.pipeline).
    reads_ahead = True

    def __init__(self) -> None:
        self._slot = LatestFrameSlot()
        self._stop = threading.Event()
        self._resumed = threading.Event()
        self._resumed.set()
        # Re-entrant: stop() may run in a signal handler on a thread that is inside pause() or resume().
        self._pause_lock = threading.RLock()
        self._paused_at: float | None = None
        self._paused_before = 0.0  # seconds spent in pauses that have ended
        self._thread: threading.Thread | None = None
        self._iterated = False
        #: Why the frames ended when it was not the user's doing (camera unplugged), else None.
        self.end_reason: str | None = None

    @property
    def frames_dropped(self) -> int:
        """Frames delivered by the camera or the file's clock that the loop had no time for."""
        return self._slot.dropped

    @property
    def captured_at(self) -> float | None:
        """``time.perf_counter()`` at which the frame last handed to the loop was captured (read or due)."""
        return self._slot.taken_put_at

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def stop(self) -> None:
        """Ends the iteration: the loop gets no further frame and finishes normally."""
        self._stop.set()
        self.resume()
        self._slot.end()

    def pause(self) -> None:
        with self._pause_lock:
            if self._paused_at is None:
                self._paused_at = time.perf_counter()
                self._resumed.clear()

    def resume(self) -> None:
        with self._pause_lock:
            if self._paused_at is not None:
                self._paused_before += time.perf_counter() - self._paused_at
                self._paused_at = None
            self._resumed.set()

    def paused_seconds(self, now: float) -> float:
        """Seconds spent paused up to ``now`` (a ``time.perf_counter()`` value), the running pause included."""
        with self._pause_lock:
            running = now - self._paused_at if self._paused_at is not None else 0.0
            return self._paused_before + max(running, 0.0)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        if self._iterated:
            raise RuntimeError(f"{type(self).__name__} can be iterated only once")
        self._iterated = True
        self._thread = threading.Thread(target=self._guarded_run, name=f"posecheck-{type(self).__name__}", daemon=True)
        self._thread.start()
        while not self._stop.is_set():
            item = self._slot.take()
            if item is None or self._stop.is_set():
                return
            yield item

    def _guarded_run(self) -> None:
        join_helper_cores()
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the loop's thread by take()
            self._slot.end(exc)
        else:
            self._slot.end()

    def _run(self) -> None:
        raise NotImplementedError

    def _wait_until_resumed(self) -> bool:
        """Blocks while paused; False if stopped meanwhile."""
        while not self._resumed.wait(_POLL_S):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def _join(self) -> bool:
        """Stops and joins the reader thread; False if it is stuck (then its capture must not be released)."""
        self.stop()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(_JOIN_TIMEOUT_S)
        if thread.is_alive():
            log.warning("%s: reader thread did not stop within %.0f s", type(self).__name__, _JOIN_TIMEOUT_S)
            return False
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError
