"""Synthetic camera views: the same recorded movement seen from a camera placed elsewhere.

The labelled clips were mostly filmed side-on, but people film from wherever their laptop stands. MediaPipe's
world landmarks are metric 3D, with the origin between the hips and axes aligned with the camera (x right,
y down, z away from the camera). Rotating them and projecting them again through a pinhole camera gives the
image landmarks a camera at another yaw or elevation would have seen, so every spec can be scored on views
nobody filmed.

How a variant frame is rebuilt (see `ViewCamera`):

1. The clip's scale (pixels per metre) and each frame's root position come from the original view: a least-
   squares fit of ``image_px = scale * world_xy + hips_px`` over the clip's visible landmarks gives one scale;
   the hips' pixel position in each frame gives the root's path, which is turned back into metres (depth 0).
2. The body (world landmarks) and the root's path are rotated: yaw about the vertical axis (the person turns
   on the spot, or the camera walks round them), then elevation (the camera is raised and pitched down, as on
   a shelf or in a room's corner).
3. A pinhole camera with a 60 deg field of view across the frame's larger side, aimed at the hips' mean
   position and standing back far enough that the hips keep the original pixel scale, projects the body before
   and after the rotation. The difference is added to the image landmarks the model found in the original
   frame, so the 2D detail that the world landmarks (the model's 3D guess) lack is kept, and an unmoved camera
   gives the original frame back exactly. A variant whose person would leave the frame is zoomed out (about
   the frame's centre) to fit, as someone setting up the camera would.
4. Visibility and presence are kept from the original frame; MediaPipe's relative depth ``z`` is rebuilt from
   the rotated depth in the same units as x. The world landmarks of the variant are the rotated ones.

What the variants cannot model (so a spec that passes them can still fail on a real clip):

- occlusion: a limb that turns behind the body keeps its original visibility, and the side a spec picks by
  visibility stays the original one;
- the pose model's own errors at the new angle: real landmarks from a three-quarter or high view are noisier
  and the world landmarks themselves are estimated from one image (their depth is the model's guess);
- lens distortion, a camera that is not level before it is pitched (see the roll variants), and the floor or
  furniture hiding the body.

Pure module: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posecheck.core.pose import VISIBILITY, Z, Landmark, Pose

PoseStream = Sequence[tuple[float, "Pose | None"]]

#: Horizontal field of view of the virtual camera across the frame's larger side: a typical laptop webcam or
#: phone main camera (55-70 deg). It only sets how much perspective the projection adds.
FIELD_OF_VIEW_DEG = 60.0
#: Landmarks at least this visible set the clip's scale (MediaPipe's guessed positions of hidden ones are poor).
FIT_MIN_VISIBILITY = 0.5
#: A zoomed-out variant keeps every landmark inside this share of the frame (a margin at the edges).
FRAME_FILL = 0.95


@dataclass(frozen=True)
class ViewCamera:
    """Where the virtual camera stands, relative to the original one.

    Attributes:
        yaw_deg: rotation about the vertical axis through the hips: 0 is the original view, +-90 turns a side
            view into a front or back view. Positive turns the person's front toward the camera's left.
        elevation_deg: how far the camera is raised and pitched down toward the person (0: level as filmed).
    """

    yaw_deg: float = 0.0
    elevation_deg: float = 0.0

    @property
    def name(self) -> str:
        """Short column name: ``yaw+30``, ``elev20``, ``view0`` (the rebuilt original view)."""
        parts = []
        if self.yaw_deg:
            parts.append(f"yaw{self.yaw_deg:+g}")
        if self.elevation_deg:
            parts.append(f"elev{self.elevation_deg:g}")
        return "_".join(parts) or "view0"

    def rotation(self) -> np.ndarray:
        """(3, 3) matrix taking original-camera coordinates (x right, y down, z away) to the new camera's."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.elevation_deg)
        cy, sy = math.cos(yaw), math.sin(yaw)
        # Yaw about the vertical (y) axis.
        turn = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
        cp, sp = math.cos(pitch), math.sin(pitch)
        # A camera pitched down by `pitch` looks along (0, sin, cos) in the old axes (y is down); a point's new
        # coordinates are its projections on the new camera's axes.
        look_down = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
        return look_down @ turn


def _hips_px(pose: Pose) -> np.ndarray:
    """(2,) pixel position of the midpoint between the hips."""
    xy = pose.xy_px
    return (xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]) / 2


