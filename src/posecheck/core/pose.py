"""Pose types: the 33 BlazePose landmarks and one person's pose at one instant.

Pure module: numpy only. Everything downstream (geometry, smoothing, the engine, renderers) speaks
in these types, so a recorded trace and a live estimator are interchangeable.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

NUM_LANDMARKS = 33
# Columns of Pose.landmarks.
X, Y, Z, VISIBILITY, PRESENCE = range(5)


class Landmark(IntEnum):
    """BlazePose landmark indices (same order as MediaPipe's PoseLandmark)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


def _build_mirror_table() -> np.ndarray:
    """Index table that swaps every LEFT_* landmark with its RIGHT_* twin (derived from the names)."""
    table = np.arange(NUM_LANDMARKS)
    for lm in Landmark:
        if lm.name.startswith("LEFT_"):
            twin = Landmark[lm.name.replace("LEFT_", "RIGHT_", 1)]
            table[lm], table[twin] = twin, lm
    return table


#: MIRROR[i] is the landmark that plays i's role on the other side of the body.
MIRROR: np.ndarray = _build_mirror_table()

#: (left, right) landmark pairs, one table for every left/right decision in the code.
LEFT_RIGHT_PAIRS: tuple[tuple[Landmark, Landmark], ...] = tuple(
    (lm, Landmark(int(MIRROR[lm]))) for lm in Landmark if lm.name.startswith("LEFT_")
)

#: Bones drawn as the skeleton (BlazePose body connections without the face mesh).
SKELETON: tuple[tuple[Landmark, Landmark], ...] = (
    (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER),
    (Landmark.LEFT_HIP, Landmark.RIGHT_HIP),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_HIP),
    (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW),
    (Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
    (Landmark.RIGHT_SHOULDER, Landmark.RIGHT_ELBOW),
    (Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST),
    (Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
    (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE),
    (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
    (Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE),
    (Landmark.LEFT_ANKLE, Landmark.LEFT_HEEL),
    (Landmark.LEFT_HEEL, Landmark.LEFT_FOOT_INDEX),
    (Landmark.RIGHT_ANKLE, Landmark.RIGHT_HEEL),
    (Landmark.RIGHT_HEEL, Landmark.RIGHT_FOOT_INDEX),
    (Landmark.NOSE, Landmark.LEFT_EAR),
    (Landmark.NOSE, Landmark.RIGHT_EAR),
)


@dataclass(frozen=True)
class Pose:
    """One person's landmarks at one instant.

    Attributes:
        t: Time of the frame in seconds from the start of the source (never wall-clock time).
        landmarks: (33, 5) float32: x, y normalised to [0, 1] of the frame width/height (may fall a
            little outside when a limb leaves the frame), z (MediaPipe's relative depth, same scale as x),
            visibility and presence in [0, 1].
        world: (33, 3) float32 world landmarks in metres, origin between the hips, or None if the
            estimator gives none.
        frame_size: (width, height) of the source frame in pixels; x/y are scaled by these before any
            angle is measured, so portrait and landscape frames give the same angles.
    """

    t: float
    landmarks: np.ndarray
    world: np.ndarray | None
    frame_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.landmarks.shape != (NUM_LANDMARKS, 5):
            raise ValueError(f"Pose.landmarks: expected shape (33, 5), got {self.landmarks.shape}")
        if self.world is not None and self.world.shape != (NUM_LANDMARKS, 3):
            raise ValueError(f"Pose.world: expected shape (33, 3), got {self.world.shape}")
        if len(self.frame_size) != 2 or min(self.frame_size) <= 0:
            raise ValueError(f"Pose.frame_size: expected (width, height) > 0, got {self.frame_size}")

    @property
    def xy_px(self) -> np.ndarray:
        """(33, 2) float64 image coordinates in pixels (x right, y down)."""
        w, h = self.frame_size
        return self.landmarks[:, :2].astype(np.float64) * (w, h)

    @property
    def visibility(self) -> np.ndarray:
        """(33,) visibility in [0, 1]."""
        return self.landmarks[:, VISIBILITY]

    def mirrored(self) -> "Pose":
        """The same pose flipped left-right in the image, with LEFT_*/RIGHT_* landmarks swapped.

        A mirrored person does the mirrored exercise: tests use this to check that specs treat the two
        sides alike, and the live view uses it to show a selfie image.
        """
        lms = self.landmarks[MIRROR].copy()
        lms[:, X] = 1.0 - lms[:, X]
        world = None
        if self.world is not None:
            world = self.world[MIRROR].copy()
            world[:, 0] = -world[:, 0]
        return Pose(self.t, lms, world, self.frame_size)
