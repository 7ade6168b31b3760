"""The engine, table-driven: a measure sequence in, the events out, for every spec construct.

Poses are synthetic: a side-on person whose wrist height above the shoulder (in torso lengths) is the
``lift`` measure, and whose nose height above the shoulders is the ``head`` measure. Smoothing is turned
(almost) off so the tables read exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import numpy as np
import pytest
import yaml

from posecheck.engine.engine import Engine
from posecheck.engine.events import (
    Cue,
    HoldFinished,
    HoldStarted,
    NotReady,
    PhaseChanged,
    Ready,
    RepCompleted,
    TrackingLost,
    TrackingRegained,
)
from posecheck.core.pose import LEFT_RIGHT_PAIRS, NUM_LANDMARKS, Landmark, Pose
from posecheck.specs import check_spec_text
from posecheck.specs.schema import ExerciseSpec
from posecheck.core.trace import Trace

FRAME = (1000, 1000)
TORSO = 0.3  # shoulder (0.3, 0.5) to hip (0.6, 0.5): 300 px
DT = 0.1


def make_pose(
    t: float,
    lift: float = 0.0,
    right_lift: float | None = None,
    head: float = 0.0,
    hidden: Iterable[Landmark] = (),
    shoulder_width: float = 0.01,
    near: str = "left",
) -> Pose:
    """A side-on person lying along the image x axis; wrist heights and nose height set in torso lengths."""
    lms = np.zeros((NUM_LANDMARKS, 5), dtype=np.float32)
    lms[:, 3:] = 1.0  # visible, present
    for lm in Landmark:
        lms[lm, :2] = (0.45, 0.55)  # everything else: somewhere on the body
    for left, right, x in (
        (Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, 0.3),
        (Landmark.LEFT_HIP, Landmark.RIGHT_HIP, 0.6),
        (Landmark.LEFT_ELBOW, Landmark.RIGHT_ELBOW, 0.3),
        (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE, 0.6),
        (Landmark.LEFT_EAR, Landmark.RIGHT_EAR, 0.25),
    ):
        lms[left, :2] = (x, 0.5)
        lms[right, :2] = (x + shoulder_width, 0.5)
    lms[Landmark.LEFT_ELBOW, 1] = lms[Landmark.RIGHT_ELBOW, 1] = 0.6
    lms[Landmark.LEFT_WRIST, :2] = (0.3, 0.5 - lift * TORSO)
    lms[Landmark.RIGHT_WRIST, :2] = (0.3 + shoulder_width, 0.5 - (lift if right_lift is None else right_lift) * TORSO)
    lms[Landmark.NOSE, :2] = (0.2, 0.5 - head * TORSO)
    # Depth: the near side is nearer (smaller z). It breaks visibility ties consistently under mirroring.
    sign = -1.0 if near == "left" else 1.0
    for left, right in LEFT_RIGHT_PAIRS:
        lms[left, 2], lms[right, 2] = 0.1 * sign, -0.1 * sign
    for lm in hidden:
        lms[lm, 3] = 0.0
    return Pose(t, lms, None, FRAME)


BASE: dict = {
    "id": "lift",
    "title": "Lift",
    "description": "Lift the arm.",
    "instructions": ["Lift the arm."],
    "target": {"reps": 10},
    "setup": {"view": "any", "visible_text": "Show your arm.", "grace": 0.0},
    "smoothing": {"min_cutoff": 1000.0, "beta": 0.0, "d_cutoff": 1.0},
    "measures": {
        "lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "auto"},
        "head": {"kind": "height", "points": ["nose", "mid_shoulder"]},
    },
    "phases": {"measure": "lift", "ranges": {"down": {"max": 0.2}, "top": {"min": 0.5}}, "hysteresis": 0.05, "min_dwell": 0.0},
    "reps": {"sequence": ["down", "top", "down"]},
}


def make_spec(**changes) -> ExerciseSpec:
    """BASE with top-level sections replaced (None removes one), validated like a file."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    spec, problems = check_spec_text(yaml.safe_dump(data, sort_keys=False), "lift.yaml")
    assert problems == [] and spec is not None, problems
    return spec


def signal(*parts: tuple[float | None, float]) -> list[float | None]:
    """(value, seconds) pieces -> one value per frame (DT apart). None = no person in those frames."""
    out: list[float | None] = []
    for value, seconds in parts:
        out += [value] * int(round(seconds / DT))
    return out


def run(spec: ExerciseSpec, lifts: list, t0: float = 0.0, dt: float = DT, **pose_kwargs):
    """Feeds one frame per value; returns (events, engine). Keyword lists give per-frame pose arguments."""
    engine = Engine(spec)
    events = []
    for i, lift in enumerate(lifts):
        t = t0 + i * dt
        if lift is None:
            events += engine.update(t, None)
            continue
        kwargs = {k: (v[i] if isinstance(v, list) else v) for k, v in pose_kwargs.items()}
        events += engine.update(t, make_pose(t, lift=lift, **kwargs))
    return events, engine


def phases(events) -> list[str]:
    return [e.phase for e in events if isinstance(e, PhaseChanged)]


def reps(events) -> list:
    return [e.rep for e in events if isinstance(e, RepCompleted)]


def cues(events, rule: str | None = None) -> list[Cue]:
    return [e for e in events if isinstance(e, Cue) and (rule is None or e.rule == rule)]


# ------------------------------------------------------------------------------------------ phases and reps
UP_DOWN = signal((0.0, 1), (0.8, 1), (0.0, 1), (0.8, 1), (0.0, 1))

