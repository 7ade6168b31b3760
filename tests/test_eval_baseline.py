"""The AIGym-style baseline counter: synthetic angle sequences in, reps out; its table; its angle."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posecheck.errors import InputError
from posecheck.evaluation.baseline import (
    AIGymCounter,
    BaselineRule,
    baseline_angle,
    joint_angle_deg,
    load_baseline_table,
    parse_baseline_table,
    run_baseline,
)
from posecheck.core.pose import VISIBILITY, Landmark, Pose

UP, DOWN = 145.0, 90.0


def count(angles: list[float | None]) -> tuple[int, list[tuple[float, float]]]:
    counter = AIGymCounter(UP, DOWN)
    for i, a in enumerate(angles):
        counter.update(float(i), a)
    return len(counter.reps), counter.reps


@pytest.mark.parametrize(
    ("angles", "reps"),
    [
        ([170, 150, 120, 80, 120, 170], 1),  # one full push-up
        ([170, 80, 170, 80, 170, 80], 3),  # counted on the way down, so the last half rep counts too
        ([80, 80, 170, 80], 1),  # starting down: nothing until it has been up
        ([170, 100, 140, 100, 170], 0),  # never below down: no rep
        ([120, 80, 120, 80], 0),  # never above up: no rep
        ([170, 80, 100, 80, 100, 80], 1),  # jitter around "down" without going up again: one rep
        ([170, 146, 144, 91, 89], 1),  # thresholds are strict: 146 is up, 89 is down
        ([170, 145, 90, 170, 90], 0),  # exactly on a threshold is neither (AIGym uses < and >)
        ([170, None, 80, None, 170, float("nan"), 80], 2),  # frames without an angle are skipped
        ([], 0),
    ],
)
def test_aigym_counter_counts_like_aigym(angles, reps):
    assert count(angles)[0] == reps


def test_aigym_counter_rep_interval_runs_from_last_up_frame_to_the_count():
    n, reps = count([170, 170, 160, 130, 100, 80, 70, 160, 150, 120, 60])
    assert n == 2
    assert reps == [(2.0, 5.0), (8.0, 10.0)]


def test_update_reports_the_counting_frame():
    counter = AIGymCounter(UP, DOWN)
    assert [counter.update(float(i), a) for i, a in enumerate([170, 120, 80, 60, 170, 80])] == [
        False, False, True, False, False, True,
    ]


# --- the table -------------------------------------------------------------------------------------


def test_builtin_table_has_one_global_pair_per_joint_and_aigym_defaults():
    rules = load_baseline_table()
    assert rules["push-up"].joint == "elbow"
    assert rules["push-up"].points == (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST)
    by_joint: dict[str, set[tuple[float, float]]] = {}
    for rule in rules.values():
        by_joint.setdefault(rule.joint, set()).add((rule.up_deg, rule.down_deg))
    assert all(len(pairs) == 1 for pairs in by_joint.values())
    assert {pair for pairs in by_joint.values() for pair in pairs} == {(145.0, 90.0)}


def test_builtin_table_covers_every_labelled_exercise():
    from pathlib import Path

    from posecheck.evaluation.labels import load_labels

    labels = load_labels(Path(__file__).parent / "data" / "labels.yaml")
    rules = load_baseline_table()
    assert sorted({lb.exercise for lb in labels} - set(rules)) == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "expected mappings"),
        ({"joints": {}}, "expected mappings"),
        ({"joints": {"e": {"points": ["SHOULDER", "ELBOW"], "up_deg": 145, "down_deg": 90}}, "exercises": {}}, "3 points"),
        ({"joints": {"e": {"points": ["SHOULDER", "NOPE", "WRIST"], "up_deg": 145, "down_deg": 90}}, "exercises": {}}, "joints.e"),
        ({"joints": {"e": {"points": ["SHOULDER", "ELBOW", "WRIST"], "up_deg": 90, "down_deg": 145}}, "exercises": {}}, "down_deg < up_deg"),
        ({"joints": {"e": {"points": ["SHOULDER", "ELBOW", "WRIST"], "up_deg": 145}}, "exercises": {}}, "joints.e"),
        ({"joints": {}, "exercises": {"squat": "knee"}}, "exercises.squat: unknown joint 'knee'"),
    ],
)
def test_parse_baseline_table_problems(data, problem):
    with pytest.raises(InputError, match="t.yaml") as info:
        parse_baseline_table(data, "t.yaml")
    assert problem in str(info.value)


# --- the angle -------------------------------------------------------------------------------------


def pose_with(points: dict[Landmark, tuple[float, float]], visibility: dict[Landmark, float] | None = None,
              frame_size: tuple[int, int] = (100, 100)) -> Pose:
    lms = np.zeros((33, 5), dtype=np.float32)
    lms[:, VISIBILITY] = 0.5
    for lm, (x, y) in points.items():
        lms[lm, :2] = (x, y)
    for lm, v in (visibility or {}).items():
        lms[lm, VISIBILITY] = v
    return Pose(0.0, lms, None, frame_size)


ELBOW = (Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST)


@pytest.mark.parametrize(
    ("wrist", "expected"),
    [((0.5, 0.9), 180.0), ((0.9, 0.5), 90.0), ((0.5, 0.1), 0.0), ((0.9, 0.9), 135.0)],
)
def test_joint_angle_deg(wrist, expected):
    pose = pose_with({Landmark.LEFT_SHOULDER: (0.5, 0.1), Landmark.LEFT_ELBOW: (0.5, 0.5), Landmark.LEFT_WRIST: wrist})
    assert joint_angle_deg(pose, ELBOW) == pytest.approx(expected, abs=1e-4)


def test_joint_angle_is_measured_in_pixels_not_normalised_units():
    # In a 200x100 frame, normalised (0.25, 0.5) -> (0.5, 0.5) -> (0.5, 0.0) is 50 px right then 50 px up.
    pose = pose_with(
        {Landmark.LEFT_SHOULDER: (0.25, 0.5), Landmark.LEFT_ELBOW: (0.5, 0.5), Landmark.LEFT_WRIST: (0.75, 0.0)},
        frame_size=(200, 100),
    )
    assert joint_angle_deg(pose, ELBOW) == pytest.approx(135.0, abs=1e-4)


def test_joint_angle_of_coincident_points_is_nan():
    assert math.isnan(joint_angle_deg(pose_with({}), ELBOW))


def test_baseline_angle_uses_the_more_visible_side():
    rule = BaselineRule("push-up", "elbow", ELBOW, UP, DOWN)
    straight_left = {Landmark.LEFT_SHOULDER: (0.2, 0.1), Landmark.LEFT_ELBOW: (0.2, 0.5), Landmark.LEFT_WRIST: (0.2, 0.9)}
    bent_right = {Landmark.RIGHT_SHOULDER: (0.8, 0.1), Landmark.RIGHT_ELBOW: (0.8, 0.5), Landmark.RIGHT_WRIST: (0.4, 0.5)}
    left_seen = {lm: 0.9 for lm in straight_left} | {lm: 0.1 for lm in bent_right}
    right_seen = {lm: 0.1 for lm in straight_left} | {lm: 0.9 for lm in bent_right}
    assert baseline_angle(pose_with(straight_left | bent_right, left_seen), rule) == pytest.approx(180.0)
    assert baseline_angle(pose_with(straight_left | bent_right, right_seen), rule) == pytest.approx(90.0)


def test_run_baseline_on_a_pose_stream():
    rule = BaselineRule("push-up", "elbow", ELBOW, UP, DOWN)

    def arm(angle_deg: float) -> Pose:
        a = math.radians(angle_deg)
        wrist = (0.5 + 0.3 * math.sin(a), 0.5 - 0.3 * math.cos(a))  # angle at the elbow to the shoulder above
        return pose_with({Landmark.LEFT_SHOULDER: (0.5, 0.1), Landmark.LEFT_ELBOW: (0.5, 0.5), Landmark.LEFT_WRIST: wrist},
                         {Landmark.LEFT_SHOULDER: 1.0, Landmark.LEFT_ELBOW: 1.0, Landmark.LEFT_WRIST: 1.0})

    angles = [170, 120, 70, 120, 170, None, 170, 70, 170]
    stream = [(0.5 * i, None if a is None else arm(a)) for i, a in enumerate(angles)]
    result = run_baseline(stream, rule)
    assert result.reps == 2
    assert result.rep_times == ((0.0, 1.0), (3.0, 3.5))
