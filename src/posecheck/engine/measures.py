"""Poses -> measures: the spec's measures precompiled into landmark index arrays and computed in bulk.

`MeasureSet` is built once per engine. `compute` takes a block of frames (one frame for live use, a whole
trace for replay) and returns every measure for every frame with a handful of numpy operations per
measure kind, whatever the number of frames: the smoothing is the only per-frame step.

Pure module: numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posecheck import geometry
from posecheck.pose import NUM_LANDMARKS, VISIBILITY, Z
from posecheck.smoothing import OneEuroFilter
from posecheck.specs.names import is_side_relative, resolve_point
from posecheck.specs.schema import ExerciseSpec, Measure

SIDES = ("left", "right")
LEFT, RIGHT = 0, 1

_KIND_FUNCTIONS = {
    "angle": lambda p, ref: geometry.joint_angle(p[..., 0, :], p[..., 1, :], p[..., 2, :]),
    "inclination": lambda p, ref: geometry.inclination(p[..., 0, :], p[..., 1, :], ref),
    "distance": lambda p, ref: geometry.distance(p[..., 0, :], p[..., 1, :]),
    "height": lambda p, ref: geometry.height_above(p[..., 0, :], p[..., 1, :]),
    "lateral": lambda p, ref: geometry.lateral_offset(p[..., 0, :], p[..., 1, :]),
}
_TORSO_NORMALISED = ("distance", "height", "lateral")
_NO_WORLD = np.full((NUM_LANDMARKS, 3), np.nan)


def side_key(name: str, side: str) -> str:
    """The key of one side of a per-side measure (reduce: per_side) in the frame values: ``name.left``."""
    return f"{name}.{side}"


def point_indices(names: list[str], side: str) -> np.ndarray:
    """(P, 2) landmark index pairs (a point is the midpoint of its pair) for point names on ``side``."""
    return np.array([[int(i) for i in resolve_point(name, side)] for name in names], dtype=np.intp)  # type: ignore[arg-type]


def _sided(measure: Measure) -> bool:
    return any(is_side_relative(name) for name in measure.points)


@dataclass
class MeasureBlock:
    """Measures of a block of N frames.

    Attributes:
        values: measure name -> (N,) values, NaN where unknown. Per-side measures (reduce: per_side) appear
            as ``name.left`` and ``name.right`` instead.
        sides: measure name -> (N, 2) left/right values, for measures with side: both.
        auto_side: (N,) 0 = left, 1 = right: the side nearer the camera (hysteresis applied); all 0 when
            no measure uses side: auto.
        view_ratio: (N,) shoulder width / torso length in the image plane.
        visible: (N,) bool: the landmarks setup requires are visible.
    """

    values: dict[str, np.ndarray]
    sides: dict[str, np.ndarray]
    auto_side: np.ndarray
    view_ratio: np.ndarray
    visible: np.ndarray


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
        # (2K, 1) landmark rows and (2,) columns: one fancy index gathers (N, 2K, [visibility, z]) per block.
        self._rows = np.concatenate([left, right])[:, None]
        self._cols = np.array([VISIBILITY, Z], dtype=np.intp)
        self.reset()

    def reset(self) -> None:
        self.side: int | None = None
        self._lead_since: float | None = None

    def choose(self, ts: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """(N,) chosen side per frame for (N,) times and (N, 33, 5) landmarks."""
        k = len(self.left)
        cols = landmarks[:, self._rows, self._cols]  # (N, 2K, 2)
        means = cols.reshape(len(ts), 2, k, 2).sum(axis=2) / k  # (N, side, [visibility, z])
        score = means[:, :, 0].tolist()
        depth = means[:, :, 1].tolist()
        out = np.empty(len(ts), dtype=np.intp)
        for i, t in enumerate(ts.tolist()):
            (vis_l, vis_r), (z_l, z_r) = score[i], depth[i]
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
            out[i] = self.side
        return out


class MeasureSet:
    """A spec's measures, compiled into index arrays once.

    Args:
        spec: the validated spec.
    """

    def __init__(self, spec: ExerciseSpec):
        self.min_visibility = spec.tracking.min_visibility
        self.filter = OneEuroFilter(spec.smoothing.min_cutoff, spec.smoothing.beta, spec.smoothing.d_cutoff)
        self.per_side = [name for name, m in spec.measures.items() if m.side == "both" and m.reduce == "per_side"]

        # Every (measure, side) variant that has to be computed: sided measures need the sides their
        # `side` setting can pick; measures without side-relative names need one variant.
        self._variant_of: dict[tuple[str, str], int] = {}
        groups: dict[tuple[str, str, str | None], list[tuple[int, np.ndarray]]] = {}
        for name, measure in spec.measures.items():
            if not _sided(measure):
                wanted = ["left"]
            elif measure.side in ("left", "right"):
                wanted = [measure.side]
            else:
                wanted = list(SIDES)
            for side in wanted:
                variant = len(self._variant_of)
                self._variant_of[(name, side)] = variant
                key = (measure.kind, measure.space, measure.reference)
                groups.setdefault(key, []).append((variant, point_indices(measure.points, side)))
        # Per group of variants of one kind and space: (G, P) indices of each point's two landmarks.
        self._groups = []
        for (kind, space, reference), items in groups.items():
            idx = np.stack([pairs for _, pairs in items])  # (G, P, 2)
            self._groups.append((kind, space, reference, np.array([v for v, _ in items]), idx[..., 0], idx[..., 1]))
        self._n_variants = len(self._variant_of)
        # membership[l, v] > 0 when landmark l is a point (or half a midpoint) of variant v: one matrix
        # product per block then tells which variants have a hidden landmark.
        self._membership = np.zeros((NUM_LANDMARKS, self._n_variants))
        for *_, columns, idx_a, idx_b in self._groups:
            for column, a, b in zip(columns, idx_a, idx_b):
                self._membership[a, column] = 1.0
                self._membership[b, column] = 1.0
        self._torso_spaces = sorted({space for kind, space, *_ in self._groups if kind in _TORSO_NORMALISED})
        self._needs_view = spec.setup.view != "any"

        # How each measure's value(s) are read off the variant columns: (name, measure, mode, left col, right
        # col, both cols as an index array for side: both).
        self._plan: list[tuple[str, Measure, str, int, int, np.ndarray]] = []
        for name, measure in spec.measures.items():
            if not _sided(measure):
                col = self._variant_of[(name, "left")]
                mode, left_col, right_col = ("both" if measure.side == "both" else "single"), col, col
            elif measure.side in SIDES:
                col = self._variant_of[(name, measure.side)]
                mode, left_col, right_col = "single", col, col
            else:
                mode = measure.side
                left_col, right_col = self._variant_of[(name, "left")], self._variant_of[(name, "right")]
            self._plan.append((name, measure, mode, left_col, right_col, np.array([left_col, right_col], dtype=np.intp)))

        auto_names = [n for n, m in spec.measures.items() if m.side == "auto" and _sided(m)]
        side_points = sorted({p for n in auto_names for p in spec.measures[n].points if is_side_relative(p)})
        self.auto = None
        if side_points:
            left = np.unique(point_indices(side_points, "left"))
            right = np.unique(point_indices(side_points, "right"))
            self.auto = AutoSide(left, right, spec.tracking.side_margin, spec.tracking.side_seconds)

        # What setup needs to see: the listed names, or the phase measure's points (lenient default).
        phase_measure = spec.measures.get(spec.phases.measure)
        required = spec.setup.visible or (phase_measure.points if phase_measure else [])
        self._required = {side: np.unique(point_indices(required, side)) for side in SIDES}
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

    def compute(self, ts: np.ndarray, landmarks: np.ndarray, world: np.ndarray | None, frame_size: tuple[int, int]) -> MeasureBlock:
        """Smooths a block of frames and computes every measure.

        Args:
            ts: (N,) seconds, increasing, frames in order (and after the frames of earlier calls).
            landmarks: (N, 33, 5) Pose.landmarks of each frame (every frame must have a pose).
            world: (N, 33, 3) world landmarks (NaN where an estimator gave none), or None.
            frame_size: (width, height) in pixels.

        Returns:
            The block's measures.
        """
        n = len(ts)
        if world is None:
            world = np.broadcast_to(_NO_WORLD, (n, NUM_LANDMARKS, 3))
        raw = np.concatenate([landmarks[:, :, :2], world], axis=2).astype(np.float64)  # (N, 33, 5)
        smooth = self.filter.filter_series(ts, raw)
        width, height = frame_size
        image = smooth[:, :, :2] * (width, height)
        world_pts = smooth[:, :, 2:]
        visible = landmarks[:, :, VISIBILITY] >= self.min_visibility  # (N, 33)

        variants = np.full((n, self._n_variants), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            torso = {
                space: geometry.torso_length(image if space == "image" else world_pts, visible)[:, None]
                for space in self._torso_spaces
            }
            for kind, space, reference, columns, idx_a, idx_b in self._groups:
                coords = image if space == "image" else world_pts
                points = (coords[:, idx_a] + coords[:, idx_b]) * 0.5  # (N, G, P, D): the points (midpoints)
                value = _KIND_FUNCTIONS[kind](points, reference)
                if kind in _TORSO_NORMALISED:
                    value = value / torso[space]
                variants[:, columns] = value
            variants[(~visible).astype(np.float64) @ self._membership > 0] = np.nan  # hidden: unknown
            view = geometry.view_ratio(image) if self._needs_view else np.full(n, np.nan)

            auto_side = self.auto.choose(ts, landmarks) if self.auto is not None else np.zeros(n, dtype=np.intp)
            values: dict[str, np.ndarray] = {}
            both: dict[str, np.ndarray] = {}
            for name, measure, mode, left_col, right_col, pair_cols in self._plan:
                if mode == "single":
                    values[name] = variants[:, left_col]
                elif mode == "auto":
                    values[name] = np.where(auto_side == LEFT, variants[:, left_col], variants[:, right_col])
                else:
                    pair = variants[:, pair_cols]
                    both[name] = pair
                    values.update(_reduced(name, measure, pair))

        visible_ok = visible[:, self._required["left"]].all(axis=1)
        if self._required_mode != "fixed":
            right_ok = visible[:, self._required["right"]].all(axis=1)
            if self._required_mode == "auto":
                visible_ok = np.where(auto_side == LEFT, visible_ok, right_ok)
            elif self._required_mode == "right":
                visible_ok = right_ok
            elif self._required_mode == "both":
                visible_ok = visible_ok | right_ok  # lenient: side-on, the far side is often hidden
        return MeasureBlock(values, both, auto_side, view, visible_ok)


def _reduced(name: str, measure: Measure, pair: np.ndarray) -> dict[str, np.ndarray]:
    """The value(s) of a side: both measure from its (N, 2) left/right values. A hidden side is ignored.

    Called inside `MeasureSet.compute`'s errstate block (one per block, not one per measure).
    """
    if measure.reduce == "per_side":
        return {side_key(name, "left"): pair[:, LEFT], side_key(name, "right"): pair[:, RIGHT]}
    if measure.reduce == "min":
        return {name: np.fmin(pair[:, LEFT], pair[:, RIGHT])}
    if measure.reduce == "max":
        return {name: np.fmax(pair[:, LEFT], pair[:, RIGHT])}
    known = ~np.isnan(pair)
    total = np.where(known, pair, 0.0).sum(axis=1)
    count = known.sum(axis=1)
    return {name: np.where(count > 0, total / np.maximum(count, 1), np.nan)}