REP_TABLE = [
    # (name, spec changes, lift sequence, expected phases, expected rep count)
    ("two cycles", {}, UP_DOWN, ["down", "top", "down", "top", "down"], 2),
    ("a value in the gap keeps the phase", {}, signal((0.0, 1), (0.35, 1), (0.0, 1)), ["down"], 0),
    (
        "jitter inside the hysteresis band does not flip",
        {},
        signal((0.8, 1)) + [0.47, 0.53, 0.46, 0.54] * 5 + signal((0.8, 1)),
        ["top"],
        0,
    ),
    ("leaving by more than the hysteresis flips", {}, signal((0.0, 1), (0.6, 1), (0.44, 1), (0.6, 1)), ["down", "top"], 0),
    (
        "min_dwell ignores a short spike",
        {"phases": {**BASE["phases"], "min_dwell": 0.5}},
        signal((0.0, 1), (0.8, 0.3), (0.0, 1)),
        ["down"],
        0,
    ),
    (
        "min_dwell accepts a long enough visit",
        {"phases": {**BASE["phases"], "min_dwell": 0.5}},
        signal((0.0, 1), (0.8, 0.7), (0.0, 1)),
        ["down", "top", "down"],
        1,
    ),
    ("a clip that starts mid-rep: first_phase waits for the start", {}, signal((0.8, 1), (0.0, 1), (0.8, 1)), ["top", "down", "top"], 0),
    (
        "a clip that starts mid-rep: anywhere counts the partial rep",
        {"reps": {"sequence": ["down", "top", "down"], "start": "anywhere"}},
        signal((0.8, 1), (0.0, 1), (0.8, 1)),
        ["top", "down", "top"],
        1,
    ),
    (
        "non-cyclic sequence counts on its last phase",
        {"reps": {"sequence": ["down", "top"]}},
        UP_DOWN,
        ["down", "top", "down", "top", "down"],
        2,
    ),
    (
        "transit phases do not break a rep",
        {
            "phases": {**BASE["phases"], "ranges": {"down": {"max": 0.2}, "mid": {"min": 0.2, "max": 0.5}, "top": {"min": 0.5}}},
            "reps": {"sequence": ["down", "top"]},
        },
        signal((0.0, 1), (0.35, 1), (0.8, 1)),
        ["down", "mid", "top"],
        1,
    ),
    (
        "out of order restarts the rep",
        {
            "phases": {**BASE["phases"], "ranges": {"a": {"max": 0.2}, "b": {"min": 0.3, "max": 0.6}, "c": {"min": 0.7}}},
            "reps": {"sequence": ["a", "b", "c"]},
        },
        signal((0.0, 1), (0.8, 1), (0.45, 1), (0.8, 1), (0.0, 1), (0.45, 1), (0.8, 1)),
        ["a", "c", "b", "c", "a", "b", "c"],
        1,
    ),
    (
        "min_excursion drops a rep that moved too little",
        {
            "phases": {**BASE["phases"], "ranges": {"down": {"max": 0.2}, "top": {"min": 0.25}}, "hysteresis": 0.0},
            "reps": {"sequence": ["down", "top", "down"], "min_excursion": 0.5},
        },
        signal((0.1, 1), (0.3, 1), (0.1, 1), (0.0, 1), (0.9, 1), (0.0, 1)),
        ["down", "top", "down", "top", "down"],
        1,
    ),
    (
        "max_seconds abandons a rep that stalled",
        {"reps": {"sequence": ["down", "top", "down"], "max_seconds": 2.0}},
        signal((0.0, 1), (0.8, 3), (0.0, 1), (0.8, 1), (0.0, 1)),
        ["down", "top", "down", "top", "down"],
        1,
    ),
    (
        "also-conditions gate a phase",
        {"phases": {**BASE["phases"], "ranges": {"down": {"max": 0.2}, "top": {"min": 0.5, "also": {"head": {"min": 0.5}}}}}},
        UP_DOWN,
        ["down"],
        0,
    ),
]


@pytest.mark.parametrize(("changes", "lifts", "expected_phases", "expected_reps"), [row[1:] for row in REP_TABLE], ids=[row[0] for row in REP_TABLE])
def test_phases_and_reps(changes, lifts, expected_phases, expected_reps):
    events, engine = run(make_spec(**changes), lifts)
    assert phases(events) == expected_phases
    assert len(reps(events)) == expected_reps
    assert engine.state.reps == expected_reps


# reps.require: the position a rep must stay in. Here: the head (nose above the shoulders) must stay >= 0.
REQUIRE = {"require": {"head": {"min": 0.0}}, "abandon_after": 0.5}
THREE_CYCLES = UP_DOWN + signal((0.8, 1), (0.0, 1))  # down/top from 0 s, every second; tops at 1, 3, 5 s

REQUIRE_TABLE = [
    # (name, reps section, lift sequence, head per frame, expected reps, expected reps without require)
    ("the position is kept: every rep counts", {"sequence": ["down", "top", "down"], **REQUIRE}, THREE_CYCLES, [0.1] * 70, 3, 3),
    (
        "a lapse shorter than abandon_after keeps the rep",
        {"sequence": ["down", "top", "down"], **REQUIRE},
        THREE_CYCLES,
        [0.1] * 12 + [-0.5] * 3 + [0.1] * 55,
        3,
        3,
    ),
    (
        # Out from 1.2 s (in top), abandoned at 1.7 s, back at 2.2 s in down (entered at 2.0 s, while out):
        # the next rep starts at the next entry into down (4.0 s) and completes at 6.0 s.
        "a lasting lapse abandons the rep; the next starts at the next entry into the first phase",
        {"sequence": ["down", "top", "down"], **REQUIRE},
        THREE_CYCLES,
        [0.1] * 12 + [-0.5] * 10 + [0.1] * 48,
        1,
        3,
    ),
    (
        # The phantom from a posture change: down entered in position, the position lost for 1 s while still
        # in down, then back: top must not complete the rep begun before the lapse.
        "coming back does not complete a rep begun before the lapse",
        {"sequence": ["down", "top"], **REQUIRE},
        signal((0.0, 2), (0.8, 1), (0.0, 1), (0.8, 1)),
        [0.1] * 5 + [-0.5] * 10 + [0.1] * 35,
        1,
        2,
    ),
    (
        "abandon_after 0 abandons at the first failing frame",
        {"sequence": ["down", "top", "down"], "require": {"head": {"min": 0.0}}, "abandon_after": 0.0},
        THREE_CYCLES,
        [0.1] * 15 + [-0.5] + [0.1] * 54,
        2,
        3,
    ),
    (
        "an unknown value does not abandon the rep",
        {"sequence": ["down", "top", "down"], **REQUIRE},
        THREE_CYCLES,
        [0.1] * 12 + [None] * 10 + [0.1] * 48,
        3,
        3,
    ),
]


