"""Synthetic camera views (posecheck.evaluation.views): geometry on a hand-made body, and a real trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posecheck.evaluation.views import STANDARD_CAMERAS, ViewCamera, fit_scale, viewed_from
from posecheck.core.geometry import view_ratio_of
from posecheck.core.pose import NUM_LANDMARKS, Landmark, Pose
from posecheck.core.trace import Trace

TRACES = Path(__file__).parent / "data" / "traces"
SIZE = (640, 480)
PX_PER_M = 200.0


def side_view_body(t: float = 0.0, hip_px: tuple[float, float] = (320.0, 300.0)) -> Pose:
    """A person on all fours seen exactly side-on: the shoulders 0.4 m apart in depth (z), the torso along x."""
    world = np.zeros((NUM_LANDMARKS, 3), dtype=np.float32)
    for lm, (x, y, z) in {
        Landmark.LEFT_SHOULDER: (0.5, 0.0, -0.2), Landmark.RIGHT_SHOULDER: (0.5, 0.0, 0.2),
        Landmark.LEFT_HIP: (0.0, 0.0, -0.15), Landmark.RIGHT_HIP: (0.0, 0.0, 0.15),
        Landmark.LEFT_KNEE: (0.0, 0.45, -0.15), Landmark.RIGHT_KNEE: (0.0, 0.45, 0.15),
        Landmark.LEFT_WRIST: (0.5, 0.5, -0.2), Landmark.RIGHT_WRIST: (0.5, 0.5, 0.2),
    }.items():
        world[lm] = (x, y, z)
    lms = np.zeros((NUM_LANDMARKS, 5), dtype=np.float32)
    lms[:, 0] = (hip_px[0] + PX_PER_M * world[:, 0]) / SIZE[0]
    lms[:, 1] = (hip_px[1] + PX_PER_M * world[:, 1]) / SIZE[1]
    lms[:, 3:] = 1.0
    return Pose(t, lms, world, SIZE)


def shoulder_width_ratio(pose: Pose) -> float:
    xy = pose.xy_px
    ls, rs, lh, rh = (xy[lm] for lm in (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP))
    return view_ratio_of(ls, rs, (ls + rs) / 2, (lh + rh) / 2)


def test_the_scale_is_found_and_an_unmoved_camera_gives_the_frames_back():
    poses = [(t, side_view_body(t, (300 + 10 * t, 300))) for t in np.arange(0, 1, 0.1)] + [(1.0, None)]
    assert fit_scale(poses) == pytest.approx(PX_PER_M, rel=1e-4)
    same = viewed_from(poses, ViewCamera())
    for (_, a), (_, b) in zip(poses, same):
        if a is None:
            assert b is None
            continue
        np.testing.assert_allclose(b.xy_px, a.xy_px, atol=1e-3)


@pytest.mark.parametrize("yaw, least", [(30, 0.3), (-30, 0.3), (60, 0.6), (-60, 0.6)])
def test_turning_the_camera_opens_the_shoulders_of_a_side_view(yaw, least):
    body = side_view_body()
    turned = viewed_from([(0.0, body)], ViewCamera(yaw_deg=yaw))[0][1]
    assert shoulder_width_ratio(body) < 0.05  # side-on: the shoulders overlap in the picture
    # The 0.4 m shoulders show sin(yaw) of their width, the 0.5 m torso cos(yaw) of its length: 0.8 tan(yaw).
    assert shoulder_width_ratio(turned) > least
    # The world landmarks turn too: shoulder width is kept, the torso stays as long (a rotation).
    np.testing.assert_allclose(
        np.linalg.norm(turned.world[Landmark.LEFT_SHOULDER] - turned.world[Landmark.RIGHT_SHOULDER]), 0.4, atol=1e-5
    )


def test_a_raised_camera_sees_the_floor_level_body_from_above():
    body = side_view_body()
    high = viewed_from([(0.0, body)], ViewCamera(elevation_deg=40))[0][1]
    # Seen from above, the wrists (on the floor, 0.5 m below the shoulders) come up toward the shoulders in the
    # picture: the vertical drop shrinks by about cos(40 deg).
    drop = lambda p: p.xy_px[Landmark.LEFT_WRIST][1] - p.xy_px[Landmark.LEFT_SHOULDER][1]  # noqa: E731
    assert drop(high) < 0.85 * drop(body)
    assert high.world[Landmark.LEFT_WRIST][2] != pytest.approx(body.world[Landmark.LEFT_WRIST][2])


def test_every_rotation_is_a_rotation():
    for camera in STANDARD_CAMERAS:
        r = camera.rotation()
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
    assert [c.name for c in STANDARD_CAMERAS] == ["yaw-30", "yaw+30", "yaw-60", "yaw+60", "elev20", "elev40"]


def test_a_real_trace_keeps_its_frames_and_stays_in_the_picture():
    trace = Trace.load(TRACES / "cat_cow_01.npz")
    poses = list(trace.poses())
    for camera in STANDARD_CAMERAS:
        out = viewed_from(poses, camera)
        assert [t for t, _ in out] == [t for t, _ in poses]
        assert [p is None for _, p in out] == [p is None or p.world is None for _, p in poses]
        xy = np.stack([p.landmarks[:, :2] for _, p in out if p is not None])
        assert xy.min() >= 0.0 and xy.max() <= 1.0  # zoomed out to fit, as a person framing the shot would
