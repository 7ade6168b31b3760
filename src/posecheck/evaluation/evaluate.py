"""Counting accuracy on labelled clips: labels, scoring, an AIGym-style baseline, robustness variants.

Data flows one way here too: labelled clips -> poses (replayed traces or decoded video) -> the engine
(and the baseline counter) -> counted reps and holds -> scores against the labels -> a report.

Everything in this module is pure (numpy, pydantic, yaml) except :func:`analyze_video`, which imports
the session loop, cv2 and mediapipe lazily when it is called.

Scoring definitions (the same in the CLI, the benchmark and the tests):

* A clip is *scored for counts* when its label gives ``reps`` (``reps: null`` means the count could not
  be told). ``count error = counted - truth``.
* **MAE** is the mean of ``|counted - truth| / truth`` over scored clips with ``truth > 0`` (a relative
  error, as in the rep-counting literature); **OBO** (off-by-one) is the share of scored clips with
  ``|counted - truth| <= 1``; **exact** is the share with ``counted == truth``.
* **Rep timing**: counted reps are matched one-to-one to labelled rep intervals, largest overlap first.
  ``matched / counted`` is the timing agreement; the start and end offsets are ``counted - labelled`` in
  seconds, averaged over the matched pairs. The **timing error** is the mean of ``|start offset|`` and of
  ``|end offset|`` over the matched pairs (per clip; over all clips, pooled over every matched pair), so that
  early and late reps do not cancel out.
* A **phantom rep** is a counted rep whose interval overlaps no labelled rep interval at all (counted
  while walking in, setting up, resting or holding). On a ``reps: 0`` clip every counted rep is a phantom.
* **Hold time**: each counted hold is given to the labelled hold it overlaps most; per labelled hold the
  error is ``|sum of the counted seconds given to it - its labelled duration|``. Counted hold seconds that
  overlap no labelled hold are *extra* seconds. The clip's hold error is the larger of the worst per-hold
  error and the extra seconds. Only clips whose label has ``hold``, ``holds`` or ``hold_times`` are scored
  for holds (``hold_times`` is how labels.yaml spells the holds inside reps, e.g. the held stretch of each
  side bend: it means the same as ``holds``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from posecheck.errors import InputError, UnknownExerciseError
from posecheck.evaluation.margins import MarginCase, MarginRow, margin_rows
from posecheck.evaluation.views import STANDARD_CAMERAS, ViewCamera, viewed_from
from posecheck.core.geometry import joint_angle
from posecheck.core.pose import MIRROR, VISIBILITY, Landmark, Pose, X, Y
from posecheck.core.trace import Trace

logger = logging.getLogger(__name__)

PoseStream = Iterable[tuple[float, Pose | None]]
#: (start, end) in seconds.
Interval = tuple[float, float]

# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------


def _check_interval(interval: Sequence[float], where: str) -> None:
    start, end = interval
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start or start < 0:
        raise ValueError(f"{where}: expected 0 <= start < end, got [{start}, {end}]")


class _LabelEntry(BaseModel):
    """One clip's entry in labels.yaml (fields this module does not use are allowed and ignored)."""

    model_config = ConfigDict(extra="allow")

    exercise: str = Field(min_length=1)
    reps: NonNegativeInt | None
    rep_times: list[tuple[float, float]] = Field(default_factory=list)
    hold: tuple[float, float] | None = None
    holds: list[tuple[float, float]] = Field(default_factory=list)
    # The held part of each rep (seated_side_bend_01: the stretch held on each side): holds by another name.
    hold_times: list[tuple[float, float]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> _LabelEntry:
        for i, interval in enumerate(self.rep_times):
            _check_interval(interval, f"rep_times[{i}]")
        given = [name for name in ("hold", "holds", "hold_times") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(f"give one of hold, holds or hold_times, not {' and '.join(given)}")
        if self.hold is not None:
            _check_interval(self.hold, "hold")
        for name in ("holds", "hold_times"):
            for i, interval in enumerate(getattr(self, name)):
                _check_interval(interval, f"{name}[{i}]")
        if self.reps is not None and self.rep_times and len(self.rep_times) != self.reps:
            raise ValueError(f"reps is {self.reps} but rep_times has {len(self.rep_times)} intervals")
        return self


@dataclass(frozen=True)
class ClipLabel:
    """Ground truth for one clip.

    Attributes:
        clip: file name of the clip as written in labels.yaml, e.g. ``"cat_cow_01.mp4"``.
        exercise: the spec id the clip shows.
        reps: true rep count, or None when it could not be told (not scored for counts).
        rep_times: (start, end) seconds of every labelled rep, in time order (may be empty).
        holds: (start, end) seconds of every labelled hold (from ``hold``, ``holds`` or ``hold_times``).
        near_miss_of: set when another exercise's spec is run on this clip (:meth:`as_near_miss`): the
            exercise the clip really shows. Such a spec should count nothing and time no hold here.
    """

    clip: str
    exercise: str
    reps: int | None
    rep_times: tuple[Interval, ...] = ()
    holds: tuple[Interval, ...] = ()
    near_miss_of: str | None = None

    @property
    def stem(self) -> str:
        """The clip's file name without extension (the name of its trace)."""
        return Path(self.clip).stem

    @property
    def hold_seconds(self) -> float:
        """Total labelled hold time in seconds."""
        return sum(end - start for start, end in self.holds)

    def as_near_miss(self, exercise: str) -> ClipLabel:
        """The label for running ``exercise``'s spec on this clip: its own label if it shows that
        exercise, else a near miss that should count no rep and time no hold."""
        if exercise == self.exercise:
            return self
        return ClipLabel(self.clip, exercise, 0, (), (), near_miss_of=self.exercise)

    def at_speed(self, speed: float) -> ClipLabel:
        """The label of the clip played ``speed`` times as fast (every time divided by ``speed``)."""
        if speed == 1.0:
            return self

        def scaled(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
            return tuple((s / speed, e / speed) for s, e in intervals)

        return ClipLabel(
            self.clip, self.exercise, self.reps, scaled(self.rep_times), scaled(self.holds), self.near_miss_of
        )


def parse_labels(data: Any, source: str = "labels") -> list[ClipLabel]:
    """Validates parsed labels.yaml data.

    Args:
        data: the YAML document: a mapping clip file name -> label fields.
        source: name used in error messages (the file path).

    Returns:
        One ClipLabel per clip, in file order.

    Raises:
        InputError: one line per problem, ``source: clip: field: problem``.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of clip file name -> label, got {type(data).__name__}")
    labels: list[ClipLabel] = []
    problems: list[str] = []
    for clip, fields in data.items():
        try:
            entry = _LabelEntry.model_validate(fields)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{source}: {clip}: {where + ': ' if where else ''}{message}")
            continue
        holds = ([entry.hold] if entry.hold is not None else []) + list(entry.holds) + list(entry.hold_times)
        labels.append(
            ClipLabel(
                clip=str(clip),
                exercise=entry.exercise,
                reps=entry.reps,
                rep_times=tuple((float(s), float(e)) for s, e in entry.rep_times),
                holds=tuple((float(s), float(e)) for s, e in holds),
            )
        )
    if problems:
        raise InputError("\n".join(problems))
    return labels


def load_labels(path: str | Path) -> list[ClipLabel]:
    """Reads and validates a labels.yaml file (see :func:`parse_labels`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read labels ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    return parse_labels(data, str(path))


def select_clips(labels: Sequence[ClipLabel], only: Sequence[str] | None) -> list[ClipLabel]:
    """The labels named in ``only`` (file name or stem), all of them when ``only`` is empty.

    Raises:
        InputError: a name in ``only`` that is not in the labels.
    """
    if not only:
        return list(labels)
    by_name = {label.clip: label for label in labels} | {label.stem: label for label in labels}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise InputError(f"not in the labels: {', '.join(unknown)}")
    wanted = {by_name[name].clip for name in only}
    return [label for label in labels if label.clip in wanted]


# --------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------


def overlap(a: Interval, b: Interval) -> float:
    """Seconds that two intervals share (0 when they only touch or are apart)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def match_intervals(counted: Sequence[Interval], truth: Sequence[Interval]) -> list[tuple[int, int]]:
    """One-to-one matching of counted to labelled intervals, largest overlap first.

    Greedy on overlap seconds (ties broken by time order) is enough here: reps are short, ordered and
    rarely overlap more than one neighbour.

    Returns:
        (counted index, truth index) pairs with positive overlap, sorted by counted index.
    """
    candidates = [
        (overlap(c, t), ci, ti) for ci, c in enumerate(counted) for ti, t in enumerate(truth) if overlap(c, t) > 0
    ]
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_counted: set[int] = set()
    used_truth: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, ci, ti in candidates:
        if ci in used_counted or ti in used_truth:
            continue
        used_counted.add(ci)
        used_truth.add(ti)
        pairs.append((ci, ti))
    return sorted(pairs)


def phantom_indices(counted: Sequence[Interval], truth: Sequence[Interval]) -> list[int]:
    """Indices of counted intervals that overlap no labelled interval at all."""
    return [i for i, c in enumerate(counted) if not any(overlap(c, t) > 0 for t in truth)]


@dataclass(frozen=True)
class CountedHold:
    """A hold as counted by posecheck: where it was, and the seconds its timer ran."""

    start: float
    end: float
    seconds: float


@dataclass(frozen=True)
class HoldScore:
    """Hold time of one clip against its labels (seconds)."""

    truth_s: float
    counted_s: float  # all counted hold seconds in the clip
    per_hold_error_s: tuple[float, ...]  # one per labelled hold
    extra_s: float  # counted seconds overlapping no labelled hold

    @property
    def error_s(self) -> float:
        """The clip's hold error: the worst labelled hold's error, or the extra seconds if larger."""
        return max((*self.per_hold_error_s, self.extra_s), default=0.0)


def score_holds(counted: Sequence[CountedHold], truth: Sequence[Interval]) -> HoldScore:
    """Scores counted holds against labelled hold intervals (see the module docstring)."""
    given = [0.0] * len(truth)
    extra = 0.0
    for hold in counted:
        overlaps = [overlap((hold.start, hold.end), t) for t in truth]
        if overlaps and max(overlaps) > 0:
            given[int(np.argmax(overlaps))] += hold.seconds
        else:
            extra += hold.seconds
    errors = tuple(abs(g - (e - s)) for g, (s, e) in zip(given, truth))
    return HoldScore(
        truth_s=sum(e - s for s, e in truth),
        counted_s=sum(h.seconds for h in counted),
        per_hold_error_s=errors,
        extra_s=extra,
    )


@dataclass(frozen=True)
class CountResult:
    """What one counter (posecheck or the baseline) did on one clip.

    ``holds`` is None for a counter that does not time holds at all (the baseline): it is then not scored
    for holds, rather than scored as timing none.
    """

    reps: int
    rep_times: tuple[Interval, ...]
    holds: tuple[CountedHold, ...] | None = ()
    # posecheck's reasons for what it did not count (report.json's not_counted: "kind: reason"), most time first
    not_counted: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClipScore:
    """One counter's result on one clip, scored against the label.

    Fields that cannot be scored on this clip are None (e.g. ``count_error`` for ``reps: null``,
    ``hold`` when the label has no hold, ``phantoms`` when a clip with reps has no rep_times).
    """

    clip: str
    exercise: str
    truth_reps: int | None
    counted_reps: int
    count_error: int | None
    matched: int | None  # counted reps matched one-to-one to a labelled rep
    timing_agreement: float | None  # matched / counted (None when nothing was counted)
    mean_start_offset_s: float | None  # counted - labelled, over matched reps
    mean_end_offset_s: float | None
    phantoms: int | None
    phantom_times: tuple[Interval, ...]
    hold: HoldScore | None
    mean_abs_start_error_s: float | None = None  # mean |counted - labelled| start, over matched reps
    mean_abs_end_error_s: float | None = None
    not_counted: tuple[str, ...] = ()  # CountResult.not_counted

    @property
    def exact(self) -> bool | None:
        return None if self.count_error is None else self.count_error == 0

    @property
    def within_one(self) -> bool | None:
        return None if self.count_error is None else abs(self.count_error) <= 1


def score_clip(label: ClipLabel, result: CountResult) -> ClipScore:
    """Scores one counter's result on one clip against its label."""
    counted = list(result.rep_times)
    scored = label.reps is not None
    count_error = result.reps - label.reps if scored else None

    # Timing and phantoms need labelled intervals; a reps: 0 clip has none and needs none.
    timing_known = scored and (label.reps == 0 or len(label.rep_times) > 0)
    matched = start_offset = end_offset = agreement = None
    abs_start_error = abs_end_error = None
    phantoms: int | None = None
    phantom_times: tuple[Interval, ...] = ()
    if timing_known:
        pairs = match_intervals(counted, label.rep_times)
        matched = len(pairs)
        agreement = matched / len(counted) if counted else None
        if pairs:
            start_offset = float(np.mean([counted[c][0] - label.rep_times[t][0] for c, t in pairs]))
            end_offset = float(np.mean([counted[c][1] - label.rep_times[t][1] for c, t in pairs]))
        abs_start_error, abs_end_error = timing_errors(counted, label.rep_times, pairs)
        phantom_idx = phantom_indices(counted, label.rep_times)
        phantoms = len(phantom_idx)
        phantom_times = tuple(counted[i] for i in phantom_idx)

    # A near miss is scored for holds too: every second timed there is an extra second.
    hold_scored = (label.holds or label.near_miss_of is not None) and result.holds is not None
    hold = score_holds(result.holds, label.holds) if hold_scored else None
    return ClipScore(
        clip=label.clip,
        exercise=label.exercise,
        truth_reps=label.reps,
        counted_reps=result.reps,
        count_error=count_error,
        matched=matched,
        timing_agreement=agreement,
        mean_start_offset_s=start_offset,
        mean_end_offset_s=end_offset,
        phantoms=phantoms,
        phantom_times=phantom_times,
        hold=hold,
        mean_abs_start_error_s=abs_start_error,
        mean_abs_end_error_s=abs_end_error,
        not_counted=result.not_counted,
    )


def timing_errors(
    counted: Sequence[Interval], truth: Sequence[Interval], pairs: Sequence[tuple[int, int]]
) -> tuple[float | None, float | None]:
    """Mean ``|counted - labelled|`` start and end (seconds) over matched (counted, truth) index pairs."""
    if not pairs:
        return None, None
    starts = [abs(counted[c][0] - truth[t][0]) for c, t in pairs]
    ends = [abs(counted[c][1] - truth[t][1]) for c, t in pairs]
    return float(np.mean(starts)), float(np.mean(ends))


def pooled_timing_errors(scores: Sequence[ClipScore]) -> tuple[float | None, float | None]:
    """Mean |start| and |end| error over every matched rep of these clips (each clip weighted by its matches)."""
    timed = [s for s in scores if s.matched and s.mean_abs_start_error_s is not None]
    total = sum(s.matched or 0 for s in timed)
    if not total:
        return None, None
    start = sum((s.matched or 0) * (s.mean_abs_start_error_s or 0.0) for s in timed) / total
    end = sum((s.matched or 0) * (s.mean_abs_end_error_s or 0.0) for s in timed) / total
    return start, end


@dataclass(frozen=True)
class Totals:
    """Aggregate scores over clips (None where no clip could be scored)."""

    clips: int  # clips run
    scored: int  # clips with a known rep count
    mae: float | None  # mean |counted - truth| / truth over scored clips with truth > 0
    obo: float | None  # share of scored clips within one rep
    exact: float | None  # share of scored clips with the exact count
    hold_clips: int
    mean_hold_error_s: float | None
    max_hold_error_s: float | None
    phantoms: int  # phantom reps over all clips where phantoms could be scored
    timing_agreement: float | None  # matched / counted over all clips with rep intervals
    mean_abs_start_error_s: float | None = None  # |counted - labelled| rep start, over every matched rep
    mean_abs_end_error_s: float | None = None


def summarise(scores: Sequence[ClipScore]) -> Totals:
    """Aggregates clip scores (definitions in the module docstring)."""
    counted = [s for s in scores if s.count_error is not None]
    relative = [abs(s.count_error) / s.truth_reps for s in counted if s.truth_reps]
    holds = [s.hold.error_s for s in scores if s.hold is not None]
    timed = [s for s in scores if s.matched is not None]
    total_counted = sum(s.counted_reps for s in timed)
    abs_start_error, abs_end_error = pooled_timing_errors(scores)
    return Totals(
        clips=len(scores),
        scored=len(counted),
        mae=float(np.mean(relative)) if relative else None,
        obo=float(np.mean([s.within_one for s in counted])) if counted else None,
        exact=float(np.mean([s.exact for s in counted])) if counted else None,
        hold_clips=len(holds),
        mean_hold_error_s=float(np.mean(holds)) if holds else None,
        max_hold_error_s=float(np.max(holds)) if holds else None,
        phantoms=sum(s.phantoms or 0 for s in scores),
        timing_agreement=(sum(s.matched or 0 for s in timed) / total_counted) if total_counted else None,
        mean_abs_start_error_s=abs_start_error,
        mean_abs_end_error_s=abs_end_error,
    )


# --------------------------------------------------------------------------------------------------
# AIGym-style baseline
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Running posecheck's engine
# --------------------------------------------------------------------------------------------------


def run_engine(spec: Any, poses: PoseStream) -> CountResult:
    """Runs posecheck's engine with ``spec`` over a pose stream, exactly as ``analyze`` feeds it.

    Args:
        spec: a loaded exercise spec (``posecheck.specs.load_spec_by_id``).
        poses: (t, pose or None) per frame, in time order.
    """
    from posecheck.engine.engine import Engine

    engine = Engine(spec)
    t_end = 0.0
    for t, pose in poses:
        engine.update(t, pose)
        t_end = t
    return _count_result(engine.finish(t_end))


def _count_result(summary: Any) -> CountResult:
    """The parts of a SessionSummary that are scored."""
    return CountResult(
        reps=summary.reps,
        rep_times=tuple((rep.start, rep.end) for rep in summary.rep_list),
        holds=tuple(CountedHold(h.start, h.end, h.seconds) for h in summary.holds),
        not_counted=not_counted_texts(summary),
    )


def not_counted_texts(summary: Any) -> tuple[str, ...]:
    """A SessionSummary's diagnostics as "kind: reason" texts, most time first (eval's ``not_counted``)."""
    return tuple(f"{d.kind}: {d.reason}" for d in getattr(summary, "diagnostics", ()))


def spec_loader(specs_dir: Path | None) -> Callable[[str], Any | None]:
    """``load(exercise id) -> spec or None`` over the built-in specs, ``$POSECHECK_SPECS`` and ``specs_dir``
    (the same search ``analyze`` does). None means there is no spec with that id: the clip is skipped.

    Invalid specs are not skipped: their SpecError propagates, because a broken spec must be seen.
    """
    from posecheck.specs import SpecRegistry

    registry = SpecRegistry.default(specs_dir)
    return lambda exercise: registry.load(exercise) if exercise in registry else None


# --------------------------------------------------------------------------------------------------
# Clip runners: poses + posecheck's result for one clip
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipRun:
    """One clip run through posecheck.

    Attributes:
        poses: (t, pose or None) per frame, for the baseline and the robustness variants.
        result: posecheck's count and holds, or None when no spec was given.
    """

    poses: list[tuple[float, Pose | None]]
    result: CountResult | None


#: run(label, spec or None) -> ClipRun; raises InputError when the clip's input cannot be had.
ClipRunner = Callable[[ClipLabel, Any], ClipRun]


def replay_trace(traces_dir: Path, label: ClipLabel, spec: Any | None) -> ClipRun:
    """Replays the clip's landmark trace ``traces_dir/<clip stem>.npz`` through the engine.

    Raises:
        TraceError: no trace for this clip (or it cannot be read).
    """
    poses = list(Trace.load(Path(traces_dir) / f"{label.stem}.npz").poses())
    return ClipRun(poses, None if spec is None else run_engine(spec, poses))


def analyze_video(videos_dir: Path, label: ClipLabel, spec: Any | None, model_path: Path | None = None) -> ClipRun:
    """Decodes ``videos_dir/<clip>`` and runs it through the session loop that ``analyze`` uses
    (video source -> MediaPipe estimator -> engine). Imports cv2 and mediapipe.

    Clips without a spec are not decoded (there is nothing of posecheck's to measure).

    Raises:
        InputError: the video is missing or unreadable; ModelError: the pose model cannot be loaded.
    """
    path = Path(videos_dir) / label.clip
    if not path.is_file():
        raise InputError(f"{path}: no such video")
    if spec is None:
        return ClipRun([], None)
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator, running_mode_for
    from posecheck.estimators.model import resolve_model
    from posecheck.runtime.session import run_session
    from posecheck.sinks.trace import PoseRecorderSink

    collector = PoseRecorderSink()
    model = resolve_model(model_path)
    with VideoFileSource(path) as source, MediaPipeEstimator(model.path, running_mode=running_mode_for(source.info.fps)) as estimator:
        session = run_session(source, estimator, Engine(spec), [collector], exercise=label.exercise)
    return ClipRun(collector.poses, _count_result(session.summary))


# --------------------------------------------------------------------------------------------------
# Robustness variants
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# The evaluation
# --------------------------------------------------------------------------------------------------


@dataclass
class ClipReport:
    """Everything the evaluation found on one clip."""

    label: ClipLabel
    posecheck: ClipScore | None  # None when the clip was skipped for posecheck
    baseline: ClipScore | None  # None when the baseline table has no rule for the exercise
    skipped: str | None = None  # why posecheck did not run on the clip
    variants: dict[str, ClipScore] = field(default_factory=dict)


@dataclass
class Report:
    """The whole evaluation."""

    source: str  # "traces" or "videos"
    clips: list[ClipReport]

    @property
    def posecheck_totals(self) -> Totals:
        return summarise([c.posecheck for c in self.clips if c.posecheck is not None])

    @property
    def baseline_totals(self) -> Totals:
        """The baseline on the same clips posecheck ran on, so the two are comparable."""
        return summarise([c.baseline for c in self.clips if c.posecheck is not None and c.baseline is not None])

    @property
    def baseline_totals_all(self) -> Totals:
        """The baseline on every clip it has a rule for."""
        return summarise([c.baseline for c in self.clips if c.baseline is not None])

    def variant_names(self) -> list[str]:
        """Names of the variants that were run, in the order they were run."""
        return list(dict.fromkeys(name for c in self.clips for name in c.variants))

    def variant_totals(self) -> dict[str, Totals]:
        names = self.variant_names()
        return {name: summarise([c.variants[name] for c in self.clips if name in c.variants]) for name in names}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``--json``)."""

        def score(s: ClipScore | None) -> dict[str, Any] | None:
            if s is None:
                return None
            d = asdict(s)
            d["phantom_times"] = [list(iv) for iv in s.phantom_times]
            if s.hold is not None:
                d["hold"]["error_s"] = s.hold.error_s
            return d

        return _rounded({
            "source": self.source,
            "clips": [
                {
                    "clip": c.label.clip,
                    "exercise": c.label.exercise,
                    "truth_reps": c.label.reps,
                    "truth_hold_s": c.label.hold_seconds if c.label.holds else None,
                    "skipped": c.skipped,
                    "posecheck": score(c.posecheck),
                    "baseline": score(c.baseline),
                    "variants": {name: score(s) for name, s in c.variants.items()},
                }
                for c in self.clips
            ],
            "totals": {
                "posecheck": asdict(self.posecheck_totals),
                "baseline": asdict(self.baseline_totals),
                "baseline_all_clips": asdict(self.baseline_totals_all),
                "variants": {name: asdict(t) for name, t in self.variant_totals().items()},
            },
        })


def _rounded(value: Any, digits: int = 4) -> Any:
    """Floats rounded for the JSON report (the labels are good to about 0.25 s; more digits are noise)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def evaluate(
    labels: Sequence[ClipLabel],
    run: ClipRunner,
    *,
    source: str,
    specs_dir: Path | None = None,
    baseline: dict[str, BaselineRule] | None = None,
    variants: Sequence[Variant] = (),
    as_exercise: str | None = None,
    on_clip: Callable[[ClipReport], None] | None = None,
) -> Report:
    """Runs posecheck (and the baseline) on every labelled clip and scores them.

    Args:
        labels: the clips to run.
        run: gives a clip's poses and posecheck's result (:func:`replay_trace` or :func:`analyze_video`
            bound to a folder). Clips whose input cannot be had (InputError, e.g. no trace) are skipped.
        source: "traces" or "videos", for the report.
        specs_dir: where to find specs (None: the built-in ones, as ``analyze`` does).
        baseline: the baseline rules per exercise (None or empty: no baseline).
        variants: robustness variants to run posecheck on as well.
        as_exercise: run this exercise's spec on every clip instead of each clip's own; clips of other
            exercises become near misses (:meth:`ClipLabel.as_near_miss`) that should count nothing.
        on_clip: called after each clip (progress output).

    Raises:
        UnknownExerciseError: ``as_exercise`` has no spec. SpecError: a spec is invalid.
    """
    load_spec = spec_loader(specs_dir)
    if as_exercise is not None and load_spec(as_exercise) is None:
        raise UnknownExerciseError(f"no spec '{as_exercise}'")
    if as_exercise is not None:
        labels = [label.as_near_miss(as_exercise) for label in labels]
    reports: list[ClipReport] = []
    for label in labels:
        report = _evaluate_clip(label, run, load_spec(label.exercise), baseline or {}, variants)
        if report.posecheck is None:
            logger.info("%s: skipped (%s)", label.clip, report.skipped)
        else:
            logger.info("%s: counted %d, labelled %s", label.clip, report.posecheck.counted_reps, label.reps)
        reports.append(report)
        if on_clip is not None:
            on_clip(report)
    return Report(source=source, clips=reports)


def _evaluate_clip(
    label: ClipLabel,
    run: ClipRunner,
    spec: Any | None,
    baseline: dict[str, BaselineRule],
    variants: Sequence[Variant],
) -> ClipReport:
    rule = baseline.get(label.exercise)
    no_spec = None if spec is not None else f"no spec '{label.exercise}'"
    if spec is None and rule is None:
        return ClipReport(label, None, None, skipped=no_spec)
    try:
        clip = run(label, spec)
    except InputError as exc:
        return ClipReport(label, None, None, skipped=str(exc))
    baseline_score = score_clip(label, run_baseline(clip.poses, rule)) if rule is not None and clip.poses else None
    if clip.result is None:
        return ClipReport(label, None, baseline_score, skipped=no_spec)
    report = ClipReport(label, score_clip(label, clip.result), baseline_score)
    for variant in variants:
        result = run_engine(spec, variant.apply(clip.poses))
        report.variants[variant.name] = score_clip(label.at_speed(variant.speed), result)
    return report


def margin_report(
    labels: Sequence[ClipLabel],
    run: ClipRunner,
    *,
    specs_dir: Path | None = None,
    variants: Sequence[Variant] = (),
) -> list[MarginRow]:
    """How close each labelled clip, and each of its variants, comes to every line its spec draws
    (:mod:`posecheck.evaluation.margins`). Clips without a spec or without poses are left out."""
    load_spec = spec_loader(specs_dir)
    cases: list[MarginCase] = []
    for label in labels:
        spec = load_spec(label.exercise)
        if spec is None:
            continue
        try:
            poses = run(label, None).poses
        except InputError:
            continue
        reps, holds = label.rep_times, label.holds
        cases.append(MarginCase(label.exercise, label.clip, "", poses, reps, holds))
        for variant in variants:
            timed = label.at_speed(variant.speed)
            cases.append(MarginCase(label.exercise, label.clip, variant.name, variant.apply(poses), timed.rep_times, timed.holds))
    return margin_rows(cases, load_spec)


# --------------------------------------------------------------------------------------------------
# Tables (shared by the CLI's text output and benchmarks/ACCURACY.md)
# --------------------------------------------------------------------------------------------------


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _hold_cell(score: ClipScore | None) -> str:
    if score is None or score.hold is None:
        return "-"
    return f"{score.hold.counted_s:.1f}/{score.hold.truth_s:.1f} ({score.hold.error_s:.1f})"


def _timing_cell(score: ClipScore | None) -> str:
    if score is None or score.matched is None or score.counted_reps == 0:
        return "-"
    return f"{score.matched}/{score.counted_reps} {_num(score.mean_start_offset_s, '{:+.1f}')}/{_num(score.mean_end_offset_s, '{:+.1f}')}"


def _timing_error_cell(start_error: float | None, end_error: float | None) -> str:
    """Mean |start| / |end| error in seconds, e.g. ``0.5/0.7``."""
    if start_error is None or end_error is None:
        return "-"
    return f"{start_error:.1f}/{end_error:.1f}"


def clip_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per-clip table: headers and rows of display strings.

    Columns: clip; exercise; truth reps; posecheck count; matched/counted reps with mean start/end
    offsets (s); the timing error (mean |start| / |end| offset, s); phantom reps; hold counted/true seconds (error); the baseline's count and phantoms;
    one count column per robustness variant; why the clip was skipped.
    """
    variant_names = report.variant_names()
    headers = ["clip", "exercise", "truth", "posecheck", "timing", "timing err s", "phantom", "hold s", "baseline", "base phantom"]
    headers += variant_names + ["note"]
    rows = []
    for c in report.clips:
        p, b = c.posecheck, c.baseline
        truth = "?" if c.label.reps is None else str(c.label.reps)
        row = [
            c.label.clip,
            c.label.exercise,
            truth,
            "-" if p is None else str(p.counted_reps),
            _timing_cell(p),
            "-" if p is None else _timing_error_cell(p.mean_abs_start_error_s, p.mean_abs_end_error_s),
            _num(None if p is None else p.phantoms, "{}"),
            _hold_cell(p),
            "-" if b is None else str(b.counted_reps),
            _num(None if b is None else b.phantoms, "{}"),
        ]
        row += [str(c.variants[name].counted_reps) if name in c.variants else "-" for name in variant_names]
        note = c.skipped or ""
        if c.label.near_miss_of is not None:
            note = f"shows {c.label.near_miss_of}: should count nothing" + (f"; {note}" if note else "")
        row.append(note)
        rows.append(row)
    return headers, rows


def not_counted_notes(report: Report, limit: int = 2) -> list[tuple[str, list[str]]]:
    """Why posecheck's count is off: (clip, its top ``limit`` not_counted reasons) for every clip whose count
    is wrong or zero (the CLI prints them under the clip table)."""
    notes = []
    for c in report.clips:
        p = c.posecheck
        if p is None or not p.not_counted or (p.count_error in (0, None) and p.counted_reps > 0):
            continue
        if p.counted_reps == 0 and p.truth_reps == 0:
            continue  # nothing to count, nothing counted: the reasons are the intended ones
        notes.append((c.label.clip, list(p.not_counted[:limit])))
    return notes


def totals_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Totals for posecheck and the baseline (same clips), and the baseline on all its clips."""

    def pct(x: float | None) -> str:
        return _num(None if x is None else 100 * x, "{:.0f}%")

    headers = ["counter", "clips", "scored", "MAE", "OBO", "exact", "phantom reps", "timing", "timing err s", "hold clips", "mean hold err s", "max hold err s"]
    rows = []
    named = [("posecheck", report.posecheck_totals), ("baseline (same clips)", report.baseline_totals)]
    named += [("baseline (all clips)", report.baseline_totals_all)]
    named += [(f"posecheck {name}", t) for name, t in report.variant_totals().items()]
    for name, t in named:
        rows.append(
            [
                name,
                str(t.clips),
                str(t.scored),
                pct(t.mae),
                pct(t.obo),
                pct(t.exact),
                str(t.phantoms),
                pct(t.timing_agreement),
                _timing_error_cell(t.mean_abs_start_error_s, t.mean_abs_end_error_s),
                str(t.hold_clips),
                _num(t.mean_hold_error_s),
                _num(t.max_hold_error_s),
            ]
        )
    return headers, rows


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


__all__ = [
    "VARIANTS",
    "AIGymCounter",
    "BaselineRule",
    "ClipLabel",
    "ClipReport",
    "ClipRun",
    "ClipScore",
    "CountResult",
    "CountedHold",
    "HoldScore",
    "Report",
    "Totals",
    "Variant",
    "analyze_video",
    "clip_table",
    "evaluate",
    "load_baseline_table",
    "load_labels",
    "markdown_table",
    "not_counted_notes",
    "not_counted_texts",
    "match_intervals",
    "mirrored",
    "noisy",
    "overlap",
    "parse_baseline_table",
    "parse_labels",
    "phantom_indices",
    "pooled_timing_errors",
    "replay_trace",
    "run_baseline",
    "run_engine",
    "score_clip",
    "score_holds",
    "select_clips",
    "spec_loader",
    "summarise",
    "tilted",
    "time_scaled",
    "timing_errors",
    "totals_table",
]
