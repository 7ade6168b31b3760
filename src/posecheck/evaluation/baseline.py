"""The baseline posecheck is compared with: an AIGym-style counter (one joint angle, one global up/down
threshold pair per exercise, from ``posecheck/data/aigym_baseline.yaml``). Pure: no cv2 or mediapipe."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from posecheck.core.geometry import joint_angle
from posecheck.core.pose import MIRROR, VISIBILITY, Landmark, Pose
from posecheck.errors import InputError
from posecheck.evaluation.labels import Interval
from posecheck.evaluation.scoring import CountResult

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.evaluation.runner import PoseStream

BASELINE_TABLE = "aigym_baseline.yaml"


@dataclass(frozen=True)
class BaselineRule:
    """How the baseline counts one exercise: one joint angle, one global up/down threshold pair.

    Attributes:
        exercise: spec id.
        joint: name of the joint in the table (e.g. ``"elbow"``).
        points: the LEFT-side (a, vertex, c) landmarks of the angle; the right side comes from the mirror
            table.
        up_deg: the angle is "up" above this (degrees).
        down_deg: a rep is counted when the angle drops below this after having been up (degrees).
    """

    exercise: str
    joint: str
    points: tuple[Landmark, Landmark, Landmark]
    up_deg: float
    down_deg: float


def parse_baseline_table(data: Any, source: str = "baseline table") -> dict[str, BaselineRule]:
    """Validates the baseline table (``joints:`` name -> points/up_deg/down_deg; ``exercises:`` id -> joint).

    Raises:
        InputError: one line per problem.
    """
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("joints"), dict) or not isinstance(
        data.get("exercises"), dict
    ):
        raise InputError(f"{source}: expected mappings 'joints' and 'exercises'")
    joints: dict[str, tuple[tuple[Landmark, Landmark, Landmark], float, float]] = {}
    for name, joint in data["joints"].items():
        try:
            points = tuple(Landmark[f"LEFT_{p}"] for p in joint["points"])
            up, down = float(joint["up_deg"]), float(joint["down_deg"])
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{source}: joints.{name}: needs points [A, B, C] (LEFT_ names without LEFT_), up_deg, down_deg ({exc})")
            continue
        if len(points) != 3 or not 0 <= down < up <= 180:
            problems.append(f"{source}: joints.{name}: needs 3 points and 0 <= down_deg < up_deg <= 180")
            continue
        joints[name] = (points, up, down)  # type: ignore[assignment]
    rules: dict[str, BaselineRule] = {}
    for exercise, joint_name in data["exercises"].items():
        if joint_name not in joints:
            if joint_name not in data["joints"]:
                problems.append(f"{source}: exercises.{exercise}: unknown joint {joint_name!r}")
            continue
        points, up, down = joints[joint_name]
        rules[str(exercise)] = BaselineRule(str(exercise), str(joint_name), points, up, down)
    if problems:
        raise InputError("\n".join(problems))
    return rules


def load_baseline_table(path: str | Path | None = None) -> dict[str, BaselineRule]:
    """Reads the baseline table; ``None`` reads the built-in ``posecheck/data/aigym_baseline.yaml``."""
    if path is None:
        text = resources.files("posecheck").joinpath("data", BASELINE_TABLE).read_text(encoding="utf-8")
        source = f"posecheck/data/{BASELINE_TABLE}"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the baseline table ({exc.strerror or exc})") from exc
        source = str(path)
    try:
        return parse_baseline_table(yaml.safe_load(text), source)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({exc})") from exc


def joint_angle_deg(pose: Pose, points: Sequence[int]) -> float:
    """Interior angle at points[1] between the segments to points[0] and points[2], in image pixels.

    Returns:
        Degrees in [0, 180]; NaN if points[0] or points[2] coincides with points[1].
    """
    a, b, c = pose.xy_px[list(points)]
    return float(joint_angle(a, b, c))


def baseline_angle(pose: Pose, rule: BaselineRule) -> float:
    """The rule's joint angle on the more visible side of this frame (AIGym uses one fixed side; picking
    the side by visibility per frame is the kindest version of that for side-on floor clips)."""
    left = list(rule.points)
    right = MIRROR[left]
    vis = pose.landmarks[:, VISIBILITY]
    return joint_angle_deg(pose, left if vis[left].mean() >= vis[right].mean() else right)


class AIGymCounter:
    """Counts reps the way ultralytics' AIGym does, from one angle per frame.

    Stage logic (AIGym ``process``): below ``down_deg`` -> count one rep if the stage was "up", then
    stage "down"; above ``up_deg`` -> stage "up"; in between nothing changes. Frames without an angle are
    skipped, as AIGym skips frames without a detection.

    Each counted rep is given the interval from the last frame seen "up" to the frame it was counted, so
    that it can be scored for timing and phantoms like posecheck's reps.
    """

    def __init__(self, up_deg: float, down_deg: float) -> None:
        self.up_deg = up_deg
        self.down_deg = down_deg
        self.stage: Literal["up", "down"] | None = None
        self.last_up_t: float | None = None
        self.reps: list[Interval] = []

    def update(self, t: float, angle_deg: float | None) -> bool:
        """Feeds one frame; returns True when this frame completed a rep."""
        if angle_deg is None or math.isnan(angle_deg):
            return False
        if angle_deg < self.down_deg:
            counted = self.stage == "up"
            if counted:
                assert self.last_up_t is not None
                self.reps.append((self.last_up_t, t))
            self.stage = "down"
            return counted
        if angle_deg > self.up_deg:
            self.stage = "up"
            self.last_up_t = t
        return False


def run_baseline(poses: PoseStream, rule: BaselineRule) -> CountResult:
    """Runs the AIGym-style counter over a pose stream."""
    counter = AIGymCounter(rule.up_deg, rule.down_deg)
    for t, pose in poses:
        counter.update(t, None if pose is None else baseline_angle(pose, rule))
    return CountResult(reps=len(counter.reps), rep_times=tuple(counter.reps), holds=None)