def fit_scale(poses: PoseStream) -> float | None:
    """Pixels per metre of the clip: least squares of ``image_px - hips_px = scale * world_xy`` over every
    visible landmark of every frame with world landmarks. None when there is nothing to fit."""
    num = den = 0.0
    for _, pose in poses:
        if pose is None or pose.world is None or not np.isfinite(pose.world).all():
            continue
        keep = pose.landmarks[:, VISIBILITY] >= FIT_MIN_VISIBILITY
        if keep.sum() < 4:
            continue
        image = pose.xy_px[keep] - _hips_px(pose)
        world = pose.world[keep, :2].astype(np.float64)
        num += float((image * world).sum())
        den += float((world * world).sum())
    if den <= 0 or num <= 0:
        return None
    return num / den


def viewed_from(poses: PoseStream, camera: ViewCamera) -> list[tuple[float, Pose | None]]:
    """The pose stream as a camera at ``camera`` would have seen it (see the module docstring).

    Frames without world landmarks become frames without a person (the view cannot be rebuilt). The result has
    the original timestamps and frame size.
    """
    scale = fit_scale(poses)
    if scale is None:
        return [(t, None) for t, _ in poses]
    rotation = camera.rotation()
    frames = [(t, p) for t, p in poses]
    usable = [p for _, p in frames if p is not None and p.world is not None and np.isfinite(p.world).all()]
    if not usable:
        return [(t, None) for t, _ in frames]
    w, h = usable[0].frame_size
    focal = (max(w, h) / 2) / math.tan(math.radians(FIELD_OF_VIEW_DEG) / 2)
    distance = focal / scale  # metres: the hips then keep `scale` pixels per metre
    # The root's path: the hips' pixel position about its mean, in metres at depth 0 (the camera is level). The
    # camera is aimed at the hips' mean position (its optical axis passes there, as when someone points a
    # camera at the mat), which stays where it was in the frame; the camera turns about it.
    centre = np.mean([_hips_px(p) for p in usable], axis=0)

    def project(points: np.ndarray) -> np.ndarray:
        depth = np.maximum(points[:, 2] + distance, 0.1 * distance)  # nothing passes behind the lens
        return focal * points[:, :2] / depth[:, None]  # pixels about the hips' mean position

    projected: list[tuple[float, Pose | None, np.ndarray | None, np.ndarray | None]] = []
    for t, pose in frames:
        if pose is None or pose.world is None or not np.isfinite(pose.world).all():
            projected.append((t, None, None, None))
            continue
        root = np.append((_hips_px(pose) - centre) / scale, 0.0)
        world = pose.world.astype(np.float64)
        body = world @ rotation.T
        # The rotation's effect on the picture, added to the landmarks the model found in the original picture:
        # the 2D detail the world landmarks lack (they are the model's 3D guess) is kept, and the identity
        # camera gives the original frame back exactly.
        moved = project(body + root @ rotation.T) - project(world + root)
        xy = pose.xy_px - centre + moved
        projected.append((t, pose, xy, body))

    # Zoom out (never in) about the frame's centre so that every landmark stays in the frame, as a person
    # framing the shot would.
    half = np.array([w, h], dtype=np.float64) / 2
    offset = centre - half
    extent = max((float(np.max(np.abs(xy + offset) / half)) for _, _, xy, _ in projected if xy is not None), default=0.0)
    zoom = min(1.0, FRAME_FILL / extent) if extent > 0 else 1.0

    out: list[tuple[float, Pose | None]] = []
    for t, pose, xy, body in projected:
        if pose is None or xy is None or body is None:
            out.append((t, None))
            continue
        lms = pose.landmarks.copy()
        lms[:, 0] = ((xy[:, 0] + offset[0]) * zoom + half[0]) / w
        lms[:, 1] = ((xy[:, 1] + offset[1]) * zoom + half[1]) / h
        lms[:, Z] = body[:, 2] * scale * zoom / w  # MediaPipe's relative depth is in units of the image width
        out.append((t, Pose(t, lms, body.astype(np.float32), pose.frame_size)))
    return out


#: The view variants: yaw +-30 and +-60 deg, a camera raised 20 and 40 deg.
STANDARD_CAMERAS: tuple[ViewCamera, ...] = (
    ViewCamera(yaw_deg=-30),
    ViewCamera(yaw_deg=30),
    ViewCamera(yaw_deg=-60),
    ViewCamera(yaw_deg=60),
    ViewCamera(elevation_deg=20),
    ViewCamera(elevation_deg=40),
)

__all__ = ["FIELD_OF_VIEW_DEG", "STANDARD_CAMERAS", "ViewCamera", "fit_scale", "viewed_from"]
