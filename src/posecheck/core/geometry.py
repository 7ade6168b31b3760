"""Body geometry on landmark arrays: joint angles, segment inclinations, torso-normalised distances.

Every function is vectorised: points are arrays whose LAST axis holds the coordinates (2 for image points
in pixels, 3 for world points in metres) and whose leading axes (frames, measures...) broadcast. Image
coordinates follow the image convention (x right, y DOWN), and so do MediaPipe's world landmarks (y down), so
"up" is -y in both spaces. The ``*_of`` forms at the end compute the same values for one frame's points on
Python floats (for the engine's per-frame path).

Pure module: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from posecheck.core.pose import Landmark

_DEG = 180.0 / np.pi


def joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle at ``b`` between the rays b->a and b->c.

    Args:
        a, b, c: (..., D) points, D = 2 or 3.

    Returns:
        (...) degrees in [0, 180]; NaN where a or c coincides with b.
    """
    u = a - b
    v = c - b
    dot = np.sum(u * v, axis=-1)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    # atan2 of |u x v| and u.v is accurate near 0 and 180 deg, where arccos of the cosine is not.
    angle = np.arctan2(cross, dot) * _DEG
    degenerate = (np.sum(u * u, axis=-1) == 0) | (np.sum(v * v, axis=-1) == 0)
    return np.where(degenerate, np.nan, angle)


def inclination(a: np.ndarray, b: np.ndarray, reference: str) -> np.ndarray:
    """Unsigned angle of the segment a-b to the horizontal or the vertical.

    In the image plane horizontal is the x axis; in world space it is the x-z plane (vertical is y). The
    result does not depend on the segment's direction, so a person facing left or right reads the same.

    Args:
        a, b: (..., D) points, D = 2 (image) or 3 (world).
        reference: "horizontal" or "vertical".

    Returns:
        (...) degrees in [0, 90]; NaN where a == b.
    """
    d = b - a
    vertical = np.abs(d[..., 1])
    across = np.abs(d[..., 0]) if d.shape[-1] == 2 else np.hypot(d[..., 0], d[..., 2])
    if reference == "horizontal":
        angle = np.arctan2(vertical, across) * _DEG
    elif reference == "vertical":
        angle = np.arctan2(across, vertical) * _DEG
    else:
        raise ValueError(f"reference must be 'horizontal' or 'vertical', got {reference!r}")
    return np.where((vertical == 0) & (across == 0), np.nan, angle)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(...) Euclidean distance between (..., D) points, in their unit."""
    d = a - b
    return np.sqrt(np.sum(d * d, axis=-1))


def height_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(...) how far a is above b (positive when a is higher), in the points' unit. y points down."""
    return b[..., 1] - a[..., 1]