@pytest.mark.parametrize(
    ("reps_section", "lifts", "head", "expected", "expected_without"), [row[1:] for row in REQUIRE_TABLE], ids=[row[0] for row in REQUIRE_TABLE]
)
def test_reps_require_abandons_a_rep_when_the_position_is_lost(reps_section, lifts, head, expected, expected_without):
    hidden = [[Landmark.NOSE] if h is None else [] for h in head]
    head_values = [-0.5 if h is None else h for h in head]  # hidden: the value is unknown whatever it is
    events, _ = run(make_spec(reps=reps_section), lifts, head=head_values, hidden=hidden)
    without = {k: v for k, v in reps_section.items() if k not in ("require", "abandon_after")}
    events_without, _ = run(make_spec(reps=without), lifts, head=head_values, hidden=hidden)
    assert (len(reps(events)), len(reps(events_without))) == (expected, expected_without)
    assert phases(events) == phases(events_without)  # the phases are not changed, only the reps


MAX_FROM_TABLE = [
    # (name, reps section, lift sequence, expected reps with max_seconds_from start, with movement). max_seconds 2.
    (
        "a rest in the first phase longer than max_seconds",
        {"sequence": ["down", "top", "down"]},
        signal((0.0, 3), (0.8, 1), (0.0, 1)),
        0,  # start: the rep begun at 0 s is abandoned at 2 s, while resting; top at 3 s has no rep to continue
        1,
    ),
    ("a rep that stalls in the top", {"sequence": ["down", "top", "down"]}, signal((0.0, 1), (0.8, 3), (0.0, 1), (0.8, 1), (0.0, 1)), 1, 1),
    (
        "a rest, then a quick move through a transit phase",
        {"sequence": ["down", "top"]},
        signal((0.0, 5), (0.35, 1), (0.8, 1)),
        0,
        1,
    ),
    ("a slow move through a transit phase", {"sequence": ["down", "top"]}, signal((0.0, 1), (0.35, 2.5), (0.8, 1)), 0, 0),
]


@pytest.mark.parametrize(
    ("reps_section", "lifts", "expected_from_start", "expected_from_movement"),
    [row[1:] for row in MAX_FROM_TABLE],
    ids=[row[0] for row in MAX_FROM_TABLE],
)
def test_max_seconds_from_start_or_movement(reps_section, lifts, expected_from_start, expected_from_movement):
    ranges = {"down": {"max": 0.2}, "mid": {"min": 0.2, "max": 0.5}, "top": {"min": 0.5}}
    phases_section = {**BASE["phases"], "ranges": ranges}
    counts = []
    for start_or_movement in ("start", "movement"):
        spec = make_spec(phases=phases_section, reps={**reps_section, "max_seconds": 2.0, "max_seconds_from": start_or_movement})
        counts.append(len(reps(run(spec, lifts)[0])))
    default = make_spec(phases=phases_section, reps={**reps_section, "max_seconds": 2.0})
    assert counts == [expected_from_start, expected_from_movement]
    assert len(reps(run(default, lifts)[0])) == expected_from_start  # start is the default


def test_a_rep_record_has_timing_range_and_peaks():
    spec = make_spec(reps={"sequence": ["down", "top", "down"], "peaks": {"lift": "max", "head": "min"}})
    lifts = signal((0.0, 1), (0.4, 0.5), (0.9, 1), (0.0, 1))
    events, _ = run(spec, lifts, head=[0.3] * 15 + [-0.2] * 20)
    (rep,) = reps(events)
    assert rep.index == 1 and rep.side is None
    assert rep.start == pytest.approx(0.0) and rep.end == pytest.approx(2.5)
    assert rep.duration == pytest.approx(2.5)
    assert rep.rom_deg == pytest.approx(0.9, abs=1e-6)
    assert rep.peaks == {"lift": pytest.approx(0.9, abs=1e-6), "head": pytest.approx(-0.2, abs=1e-6)}
    assert rep.tempo_ok


def test_phase_changes_are_dated_to_when_the_phase_began():
    spec = make_spec(phases={**BASE["phases"], "min_dwell": 0.5})
    events, _ = run(spec, signal((0.0, 1), (0.8, 1)))
    top = [e for e in events if isinstance(e, PhaseChanged) and e.phase == "top"][0]
    assert top.t == pytest.approx(1.0) and top.previous == "down"


# ------------------------------------------------------------------------------------------ tempo
TEMPO = {"rep": {"min": 2.0, "max": 8.0}, "too_fast": "Slower, please.", "too_slow": "Keep moving.", "cooldown": 5.0}


def test_a_fast_rep_gets_a_kind_slow_down_cue_and_still_counts():
    events, _ = run(make_spec(tempo=TEMPO), signal((0.0, 0.5), (0.8, 0.5), (0.0, 1)))
    (rep,) = reps(events)
    assert not rep.tempo_ok
    (cue,) = cues(events)
    assert (cue.rule, cue.text) == ("slow_down", "Slower, please.")
    assert "Slower, please." not in rep.cues  # given after the rep, for the next one


def test_tempo_cues_respect_their_cooldown():
    fast = signal((0.0, 0.5), (0.8, 0.5)) * 4 + signal((0.0, 1))
    events, _ = run(make_spec(tempo=TEMPO), fast)
    assert len(reps(events)) == 4
    assert len(cues(events, "slow_down")) == 1  # 4 fast reps within 4 s, cooldown 5 s


