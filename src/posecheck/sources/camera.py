"""Cameras as frame sources: `CameraSource` (newest frame first, from a reader thread), and probing which
cameras open, for the error message when the requested one does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from posecheck.errors import CameraError
from posecheck.sources.latest_frame import _POLL_S, _LatestFrameSource
from posecheck.sources.video_file import FALLBACK_FPS, VideoInfo, usable_fps

log = logging.getLogger(__name__)

#: Camera indices probed to tell the user which cameras do open when the requested one does not.
PROBED_CAMERA_INDICES = range(6)
#: A camera that delivers no frame for this long is treated as gone (unplugged, taken by another app).
#: Webcams deliver every 33-200 ms; two seconds also rides out auto-exposure stalls after plug-in.
CAMERA_STALL_SECONDS = 2.0


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
