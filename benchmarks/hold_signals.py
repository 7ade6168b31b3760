"""Signal search for tiny held movements: which landmark-derived quantity steps with a clip's labelled holds?

Written for pelvic_tilt_11 (lying pelvic tilts with three holds, issue 4), where no phase measure of
exercise_specs/pelvic-tilt.yaml moves enough. For about 400 candidate quantities (heights, horizontal
positions, offsets and distances of the shoulders, hips, knees, ankles, heels, toes, elbows and wrists;
hip, knee and ankle angles; thigh, shin and torso inclinations; image and world space; MediaPipe's depth z)
it prints how far each steps with the labelled holds against its noise:

    step_i   settled hold level (median over the hold's second half) minus the settled rest level around it
             (median over the last 0.5 s of each labelled rest, a rest being a gap between rep_times;
             the mean of the rests before and after the hold when both exist)
    jitter   raw frame-to-frame noise: std of the first difference / sqrt(2)
    jit1Hz   what is left of it after a first-order 1 Hz low-pass (the engine's default One Euro cutoff at
             rest), as the std around a 1 s moving mean
    drift    max - min of the settled rest levels
    wander   with --still: max - min of the 1 s medians of another trace of someone lying still
    ratio    the smallest |step| (0 when the holds disagree in sign) / max(jit1Hz, drift, wander)

Lengths are in torso lengths: positions and offsets in the clip's median torso length (a per-frame ruler
adds its own noise), distances in the same frame's torso length (as the engine's ``distance`` measures).
A quantity is usable for a spec only when its ratio is well above 1 (say > 3), and then only if it does the
same on other people and cameras: with ~400 candidates, a few pass on one clip by chance.

Usage:
    python benchmarks/hold_signals.py pelvic_tilt_11 [--trace PATH] [--still PATH] [--top N] [--grep TEXT]
``--trace`` replays another trace of the same clip (e.g. one saved with ``posecheck analyze --model ...
--save-trace``); the default is tests/data/traces/<clip>.npz. Labels come from tests/data/labels.yaml.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posecheck.errors import PosecheckError
from posecheck.evaluation.labels import ClipLabel, Interval, load_labels, select_clips
from posecheck.core.geometry import distance, height_above, inclination, joint_angle, torso_length
from posecheck.core.pose import Landmark
from posecheck.core.smoothing import OneEuroListFilter
from posecheck.specs.schema import Smoothing
from posecheck.core.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("LEFT", "RIGHT")
JOINTS = ("SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
#: (a, b) pairs whose vertical and horizontal offsets and distance are candidates.
PAIRS = (("HIP", "SHOULDER"), ("HIP", "KNEE"), ("HIP", "ANKLE"), ("HIP", "HEEL"), ("KNEE", "ANKLE"),
         ("SHOULDER", "KNEE"), ("HIP", "ELBOW"), ("HIP", "WRIST"))
#: Joint angles (a, vertex, c) and segment inclinations (a, b) to the horizontal.
ANGLES = {"hip_angle": ("SHOULDER", "HIP", "KNEE"), "knee_angle": ("HIP", "KNEE", "ANKLE"),
          "ankle_angle": ("KNEE", "ANKLE", "FOOT_INDEX")}
INCLINATIONS = {"torso_incl": ("SHOULDER", "HIP"), "thigh_incl": ("HIP", "KNEE"), "shin_incl": ("KNEE", "ANKLE")}
#: Seconds at the end of each labelled rest, and the hold's second half, taken as settled.
REST_SETTLED_S = 0.5
#: The engine's default smoothing (exercise_specs' ``smoothing:``): what a spec's measures get at rest.
ENGINE_SMOOTHING = Smoothing()
#: Window (s) of the moving mean that the smoothed jitter is measured around, and of the still trace's medians.
MEAN_WINDOW_S = 1.0


def _lm(side: str, joint: str) -> int:
    return int(Landmark[f"{side}_{joint}"])


def candidates(trace: Trace) -> dict[str, np.ndarray]:
    """Every candidate quantity of a trace.

    Returns:
        name -> (N,) values per frame (NaN where no person was found); lengths in torso lengths, angles in deg.
    """
    w, h = trace.frame_size
    spaces = {"img": trace.landmarks[:, :, :2] * np.array([w, h], dtype=np.float64),
              "world": trace.world.astype(np.float64)}
    out: dict[str, np.ndarray] = {}
    for space, points in spaces.items():
        ruler = torso_length(points)  # (N,) per frame
        median_ruler = float(np.nanmedian(ruler))
        out[f"{space}:torso_length/median"] = ruler / median_ruler
        for side in SIDES:
            p = {joint: points[:, _lm(side, joint)] for joint in JOINTS}
            s = side[0]
            for joint in JOINTS:
                out[f"{space}:{s}.{joint}.height"] = -p[joint][:, 1] / median_ruler
                out[f"{space}:{s}.{joint}.x"] = p[joint][:, 0] / median_ruler
            for a, b in PAIRS:
                out[f"{space}:{s}.height({a}-{b})"] = height_above(p[a], p[b]) / median_ruler
                out[f"{space}:{s}.dx({a}-{b})"] = (p[a][:, 0] - p[b][:, 0]) / median_ruler
                out[f"{space}:{s}.distance({a},{b})"] = distance(p[a], p[b]) / ruler
            for name, (a, v, c) in ANGLES.items():
                out[f"{space}:{s}.{name}"] = joint_angle(p[a], p[v], p[c])
            for name, (a, b) in INCLINATIONS.items():
                out[f"{space}:{s}.{name}"] = inclination(p[a], p[b], "horizontal")
    # MediaPipe's image z (depth) is on the scale of the image x: in torso lengths like the image positions.
    image_ruler = float(np.nanmedian(torso_length(spaces["img"])))
    for side in SIDES:
        for joint in JOINTS:
            out[f"z:{side[0]}.{joint}.z"] = trace.landmarks[:, _lm(side, joint), 2] * w / image_ruler
    return out


def settled_rests(label: ClipLabel, t_end: float) -> list[Interval]:
    """The last REST_SETTLED_S of every labelled rest (before the first rep, between reps, after the last)."""
    edges = [0.0] + [x for rep in label.rep_times for x in rep] + [t_end]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] - edges[i] >= REST_SETTLED_S]
    return [(end - REST_SETTLED_S, end) for _, end in gaps]


def _median(t: np.ndarray, x: np.ndarray, span: Interval) -> float:
    inside = (t >= span[0]) & (t <= span[1])
    return float(np.nanmedian(x[inside])) if inside.any() else float("nan")


def _moving_mean(x: np.ndarray, frames: int) -> np.ndarray:
    pad = frames // 2
    padded = np.pad(x, pad, mode="edge")
    return np.convolve(padded, np.ones(2 * pad + 1) / (2 * pad + 1), mode="valid")


def _smoothed_at_rest(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The engine's One Euro filter with its default cutoff and no speed term (``beta`` 0: the filter at
    rest, a first-order low-pass), restarting after NaNs."""
    still = OneEuroListFilter(ENGINE_SMOOTHING.min_cutoff, 0.0, ENGINE_SMOOTHING.d_cutoff)
    return np.array([still(ti, [xi])[0] for ti, xi in zip(t.tolist(), x.tolist())])


