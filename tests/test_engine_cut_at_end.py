"""reps.cut_at_end: a rep whose return the end of the session cuts off.

Synthetic tables first (the `lift` person of test_engine: down below 0.2 torso lengths, top above 0.5), then
the real traces the rule was made for, and a sweep that ends a held bridge at every frame.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posecheck.engine.engine import Engine
from posecheck.engine.events import RepCompleted
from posecheck.specs import load_spec_by_id
from posecheck.specs import check_spec_text
from posecheck.core.trace import Trace
from test_engine import BASE, DT, HOLD, make_spec, reps, run, signal

TRACES = Path(__file__).parent / "data" / "traces"

#: down -> top -> down, with the end rule: from a top at 1.0 back toward down (max 0.2), 80 % of the way is
#: 1.0 - 0.8 * (1.0 - 0.2) = 0.36.
CUT = {**BASE["reps"], "cut_at_end": 0.8}
UP_THEN = signal((0.0, 1), (1.0, 1))  # rests, lifts to the top and stays 1 s: the rep's far phase


def _end(spec, lifts, **pose_kwargs):
    """Runs the frames, ends the session on the last one; returns (reps during the frames, end events, summary)."""
    events, engine = run(spec, lifts, **pose_kwargs)
    t_end = (len(lifts) - 1) * DT
    final = engine.end(t_end)
    return reps(events), final, engine.finish(t_end)


@pytest.mark.parametrize(
    ("case", "lifts", "counted"),
    [
        ("cut mid-return, 87 % of the way back", UP_THEN + [0.8, 0.5, 0.3], 1),
        ("cut just past 80 % of the way back", UP_THEN + [0.7, 0.35], 1),
        ("cut just short of 80 % of the way back", UP_THEN + [0.7, 0.37], 0),
        ("in the last phase, its dwell not yet passed", UP_THEN + [0.6, 0.1], 1),
        ("stopped in the far phase", UP_THEN, 0),
        ("merely wobbling at the top", UP_THEN + [0.9, 0.95, 0.9], 0),
        ("came back only part way (63 %)", UP_THEN + [0.8, 0.5], 0),
        ("came back and turned up again", UP_THEN + [0.5, 0.3, 0.6, 0.9], 0),
        ("tracking lost before the end", UP_THEN + [0.8, 0.5, 0.3] + [None] * 5, 0),
        ("one missing last frame is not a lost track", UP_THEN + [0.8, 0.5, 0.3, None], 1),
        ("never reached the far phase", signal((0.0, 1), (0.45, 1)) + [0.3, 0.1], 0),
    ],
)
def test_a_rep_cut_off_on_its_way_back_counts_at_the_end(case, lifts, counted):
    spec = make_spec(reps=CUT, phases={**BASE["phases"], "min_dwell": 0.3})
    during, final, summary = _end(spec, lifts)
    assert during == []
    assert len(reps(final)) == counted, case
    assert summary.reps == counted and [r.cut_by_end for r in summary.rep_list] == [True] * counted


def test_without_cut_at_end_a_cut_return_is_not_counted():
    _, final, summary = _end(make_spec(), UP_THEN + [0.8, 0.5, 0.3])
    assert final == [] and summary.reps == 0


def test_the_cut_rep_is_reported_once_as_a_normal_rep_marked_cut_by_end():
    lifts = signal((0.0, 1), (1.0, 1), (0.0, 1), (1.0, 1)) + [0.8, 0.5, 0.3]
    during, final, summary = _end(make_spec(reps=CUT), lifts)
    assert [r.cut_by_end for r in during] == [False]
    (event,) = final
    assert isinstance(event, RepCompleted) and event.t == pytest.approx(4.2)  # the last frame seen
    rep = event.rep
    assert (rep.index, rep.cut_by_end, rep.start, rep.end) == (2, True, pytest.approx(2.0), pytest.approx(4.2))
    assert rep.rom_deg == pytest.approx(1.0)  # 0 at the start of the rep to the 1.0 top
    assert summary.rep_list == [*during, rep]


def test_finish_alone_counts_the_cut_rep_too():
    _, engine = run(make_spec(reps=CUT), UP_THEN + [0.8, 0.5, 0.3])
    assert engine.finish(2.2).reps == 1
    assert engine.end(2.2) == []  # the session is over: nothing more


def test_the_upward_return_of_a_sequence_that_ends_at_the_top():
    # down -> top (a push-up counted at the lockout): the return goes up. From the 0.0 bottom to top (min 0.5),
    # 80 % of the way is 0.4.
    spec = make_spec(reps={"sequence": ["down", "top"], "cut_at_end": 0.8})
    for lifts, counted in ((signal((1.0, 1), (0.0, 1)) + [0.2, 0.45], 1), (signal((1.0, 1), (0.0, 1)) + [0.2, 0.35], 0)):
        _, final, _ = _end(spec, lifts)
        assert len(reps(final)) == counted


@pytest.mark.parametrize(("min_excursion", "counted"), [(0.9, 0), (0.3, 1)])
def test_a_rep_smaller_than_min_excursion_is_not_counted_at_the_end_either(min_excursion, counted):
    spec = make_spec(reps={**CUT, "min_excursion": min_excursion})
    _, final, _ = _end(spec, signal((0.15, 1), (0.6, 1)) + [0.25])  # 0.15 -> 0.6 -> 0.25: 0.45 of motion
    assert len(reps(final)) == counted


@pytest.mark.parametrize(("hold", "counted"), [(True, 0), (False, 1)])
def test_a_timed_hold_still_running_at_the_end_is_a_hold_not_a_rep(hold, counted):
    # The hold (phase top, 0.5 s minimum) is still running: coming down within its exit grace is not a rep.
    changes = {"hold": {**HOLD, "min_seconds": 0.5, "exit_grace": 1.0}, "target": {"reps": 2, "seconds": 5.0}} if hold else {}
    _, final, summary = _end(make_spec(reps=CUT, **changes), UP_THEN + [0.8, 0.5, 0.3])
    assert len(reps(final)) == summary.reps == counted
    assert len(summary.holds) == (1 if hold else 0)


@pytest.mark.parametrize(("turned", "counted"), [(True, 0), (False, 1)])
def test_not_counted_when_counting_was_paused_at_the_end(turned, counted):
    # Turned to face the camera on the last two frames (grace 0): the view is wrong, counting is paused,
    # though the lift is still known.
    spec = make_spec(reps=CUT, setup={**BASE["setup"], "view": "side", "view_ratio": 0.5, "view_text": "Turn side-on."})
    lifts = UP_THEN + [0.8, 0.5, 0.3]
    width = 0.3 if turned else 0.01  # shoulder width / torso length 1.0 (front) or 0.03 (side)
    _, final, _ = _end(spec, lifts, shoulder_width=[0.01] * (len(lifts) - 2) + [width] * 2)
    assert len(reps(final)) == counted


@pytest.mark.parametrize(("head", "counted"), [(0.5, 0), (0.0, 1)])
def test_not_counted_when_the_last_phase_conditions_fail(head, counted):
    # The last phase asks for the head down too (its `also`): on the last frame it is up.
    ranges = {"down": {"max": 0.2, "also": {"head": {"max": 0.2}}}, "top": {"min": 0.5}}
    spec = make_spec(reps=CUT, phases={**BASE["phases"], "ranges": ranges})
    lifts = UP_THEN + [0.8, 0.5, 0.3]
    _, final, _ = _end(spec, lifts, head=[0.0] * (len(lifts) - 1) + [head])
    assert len(reps(final)) == counted


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_cut_at_end_is_a_share_of_the_way_back(share):
    spec_text = Path(__file__).parents[1].joinpath("exercise_specs", "squat.yaml").read_text()
    spec, problems = check_spec_text(spec_text.replace("cut_at_end: 0.8", f"cut_at_end: {share}"), "squat.yaml")
    assert spec is None and any("cut_at_end" in p for p in problems), problems


# ------------------------------------------------------------------------------------------ real traces
def _replay(spec_id: str, stem: str):
    engine = Engine(load_spec_by_id(spec_id))
    t_end = 0.0
    for t, pose in Trace.load(TRACES / f"{stem}.npz").poses():
        engine.update(t, pose)
        t_end = t
    return engine, t_end


@pytest.mark.parametrize(
    ("spec_id", "stem", "counted"),
    [
        # The last press reaches 133 deg only in the last frame (117 deg smoothed): 91 % of the way up.
        ("push-up", "push_up_01", 7),
        # The clip ends just after the hips are back down, before the phase's dwell has passed.
        ("glute-bridge", "glute_bridge_13", 5),
    ],
)
def test_clips_that_end_on_the_way_back_count_their_last_rep(spec_id, stem, counted):
    engine, t_end = _replay(spec_id, stem)
    assert engine.state.reps == counted - 1
    summary = engine.finish(t_end)
    assert summary.reps == counted
    assert [r.cut_by_end for r in summary.rep_list] == [False] * (counted - 1) + [True]


def test_a_clip_ending_early_in_the_lowering_is_still_not_counted():
    # glute_bridge_03's last bridge is only 48 % of the way down in the last frame: as far back as a held bridge
    # settles after its lift (glute_bridge_14, below), so it is not counted (labels: 3, counted 2).
    engine, t_end = _replay("glute-bridge", "glute_bridge_03")
    assert engine.finish(t_end).reps == 2


def test_a_held_bridge_ended_at_any_frame_counts_no_rep():
    # glute_bridge_14 lifts into a bridge whose hip angle overshoots to 180 deg and settles at 156-161 deg while
    # held: the settling reads as up to 76 % of the way back down. Whenever the session ends, no rep.
    engine = Engine(load_spec_by_id("glute-bridge"))
    for t, pose in Trace.load(TRACES / "glute_bridge_14.npz").poses():
        engine.update(t, pose)
        ended = copy.deepcopy(engine)
        assert ended.finish(t).reps == 0, f"a rep counted when the session ends at {t:.2f} s"


# ------------------------------------------------------------------------------------------ properties
levels = st.sampled_from([0.0, 0.1, 0.3, 0.35, 0.6, 0.8, 1.2])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.tuples(levels, st.integers(1, 10)), min_size=1, max_size=20),
    lost_frames=st.integers(0, 6),
)
def test_the_end_adds_at_most_the_rep_in_progress_and_nothing_after_a_lost_track(parts, lost_frames):
    spec = make_spec(reps=CUT, hold=HOLD, target={"reps": 5, "seconds": 2.0})
    lifts = [value for value, frames in parts for _ in range(frames)] + [None] * lost_frames
    events, engine = run(spec, lifts)
    counted = engine.state.reps
    t_end = (len(lifts) - 1) * DT
    final = reps(engine.end(t_end))
    assert len(final) <= 1 and all(rep.cut_by_end and rep.index == counted + 1 for rep in final)
    if lost_frames * DT >= spec.tracking.lost_after + 1e-9:  # tracking lost before the end
        assert final == []
    assert engine.finish(t_end).reps == counted + len(final)
    assert not any(rep.cut_by_end for rep in reps(events))  # only the end marks a rep cut