@pytest.mark.parametrize(
    "skip_first_rep, expected_cue_times, expected_tempo_ok",
    [
        # Two fast reps, completed at 1 s and 2 s: the first gets the cue unless skipped, and then the second
        # does (the 5 s cooldown runs only from a cue that was given).
        (False, [1.0], [False, False]),
        (True, [2.0], [True, False]),
    ],
)
def test_skip_first_rep_leaves_the_first_rep_without_a_tempo_verdict(skip_first_rep, expected_cue_times, expected_tempo_ok):
    tempo = dict(TEMPO, skip_first_rep=skip_first_rep)
    events, _ = run(make_spec(tempo=tempo), signal((0.0, 0.5), (0.8, 0.5)) * 2 + signal((0.0, 1)))
    assert [c.t for c in cues(events, "slow_down")] == pytest.approx(expected_cue_times, abs=0.05)
    assert [r.tempo_ok for r in reps(events)] == expected_tempo_ok


def test_a_slow_rep_gets_the_optional_tempo_slow_cue():
    events, _ = run(make_spec(tempo=TEMPO), signal((0.0, 1), (0.8, 9), (0.0, 1)))
    assert [c.rule for c in cues(events)] == ["tempo_slow"]
    assert not reps(events)[0].tempo_ok


def test_a_good_rep_gets_no_tempo_cue():
    events, _ = run(make_spec(tempo=TEMPO), signal((0.0, 1), (0.8, 2), (0.0, 1)))
    assert cues(events) == [] and reps(events)[0].tempo_ok


def test_phase_and_transition_tempo():
    tempo = {
        "phases": {"top": {"min": 1.0}},
        "transitions": [{"from": "top", "to": "down", "seconds": {"min": 1.0}}],
        "too_fast": "Roll down even slower.",
        "cooldown": 0.0,
    }
    ranges = {"down": {"max": 0.2}, "mid": {"min": 0.2, "max": 0.5}, "top": {"min": 0.5}}
    spec = make_spec(tempo=tempo, phases={**BASE["phases"], "ranges": ranges})
    quick_top = signal((0.0, 1), (0.8, 0.5), (0.0, 1))
    # The lowering is timed from leaving top (into mid) to reaching down.
    slow_lowering = signal((0.0, 1), (0.8, 1.5), (0.35, 1.5), (0.0, 1))
    events, _ = run(spec, quick_top)
    assert [c.rule for c in cues(events)] == ["slow_down", "slow_down"]  # short top, quick lowering
    events, _ = run(spec, slow_lowering)
    assert cues(events) == []


# ------------------------------------------------------------------------------------------ form rules
RULE = {"id": "head_up", "require": {"head": {"min": 0.0}}, "after": 0.5, "cue": "Let your head rest.", "severity": "info", "cooldown": 3.0}


@pytest.mark.parametrize(
    ("rule_changes", "head", "expected_cue_times"),
    [
        ({}, [0.1] * 60, []),
        ({}, [0.1] * 10 + [-0.5] * 3 + [0.1] * 47, []),  # a 0.3 s fault is shorter than `after`
        ({}, [0.1] * 10 + [-0.5] * 50, [1.5, 4.5]),  # then again after each cooldown
        ({"phases": ["top"]}, [-0.5] * 60, [1.5, 4.5]),  # only checked in top (from 1.0 s)
        ({"phases": ["down"]}, [0.1] * 10 + [-0.5] * 50, []),  # the fault is only in top
    ],
    ids=["good form", "short fault", "lasting fault, cooldown", "only in its phases", "not in other phases"],
)
def test_form_rules(rule_changes, head, expected_cue_times):
    spec = make_spec(form=[{**RULE, **rule_changes}])
    lifts = signal((0.0, 1), (0.8, 5))
    events, _ = run(spec, lifts, head=head)
    assert [round(c.t, 3) for c in cues(events, "head_up")] == expected_cue_times
    assert all(c.text == "Let your head rest." for c in cues(events))


def test_a_cue_during_a_rep_is_recorded_in_it():
    spec = make_spec(form=[RULE])
    events, _ = run(spec, signal((0.0, 1), (0.8, 1), (0.0, 1)), head=[0.1] * 10 + [-0.5] * 10 + [0.1] * 10)
    assert reps(events)[0].cues == ("Let your head rest.",)


def test_an_unknown_measure_never_triggers_a_cue():
    spec = make_spec(form=[RULE])
    events, _ = run(spec, signal((0.0, 4)), head=-0.5, hidden=(Landmark.NOSE,))
    assert cues(events) == []


# ------------------------------------------------------------------------------------------ holds
HOLD = {"phases": ["top"], "min_seconds": 1.0, "exit_grace": 0.5}


def test_a_hold_reports_its_seconds_against_the_target():
    spec = make_spec(hold=HOLD, target={"reps": 5, "seconds": 2.0})
    events, engine = run(spec, signal((0.0, 1), (0.8, 3), (0.0, 1)))
    started = [e for e in events if isinstance(e, HoldStarted)]
    finished = [e.hold for e in events if isinstance(e, HoldFinished)]
    assert [round(e.t, 3) for e in started] == [1.0]
    (hold,) = finished
    assert hold.start == pytest.approx(1.0) and hold.end == pytest.approx(3.9)
    assert hold.seconds == pytest.approx(2.9) and hold.target_met


def test_a_short_dip_pauses_the_hold_and_a_long_one_ends_it():
    spec = make_spec(hold=HOLD, reps=None, target={"seconds": 10.0})
    lifts = signal((0.8, 2), (0.0, 0.3), (0.8, 2), (0.0, 1), (0.8, 2))
    events, engine = run(spec, lifts)
    summary = engine.finish(7.3)
    assert [round(h.seconds, 2) for h in summary.holds] == [3.8, 1.9]  # 1.9 + 1.9 around the dip
    assert not summary.holds[0].target_met


