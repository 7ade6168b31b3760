"""The PoseEstimator protocol: frame in, Pose (or None) out.

Pure module: estimators that need cv2/mediapipe live beside it and import them lazily.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from posecheck.core.pose import Pose


@runtime_checkable
class PoseEstimator(Protocol):
    """Finds one person's landmarks in a frame.

    ``estimate`` is called with frames in time order; ``t`` is the frame's time in seconds from the start
    of the source. Implementations are context managers so that model resources are released.
    """

    def estimate(self, frame_rgb: np.ndarray, t: float) -> Pose | None:
        """Args: frame_rgb (H, W, 3) uint8 RGB image; t seconds. Returns the pose, or None if nobody is found."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> "PoseEstimator": ...

    def __exit__(self, *exc: object) -> None: ...
