"""Trace replay: recorded landmarks played back behind the same interfaces as a camera and a model.

`ReplayEstimator` answers `estimate(frame, t)` from a `Trace` instead of running a model, and
`TraceFrameSource` yields the trace's frame times (with blank canvases or no frames at all), so the
session loop, the engine, reports and benchmarks run unchanged with no video, no decoder and no mediapipe.

numpy only: no cv2, no mediapipe.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posecheck.sources.capture import VideoInfo
from posecheck.core.pose import Pose
from posecheck.core.trace import Trace

#: Canvas colour (BGR) of the blank frames a trace replay draws its skeleton on: dark grey, so that the
#: skeleton's colours and white text stay readable.
BLANK_CANVAS_BGR = (32, 32, 32)


class ReplayEstimator:
    """A `PoseEstimator` that returns the recorded pose nearest in time to ``t``.

    A recorded frame matches when it is within half a frame interval of ``t``; otherwise (a time outside
    the recording, or between frames of a sparser trace) the answer is None, i.e. "nobody found", which is
    what a model would say about a frame it never saw.

    Args:
        trace: the recording to replay.
    """

    #: Answers by time alone: the session loop hands it None instead of converting each frame to RGB.
    needs_frames = False

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._tolerance = 0.5 / trace.fps if trace.fps > 0 else 0.0

    def estimate(self, frame_rgb: np.ndarray | None, t: float) -> Pose | None:
        """Args: frame_rgb ignored (may be None); t seconds. Returns the recorded pose at ``t`` or None."""
        index = self._index_near(t)
        if index is None:
            return None
        pose = self.trace.pose_at(index)
        if pose is None or pose.t == t:
            return pose
        # Report the pose at the time asked for, so that a replay driven by another clock (a video's
        # frame times) stays on that clock.
        return Pose(t, pose.landmarks, pose.world, pose.frame_size)

    def _index_near(self, t: float) -> int | None:
        times = self.trace.timestamps
        after = int(np.searchsorted(times, t))  # first recorded time >= t
        candidates = [i for i in (after - 1, after) if 0 <= i < len(times)]
        if not candidates:
            return None
        best = min(candidates, key=lambda i: abs(times[i] - t))
        return best if abs(times[best] - t) <= self._tolerance else None

    def close(self) -> None:
        """Nothing to release (kept for the PoseEstimator protocol)."""

    def __enter__(self) -> "ReplayEstimator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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

    def close(self) -> None:
        """Nothing to release (kept for the FrameSource protocol)."""

    def __enter__(self) -> "TraceFrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