def test_passing_through_the_hold_position_is_not_a_hold():
    spec = make_spec(hold=HOLD)
    events, engine = run(spec, signal((0.0, 1), (0.8, 0.5), (0.0, 1)))
    assert not [e for e in events if isinstance(e, (HoldStarted, HoldFinished))]
    assert engine.finish(2.5).holds == []


def test_a_warning_cue_pauses_the_hold_timer():
    spec = make_spec(
        hold={**HOLD, "when": {"lift": {"min": 0.5}}, "pause_on": "warning"},
        reps=None,
        target={"seconds": 30.0},
        form=[{**RULE, "severity": "warning", "after": 0.0}],
    )
    head = [0.1] * 20 + [-0.5] * 10 + [0.1] * 10
    _, engine = run(spec, signal((0.8, 4)), head=head)
    (hold,) = engine.finish(3.9).holds
    assert hold.seconds == pytest.approx(2.8)  # 3.9 s in position minus the 1.1 s with a fault


@pytest.mark.parametrize(
    ("pause_on", "severity", "expected_seconds"),
    # 3.9 s in position; a fault that pauses the timer takes 1.1 s off.
    [("warning", "warning", 2.8), ("warning", "info", 3.9), ("any", "info", 2.8), ("none", "warning", 3.9)],
)
def test_pause_on_picks_the_cues_that_pause_the_hold_by_severity(pause_on, severity, expected_seconds):
    spec = make_spec(
        hold={**HOLD, "when": {"lift": {"min": 0.5}}, "pause_on": pause_on},
        reps=None,
        target={"seconds": 30.0},
        form=[{**RULE, "severity": severity, "after": 0.0}],
    )
    head = [0.1] * 20 + [-0.5] * 10 + [0.1] * 10
    _, engine = run(spec, signal((0.8, 4)), head=head)
    (hold,) = engine.finish(3.9).holds
    assert hold.seconds == pytest.approx(expected_seconds)


RELEASE = {**HOLD, "release": {"measure": "lift", "deepest": "max", "by": 0.1}}


def test_a_release_ends_the_hold_where_the_way_back_starts():
    # Up to 1.0, a slow start back (still in the top phase, 0.5+) and down: without a release the timer
    # runs on through the slow part until top is left.
    lifts = signal((0.0, 1), (1.0, 2)) + [0.98, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6] + signal((0.0, 1))
    (plain,) = run(make_spec(hold=HOLD, reps=None, target={"seconds": 30.0}), lifts)[1].finish(4.0).holds
    (released,) = run(make_spec(hold=RELEASE, reps=None, target={"seconds": 30.0}), lifts)[1].finish(4.0).holds
    assert plain.end == pytest.approx(3.8)
    assert released.end == pytest.approx(3.2)  # 0.9 is the last frame within 0.1 of the deepest 1.0
    assert released.seconds == pytest.approx(2.2)


def test_a_deepening_stretch_and_its_sway_keep_the_hold():
    # Sinking deeper moves the deepest point along; a sway smaller than `by` around it is still holding.
    lifts = signal((0.0, 1)) + [0.6 + 0.02 * i for i in range(20)] + [0.98, 0.93, 0.97, 0.94] * 5
    _, engine = run(make_spec(hold=RELEASE, reps=None, target={"seconds": 30.0}), lifts + signal((0.0, 1)))
    (hold,) = engine.finish(6.0).holds
    assert hold.start == pytest.approx(1.0) and hold.end == pytest.approx(4.9)


def test_easing_off_and_staying_there_is_timed_as_a_new_hold():
    lifts = signal((0.0, 1), (1.0, 2), (0.8, 3), (0.0, 1))
    _, engine = run(make_spec(hold=RELEASE, reps=None, target={"seconds": 30.0}), lifts)
    holds = engine.finish(7.0).holds
    assert [(round(h.start, 2), round(h.end, 2)) for h in holds] == [(1.0, 2.9), (3.6, 5.9)]  # the new hold from the frame after the first ended


def test_a_short_ease_off_within_the_grace_pauses_the_hold():
    lifts = signal((0.0, 1), (1.0, 2), (0.8, 0.3), (1.0, 2), (0.0, 1))
    _, engine = run(make_spec(hold=RELEASE, reps=None, target={"seconds": 30.0}), lifts)
    (hold,) = engine.finish(6.3).holds
    assert hold.seconds == pytest.approx(3.8)  # 1.9 + 1.9 around the ease-off


def test_a_hold_release_needs_a_known_measure():
    data = copy.deepcopy(BASE)
    data["hold"] = {**HOLD, "release": {"measure": "reach", "deepest": "max", "by": 0.1}}
    spec, problems = check_spec_text(yaml.safe_dump(data, sort_keys=False), "lift.yaml")
    assert spec is None and any("hold.release.measure" in p and "unknown measure 'reach'" in p for p in problems)


def test_the_state_shows_the_running_hold():
    spec = make_spec(hold=HOLD, reps=None, target={"seconds": 30.0})
    _, engine = run(spec, signal((0.8, 2)))
    assert engine.state.hold_seconds == pytest.approx(1.9)
    assert engine.state.hold_target == 30.0


# ------------------------------------------------------------------------------------------ setup
def test_wrong_view_is_not_ready_with_the_spec_text():
    spec = make_spec(setup={"view": "side", "view_ratio": 0.5, "view_text": "Turn side-on.", "visible_text": "x", "grace": 0.0})
    events, engine = run(spec, UP_DOWN, shoulder_width=0.25)  # shoulders 250 px apart over a 300 px torso
    assert [e for e in events if isinstance(e, (Ready, NotReady))] == [NotReady(0.0, "Turn side-on.")]
    assert reps(events) == [] and phases(events) == []
    assert engine.state.not_ready_reason == "Turn side-on."


