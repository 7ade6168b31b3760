"""MediaPipe Tasks PoseLandmarker in VIDEO mode, behind the PoseEstimator protocol.

mediapipe is imported when an estimator is opened, never at module import, so that ``posecheck --help``
stays instant and the pure engine never needs it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from posecheck.errors import ModelError
from posecheck.core.pose import NUM_LANDMARKS, Pose

log = logging.getLogger(__name__)

#: How often, in seconds of video, a frame is also searched for everyone in view. VIDEO mode follows one
#: person from frame to frame (the one it found first, by continuity of its region of interest) and never
#: reports another; asking it for two people instead makes it run the detector on every frame with one person
#: (measured: about 35 % slower). A separate full search once a second costs about 2 % at 30 fps.
CENSUS_EVERY_S = 1.0
#: People the census looks for at most.
CENSUS_MAX_PEOPLE = 4


#: Sources slower than this many frames a second are run in IMAGE mode. MediaPipe's VIDEO mode smooths the
#: landmarks over frames; at 12-15 fps that smoothing makes them trail by about 0.25 s and move about 30 % less,
#: which lost reps on 4-5 of 6 dev clips at 12 and 15 fps, while IMAGE mode (every frame on its own) counted
#: 5 of 6 at 12 fps as at 30 fps (benchmarks/VARIANTS.md). The clips at 24-30 fps count the same in VIDEO mode,
#: which is about 1.6x faster; IMAGE mode's speed (about 60 fps here) is still several times a slow source's rate.
IMAGE_MODE_BELOW_FPS = 20.0


def running_mode_for(fps: float | None) -> str:
    """The running mode for a source of ``fps`` frames a second: "image" below `IMAGE_MODE_BELOW_FPS`, else
    "video" (also when the rate is unknown: a camera)."""
    return "image" if fps is not None and 0 < fps < IMAGE_MODE_BELOW_FPS else "video"


class MediaPipeEstimator:
    """One-person pose estimator using MediaPipe's PoseLandmarker (Tasks API, VIDEO running mode).

    VIDEO mode tracks the person between frames (about 1.6x faster than detecting in every frame) and
    needs strictly increasing integer millisecond timestamps. We derive them from our own frame counter
    rather than from the source, because cameras and some files repeat or jump timestamps.

    Args:
        model_path: a ``.task`` bundle (see :func:`posecheck.estimators.model.resolve_model`).
        min_detection_confidence, min_tracking_confidence, min_presence_confidence: MediaPipe thresholds.
        running_mode: "video" (tracking, MediaPipe's own smoothing) or "image" (every frame on its own: no
            smoothing or lag, slower); benchmarks/video_variants.py compares them on low frame rates.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        running_mode: str = "video",
    ) -> None:
        if running_mode not in ("video", "image"):
            raise ValueError(f"running_mode must be 'video' or 'image', got {running_mode!r}")
        self.running_mode = running_mode
        self.model_path = Path(model_path)
        self._options = dict(
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._landmarker = None
        self._census = None
        self._frame_index = 0
        self._next_census_t: float | None = None
        self._most_in_view = 0
        self._checks = 0
        self._checks_with_several = 0

    def landmarker_options(self):
        """The ``PoseLandmarkerOptions`` this estimator opens MediaPipe with (the bare-estimator benchmark
        uses them too, so that it compares like with like)."""
        try:
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except ImportError as exc:  # pragma: no cover
            raise ModelError(f"mediapipe cannot be imported: {exc}") from exc
        return vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if self.running_mode == "video" else vision.RunningMode.IMAGE,
            num_poses=1,
            output_segmentation_masks=False,
            **self._options,
        )

    @property
    def people(self) -> dict[str, int]:
        """How many people the census saw (see `CENSUS_EVERY_S`): ``most_in_view`` in one frame, ``checks``
        (frames searched), ``checks_with_several`` (of them, frames with more than one person). The detector
        finds people lying on the floor less reliably than upright ones, so a second person may be missed."""
        return {"most_in_view": self._most_in_view, "checks": self._checks,
                "checks_with_several": self._checks_with_several}

    def _count_people(self, image, tracked: int, t: float) -> None:
        """The census: everyone in this frame, found from scratch (IMAGE mode), at most once per CENSUS_EVERY_S."""
        if self._next_census_t is not None and t < self._next_census_t:
            return
        self._next_census_t = t + CENSUS_EVERY_S
        if self._census is None:
            from mediapipe.tasks.python import vision

            options = self.landmarker_options()
            options.running_mode = vision.RunningMode.IMAGE
            options.num_poses = CENSUS_MAX_PEOPLE
            self._census = vision.PoseLandmarker.create_from_options(options)
        found = max(len(self._census.detect(image).pose_landmarks), tracked)
        self._checks += 1
        self._checks_with_several += found > 1
        self._most_in_view = max(self._most_in_view, found)

    def open(self) -> "MediaPipeEstimator":
        if self._landmarker is not None:
            return self
        options = self.landmarker_options()
        from mediapipe.tasks.python import vision

        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        # mediapipe 1.x maps its C status codes to these (a bundle missing a member is FileNotFoundError).
        except (RuntimeError, ValueError, OSError, IndexError) as exc:
            raise ModelError(f"cannot load pose model {self.model_path}: {exc}") from exc
        return self

    def estimate(self, frame_rgb: np.ndarray, t: float) -> Pose | None:
        """Args: frame_rgb (H, W, 3) uint8 RGB; t seconds. Returns the pose or None."""
        if self._landmarker is None:
            self.open()
        import mediapipe as mp

        h, w = frame_rgb.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame_rgb))
        # Our counter at a nominal 1 ms per frame: strictly increasing whatever the source says. The
        # tracker uses timestamps only to order frames, so their spacing does not matter.
        self._frame_index += 1
        if self.running_mode == "video":
            result = self._landmarker.detect_for_video(image, self._frame_index)
        else:
            result = self._landmarker.detect(image)
        self._count_people(image, len(result.pose_landmarks), t)
        if not result.pose_landmarks:
            return None
        lms = np.array(
            [(p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0) for p in result.pose_landmarks[0]],
            dtype=np.float32,
        )
        world = None
        if result.pose_world_landmarks:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[0]], dtype=np.float32)
        if lms.shape[0] != NUM_LANDMARKS:  # pragma: no cover - a model with another topology
            raise ModelError(f"model gave {lms.shape[0]} landmarks, expected {NUM_LANDMARKS}")
        return Pose(t, lms, world, (w, h))

    def close(self) -> None:
        """Closes the landmarker. Always close (or use ``with``): mediapipe 1.x prints "Exception ignored ...
        TypeError" at interpreter exit for a landmarker left open, whose __del__ then runs after the library's
        dispatcher has shut down; it cannot be closed from an atexit handler for the same reason."""
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
        if self._census is not None:
            self._census.close()
            self._census = None

    def __enter__(self) -> "MediaPipeEstimator":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
