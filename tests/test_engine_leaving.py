"""Leaving the frame: a rep whose return was reached before tracking was lost counts.

The engine confirms a phase once it has lasted ``min_dwell`` (0.05-0.5 s). A person who comes back to the
start and walks out of view within that time used to lose the rep. Here every rep of every labelled clip's
committed trace is made the last thing seen: the trace is cut (no pose from then on) at the frame that would
have confirmed the rep's return. The rep must still count, with the same start and end as in the whole trace,
and so must the reps before it. (The range a rep must move, ``reps.min_excursion``, still applies: a rep cut off
on the very first frame of its return may not have reached it yet.)
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from posecheck.engine.engine import Engine
from posecheck.engine.events import RepCompleted, TrackingLost
from posecheck.specs import load_spec_by_id
from posecheck.specs.registry import SpecRegistry
from posecheck.core.trace import Trace

from conftest import TRACES

LABELS = yaml.safe_load((TRACES.parent / "labels.yaml").read_text())
KNOWN = set(SpecRegistry.default().ids())
CASES = sorted(
    (name.removesuffix(".mp4"), label["exercise"])
    for name, label in LABELS.items()
    if label.get("exercise") in KNOWN and (TRACES / f"{name.removesuffix('.mp4')}.npz").is_file()
)
GONE_SECONDS = 1.0  # long past tracking.lost_after: the person is out of view


def run(spec, ts: np.ndarray, landmarks: np.ndarray, world: np.ndarray, frame_size) -> tuple[list, list]:
    engine = Engine(spec)
    events = engine.process_arrays(ts, landmarks, world, frame_size)
    summary = engine.finish(float(ts[-1]))
    return events, summary.rep_list


@pytest.mark.parametrize(("clip", "exercise"), CASES)
def test_a_rep_returned_just_before_the_person_leaves_counts(clip, exercise):
    check_reps_survive_leaving(clip, exercise, GONE_SECONDS, TrackingLost)


@pytest.mark.parametrize(("clip", "exercise"), [("cat_cow_01", "cat-cow"), ("bird_dog_01", "bird-dog"), ("push_up_01", "push-up")])
def test_a_rep_returned_just_before_the_person_leaves_at_the_end_counts(clip, exercise):
    """The recording ends before tracking.lost_after: the rep is counted when the session ends."""
    check_reps_survive_leaving(clip, exercise, 0.1, None)


def check_reps_survive_leaving(clip: str, exercise: str, gone_seconds: float, counted_before) -> None:
    spec = load_spec_by_id(exercise)
    trace = Trace.load(TRACES / f"{clip}.npz")
    _, whole = run(spec, trace.timestamps, trace.landmarks, trace.world, trace.frame_size)
    uncut = [rep for rep in whole if not rep.cut_by_end]
    if not uncut:
        pytest.skip(f"{exercise} counts no completed rep on {clip}")
    dt = float(np.median(np.diff(trace.timestamps)))
    for index, rep in enumerate(uncut):
        # A rep is counted at rep.counted_at; its recorded end is that moment too, unless the spec closes reps
        # later (reps.end_at: leave: when the last phase is left), which a cut trace cannot see: the count's
        # moment is what must survive.
        # Seen up to the frame before the one that would have confirmed the return (counted_at + min_dwell).
        last_seen = int(np.searchsorted(trace.timestamps, rep.counted_at + spec.phases.min_dwell - 1e-9))
        n = last_seen + max(int(gone_seconds / dt), 1)
        ts = np.concatenate([trace.timestamps[:last_seen], trace.timestamps[last_seen - 1] + dt * np.arange(1, n - last_seen + 1)])
        landmarks = np.full((n, *trace.landmarks.shape[1:]), np.nan, dtype=trace.landmarks.dtype)
        world = np.full((n, *trace.world.shape[1:]), np.nan, dtype=trace.world.dtype)
        landmarks[:last_seen], world[:last_seen] = trace.landmarks[:last_seen], trace.world[:last_seen]
        events, reps = run(spec, ts, landmarks, world, trace.frame_size)
        before = [r for r in whole if r.counted_at < rep.counted_at]
        assert [(r.start, r.counted_at) for r in reps] == [(r.start, r.counted_at) for r in before] + [(rep.start, rep.counted_at)], (
            f"rep {index + 1} of {clip} ({exercise}) lost when the person leaves right after its return")
        if counted_before is not None:
            lost = next(i for i, event in enumerate(events) if isinstance(event, counted_before))
            assert any(isinstance(event, RepCompleted) and event.rep.counted_at == rep.counted_at for event in events[:lost]), \
                "the rep is counted when tracking is lost, not later"
