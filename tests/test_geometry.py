"""Geometry on landmark arrays: known angles, units, symmetry, broadcasting."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.core import geometry
from posecheck.core.pose import Landmark


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ((1, 0), (0, 0), (0, 1), 90.0),
        ((1, 0), (0, 0), (-1, 0), 180.0),
        ((1, 0), (0, 0), (2, 0), 0.0),
        ((1, 0), (0, 0), (1, 1), 45.0),
        ((1, 0, 0), (0, 0, 0), (0, 0, 1), 90.0),
        ((1, 1, 0), (0, 0, 0), (0, 1, 1), 60.0),
    ],
)
def test_joint_angle_known_values(a, b, c, expected):
    got = geometry.joint_angle(np.array(a, float), np.array(b, float), np.array(c, float))
    assert got == pytest.approx(expected, abs=1e-9)


def test_joint_angle_is_nan_when_a_point_coincides_with_the_vertex():
    assert np.isnan(geometry.joint_angle(np.zeros(2), np.zeros(2), np.ones(2)))


def test_joint_angle_broadcasts_over_frames_and_measures():
    a = np.zeros((4, 3, 2)) + (1, 0)
    b = np.zeros((4, 3, 2))
    c = np.zeros((4, 3, 2)) + (0, 2)
    out = geometry.joint_angle(a, b, c)
    assert out.shape == (4, 3)
    assert np.allclose(out, 90.0)


@pytest.mark.parametrize(
    ("a", "b", "reference", "expected"),
    [
        ((0, 0), (10, 0), "horizontal", 0.0),
        ((0, 0), (0, 10), "horizontal", 90.0),
        ((0, 0), (10, 10), "horizontal", 45.0),
        ((0, 0), (0, 10), "vertical", 0.0),
        ((0, 0), (10, 0), "vertical", 90.0),
        ((0, 0, 0), (3, 0, 4), "horizontal", 0.0),  # world: x-z is the floor plane
        ((0, 0, 0), (0, 2, 0), "vertical", 0.0),
    ],
)
def test_inclination_known_values(a, b, reference, expected):
    got = geometry.inclination(np.array(a, float), np.array(b, float), reference)
    assert got == pytest.approx(expected, abs=1e-9)


def test_inclination_ignores_the_segment_direction():
    # Facing left or right (mirror image) or swapping the ends gives the same inclination.
    a, b = np.array([100.0, 200.0]), np.array([160.0, 230.0])
    mirrored_b = np.array([40.0, 230.0])
    values = [geometry.inclination(x, y, "horizontal") for x, y in ((a, b), (b, a), (a, mirrored_b))]
    assert values[0] == pytest.approx(values[1]) == pytest.approx(values[2])


def test_inclination_rejects_an_unknown_reference():
    with pytest.raises(ValueError, match="reference"):
        geometry.inclination(np.zeros(2), np.ones(2), "diagonal")


def test_height_above_is_positive_when_a_is_higher_in_the_image():
    # Image y points down: a point with a smaller y is higher.
    assert geometry.height_above(np.array([0.0, 100.0]), np.array([0.0, 300.0])) == 200.0
    assert geometry.height_above(np.array([0.0, 300.0]), np.array([0.0, 100.0])) == -200.0


def test_lateral_offset_is_signed_image_x():
    assert geometry.lateral_offset(np.array([50.0, 0.0]), np.array([20.0, 9.0])) == 30.0


def _body(shoulder=(300.0, 500.0), hip=(600.0, 500.0), shoulder_gap=0.0):
    points = np.zeros((33, 2))
    points[Landmark.LEFT_SHOULDER] = shoulder
    points[Landmark.RIGHT_SHOULDER] = (shoulder[0] + shoulder_gap, shoulder[1])
    points[Landmark.LEFT_HIP] = hip
    points[Landmark.RIGHT_HIP] = (hip[0] + shoulder_gap, hip[1])
    return points


def test_torso_length_uses_the_visible_sides():
    points = _body()
    points[Landmark.RIGHT_HIP] = (900.0, 500.0)  # a wild guess for a hidden far-side hip
    visible = np.ones(33, bool)
    visible[Landmark.RIGHT_HIP] = False
    assert geometry.torso_length(points, visible) == pytest.approx(300.0)
    assert geometry.torso_length(points) == pytest.approx((300.0 + 600.0) / 2)


def test_torso_length_is_nan_when_no_side_is_visible():
    visible = np.zeros(33, bool)
    assert np.isnan(geometry.torso_length(_body(), visible))


def test_view_ratio_tells_side_from_front():
    side_on = _body(shoulder=(300.0, 500.0), hip=(600.0, 520.0), shoulder_gap=10.0)
    facing = _body(shoulder=(400.0, 300.0), hip=(410.0, 600.0), shoulder_gap=280.0)
    assert geometry.view_ratio(side_on) < 0.1
    assert geometry.view_ratio(facing) > 0.8


# ------------------------------------------------------------------------------------------ one-frame forms
def _points(dims: int, n: int = 400) -> np.ndarray:
    """(n, 3, dims) random point triples, with coincident points, repeated coordinates and NaN mixed in."""
    rng = np.random.default_rng(dims)
    points = rng.normal(scale=200.0, size=(n, 3, dims))
    points[::7, 0] = points[::7, 1]  # a == b
    points[3::7, 2] = points[3::7, 1]  # c == b
    points[5::11, 1, 1] = points[5::11, 0, 1]  # a level segment
    points[6::11, 1, 0] = points[6::11, 0, 0]  # a plumb segment (image)
    points[9::13, 0, -1] = np.nan
    return points


def _same(scalar: float, vectorised: float, angle: bool = False) -> bool:
    if np.isnan(vectorised):
        return bool(np.isnan(scalar))
    if angle:
        # math.atan2 and numpy's arctan2 (its own SIMD code on AVX-512 CPUs) may differ in the last bit.
        return scalar == pytest.approx(vectorised, rel=1e-13, abs=1e-13)
    return scalar == vectorised


@pytest.mark.parametrize("dims", [2, 3])
def test_the_one_frame_forms_give_the_vectorised_results(dims):
    # The engine computes each frame with the *_of forms: they must not drift from the vectorised functions,
    # and give the same floats bit for bit but for the last bit of the angles.
    points = _points(dims)
    a, b, c = points[:, 0], points[:, 1], points[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = {
            "angle": geometry.joint_angle(a, b, c),
            "horizontal": geometry.inclination(a, b, "horizontal"),
            "vertical": geometry.inclination(a, b, "vertical"),
            "distance": geometry.distance(a, b),
            "height": geometry.height_above(a, b),
            "lateral": geometry.lateral_offset(a, b),
        }
    for i, (p, q, r) in enumerate(points.tolist()):
        got = {
            "angle": geometry.joint_angle_of(p, q, r),
            "horizontal": geometry.inclination_of(p, q, "horizontal"),
            "vertical": geometry.inclination_of(p, q, "vertical"),
            "distance": geometry.distance_of(p, q),
            "height": geometry.height_above_of(p, q),
            "lateral": geometry.lateral_offset_of(p, q),
        }
        for name, value in got.items():
            assert type(value) is float
            angle = name in ("angle", "horizontal", "vertical")
            assert _same(value, float(expected[name][i]), angle), (name, i, value, expected[name][i])


@pytest.mark.parametrize("dims", [2, 3])
def test_torso_length_of_and_view_ratio_of_match_the_vectorised_forms(dims):
    rng = np.random.default_rng(7)
    frames = rng.normal(scale=300.0, size=(300, 33, dims))
    frames[::5, Landmark.LEFT_HIP] = frames[::5, Landmark.LEFT_SHOULDER]  # a zero-length side
    frames[::10, Landmark.RIGHT_HIP] = frames[::10, Landmark.RIGHT_SHOULDER]
    visible = rng.random((300, 33)) > 0.3
    with np.errstate(invalid="ignore", divide="ignore"):
        lengths = geometry.torso_length(frames, visible)
        ratios = geometry.view_ratio(frames[..., :2]) if dims == 2 else None
    ls, rs, lh, rh = Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP
    for i, (points, seen) in enumerate(zip(frames.tolist(), visible.tolist())):
        length = geometry.torso_length_of(points[ls], points[rs], points[lh], points[rh], seen[ls] and seen[lh], seen[rs] and seen[rh])
        assert _same(length, float(lengths[i]))
        if ratios is not None:
            mid_shoulder = ((frames[i, ls] + frames[i, rs]) * 0.5).tolist()
            mid_hip = ((frames[i, lh] + frames[i, rh]) * 0.5).tolist()
            assert _same(geometry.view_ratio_of(points[ls], points[rs], mid_shoulder, mid_hip), float(ratios[i]))


def test_inclination_of_rejects_an_unknown_reference():
    with pytest.raises(ValueError, match="reference"):
        geometry.inclination_of([0.0, 0.0], [1.0, 1.0], "diagonal")
