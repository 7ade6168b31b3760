"""Trace replay, the model's half: `ReplayEstimator` answers `estimate(frame, t)` from a recorded `Trace`
instead of running a model.

With `posecheck.sources.replay.TraceFrameSource` (the camera's half: the trace's frame times) the session
loop, the engine, reports and benchmarks run unchanged with no video, no decoder and no mediapipe.

numpy only: no cv2, no mediapipe.
"""

from __future__ import annotations

import numpy as np

from posecheck.core.pose import Pose
from posecheck.core.trace import Trace


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
