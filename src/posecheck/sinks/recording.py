"""The ``--record`` sink: saves the live view, as the window shows it, to a video that keeps real time."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, SessionSummary
from posecheck.errors import InputError
from posecheck.runtime.pipeline import BackgroundWorker
from posecheck.runtime.protocols import SessionInfo
from posecheck.sinks.live_view import LiveOverlay, LiveView

log = logging.getLogger(__name__)

#: Frames that may wait for the recorder's worker (drawing and encoding); every frame is recorded.
RECORD_QUEUE_DEPTH = 4


class RecordingSink:
    """Saves the annotated live view as a video (``--record``), keeping real time.

    A live loop shows fewer frames than the camera delivers when it falls behind; writing them one to one
    would play back too fast. Each frame is written as many times as needed to keep the video's clock
    (frame k at k / fps) with the session's, so a minute of session is a minute of video.

    Threads: the loop's thread gets each frame's `LiveView` from the overlay and decides how many times to
    write it; a worker thread (``posecheck-record``) draws and encodes it, while the loop goes on with the
    next frame. The worker touches only the immutable view and its own video file. Every frame is written
    (a bounded queue: the loop waits if the worker falls behind).

    Args:
        path: output file; ``.mp4`` is written in H.264 through PyAV (browsers and phones play it; OpenCV's
            pip wheels have no H.264 encoder), or with OpenCV's ``mp4v`` when PyAV's encoder is missing;
            ``.avi`` with MJPG.
        overlay: the same overlay the window uses (one view per frame for both).
    """

    def __init__(self, path: str | Path, overlay: LiveOverlay) -> None:
        self.path = Path(path)
        self.overlay = overlay
        self._writer = None
        self._worker: BackgroundWorker | None = None
        self._fps = 0.0
        self._t0: float | None = None
        self._frames_queued = 0  # loop's thread
        #: Frames written to the file (by the worker; final after on_finish).
        self.frames_written = 0
        #: Why the recording stopped early ("Type: message"), or None. A failed write stops the recording,
        #: not the session: the file keeps the frames before it, and the count and report go on.
        self.failure: str | None = None

    def on_start(self, info: SessionInfo) -> None:
        from posecheck.sinks.h264 import open_recording_writer

        fourcc = "MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"
        self._fps = info.fps
        self._writer = open_recording_writer(self.path, info.fps, info.frame_size, fourcc)
        if self._writer is None:
            raise InputError(f"cannot write video {self.path} (codec {fourcc})")
        self._worker = BackgroundWorker(RECORD_QUEUE_DEPTH, name="posecheck-record")

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        if self._worker is None or frame_bgr is None or self.failure is not None:
            return
        view = self.overlay.view_of(frame_bgr, pose, state, events)
        if self._t0 is None:
            self._t0 = state.t
        due = int(round((state.t - self._t0) * self._fps)) + 1  # frames the video should hold by now
        copies = max(1, due - self._frames_queued)
        self._frames_queued += copies
        try:
            self._worker.submit(self._write, view, copies)  # raises an earlier write's error
        except Exception as exc:  # noqa: BLE001 - the count matters more than the video: the session goes on
            self._stop_recording(exc)

    def _stop_recording(self, error: Exception) -> None:
        self.failure = f"{type(error).__name__}: {error}"
        log.error("the recording stopped after %d frames (%s); the session goes on without it",
                  self.frames_written, self.failure)

    def _write(self, view: LiveView, copies: int) -> None:
        """On the worker: draws the view and writes it ``copies`` times."""
        image = view.draw()
        for _ in range(copies):
            self._writer.write(image)
            self.frames_written += 1

    def on_finish(self, summary: SessionSummary) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            worker.flush()  # raises a failed write not raised yet
        except Exception as exc:  # noqa: BLE001 - kept in `failure`, for the caller to report
            if self.failure is None:
                self._stop_recording(exc)
        finally:
            worker.call(self._release)
            worker.close()
        if self.failure is None:
            log.info("saved the session video %s (%d frames)", self.path, self.frames_written)

    def _release(self) -> None:
        self._writer.release()
        self._writer = None
