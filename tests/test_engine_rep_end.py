"""reps.end_at: leave: a rep counted on reaching its far position ends when the person leaves it.

Table-driven on the synthetic poses of tests/test_engine.py: ``lift`` is the phase measure, with ``down`` below 0.2
and ``top`` above 0.5; the sequence [down, top] ends in the far position (top), like [cat, cow].
"""

from __future__ import annotations

import pytest
import yaml

from posecheck.engine.engine import Engine
from posecheck.engine.events import Cue, RepClosed, RepCompleted
from posecheck.specs import check_spec_text
from test_engine import BASE, DT, make_pose, make_spec, run, signal

LEAVE = {"sequence": ["down", "top"], "end_at": "leave"}
COUNT = {"sequence": ["down", "top"]}
# down 1 s, top 2 s, down 1 s, top 2 s, down 1 s: two reps, each closed on coming back down.
TWO_CYCLES = signal((0.0, 1), (0.8, 2), (0.0, 1), (0.8, 2), (0.0, 1))


def _kinds(events):
    return [(type(e).__name__, round(e.t, 2), e.rep.index) for e in events if isinstance(e, (RepCompleted, RepClosed))]


def _finish(spec, lifts):
    events, engine = run(spec, lifts)
    t_end = (len(lifts) - 1) * DT
    final = engine.end(t_end)
    return events, final, engine.finish(t_end)


@pytest.mark.parametrize(
    ("lifts", "expected_events", "expected_reps"),
    [
        # Counted on reaching top (1.0 s, 4.0 s), closed when down begins again (3.0 s, 6.0 s).
        (
            TWO_CYCLES,
            [("RepCompleted", 1.0, 1), ("RepClosed", 3.0, 1), ("RepCompleted", 4.0, 2), ("RepClosed", 6.0, 2)],
            [(0.0, 3.0, 1.0), (3.0, 6.0, 4.0)],
        ),
        # The session ends while the person is still at the top: closed at the last frame seen there.
        (
            signal((0.0, 1), (0.8, 2)),
            [("RepCompleted", 1.0, 1), ("RepClosed", 2.9, 1)],
            [(0.0, 2.9, 1.0)],
        ),
        # A lift in the gap between the ranges keeps the phase: only entering another phase closes the rep.
        (
            signal((0.0, 1), (0.8, 1), (0.35, 1), (0.0, 1)),
            [("RepCompleted", 1.0, 1), ("RepClosed", 3.0, 1)],
            [(0.0, 3.0, 1.0)],
        ),
    ],
)
def test_a_rep_ends_when_its_last_phase_is_left(lifts, expected_events, expected_reps):
    events, final, summary = _finish(make_spec(reps=LEAVE), lifts)
    assert _kinds(events + final) == expected_events
    assert [(r.start, round(r.end, 2), r.counted_at) for r in summary.rep_list] == expected_reps
    assert not any(r.end_pending for r in summary.rep_list)  # the summary holds final records only


def test_the_count_comes_at_the_same_moment_as_without_it():
    # Same counts, same RepCompleted times; the records of end_at: count end where they are counted.
    leave, _ = run(make_spec(reps=LEAVE), TWO_CYCLES)
    count, _ = run(make_spec(reps=COUNT), TWO_CYCLES)
    completed = lambda events: [(e.t, e.rep.index, e.rep.start) for e in events if isinstance(e, RepCompleted)]  # noqa: E731
    assert completed(leave) == completed(count) == [(1.0, 1, 0.0), (4.0, 2, 3.0)]
    assert all(e.rep.end_pending and e.rep.end == e.t for e in leave if isinstance(e, RepCompleted))
    assert not any(isinstance(e, RepClosed) for e in count)
    assert all(not e.rep.end_pending and e.rep.end == e.rep.counted_at for e in count if isinstance(e, RepCompleted))


def test_live_state_counts_at_the_count():
    engine = Engine(make_spec(reps=LEAVE))
    for i, lift in enumerate(signal((0.0, 1), (0.8, 1))):
        engine.update(i * DT, make_pose(i * DT, lift=lift))
    assert engine.state.reps == 1  # counted on reaching top, though the rep is still open


@pytest.mark.parametrize(
    ("tempo_min", "top_seconds", "too_fast"),
    [
        # Down 1 s then top 2 s: 1 s from down to top (too fast for 2.5 s at the count), 3 s over the whole cycle.
        (2.5, 2, False),
        # Down 1 s then top 0.5 s: 1.5 s over the whole cycle, under 2.5.
        (2.5, 0.5, True),
    ],
)
def test_rep_tempo_is_judged_over_the_whole_cycle_when_it_closes(tempo_min, top_seconds, too_fast):
    tempo = {"rep": {"min": tempo_min}, "too_fast": "Slower.", "cooldown": 0}
    lifts = signal((0.0, 1), (0.8, top_seconds), (0.0, 1))
    events, final, summary = _finish(make_spec(reps=LEAVE, tempo=tempo), lifts)
    slow_down = [e for e in events + final if isinstance(e, Cue) and e.rule == "slow_down"]
    assert [round(c.t, 2) for c in slow_down] == ([round(1.0 + top_seconds, 2)] if too_fast else [])
    assert summary.rep_list[0].tempo_ok is (not too_fast)
    # end_at: count judged the same rep at the count, over 1 s: too fast either way.
    _, _, counted = _finish(make_spec(reps=COUNT, tempo=tempo), lifts)
    assert counted.rep_list[0].tempo_ok is False


def test_a_rep_closed_by_the_end_gets_no_tempo_verdict():
    # Still at the top when the session ends, 1.5 s after the start: its whole cycle is not known.
    tempo = {"rep": {"min": 2.5}, "too_fast": "Slower.", "cooldown": 0}
    events, final, summary = _finish(make_spec(reps=LEAVE, tempo=tempo), signal((0.0, 1), (0.8, 0.5)))
    assert not [e for e in events + final if isinstance(e, Cue)]
    assert summary.rep_list[0].tempo_ok is True


def test_a_long_dropout_closes_the_rep_where_it_was_last_seen():
    # Gone for 3 s (longer than tracking.reset_after, 2 s) while at the top: closed at the last frame seen there.
    lifts = signal((0.0, 1), (0.8, 1), (None, 3), (0.0, 1))
    events, _ = run(make_spec(reps=LEAVE), lifts)
    closed = [e for e in events if isinstance(e, RepClosed)]
    assert [(round(e.t, 2), e.rep.index) for e in closed] == [(1.9, 1)]


def test_cues_during_the_way_back_belong_to_the_rep():
    form = [{"id": "head_up", "require": {"head": {"min": 0.0}}, "phases": ["top"], "after": 0.0,
             "cue": "Head up.", "severity": "info", "cooldown": 10}]
    lifts = signal((0.0, 1), (0.8, 2), (0.0, 1))
    head = [0.0] * 15 + [-0.5] * (len(lifts) - 15)  # the head drops at 1.5 s, after the count at 1.0 s
    events, _ = run(make_spec(reps=LEAVE, form=form), lifts, head=head)
    closed = [e.rep for e in events if isinstance(e, RepClosed)]
    assert closed[0].cues == ("Head up.",)


def test_end_at_leave_is_refused_for_a_sequence_that_ends_where_it_starts():
    data = {**BASE, "reps": {"sequence": ["down", "top", "down"], "end_at": "leave"}}
    spec, problems = check_spec_text(yaml.safe_dump(data, sort_keys=False), "lift.yaml")
    assert spec is None and any("end_at" in p for p in problems), problems
