"""Frame sources: video files, cameras and video files paced like a camera. Yield (t, frame_bgr) in time order.

Frame times come from the frame index and the file's frame rate, not from the decoder's position
property, because that property is unreliable on some containers and we need replay to be exact.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posecheck.runtime.cores import join_helper_cores
from posecheck.errors import CameraError, InputError

log = logging.getLogger(__name__)

# Used when a file or camera reports no usable frame rate (some webm/mjpeg files report 0 or 1000).
FALLBACK_FPS = 30.0
# Frame rates a real camera or video has; anything outside is a container's or driver's placeholder.
PLAUSIBLE_FPS = (1.0, 240.0)


def usable_fps(reported: float) -> float | None:
    """The reported frame rate if it is plausible, else None."""
    return reported if PLAUSIBLE_FPS[0] <= reported <= PLAUSIBLE_FPS[1] else None


@dataclass
class VideoInfo:
    path: Path
    fps: float
    frame_count: int  # as reported by the container; may be 0 or approximate
    width: int
    height: int

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps if self.fps else 0.0


class VideoFileSource:
    """Decodes a video file frame by frame.

    Raises InputError (one line, the reason) for a missing file, a file that is not a video, or one
    whose first frame cannot be decoded.
    """

    def __init__(self, path: str | Path) -> None:
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise InputError(f"{self.path}: not a file")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"{self.path}: not a video file OpenCV can read")
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps = usable_fps(reported)
        if fps is None:
            log.warning("%s reports %.1f fps; assuming %.0f", self.path, reported, FALLBACK_FPS)
            fps = FALLBACK_FPS
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"{self.path}: no frame could be decoded (corrupt or empty video)")
        self._first: np.ndarray | None = first
        self.info = VideoInfo(
            path=self.path,
            fps=fps,
            frame_count=max(int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0),
            width=first.shape[1],
            height=first.shape[0],
        )

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        index = 0
        if self._first is not None:
            yield 0.0, self._first
            self._first = None
            index = 1
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            yield index / self.info.fps, frame
            index += 1

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> "VideoFileSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------ live frame sources
#
# A live view must show what is in front of the camera now. Cameras deliver frames at their own pace
# whatever the loop does, so each live source reads in its own thread into a one-frame slot: the loop
# always gets the newest frame, a frame the loop had no time for is dropped (counted, never queued), and
# a slow frame (inference hiccup, window redraw) delays one picture instead of adding lasting latency.

#: Camera indices probed to tell the user which cameras do open when the requested one does not.
PROBED_CAMERA_INDICES = range(6)
#: A camera that delivers no frame for this long is treated as gone (unplugged, taken by another app).
#: Webcams deliver every 33-200 ms; two seconds also rides out auto-exposure stalls after plug-in.
CAMERA_STALL_SECONDS = 2.0
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


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silences OpenCV's own log lines (one WARN/ERROR pair per camera index that fails to open)."""
    import cv2

    # OpenCV 4 has the log level on cv2 itself; OpenCV 5 (what mediapipe 1.x brings) only in cv2.utils.logging.
    if hasattr(cv2, "setLogLevel"):
        log_api = cv2
    else:
        import cv2.utils.logging as log_api
    previous = log_api.getLogLevel()
    log_api.setLogLevel(0)
    try:
        yield
    finally:
        log_api.setLogLevel(previous)


def _open_camera(index: int, width: int | None = None, height: int | None = None):
    """A ``cv2.VideoCapture`` on camera ``index`` with the requested size, or None if it does not open."""
    import cv2

    with _quiet_opencv():
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            return None
    if width:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    if height:
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    # Ask the driver to keep one buffer, so a read returns a current frame (ignored by backends without it).
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return cap


def probe_cameras(indices: Iterable[int] = PROBED_CAMERA_INDICES) -> list[int]:
    """Camera indices that open and deliver a frame (for error messages). Takes well under a second when
    there is no camera; a present camera costs its start-up time."""
    found = []
    for index in indices:
        cap = _open_camera(index)
        if cap is None:
            continue
        try:
            with _quiet_opencv():
                ok, _ = cap.read()
            if ok:
                found.append(index)
        finally:
            cap.release()
    return found


def describe_cameras(indices: list[int]) -> str:
    """``"cameras that open: 0, 2"`` or ``"no camera found"``."""
    if not indices:
        return "no camera found"
    return "cameras that open: " + ", ".join(str(i) for i in indices)


