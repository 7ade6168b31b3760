"""Poses -> measures: the spec's measures compiled once, then computed one frame at a time.

`MeasureSet` is built once per engine. It works out which landmark coordinates the spec's measures read,
which points (landmarks, or midpoints of two) each measure takes, and how each measure's value is read off
its left/right variants. `compute` then takes one frame: only the coordinates the points need are smoothed
(One Euro filter), and each measure is a few float operations on its points (`posecheck.core.geometry`'s ``*_of``
forms). Why Python floats rather than numpy: a frame has some 20 coordinates and a dozen measures on
2-element points, and numpy's fixed cost per call (about half a microsecond, several times that when the
pose estimator has just evicted the caches) would outweigh the arithmetic many times over.

Pure module: numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from posecheck.core import geometry
from posecheck.core.pose import NUM_LANDMARKS, VISIBILITY, Landmark, Z
from posecheck.core.smoothing import OneEuroListFilter
from posecheck.specs.names import is_side_relative, resolve_point
from posecheck.specs.schema import ExerciseSpec, Measure

SIDES = ("left", "right")
LEFT, RIGHT = 0, 1

# kind -> its value from the measure's points, in spec order (inclination also takes reference=).
_KIND_FUNCTIONS: dict[str, Callable[..., float]] = {
    "angle": geometry.joint_angle_of,
    "inclination": geometry.inclination_of,
    "distance": geometry.distance_of,
    "height": geometry.height_above_of,
    "lateral": geometry.lateral_offset_of,
}
_TORSO_NORMALISED = ("distance", "height", "lateral")
# Columns of each space's coordinates: in Pose.landmarks (x, y of the image) and in Pose.world (x, y, z).
_SPACE_COLUMNS = {"image": (0, 1), "world": (0, 1, 2)}
_TORSO = (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)


def side_key(name: str, side: str) -> str:
    """The key of one side of a per-side measure (reduce: per_side) in the frame values: ``name.left``."""
    return f"{name}.{side}"


def point_indices(names: list[str], side: str) -> np.ndarray:
    """(P, 2) landmark index pairs (a point is the midpoint of its pair) for point names on ``side``."""
    return np.array([[int(i) for i in resolve_point(name, side)] for name in names], dtype=np.intp)  # type: ignore[arg-type]


def _sided(measure: Measure) -> bool:
    return any(is_side_relative(name) for name in measure.points)


def _items(indices: Sequence[int]) -> Callable[[Sequence], tuple]:
    """``lambda seq: tuple(seq[i] for i in indices)``, in C (operator.itemgetter, but always a tuple)."""
    indices = tuple(int(i) for i in indices)
    if len(indices) == 1:
        return lambda seq: (seq[indices[0]],)
    return itemgetter(*indices)


@dataclass
class FrameMeasures:
    """Measures of one frame.

    Attributes:
        values: measure name -> value, NaN where unknown. Per-side measures (reduce: per_side) appear as
            ``name.left`` and ``name.right`` instead.
        sides: measure name -> (left, right) values, for measures with side: both.
        view_ratio: shoulder width / torso length in the image plane (NaN when setup.view is "any").
        visible: the landmarks setup requires are visible.
    """

    values: dict[str, float]
    sides: dict[str, tuple[float, float]]
    view_ratio: float
    visible: bool


class AutoSide:
    """Picks the side nearer the camera from landmark visibility, with hysteresis.

    Side-on, the near side's landmarks are the visible ones. The other side must lead by ``margin`` (mean
    visibility) for ``hold_seconds`` before the choice switches, so noise does not flip it every frame. Ties
    (e.g. both sides fully visible) go to the side with the smaller MediaPipe depth z (nearer), which keeps
    mirror images consistent.
    """

    def __init__(self, left: np.ndarray, right: np.ndarray, margin: float, hold_seconds: float):
        if len(left) != len(right):
            raise ValueError("AutoSide: left and right landmark lists must pair up")
        self.left, self.right = left, right
        self.margin, self.hold_seconds = margin, hold_seconds
        # Flat indices of (visibility, z) of each landmark, left ones then right ones, in a frame's (33, 5).
        self._flat = (np.concatenate([left, right])[:, None] * 5 + (VISIBILITY, Z)).ravel()
        self.reset()

    def reset(self) -> None:
        self.side: int | None = None
        self._lead_since: float | None = None

    def choose(self, t: float, landmarks: np.ndarray) -> int:
        """The chosen side at time ``t`` (seconds) for one frame's (33, 5) landmarks."""
        k = len(self.left)
        # The means stay in numpy: landmarks are float32, which numpy sums in float32 (floats would round
        # differently).
        means = np.add.reduce(landmarks.take(self._flat).reshape(2, k, 2), axis=1) / k  # (side, [visibility, z])
        (vis_l, z_l), (vis_r, z_r) = means.tolist()
        if self.side is None:
            self.side = LEFT if (vis_l, -z_l) >= (vis_r, -z_r) else RIGHT
        current, other = (vis_l, vis_r) if self.side == LEFT else (vis_r, vis_l)
        if other - current > self.margin:
            if self._lead_since is None:
                self._lead_since = t
            if t - self._lead_since >= self.hold_seconds:
                self.side, self._lead_since = 1 - self.side, None
        else:
            self._lead_since = None
        return self.side


