"""Robustness variants: transformations of a whole pose stream that should not change the count (mirrored,
slower or faster, noisy, a rolled camera, other camera positions). Pure: no cv2 or mediapipe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from posecheck.core.pose import Pose, X, Y
from posecheck.evaluation.views import STANDARD_CAMERAS, ViewCamera, viewed_from


@dataclass(frozen=True)
class Variant:
    """A transformation of a whole pose stream that should not change the count.

    Attributes:
        name: short name (a report column).
        description: what it does, for the reader.
        apply: the transformation of the (t, pose or None) frames.
        speed: playback speed the variant implies; the labels' times are divided by it before scoring.
    """

    name: str
    description: str
    apply: Callable[[list[tuple[float, Pose | None]]], list[tuple[float, Pose | None]]]
    speed: float = 1.0


def mirrored(poses: Sequence[tuple[float, Pose | None]]) -> list[tuple[float, Pose | None]]:
    """Every pose flipped left-right (the person does the mirror-image exercise)."""
    return _each_pose(poses, Pose.mirrored)


def time_scaled(poses: Sequence[tuple[float, Pose | None]], speed: float) -> list[tuple[float, Pose | None]]:
    """The clip played ``speed`` times as fast: every timestamp divided by ``speed``.

    Args:
        speed: playback speed, e.g. 1.5 (faster reps) or 0.75 (slower reps).
    """
    out: list[tuple[float, Pose | None]] = []
    for t, p in poses:
        ts = t / speed
        out.append((ts, None if p is None else Pose(ts, p.landmarks, p.world, p.frame_size)))
    return out


def noisy(
    poses: Sequence[tuple[float, Pose | None]], sigma_frac: float, seed: int
) -> list[tuple[float, Pose | None]]:
    """Gaussian jitter on the image landmarks: sigma = ``sigma_frac`` x the frame's larger side, in pixels,
    the same in x and y. World landmarks get the same relative jitter (sigma_frac x the body's extent).

    Args:
        sigma_frac: e.g. 0.005 for 0.5 % of the frame size.
        seed: fixed seed, so a run is repeatable.
    """
    rng = np.random.default_rng(seed)

    def jitter(p: Pose) -> Pose:
        w, h = p.frame_size
        sigma_px = sigma_frac * max(w, h)
        lms = p.landmarks.copy()
        lms[:, X] += rng.normal(0.0, sigma_px / w, size=len(lms)).astype(lms.dtype)
        lms[:, Y] += rng.normal(0.0, sigma_px / h, size=len(lms)).astype(lms.dtype)
        world = p.world
        if world is not None:
            extent = float(np.ptp(world, axis=0).max())
            world = world + rng.normal(0.0, sigma_frac * extent, size=world.shape).astype(world.dtype)
        return Pose(p.t, lms, world, p.frame_size)

    return _each_pose(poses, jitter)


def tilted(poses: Sequence[tuple[float, Pose | None]], degrees: float) -> list[tuple[float, Pose | None]]:
    """The clip filmed with the camera rolled by ``degrees`` (a laptop on a sloping surface, a phone leaning
    crooked): image landmarks rotated about the frame's centre, in pixels, and world landmarks about the
    camera's axis by the same angle. Both have y pointing down, so one rotation serves both.

    Args:
        degrees: roll angle; positive turns the picture clockwise on screen.
    """
    angle = np.radians(degrees)
    cos, sin = float(np.cos(angle)), float(np.sin(angle))

    def roll(p: Pose) -> Pose:
        w, h = p.frame_size
        x_px = (p.landmarks[:, X] - 0.5) * w
        y_px = (p.landmarks[:, Y] - 0.5) * h
        lms = p.landmarks.copy()
        lms[:, X] = (cos * x_px - sin * y_px) / w + 0.5
        lms[:, Y] = (sin * x_px + cos * y_px) / h + 0.5
        world = p.world
        if world is not None:
            world = world.copy()
            world[:, 0] = cos * p.world[:, 0] - sin * p.world[:, 1]
            world[:, 1] = sin * p.world[:, 0] + cos * p.world[:, 1]
        return Pose(p.t, lms, world, p.frame_size)

    return _each_pose(poses, roll)


def _each_pose(
    poses: Sequence[tuple[float, Pose | None]], transform: Callable[[Pose], Pose]
) -> list[tuple[float, Pose | None]]:
    """``transform`` applied to every pose in order; frames without a person stay without one."""
    return [(t, None if p is None else transform(p)) for t, p in poses]


#: Defaults of the robustness run (the brief's values: x0.75 and x1.5 playback, 0.5 % noise, fixed seed).
NOISE_SIGMA_FRAC = 0.005
NOISE_SEED = 20240611
#: Camera roll of the "a slightly different angle" check: a phone or laptop leaning 8 deg crooked is easy to
#: miss when setting up, and a mat's edge 8 deg off level is plainly visible, so a spec should survive it.
ROLL_DEGREES = 8.0
VARIANTS: tuple[Variant, ...] = (
    Variant("mirrored", "left-right flipped", mirrored),
    Variant("speed_0.75", "played at x0.75 (slower)", lambda p: time_scaled(p, 0.75), speed=0.75),
    Variant("speed_1.5", "played at x1.5 (faster)", lambda p: time_scaled(p, 1.5), speed=1.5),
    Variant("noise", f"gaussian landmark noise, sigma {NOISE_SIGMA_FRAC:.1%} of the frame", lambda p: noisy(p, NOISE_SIGMA_FRAC, NOISE_SEED)),
    Variant(f"roll_-{ROLL_DEGREES:g}", f"camera rolled {ROLL_DEGREES:g} deg anticlockwise", lambda p: tilted(p, -ROLL_DEGREES)),
    Variant(f"roll_+{ROLL_DEGREES:g}", f"camera rolled {ROLL_DEGREES:g} deg clockwise", lambda p: tilted(p, ROLL_DEGREES)),
)


def _view_variant(camera: ViewCamera) -> Variant:
    turned = f"turned {camera.yaw_deg:+g} deg about the person" if camera.yaw_deg else ""
    raised = f"raised {camera.elevation_deg:g} deg and pitched down" if camera.elevation_deg else ""
    text = "camera " + " and ".join(part for part in (turned, raised) if part) + " (3D world landmarks re-projected)"
    return Variant(camera.name, text, lambda p: viewed_from(p, camera))


#: Synthetic camera views (posecheck.evaluation.views): yaw +-30 / +-60 deg, elevation 20 / 40 deg.
VIEW_VARIANTS: tuple[Variant, ...] = tuple(_view_variant(camera) for camera in STANDARD_CAMERAS)