class CameraSource(_LatestFrameSource):
    """Frames from a camera, newest first: ``(t, frame_bgr)`` with t in seconds since the first frame.

    Frame times come from a monotonic clock at the moment each frame was read, minus the time spent
    paused, so the engine sees real durations (holds, tempo) even when frames are dropped.

    Args:
        index: the camera index (0 = the default camera).
        width, height: requested capture size in pixels; the camera picks its nearest mode, and
            ``info`` reports the size actually delivered.

    Raises:
        CameraError: the camera does not open or gives no first frame; the message lists the camera
            indices that do open (or says that no camera was found).
    """

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None) -> None:
        super().__init__()
        import cv2

        self.index = index
        self._cap = _open_camera(index, width, height)
        first = None
        if self._cap is not None:
            with _quiet_opencv():
                ok, first = self._cap.read()
            if not ok or first is None:
                self._cap.release()
                self._cap = None
        if self._cap is None:
            others = [i for i in probe_cameras() if i != index]
            raise CameraError(f"camera {index} cannot be opened; {describe_cameras(others)}")
        self.info = VideoInfo(
            path=Path(f"camera:{index}"),
            fps=usable_fps(float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)) or FALLBACK_FPS,
            frame_count=0,
            width=first.shape[1],
            height=first.shape[0],
        )

    def _run(self) -> None:
        clock = time.perf_counter
        t0: float | None = None
        last_frame_at = clock()
        while not self._stop.is_set():
            ok, frame = self._cap.read()
            now = clock()
            if not ok or frame is None:
                if now - last_frame_at > CAMERA_STALL_SECONDS:
                    self.end_reason = f"camera {self.index} stopped delivering frames (unplugged or in use?)"
                    log.warning("%s", self.end_reason)
                    return
                self._stop.wait(_POLL_S)
                continue
            last_frame_at = now
            # Keep reading while paused (and drop what is read), so that resuming shows the present
            # rather than the driver's old buffers.
            if self.paused:
                continue
            if t0 is None:
                t0 = now
            self._slot.put((now - t0 - self.paused_seconds(now), frame))

    def close(self) -> None:
        """Stops the reader thread and releases the camera."""
        if self._join() and self._cap is not None:
            self._cap.release()
            self._cap = None


class PacedFileSource(_LatestFrameSource):
    """A video file played like a camera: frames become available at the file's own frame rate.

    Used to run the live view without a camera (and to test it): decoding runs in a thread, frame k is
    handed over at ``start + k / (fps * speed)`` wall-clock time, and when the loop falls behind the
    frames it had no time for are dropped, as a camera would. Frame times are the file's own
    (``k / fps``, exactly as `VideoFileSource` gives them), so a loop that keeps up sees the same frames
    with the same times as an analysis of the file, and counts the same reps.

    The clock starts when the loop comes back for the second frame: the first frame carries one-off
    costs (model warm-up, the window appearing) that a person in front of a camera would not notice, but
    that would drop the opening frames of a short clip.

    Args:
        path: the video file.
        speed: playback speed (1.0 = the file's frame rate).

    Raises:
        InputError: as `VideoFileSource`.
    """

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        super().__init__()
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._file = VideoFileSource(path)
        self.info = self._file.info
        self._clock_started = threading.Event()
        self._clock_start = 0.0

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for taken, item in enumerate(super().__iter__(), start=1):
            yield item
            if taken == 1:
                # The loop is back for frame 2: frame 1 is due now.
                self._clock_start = time.perf_counter() - 1.0 / (self.info.fps * self.speed)
                self._clock_started.set()

    def _run(self) -> None:
        interval = 1.0 / (self.info.fps * self.speed)
        decoded = 0
        for index, (t, frame) in enumerate(self._file):
            decoded = index + 1
            if index >= 1:
                while not self._clock_started.wait(_POLL_S):
                    if self._stop.is_set():
                        return
                if not self._wait_for_turn(self._clock_start + index * interval):
                    return
            if self._stop.is_set():
                return
            self._slot.put((t, frame))
        if 0 < decoded < self.info.frame_count:
            # A file cut off (or damaged) part-way ends like one played to its end; say so, as analyze does.
            self.end_reason = (f"{self.info.path}: decoding stopped after {decoded} of {self.info.frame_count} frames "
                               "(truncated or corrupt file)")
            log.warning("%s", self.end_reason)

    def _wait_for_turn(self, due: float) -> bool:
        """Sleeps until ``due`` (perf_counter seconds) shifted by the time spent paused; False if stopped.

        Shifting the whole schedule by the paused time makes playback continue where it stopped.
        """
        while self._wait_until_resumed():
            now = time.perf_counter()
            remaining = due + self.paused_seconds(now) - now
            if remaining <= 0:
                return True
            self._stop.wait(min(remaining, _POLL_S))
        return False

    def close(self) -> None:
        """Stops the reader thread and closes the file."""
        if self._join():
            self._file.close()
