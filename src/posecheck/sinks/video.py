"""Writing the session's frames to a video file with OpenCV (mp4v): `VideoWriterSink` and `open_video_writer`.

`posecheck.sinks.h264` builds on them for H.264, which browsers and phones play.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, SessionSummary
from posecheck.errors import InputError
from posecheck.runtime.protocols import SessionInfo

log = logging.getLogger(__name__)


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