def lateral_offset(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(...) image x of a minus image x of b (signed: positive when a is to the right in the image)."""
    return a[..., 0] - b[..., 0]


# Plain integer index arrays: indexing with IntEnum members is several times slower.
_SHOULDERS = np.array([Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER], dtype=np.intp)
_HIPS = np.array([Landmark.LEFT_HIP, Landmark.RIGHT_HIP], dtype=np.intp)
_L_SHOULDER, _R_SHOULDER = int(Landmark.LEFT_SHOULDER), int(Landmark.RIGHT_SHOULDER)
_L_HIP, _R_HIP = int(Landmark.LEFT_HIP), int(Landmark.RIGHT_HIP)


def torso_length(points: np.ndarray, visible: np.ndarray | None = None) -> np.ndarray:
    """Shoulder-to-hip length, the body's own ruler (it does not change as limbs move).

    The mean of the left and right shoulder-hip lengths over the sides whose shoulder and hip are visible
    (side-on, the far side is often hidden; its length is the same anyway).

    Args:
        points: (..., 33, D) landmark coordinates.
        visible: (..., 33) bool, or None to use every side.

    Returns:
        (...) length in the points' unit; NaN where neither side is visible or the length is 0.
    """
    per_side = distance(points[..., _SHOULDERS, :], points[..., _HIPS, :])  # (..., 2)
    left, right = per_side[..., 0], per_side[..., 1]
    if visible is None:
        length = (left + right) * 0.5
    else:
        left_ok = visible[..., _L_SHOULDER] & visible[..., _L_HIP]
        right_ok = visible[..., _R_SHOULDER] & visible[..., _R_HIP]
        length = np.where(
            left_ok & right_ok, (left + right) * 0.5, np.where(left_ok, left, np.where(right_ok, right, np.nan))
        )
    return np.where(length > 0, length, np.nan)


def view_ratio(points_px: np.ndarray) -> np.ndarray:
    """Shoulder width divided by torso length in the image plane: small side-on, near 1 facing the camera.

    Uses the landmark positions whatever their visibility: side-on the far shoulder is hidden, but its
    estimated position is still where the view shows.

    Args:
        points_px: (..., 33, 2) image coordinates.

    Returns:
        (...) ratio; NaN where the torso length is 0.
    """
    width = distance(points_px[..., _L_SHOULDER, :], points_px[..., _R_SHOULDER, :])
    mid_shoulder = (points_px[..., _L_SHOULDER, :] + points_px[..., _R_SHOULDER, :]) * 0.5
    mid_hip = (points_px[..., _L_HIP, :] + points_px[..., _R_HIP, :]) * 0.5
    torso = distance(mid_shoulder, mid_hip)
    return width / np.where(torso > 0, torso, np.nan)


# ------------------------------------------------------------------------------------------ one frame, floats
# The engine computes one frame's dozen measures on 2- and 3-element points, where numpy's fixed cost per call
# (about half a microsecond, and far more when the caches are cold) dwarfs the arithmetic: these forms take
# points as sequences of Python floats. They use the same formulas in the same operation order as the
# vectorised functions above, so their results are the same, bit for bit except for the angles: math.atan2
# (the C library's) and numpy's arctan2, which on some CPUs (AVX-512) is numpy's own SIMD code, can differ in
# the last bit (tests/test_geometry.py checks both). Points are (x, y) in the image or (x, y, z) in world space.


def joint_angle_of(a: Sequence[float], b: Sequence[float], c: Sequence[float]) -> float:
    """`joint_angle` of one (a, b, c): degrees in [0, 180], NaN where a or c coincides with b."""
    if len(b) == 2:
        ux, uy, vx, vy = a[0] - b[0], a[1] - b[1], c[0] - b[0], c[1] - b[1]
        dot = ux * vx + uy * vy
        cross = abs(ux * vy - uy * vx)
        degenerate = ux * ux + uy * uy == 0 or vx * vx + vy * vy == 0
    else:
        ux, uy, uz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
        vx, vy, vz = c[0] - b[0], c[1] - b[1], c[2] - b[2]
        dot = ux * vx + uy * vy + uz * vz
        cx, cy, cz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx  # the order np.cross uses
        cross = math.sqrt(cx * cx + cy * cy + cz * cz)
        degenerate = ux * ux + uy * uy + uz * uz == 0 or vx * vx + vy * vy + vz * vz == 0
    return math.nan if degenerate else math.atan2(cross, dot) * _DEG


def inclination_of(a: Sequence[float], b: Sequence[float], reference: str) -> float:
    """`inclination` of one segment a-b: degrees in [0, 90], NaN where a == b."""
    vertical = abs(b[1] - a[1])
    if len(a) == 2:
        across = abs(b[0] - a[0])
    else:
        across = math.hypot(b[0] - a[0], b[2] - a[2])
    if vertical == 0 and across == 0:
        return math.nan
    if reference == "horizontal":
        return math.atan2(vertical, across) * _DEG
    if reference == "vertical":
        return math.atan2(across, vertical) * _DEG
    raise ValueError(f"reference must be 'horizontal' or 'vertical', got {reference!r}")


def distance_of(a: Sequence[float], b: Sequence[float]) -> float:
    """`distance` between two points, in their unit."""
    if len(a) == 2:
        dx, dy = a[0] - b[0], a[1] - b[1]
        return math.sqrt(dx * dx + dy * dy)
    dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return math.sqrt(dx * dx + dy * dy + dz * dz)


def height_above_of(a: Sequence[float], b: Sequence[float]) -> float:
    """`height_above`: how far a is above b, in the points' unit."""
    return b[1] - a[1]


def lateral_offset_of(a: Sequence[float], b: Sequence[float]) -> float:
    """`lateral_offset`: image x of a minus image x of b."""
    return a[0] - b[0]


def torso_length_of(
    left_shoulder: Sequence[float],
    right_shoulder: Sequence[float],
    left_hip: Sequence[float],
    right_hip: Sequence[float],
    left_visible: bool,
    right_visible: bool,
) -> float:
    """`torso_length` of one frame, from its four points and whether each side's shoulder and hip are visible.

    Returns:
        The mean length over the visible sides; NaN where neither side is visible or the length is 0.
    """
    left = distance_of(left_shoulder, left_hip)
    right = distance_of(right_shoulder, right_hip)
    if left_visible and right_visible:
        length = (left + right) * 0.5
    elif left_visible:
        length = left
    elif right_visible:
        length = right
    else:
        return math.nan
    return length if length > 0 else math.nan


def view_ratio_of(
    left_shoulder: Sequence[float],
    right_shoulder: Sequence[float],
    mid_shoulder: Sequence[float],
    mid_hip: Sequence[float],
) -> float:
    """`view_ratio` of one frame from its image points (mid_shoulder, mid_hip: the midpoints of each pair).

    Returns:
        Shoulder width / torso length; NaN where the torso length is 0.
    """
    torso = distance_of(mid_shoulder, mid_hip)
    return distance_of(left_shoulder, right_shoulder) / torso if torso > 0 else math.nan
