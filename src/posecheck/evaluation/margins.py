"""Margins: how close the labelled clips come to each line a spec draws.

A spec's numbers decide whether a movement counts: the phase boundaries the phase measure must cross, the
``also`` conditions of those phases, the position a rep must stay in (``reps.require``), the start position
(``setup.start``), the hold's conditions and the camera-view gate. A number that one clip passes by a hair is a
number fitted to that clip: the next person misses it. This module replays a spec over labelled pose streams
(original clips and their variants), reads the engine's smoothed measure values frame by frame, and reports for
every line the signed distance to it in the measure's own unit (deg, torso lengths, or a fraction of the
person's learned range): positive is on the passing side.

What each line must do, and so how its margin is taken on one clip:

- ``reach``: each labelled rep must get into the sequence's far phase: per rep, the best value over the rep;
  the clip's margin is the worst rep's.
- ``return``: and, in a sequence of three phases or more, come back into its last phase after the extreme: per
  rep, the best value after the extreme, within the rep and a second beyond it.
- ``also`` (of a far phase): must hold when the far phase is reached: per rep, the best margin over the frames
  where the phase measure is in the far phase's range (or the whole rep, if it never gets there).
- ``require``: must hold all through each rep: the 5th percentile over the rep (a blip is forgiven by
  ``abandon_after``).
- ``start``: must hold at some moment before the first labelled rep (or hold) is over: the best value.
- ``hold``: must hold through each labelled hold: the 10th percentile over the hold.
- ``view``: the camera view gate (``setup.view_ratio``): the median view ratio over the clip against the bound.

Per-side measures take the better side (the side that does the work). Learned ranges (``adaptive``) are
turned into fractions with the range the engine had learned by the end of the clip.

Pure module (numpy, the engine).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posecheck.engine.engine import Engine
from posecheck.engine.measures import side_key
from posecheck.core.geometry import view_ratio_of
from posecheck.core.pose import Landmark, Pose
from posecheck.specs.schema import ExerciseSpec

PoseStream = Sequence[tuple[float, "Pose | None"]]
Interval = tuple[float, float]

#: Margins thinner than this are flagged: about twice the frame-to-frame noise of a smoothed measure on the
#: clips (joint angles 1-3 deg, heights and distances 0.01-0.03 torso lengths), and a twentieth of a learned
#: range (the hysteresis most specs use).
THIN = {"deg": 5.0, "torso": 0.05, "range": 0.05, "ratio": 0.1}
#: How long after a labelled rep's end its return may still be seen (the labels are good to about 0.25 s, and
#: the engine's smoothing lags by a few frames).
RETURN_SLACK_S = 1.0


@dataclass(frozen=True)
class Line:
    """One line a spec draws: ``measure`` must lie in ``[low, high]`` (``unit``) for ``what``."""

    kind: str  # reach, return, also, require, start, hold, view
    what: str  # e.g. "phases.up.also.hip_lift"
    measure: str
    low: float
    high: float
    unit: str  # deg, torso, range (fraction of the learned range), ratio

    @property
    def bound(self) -> str:
        if math.isinf(self.low):
            return f"max {self.high:g}"
        if math.isinf(self.high):
            return f"min {self.low:g}"
        return f"{self.low:g}..{self.high:g}"


@dataclass(frozen=True)
class Margin:
    """The margin of one line on one pose stream (None: no frame to measure it on)."""

    line: Line
    value: float | None


def lines_of(spec: ExerciseSpec) -> list[Line]:
    """Every line of ``spec`` that a margin is reported for."""
    units = {name: m.unit for name, m in spec.measures.items()}
    phase_unit = "range" if spec.adaptive is not None else units.get(spec.phases.measure, "")
    lines: list[Line] = []

    def conditions(kind: str, where: str, mapping) -> None:
        for name, r in (mapping or {}).items():
            lines.append(Line(kind, f"{where}.{name}", name, _low(r.min), _high(r.max), units.get(name, "")))

    ranges = spec.phases.ranges
    if spec.reps is not None:
        sequence = spec.reps.sequence
        for name in dict.fromkeys(sequence[1:-1] or sequence[-1:]):
            r = ranges[name]
            lines.append(Line("reach", f"phases.{name}", spec.phases.measure, _low(r.min), _high(r.max), phase_unit))
            conditions("also", f"phases.{name}.also", r.also)
        last = ranges[sequence[-1]]
        if len(sequence) > 2:  # with two phases the rep ends on reaching the far one: no return to check
            lines.append(Line("return", f"phases.{sequence[-1]}", spec.phases.measure, _low(last.min), _high(last.max), phase_unit))
        conditions("require", "reps.require", spec.reps.require)
    if spec.setup.start is not None:
        conditions("start", "setup.start", spec.setup.start.when)
    if spec.hold is not None:
        conditions("hold", "hold.when", spec.hold.when)
    if spec.setup.view != "any" and spec.setup.view_ratio is not None:
        ratio = spec.setup.view_ratio
        low, high = (-math.inf, ratio) if spec.setup.view == "side" else (ratio, math.inf)
        lines.append(Line("view", "setup.view_ratio", "view_ratio", low, high, "ratio"))
    return lines


def _low(value: float | None) -> float:
    return -math.inf if value is None else value


def _high(value: float | None) -> float:
    return math.inf if value is None else value


@dataclass
class _Replay:
    """One pose stream through the engine: per frame, the time and every measure value (NaN: unknown)."""

    t: np.ndarray
    values: dict[str, np.ndarray]
    view_ratio: np.ndarray
    learned: dict[str, tuple[float, float]]


def _replay(spec: ExerciseSpec, poses: PoseStream) -> _Replay:
    engine = Engine(spec)
    times: list[float] = []
    rows: list[dict[str, float]] = []
    ratios: list[float] = []
    for t, pose in poses:
        engine.update(t, pose)
        if pose is None:
            continue
        times.append(t)
        rows.append(dict(engine.state.measures))
        ratios.append(_view_ratio(pose))
    summary = engine.finish(poses[-1][0] if poses else 0.0)
    keys = sorted({k for row in rows for k in row})
    values = {k: np.array([np.nan if row.get(k) is None else row[k] for row in rows], dtype=np.float64) for k in keys}
    return _Replay(np.array(times), values, np.array(ratios, dtype=np.float64), dict(summary.adaptive_range or {}))


def _view_ratio(pose: Pose) -> float:
    """Shoulder width / torso length in the picture (the setup gate's measure, unsmoothed)."""
    xy = pose.xy_px
    ls, rs = xy[Landmark.LEFT_SHOULDER], xy[Landmark.RIGHT_SHOULDER]
    lh, rh = xy[Landmark.LEFT_HIP], xy[Landmark.RIGHT_HIP]
    return view_ratio_of(ls, rs, (ls + rs) / 2, (lh + rh) / 2)


def _series(replay: _Replay, measure: str, unit: str, phase_measure: str) -> np.ndarray:
    """The measure's values per frame, the better side of a per-side measure, as a range fraction when the
    line is drawn on the learned range."""
    sides = [replay.values[k] for k in (side_key(measure, "left"), side_key(measure, "right")) if k in replay.values]
    if measure in replay.values:
        raw = replay.values[measure]
        key = measure
    elif sides:
        raw = np.fmax(*sides) if len(sides) == 2 else sides[0]
        key = side_key(measure, "left")
    else:
        return np.full(len(replay.t), np.nan)
    if unit == "range" and measure == phase_measure:
        bounds = replay.learned.get(key) or next(iter(replay.learned.values()), None)
        if bounds is None or not bounds[1] > bounds[0]:
            return np.full(len(replay.t), np.nan)
        return (raw - bounds[0]) / (bounds[1] - bounds[0])
    return raw


def _signed(values: np.ndarray, line: Line) -> np.ndarray:
    """Distance inside [low, high] (positive) or outside it (negative), per frame."""
    return np.minimum(values - line.low, line.high - values)


def _best(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return float(x.max()) if len(x) else None


def _percentile(x: np.ndarray, q: float) -> float | None:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if len(x) else None


def _worst(per_item: list[float | None]) -> float | None:
    known = [m for m in per_item if m is not None]
    return min(known) if known else None


def margins(spec: ExerciseSpec, poses: PoseStream, reps: Sequence[Interval], holds: Sequence[Interval]) -> list[Margin]:
    """The margin of every line of ``spec`` on one pose stream whose labelled reps and holds are given."""
    replay = _replay(spec, list(poses))
    t = replay.t
    phase = spec.phases.measure
    out: list[Margin] = []
    # The start position must be taken before the first rep or hold is over (labels start a rep at the first
    # movement, which may be the moment the start position is left).
    first_event = min([e for _, e in reps] + [e for _, e in holds], default=math.inf)
    for line in lines_of(spec):
        if line.kind == "view":
            median = _percentile(replay.view_ratio, 50)
            out.append(Margin(line, None if median is None else float(np.minimum(median - line.low, line.high - median))))
            continue
        signed = _signed(_series(replay, line.measure, line.unit, phase), line)
        if line.kind in ("reach", "also", "require", "return"):
            per_rep: list[float | None] = []
            # also: where the far phase is reached (the same for every rep of this line)
            far = _signed(_series(replay, phase, "range" if spec.adaptive else line.unit, phase), _far_line(spec, line)) if line.kind == "also" else None
            for start, end in reps:
                inside = (t >= start) & (t <= end)
                if line.kind == "reach":
                    per_rep.append(_best(signed[inside]))
                elif line.kind == "require":
                    per_rep.append(_percentile(signed[inside], 5))
                elif line.kind == "also":
                    there = inside & (far >= 0)
                    per_rep.append(_best(signed[there if there.any() else inside]))
                else:  # return: after the rep's extreme (its frame farthest past the return line)
                    window = (t >= start) & (t <= end + RETURN_SLACK_S)
                    if not window.any():
                        per_rep.append(None)
                        continue
                    idx = np.flatnonzero(window)
                    extreme = idx[np.nanargmin(signed[idx])] if np.isfinite(signed[idx]).any() else idx[0]
                    per_rep.append(_best(signed[extreme:idx[-1] + 1]))
            out.append(Margin(line, _worst(per_rep)))
        elif line.kind == "start":
            before = t <= first_event if math.isfinite(first_event) else np.ones(len(t), bool)
            out.append(Margin(line, _best(signed[before])))
        elif line.kind == "hold":
            out.append(Margin(line, _worst([_percentile(signed[(t >= s) & (t <= e)], 10) for s, e in holds])))
    return out


def _far_line(spec: ExerciseSpec, also_line: Line) -> Line:
    """The phase line whose ``also`` condition ``also_line`` is (its phase named in ``what``)."""
    name = also_line.what.split(".")[1]
    r = spec.phases.ranges[name]
    unit = "range" if spec.adaptive is not None else ""
    return Line("reach", f"phases.{name}", spec.phases.measure, _low(r.min), _high(r.max), unit)


def is_thin(line: Line, value: float | None) -> bool:
    """True when ``value`` (a margin) is on the failing side or closer to the line than `THIN` allows."""
    return value is not None and value < THIN.get(line.unit, 0.0)




@dataclass(frozen=True)
class MarginCase:
    """One labelled pose stream to measure margins on: a clip, or one of its variants."""

    exercise: str
    clip: str
    variant: str  # "" for the clip as filmed
    poses: PoseStream
    reps: Sequence[Interval]
    holds: Sequence[Interval]


@dataclass(frozen=True)
class MarginRow:
    """One line of one spec over all its cases: the worst margins, where they were, and the typical one."""

    exercise: str
    line: Line
    clips: int  # clips (as filmed) with a value
    worst: float | None  # over the clips as filmed
    worst_clip: str
    median: float | None  # over the clips as filmed
    worst_variant: float | None  # over every variant of every clip
    worst_variant_case: str  # "variant clip"

    @property
    def thin(self) -> bool:
        return is_thin(self.line, self.worst)

    @property
    def thin_in_variants(self) -> bool:
        return is_thin(self.line, self.worst_variant)


def margin_rows(cases: Sequence[MarginCase], load_spec) -> list[MarginRow]:
    """Margins of every line of every spec over ``cases``, one row per (exercise, line), in spec order.

    Args:
        load_spec: exercise id -> ExerciseSpec, or None when there is no spec (those cases are left out).
    """
    found: dict[tuple[str, Line], list[tuple[MarginCase, float]]] = {}
    order: list[tuple[str, Line]] = []
    for case in cases:
        spec = load_spec(case.exercise)
        if spec is None:
            continue
        for line in lines_of(spec):
            if (case.exercise, line) not in found:
                found[(case.exercise, line)] = []
                order.append((case.exercise, line))
        for m in margins(spec, case.poses, case.reps, case.holds):
            if m.value is not None:
                found[(case.exercise, m.line)].append((case, m.value))
    rows = []
    for exercise, line in order:
        seen = found[(exercise, line)]
        filmed = [(c, v) for c, v in seen if not c.variant]
        varied = [(c, v) for c, v in seen if c.variant]
        worst = min(filmed, key=lambda cv: cv[1], default=None)
        worst_v = min(varied, key=lambda cv: cv[1], default=None)
        rows.append(MarginRow(
            exercise,
            line,
            len(filmed),
            None if worst is None else worst[1],
            "" if worst is None else worst[0].clip,
            float(np.median([v for _, v in filmed])) if filmed else None,
            None if worst_v is None else worst_v[1],
            "" if worst_v is None else f"{worst_v[0].variant} {worst_v[0].clip}",
        ))
    return rows


def margin_table(rows: Sequence[MarginRow]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows for a text or markdown table of `margin_rows`."""

    def num(value: float | None, thin: bool) -> str:
        if value is None:
            return "-"
        return f"{value:+.2f}" + (" THIN" if thin else "")

    headers = ["exercise", "line", "kind", "bound", "unit", "clips", "worst", "on clip", "median", "worst in variants", "on"]
    body = [
        [r.exercise, r.line.what, r.line.kind, r.line.bound, r.line.unit, str(r.clips), num(r.worst, r.thin), r.worst_clip,
         num(r.median, False), num(r.worst_variant, r.thin_in_variants), r.worst_variant_case]
        for r in rows
    ]
    return headers, body


__all__ = ["THIN", "Line", "Margin", "MarginCase", "MarginRow", "is_thin", "lines_of", "margin_rows", "margin_table", "margins"]
