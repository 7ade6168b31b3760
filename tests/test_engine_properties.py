"""Properties of the engine that must hold for any input (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posecheck.engine.engine import Engine
from posecheck.engine.events import HoldStarted, PhaseChanged, RepCompleted

from test_engine import BASE, DT, HOLD, PER_SIDE, TEMPO, make_pose, make_spec, phases, reps

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

levels = st.sampled_from([0.0, 0.1, 0.35, 0.6, 0.8, 1.2])
segments = st.lists(st.tuples(levels, st.integers(min_value=1, max_value=15)), min_size=1, max_size=25)


def expand(parts: list[tuple[float | None, int]]) -> list[float | None]:
    return [value for value, frames in parts for _ in range(frames)]


@SETTINGS
@given(parts=st.lists(st.tuples(st.one_of(st.none(), levels, st.floats(-1, 2)), st.integers(1, 10)), max_size=30))
def test_reps_never_decrease_and_are_numbered_in_order(parts):
    engine = Engine(make_spec(hold=HOLD, target={"reps": 5, "seconds": 2.0}, tempo=TEMPO))
    last = 0
    seen = []
    for i, lift in enumerate(expand(parts)):
        t = i * DT
        events = engine.update(t, None if lift is None else make_pose(t, lift))
        seen += [e.rep.index for e in events if isinstance(e, RepCompleted)]
        assert engine.state.reps >= last
        last = engine.state.reps
    assert seen == list(range(1, last + 1))


@SETTINGS
@given(
    start=st.sampled_from(["down", "top"]),
    jitter=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=80),
)
def test_jitter_inside_the_hysteresis_band_never_counts(start, jitter):
    # Once in a phase, values within its range widened by the hysteresis keep it, however they jump.
    hysteresis = BASE["phases"]["hysteresis"]
    if start == "down":
        band_low, band_high = -0.5, BASE["phases"]["ranges"]["down"]["max"] + hysteresis
    else:
        band_low, band_high = BASE["phases"]["ranges"]["top"]["min"] - hysteresis, 1.5
    settle = 0.0 if start == "down" else 0.8
    values = [settle] * 10 + [band_low + (band_high - band_low) * 0.999 * j for j in jitter]
    engine = Engine(make_spec())
    events = [e for i, v in enumerate(values) for e in engine.update(i * DT, make_pose(i * DT, v))]
    assert phases(events) == [start]
    assert reps(events) == []


@SETTINGS
@given(parts=st.lists(st.tuples(st.one_of(st.none(), levels), st.integers(1, 30)), max_size=20))
def test_a_lost_track_never_counts(parts):
    engine = Engine(make_spec(hold=HOLD, target={"reps": 5, "seconds": 1.0}))
    for i, lift in enumerate(expand(parts)):
        t = i * DT
        if lift is None:
            events = engine.update(t, None)
            assert not [e for e in events if isinstance(e, (RepCompleted, PhaseChanged, HoldStarted))]
        else:
            engine.update(t, make_pose(t, lift))


def _mirror_run(spec, left, right, mirrored: bool):
    engine = Engine(spec)
    events = []
    for i, (lv, rv) in enumerate(zip(left, right)):
        t = i * DT
        pose = make_pose(t, lift=lv, right_lift=rv)
        events += engine.update(t, pose.mirrored() if mirrored else pose)
    return events, engine.finish(len(left) * DT)


SWAP = {"left": "right", "right": "left", None: None}


@SETTINGS
@given(left=segments, right=segments)
def test_mirrored_input_gives_mirrored_output(left, right):
    spec = make_spec(measures=PER_SIDE, target={"reps": 4, "per_side": True})
    lv, rv = expand(left), expand(right)
    n = min(len(lv), len(rv))
    events, summary = _mirror_run(spec, lv[:n], rv[:n], mirrored=False)
    mirrored_events, mirrored_summary = _mirror_run(spec, lv[:n], rv[:n], mirrored=True)
    original = sorted((r.start, r.end, SWAP[r.side]) for r in reps(events))
    mirror = sorted((r.start, r.end, r.side) for r in reps(mirrored_events))
    assert original == mirror
    assert summary.reps_by_side == {"left": mirrored_summary.reps_by_side["right"], "right": mirrored_summary.reps_by_side["left"]}


@SETTINGS
@given(parts=segments)
def test_a_mirrored_person_counts_the_same_on_the_auto_side(parts):
    values = expand(parts)
    events, _ = _mirror_run(make_spec(), values, [0.0] * len(values), mirrored=False)
    mirrored_events, _ = _mirror_run(make_spec(), values, [0.0] * len(values), mirrored=True)
    assert phases(events) == phases(mirrored_events)
    assert [(r.start, r.end) for r in reps(events)] == [(r.start, r.end) for r in reps(mirrored_events)]


def _timed_run(spec, values, scale):
    engine = Engine(spec)
    return [e for i, v in enumerate(values) for e in engine.update(i * DT * scale, make_pose(i * DT * scale, v))]


@SETTINGS
@given(parts=st.lists(st.tuples(st.sampled_from([0.0, 0.35, 0.8]), st.integers(3, 20)), min_size=2, max_size=15),
       scale=st.floats(min_value=0.5, max_value=2.0))
def test_time_scaling_changes_tempo_not_counts(parts, scale):
    spec = make_spec(tempo={**TEMPO, "cooldown": 0.0})
    values = expand(parts)
    normal = _timed_run(spec, values, 1.0)
    scaled = _timed_run(spec, values, scale)
    assert len(reps(normal)) == len(reps(scaled))
    for a, b in zip(reps(normal), reps(scaled)):
        assert b.duration == pytest.approx(a.duration * scale)
        low, high = TEMPO["rep"]["min"], TEMPO["rep"]["max"]
        assert b.tempo_ok == (low <= b.duration <= high)


def test_time_scaling_turns_a_calm_rep_into_a_slow_down_cue():
    values = [0.0] * 10 + [0.8] * 15 + [0.0] * 10  # a 2.5 s rep
    spec = make_spec(tempo=TEMPO)
    calm, rushed = _timed_run(spec, values, 1.0), _timed_run(spec, values, 0.5)
    assert [e.rule for e in calm if type(e).__name__ == "Cue"] == []
    assert [e.rule for e in rushed if type(e).__name__ == "Cue"] == ["slow_down"]
    assert len(reps(calm)) == len(reps(rushed)) == 1


def _run_with_head(spec, lifts, heads):
    engine = Engine(spec)
    return [e for i, (lv, hv) in enumerate(zip(lifts, heads)) for e in engine.update(i * DT, make_pose(i * DT, lv, head=hv))]


REQUIRE_HEAD = {"require": {"head": {"min": 0.0}}, "abandon_after": 0.5}  # head >= 0: in position


@SETTINGS
@given(lifts=segments, heads=st.lists(st.tuples(st.sampled_from([-0.5, 0.1]), st.integers(1, 15)), min_size=1, max_size=25))
def test_reps_require_only_ever_drops_reps(lifts, heads):
    lv, hv = expand(lifts), expand(heads)
    n = min(len(lv), len(hv))
    sequence = {"sequence": ["down", "top", "down"]}
    plain = _run_with_head(make_spec(reps=sequence), lv[:n], hv[:n])
    required = _run_with_head(make_spec(reps={**sequence, **REQUIRE_HEAD}), lv[:n], hv[:n])
    assert phases(required) == phases(plain)
    # Every rep counted with require is a rep counted without it (same end), never one more.
    assert {round(r.end, 6) for r in reps(required)} <= {round(r.end, 6) for r in reps(plain)}
    if all(h >= 0 for h in hv[:n]):
        assert required == plain  # always in position: require changes nothing