@dataclass(frozen=True)
class Score:
    """One quantity's steps with the holds and its noise (units of the quantity)."""

    steps: tuple[float, ...]
    jitter: float
    jitter_1hz: float
    drift: float
    wander: float

    @property
    def smallest_step(self) -> float:
        """The smallest |step|, 0 when the holds do not all step the same way."""
        signs = {np.sign(s) for s in self.steps}
        return min(abs(s) for s in self.steps) if len(signs) == 1 else 0.0

    @property
    def ratio(self) -> float:
        noise = max(self.jitter_1hz, self.drift, self.wander if np.isfinite(self.wander) else 0.0)
        return self.smallest_step / noise if noise > 0 else float("inf")


def score(t: np.ndarray, x: np.ndarray, label: ClipLabel, still: tuple[np.ndarray, np.ndarray] | None,
          still_from: float) -> Score:
    """Scores one quantity (see the module docstring)."""
    rests = settled_rests(label, float(t[-1]))
    rest_levels = [_median(t, x, span) for span in rests]
    steps = []
    for start, end in label.holds:
        before = [lv for span, lv in zip(rests, rest_levels) if span[1] <= start][-1:]
        after = [lv for span, lv in zip(rests, rest_levels) if span[0] >= end][:1]
        steps.append(_median(t, x, ((start + end) / 2, end)) - float(np.mean(before + after)))
    frames_per_mean = max(1, round(MEAN_WINDOW_S / float(np.median(np.diff(t)))))
    smoothed = _smoothed_at_rest(t, x)
    wander = float("nan")
    if still is not None:
        ts, xs = still
        starts = np.arange(still_from, ts[-1] - MEAN_WINDOW_S, MEAN_WINDOW_S)
        medians = [_median(ts, xs, (s, s + MEAN_WINDOW_S)) for s in starts]
        wander = float(np.nanmax(medians) - np.nanmin(medians))
    return Score(
        steps=tuple(steps),
        jitter=float(np.nanstd(np.diff(x)) / np.sqrt(2)),
        jitter_1hz=float(np.nanstd(smoothed - _moving_mean(smoothed, frames_per_mean))),
        drift=float(np.nanmax(rest_levels) - np.nanmin(rest_levels)),
        wander=wander,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", help="clip name or stem in the labels, e.g. pelvic_tilt_11")
    parser.add_argument("--labels", type=Path, default=ROOT / "tests" / "data" / "labels.yaml")
    parser.add_argument("--trace", type=Path, help="default: tests/data/traces/<clip>.npz")
    parser.add_argument("--still", type=Path, help="trace of someone lying still: its wander is noise too")
    parser.add_argument("--still-from", type=float, default=1.5, help="s: skip the still trace's settling")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--grep", help="only quantities whose name contains this")
    args = parser.parse_args()

    try:
        (label,) = select_clips(load_labels(args.labels), [args.clip])
        trace = Trace.load(args.trace or ROOT / "tests" / "data" / "traces" / f"{label.stem}.npz")
        still_trace = Trace.load(args.still) if args.still else None
    except PosecheckError as exc:
        parser.error(str(exc))
    if not label.holds:
        parser.error(f"{label.clip}: no labelled holds")
    still_values = candidates(still_trace) if still_trace is not None else {}
    rows = []
    for name, x in candidates(trace).items():
        if (args.grep and args.grep not in name) or np.isnan(x).mean() > 0.2:
            continue
        still = (still_trace.timestamps, still_values[name]) if still_trace is not None else None
        rows.append((name, score(trace.timestamps, x, label, still, args.still_from)))
    rows.sort(key=lambda row: -row[1].ratio)
    print(f"{label.clip}, trace {trace.meta.get('source', '?')} ({trace.meta.get('model', '?')}); "
          f"holds {list(label.holds)}")
    columns = ("jitter", "jit1Hz", "drift", "wander", "ratio")
    print(f"{'quantity':38s} {'step per hold':>26s} " + " ".join(f"{c:>7s}" for c in columns))
    for name, s in rows[: args.top]:
        steps = ",".join(f"{v:+.4f}" for v in s.steps)
        noise = " ".join(f"{v:7.4f}" for v in (s.jitter, s.jitter_1hz, s.drift, s.wander))
        print(f"{name:38s} {steps:>26s} {noise} {s.ratio:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