def test_hidden_landmarks_are_not_ready_until_visible():
    spec = make_spec()
    hidden = [[Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]] * 10 + [[]] * 40
    events, _ = run(spec, UP_DOWN, hidden=hidden)
    ready = [e for e in events if isinstance(e, (Ready, NotReady))]
    assert ready == [NotReady(0.0, "Show your arm."), Ready(pytest.approx(1.0))]
    assert len(reps(events)) == 1


MID_ONLY = {  # no measure resolves an auto side: the phase measure uses midpoints, the other an absolute name
    "lift": {"kind": "height", "points": ["mid_wrist", "mid_shoulder"]},
    "head": BASE["measures"]["head"],
}
LEFT_ARM = (Landmark.LEFT_WRIST, Landmark.LEFT_SHOULDER)  # a tuple: run() reads lists as per-frame values
RIGHT_ARM = (Landmark.RIGHT_WRIST, Landmark.RIGHT_SHOULDER)

VISIBLE_TABLE = [
    # (name, measures, hidden landmarks, ready). setup.visible: [wrist, shoulder] (side-relative names).
    ("auto side: the left side visible", BASE["measures"], RIGHT_ARM, True),
    ("auto side: the right side visible", BASE["measures"], LEFT_ARM, True),  # the auto side is the visible one
    ("auto side: neither side complete", BASE["measures"], (Landmark.LEFT_WRIST, Landmark.RIGHT_SHOULDER), False),
    ("no auto side: the left side visible", MID_ONLY, RIGHT_ARM, True),
    ("no auto side: the right side visible", MID_ONLY, LEFT_ARM, True),
    ("no auto side: neither side complete", MID_ONLY, (Landmark.LEFT_WRIST, Landmark.RIGHT_SHOULDER), False),
]


@pytest.mark.parametrize(("measures", "hidden", "ready"), [row[1:] for row in VISIBLE_TABLE], ids=[row[0] for row in VISIBLE_TABLE])
def test_setup_visible_side_relative_names(measures, hidden, ready):
    spec = make_spec(measures=measures, setup={**BASE["setup"], "visible": ["wrist", "shoulder"]})
    _, engine = run(spec, signal((0.0, 0.5)), hidden=hidden)
    assert engine.state.ready is ready


def test_counting_waits_for_the_start_position():
    setup = {**BASE["setup"], "start": {"when": {"head": {"min": 0.5}}, "text": "Lift your head to start."}}
    spec = make_spec(setup=setup)
    head = [0.0] * 20 + [0.6] * 30
    events, _ = run(spec, UP_DOWN, head=head)
    assert [type(e).__name__ for e in events if isinstance(e, (Ready, NotReady))] == ["NotReady", "Ready"]
    assert [e for e in events if isinstance(e, NotReady)][0].reason == "Lift your head to start."
    assert len(reps(events)) == 1  # the rep before the start position is not counted


def test_setup_grace_tolerates_a_short_problem():
    spec = make_spec(setup={**BASE["setup"], "grace": 0.5})
    hidden = [[]] * 15 + [[Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]] * 3 + [[]] * 32
    events, _ = run(spec, UP_DOWN, hidden=hidden)
    assert not [e for e in events if isinstance(e, NotReady)]


def test_a_lasting_problem_pauses_counting_after_the_grace():
    spec = make_spec(setup={**BASE["setup"], "grace": 0.5})
    hidden = [[]] * 15 + [[Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]] * 10 + [[]] * 25
    events, _ = run(spec, UP_DOWN, hidden=hidden)
    assert [round(e.t, 3) for e in events if isinstance(e, NotReady)] == [2.0]
    assert [round(e.t, 3) for e in events if isinstance(e, Ready)] == [0.0, 2.5]


# ------------------------------------------------------------------------------------------ tracking
def test_no_pose_is_tracking_lost_and_coming_back_resumes():
    lifts = signal((0.0, 1), (None, 1), (0.8, 1), (0.0, 1))
    events, engine = run(make_spec(), lifts)
    lost = [e for e in events if isinstance(e, (TrackingLost, TrackingRegained))]
    assert [(type(e).__name__, round(e.t, 3)) for e in lost] == [("TrackingLost", 1.1), ("TrackingRegained", 2.0)]
    assert len(reps(events)) == 1  # a 1 s dropout before the rep does not prevent it
    summary = engine.finish(4.0)
    assert [(round(g.start, 3), round(g.end, 3)) for g in summary.gaps] == [(0.9, 2.0)]


def test_a_single_missing_frame_is_not_reported():
    lifts = signal((0.0, 1)) + [None] + signal((0.8, 1), (0.0, 1))
    events, engine = run(make_spec(), lifts)
    assert not [e for e in events if isinstance(e, (TrackingLost, TrackingRegained))]
    assert engine.finish(3.1).gaps == []


def test_a_short_dropout_mid_rep_keeps_the_rep():
    lifts = signal((0.0, 1), (0.8, 1), (None, 1), (0.8, 0.5), (0.0, 1))
    events, _ = run(make_spec(), lifts)
    assert len(reps(events)) == 1


def test_a_long_dropout_mid_rep_abandons_it():
    lifts = signal((0.0, 1), (0.8, 1), (None, 3), (0.0, 1))
    events, _ = run(make_spec(), lifts)
    assert reps(events) == []


def test_a_lost_track_never_completes_a_rep():
    engine = Engine(make_spec())
    for i, lift in enumerate(signal((0.0, 1), (0.8, 1))):
        engine.update(i * DT, make_pose(i * DT, lift))
    gone = [e for i in range(20, 60) for e in engine.update(i * DT, None)]
    assert [type(e).__name__ for e in gone] == ["TrackingLost"]  # and nothing else: no rep, no phase
    assert engine.state.reps == 0 and not engine.state.tracking


# ------------------------------------------------------------------------------------------ visibility and sides
def test_a_hidden_landmark_makes_its_measure_unknown():
    spec = make_spec(setup={**BASE["setup"], "visible": ["shoulder"]})
    events, engine = run(spec, UP_DOWN, hidden=(Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST))
    assert phases(events) == [] and engine.state.measures["lift"] is None


