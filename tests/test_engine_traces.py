"""The engine on real landmark traces (posecheck's own output for the shared clips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posecheck.engine.engine import Engine
from posecheck.engine.events import RepCompleted, TrackingLost
from posecheck.specs import load_spec_by_id
from posecheck.core.trace import Trace

TRACES = Path(__file__).resolve().parent / "data" / "traces"

# Hand-made ground truth from tests/data/labels.yaml (a copy of shared/videos/labels.yaml) ("reps").
CAT_COW_LABELS = {"cat_cow_01": 2, "cat_cow_03": 1}


def _trace(stem: str) -> Trace:
    path = TRACES / f"{stem}.npz"
    if not path.is_file():
        pytest.skip(f"trace {path} not found")
    return Trace.load(path)


def _count(spec, trace: Trace) -> int:
    engine = Engine(spec)
    engine.process_trace(trace)
    return engine.finish(float(trace.timestamps[-1])).reps


@pytest.mark.parametrize(("stem", "expected"), sorted(CAT_COW_LABELS.items()))
def test_cat_cow_counts_the_labelled_reps(stem, expected):
    assert _count(load_spec_by_id("cat-cow"), _trace(stem)) == expected


def _mirrored(trace: Trace) -> Trace:
    frames = [(t, None if pose is None else pose.mirrored()) for t, pose in trace.poses()]
    return Trace.from_poses(frames, trace.frame_size, trace.fps)


@pytest.mark.parametrize("stem", sorted(CAT_COW_LABELS))
def test_a_mirrored_clip_counts_the_same(stem):
    spec = load_spec_by_id("cat-cow")
    trace = _trace(stem)
    assert _count(spec, _mirrored(trace)) == _count(spec, trace)


@pytest.mark.parametrize(
    ("spec_id", "stem", "dropout"),
    [
        ("cat-cow", "cat_cow_01", None),
        ("cat-cow", "cat_cow_01", (2.0, 0.33)),  # frames without a person (NaN rows): TrackingLost, a gap
        ("cat-cow", "bird_dog_01", None),  # the wrong exercise: setup and form cues, no reps
        ("cat-cow", "dead_bug_02", None),
        ("bird-dog", "bird_dog_01", None),  # sides decided from the data
        ("dead-bug", "dead_bug_02", None),
    ],
)
def test_process_trace_equals_update_frame_by_frame(spec_id, stem, dropout):
    # process_trace reads the arrays (no pose: NaN rows; world: None or NaN rows) where update takes Pose objects.
    spec = load_spec_by_id(spec_id)
    trace = _trace(stem) if dropout is None else _with_dropout(_trace(stem), *dropout)
    engine = Engine(spec)
    one_by_one = [e for t, pose in trace.poses() for e in engine.update(t, pose)]
    assert one_by_one  # something to compare
    assert Engine(spec).process_trace(trace) == one_by_one


def _with_dropout(trace: Trace, start: float, seconds: float) -> Trace:
    landmarks = trace.landmarks.copy()
    world = trace.world.copy()
    gone = (trace.timestamps >= start) & (trace.timestamps < start + seconds)
    landmarks[gone] = np.nan
    world[gone] = np.nan
    return Trace(trace.timestamps, landmarks, world, trace.frame_size, trace.fps)


def test_a_short_detector_dropout_does_not_change_the_count():
    spec = load_spec_by_id("cat-cow")
    trace = _trace("cat_cow_01")
    # A third of a second without a person, in the middle of the first cycle.
    engine = Engine(spec)
    events = engine.process_trace(_with_dropout(trace, 2.0, 0.33))
    assert any(isinstance(e, TrackingLost) for e in events)
    assert sum(isinstance(e, RepCompleted) for e in events) == _count(spec, trace)


def test_no_rep_is_counted_while_the_person_is_gone():
    spec = load_spec_by_id("cat-cow")
    trace = _with_dropout(_trace("cat_cow_01"), 3.0, 5.0)
    engine = Engine(spec)
    events = engine.process_trace(trace)
    assert not [e for e in events if isinstance(e, RepCompleted) and 3.0 <= e.t < 8.0]
    summary = engine.finish(float(trace.timestamps[-1]))
    assert [(round(g.start, 1), round(g.end, 1)) for g in summary.gaps] == [(3.0, 8.0)]
