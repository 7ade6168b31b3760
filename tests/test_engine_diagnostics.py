"""Why not: the engine's record of every reason counting paused or a rep was refused (SessionSummary.diagnostics).

Table-driven on the synthetic person of test_engine (``lift`` = wrist height, ``head`` = nose height, in torso
lengths); then real traces, and the guarantee that the record changes no event on any spec and trace.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from posecheck.engine.engine import Engine
from posecheck.core.pose import Landmark
from posecheck.specs import SpecRegistry, load_spec_by_id
from posecheck.core.trace import Trace

from conftest import TRACES, trace_path
from test_engine import BASE, REQUIRE, UP_DOWN, make_spec, run, signal

SIDE_VIEW = {"view": "side", "view_ratio": 0.5, "view_text": "Turn side-on.", "visible_text": "Show your arm.", "grace": 0.0}
START = {**BASE["setup"], "start": {"when": {"head": {"min": 0.5}}, "text": "Lift your head to start."}}
ALSO_HEAD = {"phases": {**BASE["phases"], "ranges": {"down": {"max": 0.2}, "top": {"min": 0.5, "also": {"head": {"min": 0.5}}}}}}
ADAPTIVE = {
    "adaptive": {"learn_reps": 2, "min_range": 0.5},
    "phases": {"measure": "lift", "ranges": {"down": {"max": 0.3}, "top": {"min": 0.7}}, "hysteresis": 0.05, "min_dwell": 0.0},
    "reps": {"sequence": ["down", "top", "down"]},
}
HEAD_DROPS = signal((0.0, 1.5)) + signal((-0.5, 2.0)) + signal((0.0, 1.5))  # head below the shoulders 1.5-3.5 s

# (name, spec changes, lifts, per-frame pose arguments, expected reps,
#  expected (kind, count, measure, value, required) of the first diagnostic (None: not checked), expected kinds)
TABLE = [
    ("all counted: nothing to say", {}, UP_DOWN, {}, 2, None, []),
    (
        "the camera faces the person the whole time",
        {"setup": SIDE_VIEW}, UP_DOWN, {"shoulder_width": 0.25}, 0,
        ("view", None, "view_ratio", 0.25 / 0.3, "below 0.5"), ["view"],
    ),
    (
        "the wrists hidden the whole time",
        {}, UP_DOWN, {"hidden": [[Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]] * len(UP_DOWN)}, 0,
        ("visible", None, None, None, "visible: wrist, shoulder"), ["visible"],
    ),
    (
        "never in the start position",
        {"setup": START}, UP_DOWN, {}, 0,
        ("start", None, "head", 0.0, "at least 0.5 torso lengths"), ["start"],
    ),
    (
        "a phase's also refuses the top every time",
        ALSO_HEAD, UP_DOWN, {}, 0,
        ("phase_blocked", 2, "head", 0.0, "at least 0.5 torso lengths"), ["phase_blocked"],
    ),
    (
        "reps too small for min_excursion",
        {"reps": {"sequence": ["down", "top", "down"], "min_excursion": 0.9}}, UP_DOWN, {}, 0,
        ("min_excursion", 2, "lift", 0.8, "at least 0.9 torso lengths"), ["min_excursion"],
    ),
    (
        "a rep stalled past max_seconds",
        {"reps": {"sequence": ["down", "top", "down"], "max_seconds": 2.0}},
        signal((0.0, 1), (0.8, 3), (0.0, 1), (0.8, 1), (0.0, 1)), {}, 1,
        ("max_seconds", 1, None, None, "at most 2 s"), ["max_seconds"],
    ),
    (
        "the movement never spans the adaptive minimum range",
        ADAPTIVE, signal((0.0, 1), (0.2, 1)) * 3, {}, 0,
        ("min_range", None, "lift", 0.2, "at least 0.5 torso lengths"), ["min_range"],
    ),
    (
        "the top is never reached nor approached",
        {}, signal((0.0, 1), (0.1, 1)) * 3, {}, 0,
        ("phase_not_reached", None, "lift", 0.1, "at least 0.5 torso lengths"), ["phase_not_reached"],
    ),
    (
        "lifts that turn back before the top",
        {}, signal((0.0, 1), (0.4, 1)) * 3 + signal((0.0, 1)), {}, 0,
        ("fell_short", 3, "lift", 0.4, "at least 0.5 torso lengths"), ["fell_short"],
    ),
    (
        "the position left during a rep (reps.require)",
        {"reps": {"sequence": ["down", "top", "down"], **REQUIRE}},
        signal((0.0, 1), (0.8, 2), (0.0, 2)), {"head": HEAD_DROPS}, 0,
        ("require", 1, "head", -0.5, "at least 0 torso lengths"), ["require"],
    ),
    (
        "the session ends on the way back (cut_at_end)",
        {"reps": {"sequence": ["down", "top", "down"], "cut_at_end": 0.8}},
        signal((0.0, 1), (0.8, 1), (0.0, 1), (0.8, 1), (0.6, 0.3)), {}, 1,
        ("cut_at_end", 1, "lift", pytest.approx(0.2 / 0.6), "80% of the way back"), ["cut_at_end"],
    ),
]


@pytest.mark.parametrize(
    ("changes", "lifts", "pose_kwargs", "expected_reps", "first", "kinds"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE]
)
def test_each_reason_is_recorded_with_its_measure_and_what_the_spec_requires(changes, lifts, pose_kwargs, expected_reps, first, kinds):
    _, engine = run(make_spec(**changes), lifts, **pose_kwargs)
    summary = engine.finish((len(lifts) - 1) * 0.1)
    assert summary.reps == expected_reps
    assert [d.kind for d in summary.diagnostics] == kinds
    for d in summary.diagnostics:
        assert d.reason and not d.reason[0].islower() and d.reason.endswith(".")
        assert "_" not in d.reason.split(":")[0]  # plain words, not spec keys, before any quoted detail
    if first is not None:
        d = summary.diagnostics[0]
        kind, count, measure, value, required = first
        assert (d.kind, d.count, d.measure, d.required) == (kind, count, measure, required)
        assert d.value == (value if value is None or not isinstance(value, float) else pytest.approx(value, abs=1e-6))


def test_not_ready_time_has_its_share_of_the_tracked_time_and_its_median():
    spec = make_spec(setup=SIDE_VIEW)
    # 2 s front-on (ratio 0.83), then 2 s side-on: half of the 4 s between the first and last frame
    widths = [0.25] * 20 + [0.01] * 21
    _, engine = run(spec, [0.0] * 41, shoulder_width=widths)
    view, = (d for d in engine.finish(4.0).diagnostics if d.kind == "view")
    assert view.seconds == pytest.approx(1.9)  # from the first frame to the last front-on one
    assert view.share == pytest.approx(1.9 / 4.0)
    assert view.value == pytest.approx(0.25 / 0.3, abs=1e-6)
    assert view.advice == "Turn side-on."
    assert "too much from the front (view ratio 0.83) for 48% of the time you were in view" in view.reason
    assert "needs a side view (view ratio below 0.5)" in view.reason


def test_a_gap_in_tracking_is_not_counted_as_time_not_ready():
    spec = make_spec(setup=SIDE_VIEW)
    lifts = [0.0] * 10 + [None] * 10 + [0.0] * 10  # a 1 s gap in the middle
    _, engine = run(spec, lifts, shoulder_width=0.25)
    view, = (d for d in engine.finish(2.9).diagnostics if d.kind == "view")
    assert view.seconds == pytest.approx(1.8)  # 0.9 s before the gap, 0.9 s after it
    assert view.share == pytest.approx(1.0)


def test_the_live_state_says_why_reps_are_paused():
    spec = make_spec(**ALSO_HEAD)
    engine = Engine(spec)
    from test_engine import make_pose

    states = []
    for i, lift in enumerate(UP_DOWN):
        engine.update(i * 0.1, make_pose(i * 0.1, lift=lift))
        states.append(engine.state.paused_reason)
    assert states[5] is None  # resting in down
    assert states[15] == "Not counted yet: 'top' also needs head at least 0.5 torso lengths."
    assert states[25] is None  # back down

    spec = make_spec(reps={"sequence": ["down", "top", "down"], **REQUIRE})
    engine = Engine(spec)
    lifts = signal((0.0, 1), (0.8, 2), (0.0, 2))
    for i, lift in enumerate(lifts):
        engine.update(i * 0.1, make_pose(i * 0.1, lift=lift, head=HEAD_DROPS[i]))
        if i == 25:
            assert engine.state.paused_reason == "Counting paused: head needs to be at least 0 torso lengths."
    assert engine.state.paused_reason is None  # head back up


def test_without_diagnostics_the_record_is_empty_and_the_state_has_no_pause_reason():
    spec = make_spec(**ALSO_HEAD)
    engine = Engine(spec, diagnostics=False)
    from test_engine import make_pose

    for i, lift in enumerate(UP_DOWN):
        engine.update(i * 0.1, make_pose(i * 0.1, lift=lift))
        assert engine.state.paused_reason is None
    assert engine.finish(4.9).diagnostics == []


# ------------------------------------------------------------------------------------------ real traces
def _summary(spec_id: str, stem: str, diagnostics: bool = True):
    path = trace_path(stem)
    if not path.is_file():
        pytest.skip(f"trace {path} not found")
    trace = Trace.load(path)
    engine = Engine(load_spec_by_id(spec_id), diagnostics=diagnostics)
    engine.process_trace(trace)
    return engine.finish(float(trace.timestamps[-1]))


def test_a_side_view_spec_on_a_head_on_clip_names_the_view_first():
    # prone_t_raise_01 is filmed head-on at floor level: the shoulders look as wide as the torso is long for the
    # whole clip, and leg-raise (a side-view spec: its leg lift is an image height) says so with the ratio.
    summary = _summary("leg-raise", "prone_t_raise_01")
    assert summary.reps == 0
    view = summary.diagnostics[0]
    assert view.kind == "view" and view.measure == "view_ratio" and view.required == "below 0.7"
    assert view.value > 1.0 and view.share > 0.9


def test_lifts_refused_by_also_conditions_are_named_with_the_value_and_the_bound():
    # supine_twist_01 (knees tilting side to side, lying on the back) under glute-bridge: the hip angle opens
    # as the knees tilt, but the hips never lift, which the bridge's also conditions refuse.
    summary = _summary("glute-bridge", "supine_twist_01")
    assert summary.reps == 0
    blocked = summary.diagnostics[0]
    assert blocked.kind == "phase_blocked" and blocked.phase == "up" and blocked.measure == "hip_lift"
    assert blocked.value < 0.2 and blocked.required == "at least 0.2 torso lengths"


def test_the_wrong_exercise_names_the_position_it_left():
    # thoracic_rotation_01 (thread the needle) under cat-cow: the shoulder drops to the floor, which
    # cat-cow's reps.require (shoulders not below the hips) refuses.
    summary = _summary("cat-cow", "thoracic_rotation_01")
    assert summary.reps == 0
    first = summary.diagnostics[0]
    assert first.kind == "require" and first.measure == "shoulder_height" and first.count == 1
    assert first.value < -0.15 and first.required == "at least -0.15 torso lengths"


def test_a_cut_last_rep_says_how_far_back_it_came():
    # glute_bridge_03 ends while the third bridge is coming down, short of the 80 % the spec counts from.
    summary = _summary("glute-bridge", "glute_bridge_03")
    assert summary.reps == 2
    cut = next(d for d in summary.diagnostics if d.kind == "cut_at_end")
    assert cut.count == 1 and 0.3 < cut.value < 0.8 and cut.required == "80% of the way back"
    assert f"{cut.value:.0%} of the way back" in cut.reason


def test_a_session_ending_in_a_hold_says_so_without_calling_it_a_refused_rep():
    # glute_bridge_14 is one bridge held to the end (the routine's final hold): no rep, and the reason.
    summary = _summary("glute-bridge", "glute_bridge_14")
    assert summary.reps == 0
    first = summary.diagnostics[0]
    assert first.kind == "cut_at_end" and first.count is None and first.phase == "down"
    assert first.reason.startswith("The session ended while you were holding 'up' (hips lifted in a bridge)")


# ------------------------------------------------------------------------------------------ counts unchanged
_REGISTRY = SpecRegistry.default(None)
_TRACE_PATHS = sorted(Path(TRACES).glob("*.npz"))


@pytest.fixture(scope="module")
def all_traces():
    return [Trace.load(path) for path in _TRACE_PATHS]


@pytest.mark.parametrize("spec_id", _REGISTRY.ids())
def test_the_record_changes_no_event_and_leaves_no_zero_unexplained(spec_id, all_traces):
    """Reporting only: with and without the why-not record, every trace gives the same events and summary.
    And a session of an exercise with reps that counts nothing always names at least one reason."""
    assert all_traces, "no committed traces"
    spec = _REGISTRY.load(spec_id)
    silent = []
    for path, trace in zip(_TRACE_PATHS, all_traces):
        end = float(trace.timestamps[-1])
        with_record, without = Engine(spec), Engine(spec, diagnostics=False)
        events = with_record.process_trace(trace) + with_record.end(end)
        assert events == without.process_trace(trace) + without.end(end)
        summary, plain = with_record.finish(end), without.finish(end)
        assert plain.diagnostics == []
        diagnostics, summary.diagnostics = summary.diagnostics, []
        assert summary == plain
        assert all(d.seconds is None or math.isfinite(d.seconds) for d in diagnostics)
        if spec.reps is not None and summary.reps == 0 and not diagnostics:
            silent.append(path.stem)
    assert silent == []


def test_a_hold_that_never_began_says_which_position_was_not_reached():
    """A hold-only spec whose hold phase was never entered is not a silent zero: sphinx_11 seen from a camera raised
    20 deg and turned 45 deg reads the chest lift 0.25-0.28 torso lengths, under the raised phase's 0.29, and the
    report says so (it said nothing before)."""
    from posecheck.evaluation.views import ViewCamera, viewed_from

    poses = viewed_from(list(Trace.load(trace_path("sphinx_11")).poses()), ViewCamera(yaw_deg=-45, elevation_deg=20))
    engine = Engine(load_spec_by_id("sphinx"))
    for t, pose in poses:
        engine.update(t, pose)
    summary = engine.finish(poses[-1][0])
    assert summary.holds == []
    (reason,) = [d for d in summary.diagnostics if d.kind == "phase_not_reached"]
    assert reason.phase == "raised" and reason.measure == "chest_lift"
    assert 0.2 < reason.value < 0.29 and "never reached" in reason.reason


def test_a_hold_that_began_gets_no_phase_not_reached():
    trace = Trace.load(trace_path("sphinx_11"))
    engine = Engine(load_spec_by_id("sphinx"))
    engine.process_trace(trace)
    summary = engine.finish(float(trace.timestamps[-1]))
    assert summary.holds and not [d for d in summary.diagnostics if d.kind == "phase_not_reached"]
