"""Trace replay, the camera's half: `TraceFrameSource` yields a recorded trace's frame times (with blank
canvases or no frames at all) as a frame source for the session loop.

`posecheck.estimators.replay.ReplayEstimator` answers for the model from the same trace. numpy only: no cv2.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posecheck.core.trace import Trace
from posecheck.sources.video_file import VideoInfo

#: Canvas colour (BGR) of the blank frames a trace replay draws its skeleton on: dark grey, so that the
#: skeleton's colours and white text stay readable.
BLANK_CANVAS_BGR = (32, 32, 32)


class TraceFrameSource:
    """A frame source that yields a trace's frame times, for replaying it through the session loop.

    Args:
        trace: the recording.
        path: where the trace came from (shown in reports).
        blank_frames: True yields a fresh blank canvas of the recording's frame size per frame (for a
            skeleton-only annotated video); False yields None instead of a frame (nothing to draw on,
            the fastest replay).
    """

    def __init__(self, trace: Trace, path: str | Path = "<trace>", *, blank_frames: bool = False) -> None:
        self.trace = trace
        self.blank_frames = blank_frames
        width, height = trace.frame_size
        self.info = VideoInfo(path=Path(path), fps=trace.fps, frame_count=len(trace), width=width, height=height)

    @classmethod
    def open(cls, path: str | Path, *, blank_frames: bool = False) -> "TraceFrameSource":
        """Loads the trace at ``path`` (raises TraceError with the reason if it cannot be read)."""
        return cls(Trace.load(path), path, blank_frames=blank_frames)

    def __iter__(self) -> Iterator[tuple[float, np.ndarray | None]]:
        shape = (self.info.height, self.info.width, 3)
        for t in self.trace.timestamps:
            frame = np.full(shape, BLANK_CANVAS_BGR, dtype=np.uint8) if self.blank_frames else None
            yield float(t), frame

    @property
    def has_pictures(self) -> bool:
        """Whether it yields pictures at all: without, there is nothing to decode or convert ahead of the loop."""
        return self.blank_frames

    def close(self) -> None:
        """Nothing to release (kept for the FrameSource protocol)."""

    def __enter__(self) -> "TraceFrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