def test_auto_side_follows_the_visible_side_with_hysteresis():
    spec = make_spec()
    # The left wrist is the near one and shows the reps; the right one stays down and is less visible.
    hidden_right = [Landmark.RIGHT_WRIST, Landmark.RIGHT_SHOULDER]
    flicker = [hidden_right] * 14 + [[Landmark.LEFT_WRIST, Landmark.LEFT_SHOULDER]] * 2 + [hidden_right] * 34
    kwargs = {"right_lift": 0.0, "hidden": flicker}
    events, _ = run(spec, UP_DOWN, **kwargs)
    # A 0.2 s visibility flip (under tracking.side_seconds) does not switch to the idle right arm.
    assert len(reps(events)) == 2


PER_SIDE = {
    "lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "per_side"},
    "head": BASE["measures"]["head"],
}


def test_per_side_measures_count_each_side():
    spec = make_spec(measures=PER_SIDE, target={"reps": 4, "per_side": True})
    left = signal((0.0, 1), (0.8, 1), (0.0, 1), (0.0, 2), (0.8, 1), (0.0, 1))
    right = signal((0.0, 1), (0.0, 2), (0.8, 1), (0.0, 1), (0.0, 1), (0.0, 1))
    events, engine = run(spec, left, right_lift=right)
    assert [r.side for r in reps(events)] == ["left", "right", "left"]
    summary = engine.finish(6.9)
    assert summary.reps_by_side == {"left": 2, "right": 1}
    assert summary.asymmetry == pytest.approx(0.5)
    assert {e.side for e in events if isinstance(e, PhaseChanged)} == {"left", "right"}


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        ({"decide_by": "arms", "rule": "larger"}, ["left", "right"]),
        ({"decide_by": "arms", "rule": "smaller"}, ["right", "left"]),
    ],
)
def test_the_working_side_is_decided_from_the_data(sides, expected):
    measures = {
        "lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "max"},
        "arms": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "max"},
        "head": BASE["measures"]["head"],
    }
    spec = make_spec(measures=measures, sides=sides)
    left = signal((0.0, 1), (0.8, 1), (0.0, 1), (0.0, 1), (0.0, 1))
    right = signal((0.0, 1), (0.0, 1), (0.0, 1), (0.8, 1), (0.0, 1))
    events, engine = run(spec, left, right_lift=right)
    assert [r.side for r in reps(events)] == expected
    assert engine.finish(5.0).asymmetry == 0.0


@pytest.mark.parametrize(("rule", "expected"), [("larger", "left"), ("moved", "right")])
def test_moved_tells_the_limb_that_moved_from_the_one_that_rests_high(rule, expected):
    # The left arm rests high (0.9) and never moves; the right arm rises from 0 to 0.6 and back.
    measures = {
        "lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "min"},
        "arms": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "max"},
        "head": BASE["measures"]["head"],
    }
    spec = make_spec(measures=measures, sides={"decide_by": "arms", "rule": rule})
    right = signal((0.0, 1), (0.6, 1), (0.0, 1))
    events, _ = run(spec, [0.9] * len(right), right_lift=right)
    assert [r.side for r in reps(events)] == [expected]


def test_a_hold_gets_the_side_the_evidence_favours():
    measures = {
        "lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "max"},
        "head": BASE["measures"]["head"],
    }
    spec = make_spec(measures=measures, sides={"decide_by": "lift", "rule": "larger"}, hold=HOLD, reps=None, target={"seconds": 1.0})
    right = signal((0.0, 1), (0.8, 2), (0.0, 1))
    events, engine = run(spec, [0.0] * len(right), right_lift=right)
    assert [e.side for e in events if isinstance(e, HoldStarted)] == ["right"]
    assert [h.side for h in engine.finish(4.0).holds] == ["right"]


def test_sign_rule_reads_a_signed_measure():
    measures = {**BASE["measures"], "drift": {"kind": "lateral", "points": ["nose", "mid_shoulder"]}}
    spec = make_spec(measures=measures, sides={"decide_by": "drift", "rule": "sign", "positive": "right"})
    events, _ = run(spec, UP_DOWN)  # the nose is left of the shoulders in the image: negative drift
    assert [r.side for r in reps(events)] == ["left", "left"]


# ------------------------------------------------------------------------------------------ adaptive range
ADAPTIVE = {
    "adaptive": {"learn_reps": 2, "min_range": 0.2},
    "phases": {"measure": "lift", "ranges": {"down": {"max": 0.3}, "top": {"min": 0.7}}, "hysteresis": 0.05, "min_dwell": 0.0},
}


def test_a_small_range_of_motion_is_counted_on_its_own_scale():
    small = signal((0.0, 1), (0.25, 1), (0.0, 1), (0.25, 1), (0.0, 1))
    fixed_events, _ = run(make_spec(), small)
    adaptive_events, engine = run(make_spec(**ADAPTIVE), small)
    assert len(reps(fixed_events)) == 0  # the fixed top line (0.5) is never reached
    assert len(reps(adaptive_events)) == 2
    assert engine.finish(5.0).adaptive_range == {"lift": (pytest.approx(0.0), pytest.approx(0.25))}


def test_movement_under_the_minimum_range_is_noise():
    noise = [0.0, 0.12] * 30
    events, _ = run(make_spec(**ADAPTIVE, reps={"sequence": ["down", "top", "down"], "min_excursion": 0.2}), noise)
    assert reps(events) == []


ANCHOR_RAMP = [0.0] * 10 + [0.03 * k for k in range(1, 11)]  # rest, then a slow lift of 0.03 per frame from 1.0 s