class _SpacePoints:
    """The points (landmarks, or midpoints of two) that the measures read in one space, image or world.

    Collects the points while the measures are compiled (`slot`), then (`freeze`) fixes where their
    landmarks' coordinates sit in the vector that the One Euro filter smooths, and where the space's points
    start in the frame's list of points.
    """

    def __init__(self, space: str):
        self.space = space
        self.dims = len(_SPACE_COLUMNS[space])
        self._pairs: dict[tuple[int, int], int] = {}

    def slot(self, a: int, b: int) -> int:
        """The index among this space's points of the midpoint of landmarks a and b (a == b: the landmark)."""
        return self._pairs.setdefault((int(a), int(b)), len(self._pairs))

    def freeze(self, offset: int, first_point: int) -> None:
        """Fixes the layout.

        Args:
            offset: where this space's coordinates start in the filtered vector.
            first_point: where this space's points start in the frame's list of points.
        """
        landmarks = sorted({lm for pair in self._pairs for lm in pair})
        # Flat indices into the C-order (33, 5) landmarks (image) or (33, 3) world landmarks of a frame.
        width = 5 if self.space == "image" else 3
        self.flat = np.array([lm * width + c for lm in landmarks for c in _SPACE_COLUMNS[self.space]], dtype=np.intp)
        self.start, self.stop = offset, offset + len(self.flat)
        self.first_point, self.used = first_point, bool(self._pairs)
        self.count = len(self._pairs)
        # Where each point's two landmarks' coordinates start in this space's part of the filtered vector.
        where = {lm: i * self.dims for i, lm in enumerate(landmarks)}
        self._starts = [(where[a], where[b]) for a, b in self._pairs]
        self._size: tuple[int, int] | None = None  # the frame size that self._scale was made for
        self._scale: tuple[int, ...] = ()

    def points(self, smooth: list[float], frame_size: tuple[int, int]) -> list[list[float]]:
        """This space's points of one frame, from the frame's smoothed values; image points in pixels."""
        coords = smooth[self.start:self.stop]
        if self.space == "image":
            if frame_size != self._size:
                self._size, self._scale = frame_size, tuple(frame_size) * (len(coords) // 2)  # (w, h, w, h, ...)
            coords = [value * scale for value, scale in zip(coords, self._scale)]
        dims = self.dims
        points = []
        for a, b in self._starts:
            if a == b:
                # A landmark: (x + x) * 0.5 == x exactly (doubling and halving are exact in binary floating point).
                points.append(coords[a:a + dims])
            else:
                points.append([(coords[a + c] + coords[b + c]) * 0.5 for c in range(dims)])
        return points


class _VariantPlan(NamedTuple):
    """While compiling: one (measure, side) variant and where its points sit in their space."""

    measure: Measure
    space: _SpacePoints
    slots: list[int]  # its points' slots in the space
    landmarks: list[int]  # the landmarks its points are made of (all must be visible)


class MeasureVariant(NamedTuple):
    """One (measure, side) variant, compiled: how a frame's value of it is computed.

    A NamedTuple, not a dataclass: the frame loop unpacks it, which costs no more than a plain tuple.
    """

    function: Callable[..., float]  # the kind's geometry function (`posecheck.core.geometry`'s ``*_of``)
    points: Callable[[list], tuple]  # its points, from the frame's list of points
    visibility: Callable[[Sequence], tuple]  # its landmarks' "visible" flags, from the frame's (33,) flags
    ruler: int | None  # which torso length divides it (normalised kinds), None when not normalised


class MeasureReading(NamedTuple):
    """How one measure's value(s) in the frame values are read off the variants."""

    mode: str  # "single" (one variant), "auto" (the variant of the auto side), or "both" (both sides)
    name: str
    left: int  # index of the left variant (the only one for mode "single")
    right: int  # index of the right variant
    reduce: str | None  # mode "both": min, max, mean, or per_side (both sides kept, as left_key and right_key)
    left_key: str
    right_key: str


class MeasureSet:
    """A spec's measures, compiled once into point slots and small typed records (`MeasureVariant`,
    `MeasureReading`).

    Args:
        spec: the validated spec.
    """

    def __init__(self, spec: ExerciseSpec):
        self.min_visibility = spec.tracking.min_visibility
        self.filter = OneEuroListFilter(spec.smoothing.min_cutoff, spec.smoothing.beta, spec.smoothing.d_cutoff)
        self.per_side = [name for name, m in spec.measures.items() if m.side == "both" and m.reduce == "per_side"]
        spaces = {space: _SpacePoints(space) for space in _SPACE_COLUMNS}

        # Every (measure, side) variant that has to be computed: sided measures need the sides their
        # `side` setting can pick; measures without side-relative names need one variant.
        variant_of: dict[tuple[str, str], int] = {}
        compiled: list[_VariantPlan] = []
        for name, measure in spec.measures.items():
            if not _sided(measure):
                wanted = ["left"]
            elif measure.side in ("left", "right"):
                wanted = [measure.side]
            else:
                wanted = list(SIDES)
            for side in wanted:
                variant_of[(name, side)] = len(compiled)
                pairs = point_indices(measure.points, side)
                space = spaces[measure.space]
                compiled.append(_VariantPlan(measure, space, [space.slot(a, b) for a, b in pairs], sorted(set(pairs.ravel().tolist()))))
        # The torso length (the ruler of normalised measures) in each space that has some, and the view
        # ratio (image), read points too.
        left_shoulder, right_shoulder, left_hip, right_hip = _TORSO
        torso_spaces = [space for space in spaces.values() if any(v.measure.kind in _TORSO_NORMALISED and v.space is space for v in compiled)]
        torso_slots = [[space.slot(lm, lm) for lm in _TORSO] for space in torso_spaces]
        view_slots = None
        if spec.setup.view != "any":
            image = spaces["image"]
            view_slots = [
                image.slot(left_shoulder, left_shoulder),
                image.slot(right_shoulder, right_shoulder),
                image.slot(left_shoulder, right_shoulder),
                image.slot(left_hip, right_hip),
            ]

        # The layout: the filtered vector holds the image x, y of every landmark a point needs, then the world
        # x, y, z; a frame's list of points holds the image points, then the world points.
        offset = first_point = 0
        for space in spaces.values():
            space.freeze(offset, first_point)
            offset, first_point = space.stop, first_point + space.count
        self._spaces = [space for space in spaces.values() if space.used]
        self._no_world = np.full(NUM_LANDMARKS * 3, np.nan)

        def points_of(space: _SpacePoints, slots: list[int]) -> Callable[[list], tuple]:
            return _items([space.first_point + slot for slot in slots])

        self._variants: list[MeasureVariant] = []
        for measure, space, slots, landmarks in compiled:
            function = _KIND_FUNCTIONS[measure.kind]
            if measure.kind == "inclination":
                function = partial(function, reference=measure.reference)
            ruler = torso_spaces.index(space) if measure.kind in _TORSO_NORMALISED else None
            self._variants.append(MeasureVariant(function, points_of(space, slots), _items(landmarks), ruler))
        self._torso = [points_of(space, slots) for space, slots in zip(torso_spaces, torso_slots)]
        self._torso_visible = (_items((left_shoulder, left_hip)), _items((right_shoulder, right_hip)))
        self._view = points_of(spaces["image"], view_slots) if view_slots is not None else None

        # How each measure's value(s) are read off the variants.
        self._plan: list[MeasureReading] = []
        for name, measure in spec.measures.items():
            if not _sided(measure):
                left = right = variant_of[(name, "left")]
                mode = "both" if measure.side == "both" else "single"
            elif measure.side in SIDES:
                left = right = variant_of[(name, measure.side)]
                mode = "single"
            else:
                mode = measure.side
                left, right = variant_of[(name, "left")], variant_of[(name, "right")]
            self._plan.append(MeasureReading(mode, name, left, right, measure.reduce, side_key(name, "left"), side_key(name, "right")))
        # The variants a frame reads, (index, variant), when the auto side is left and when it is right: a
        # side: auto measure reads one of its two variants, so the other one is not computed.
        def read(auto_side: int) -> list[tuple[int, MeasureVariant]]:
            wanted = set()
            for reading in self._plan:
                if reading.mode == "auto":
                    wanted.add(reading.left if auto_side == LEFT else reading.right)
                else:
                    wanted.update((reading.left, reading.right))  # the same variant twice for mode "single"
            return [(i, self._variants[i]) for i in sorted(wanted)]

        self._read = (read(LEFT), read(RIGHT))

        auto_names = [n for n, m in spec.measures.items() if m.side == "auto" and _sided(m)]
        side_points = sorted({p for n in auto_names for p in spec.measures[n].points if is_side_relative(p)})
        self.auto = None
        if side_points:
            left_lms = np.unique(point_indices(side_points, "left"))
            right_lms = np.unique(point_indices(side_points, "right"))
            self.auto = AutoSide(left_lms, right_lms, spec.tracking.side_margin, spec.tracking.side_seconds)

        # What setup needs to see: the listed names, or the phase measure's points (lenient default).
        phase_measure = spec.measures.get(spec.phases.measure)
        required = spec.setup.visible or (phase_measure.points if phase_measure else [])
        self._required = {side: _items(np.unique(point_indices(required, side))) for side in SIDES}
        mode = phase_measure.side if phase_measure and any(is_side_relative(p) for p in required) else "fixed"
        if mode == "auto" and self.auto is None:
            # No measure picks an auto side (e.g. the phase measure uses mid_ points only): there is no side
            # to check, so either side fully visible will do, as for side: both.
            mode = "both"
        self._required_mode = mode

    def reset(self) -> None:
        """Forgets the filter and side history (after tracking was lost for long)."""
        self.filter.reset()
        if self.auto is not None:
            self.auto.reset()

    def compute(self, t: float, landmarks: np.ndarray, world: np.ndarray | None, frame_size: tuple[int, int]) -> FrameMeasures:
        """Smooths one frame and computes every measure.

        Args:
            t: seconds, after the frames of earlier calls.
            landmarks: (33, 5) Pose.landmarks.
            world: (33, 3) world landmarks (NaN where the estimator gave none), or None.
            frame_size: (width, height) in pixels.

        Returns:
            The frame's measures.
        """
        smooth = self.filter(t, self._raw(landmarks, world))
        points: list[list[float]] = []
        for space in self._spaces:
            points += space.points(smooth, frame_size)
        visible = (landmarks[:, VISIBILITY] >= self.min_visibility).tolist()  # (33,) bool

        torso = []
        if self._torso:
            left_ok, right_ok = all(self._torso_visible[0](visible)), all(self._torso_visible[1](visible))
            torso = [geometry.torso_length_of(*getter(points), left_ok, right_ok) for getter in self._torso]
        auto_side = self.auto.choose(t, landmarks) if self.auto is not None else LEFT
        variants = [math.nan] * len(self._variants)  # NaN: unknown, or not read in this frame
        for i, (function, points_getter, visibility_getter, ruler) in self._read[auto_side]:
            if all(visibility_getter(visible)):  # else a landmark is hidden: unknown
                value = function(*points_getter(points))
                variants[i] = value if ruler is None else value / torso[ruler]
        view = geometry.view_ratio_of(*self._view(points)) if self._view is not None else math.nan
        values: dict[str, float] = {}
        both: dict[str, tuple[float, float]] = {}
        for mode, name, left, right, reduce, left_key, right_key in self._plan:
            if mode == "single":
                values[name] = variants[left]
            elif mode == "auto":
                values[name] = variants[left] if auto_side == LEFT else variants[right]
            else:
                pair = both[name] = (variants[left], variants[right])
                if reduce == "per_side":
                    values[left_key], values[right_key] = pair
                else:
                    values[name] = _reduced(reduce, *pair)

        # Only the side(s) the mode reads are checked.
        mode, required = self._required_mode, self._required
        if mode == "both":  # lenient: side-on, the far side is often hidden
            visible_ok = all(required["left"](visible)) or all(required["right"](visible))
        elif mode == "auto":
            visible_ok = all(required[SIDES[auto_side]](visible))
        else:  # "left", "right", or "fixed" (no side-relative name: the two sides' getters are the same)
            visible_ok = all(required["right" if mode == "right" else "left"](visible))
        return FrameMeasures(values, both, view, visible_ok)

    def _raw(self, landmarks: np.ndarray, world: np.ndarray | None) -> list[float]:
        """The frame's coordinates that some point needs, in the filtered vector's order.

        Only those are filtered: the One Euro filter treats every value on its own, so leaving the others out
        changes nothing but the time spent.
        """
        raw: list[float] = []
        for space in self._spaces:
            source = landmarks if space.space == "image" else (self._no_world if world is None else world)
            raw += source.take(space.flat).tolist()
        return raw


def _reduced(reduce: str | None, left: float, right: float) -> float:
    """The value of a side: both measure (reduce min, max or mean) from its left/right values. A hidden
    (NaN) side is ignored."""
    if left != left:
        return right
    if right != right:
        return left
    if reduce == "min":
        return min(left, right)
    if reduce == "max":
        return max(left, right)
    return (left + right) / 2
