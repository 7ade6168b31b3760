"""Video files as frame sources: `VideoFileSource` yields ``(t, frame_bgr)`` in time order; `VideoInfo` describes
any source (cameras and trace replays fill one too).

Frame times come from the frame index and the file's frame rate, not from the decoder's position
property, because that property is unreliable on some containers and we need replay to be exact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posecheck.errors import InputError

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