ANCHOR_TABLE = [
    # (anchor, expected phases, when "top" began). min_range 0.2, down <= 0.3, top >= 0.7 of the range.
    # first_phase: the rest reads 0.15 (mid-down), so top needs 0.55 x 0.2 = 0.11 of lift: reached at 0.12.
    ("first_phase", ["down", "top"], 1.3),
    # low: the rest reads 0, so top needs 0.7 x 0.2 = 0.14 of lift: reached at 0.15, one frame later.
    ("low", ["down", "top"], 1.4),
    # high: the rest is taken for the top of the range (for exercises that start at the top).
    ("high", ["top"], 0.0),
]


@pytest.mark.parametrize(("anchor", "expected_phases", "top_at"), ANCHOR_TABLE, ids=[row[0] for row in ANCHOR_TABLE])
def test_the_adaptive_anchor_places_the_first_value_in_the_narrow_range(anchor, expected_phases, top_at):
    spec = make_spec(**{**ADAPTIVE, "adaptive": {**ADAPTIVE["adaptive"], "anchor": anchor}})
    events, _ = run(spec, ANCHOR_RAMP)
    assert phases(events) == expected_phases
    top = next(e for e in events if isinstance(e, PhaseChanged) and e.phase == "top")
    assert top.t == pytest.approx(top_at)


def test_the_default_anchor_is_the_first_phase():
    default_events, _ = run(make_spec(**ADAPTIVE), ANCHOR_RAMP)
    explicit = make_spec(**{**ADAPTIVE, "adaptive": {**ADAPTIVE["adaptive"], "anchor": "first_phase"}})
    assert run(explicit, ANCHOR_RAMP)[0] == default_events


def test_the_learned_range_is_kept_after_learn_reps():
    lifts = signal((0.0, 1), (0.3, 1), (0.0, 1), (0.3, 1), (0.0, 1), (0.9, 1), (0.0, 1))
    _, engine = run(make_spec(**ADAPTIVE), lifts)
    assert engine.finish(7.0).adaptive_range == {"lift": (pytest.approx(0.0), pytest.approx(0.3))}


# ------------------------------------------------------------------------------------------ API details
def test_the_state_snapshot():
    spec = make_spec(form=[RULE])
    _, engine = run(spec, signal((0.0, 1), (0.8, 1), (0.0, 1)), head=[0.1] * 20 + [-0.5] * 10)
    state = engine.state
    assert (state.tracking, state.ready, state.phase, state.reps, state.target_reps) == (True, True, "down", 1, 10)
    assert state.measures["lift"] == pytest.approx(0.0, abs=1e-6)
    assert state.cue == "Let your head rest."
    assert state.reps_by_side == {}


def test_process_trace_equals_update_frame_by_frame():
    frames = []
    for i, lift in enumerate(signal((0.0, 1), (0.8, 1), (None, 0.5), (0.8, 1), (0.0, 1), (None, 3), (0.0, 1), (0.8, 1), (0.0, 1))):
        t = i * DT
        frames.append((t, None if lift is None else make_pose(t, lift, head=0.3 * np.sin(t))))
    trace = Trace.from_poses(frames, FRAME, 1 / DT)
    spec = make_spec(form=[RULE], tempo=TEMPO, hold=HOLD, target={"reps": 3, "seconds": 1.0})
    engine = Engine(spec)
    one_by_one = [e for t, pose in trace.poses() for e in engine.update(t, pose)]
    assert Engine(spec).process_trace(trace) == one_by_one
    assert len(reps(one_by_one)) == 2


def test_finish_closes_a_running_hold_and_an_open_gap():
    spec = make_spec(hold=HOLD, target={"reps": 2, "seconds": 1.0})
    _, engine = run(spec, signal((0.0, 1), (0.8, 2), (None, 1)))
    summary = engine.finish(4.0)
    assert summary.exercise == "lift"
    assert [round(h.seconds, 2) for h in summary.holds] == [1.9]
    assert [(round(g.start, 2), g.end) for g in summary.gaps] == [(2.9, 4.0)]


def test_end_emits_hold_finished_for_a_hold_still_running():
    spec = make_spec(hold=HOLD, reps=None, target={"seconds": 30.0})
    events, engine = run(spec, signal((0.0, 1), (0.8, 2)))
    assert not [e for e in events if isinstance(e, HoldFinished)]  # the hold was never left
    final = engine.end(2.95)
    assert [(type(e).__name__, round(e.t, 3)) for e in final] == [("HoldFinished", 2.9)]  # its last frame in position
    assert final[0].hold.seconds == pytest.approx(1.9)
    assert engine.end(3.0) == []  # once
    assert engine.finish(3.0).holds == [final[0].hold]
    assert engine.state.hold_seconds is None


@pytest.mark.parametrize(("lifts", "expected"), [(signal((0.0, 1), (0.8, 2)), 1), (signal((0.0, 1), (0.8, 2), (0.0, 1)), 0), (signal((0.0, 3)), 0)])
def test_end_and_finish_agree_with_finish_alone(lifts, expected):
    spec = make_spec(hold=HOLD, reps=None, target={"seconds": 30.0})
    _, alone = run(spec, lifts)
    _, ended = run(spec, lifts)
    t_end = (len(lifts) - 1) * DT
    assert len(ended.end(t_end)) == expected
    assert ended.finish(t_end) == alone.finish(t_end)


@pytest.mark.parametrize(("cue_seconds", "shown"), [(4.0, True), (0.5, False), (0.0, False)])
def test_the_state_shows_a_cue_for_cue_seconds(cue_seconds, shown):
    # The cue fires at 1.5 s (head down from 1.0 s, after 0.5 s); the state is read at 2.9 s.
    head = [0.1] * 10 + [-0.5] * 6 + [0.1] * 14
    engine = Engine(make_spec(form=[RULE]), cue_seconds=cue_seconds)
    for i, lift in enumerate(signal((0.0, 3))):
        engine.update(i * DT, make_pose(i * DT, lift, head=head[i]))
    assert engine.state.cue == ("Let your head rest." if shown else None)


def test_cue_seconds_cannot_be_negative():
    with pytest.raises(ValueError, match="cue_seconds"):
        Engine(make_spec(), cue_seconds=-1.0)
