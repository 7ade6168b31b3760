"""The engine's parts on their own: what each promises the orchestrator (`posecheck.engine.engine.Engine`).

The engine as a whole is tested in test_engine.py (synthetic poses) and test_engine_traces.py (real traces);
these tests pin the contract of each part that Engine wires: tracking gaps, the setup gate, tempo, the side
decider, rep counting and closing, and compiled conditions. Times are multiples of 1/4 s, exact in binary, so the boundaries read exactly.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from test_engine import make_spec

from posecheck.engine.conditions import Condition, check_all, compile_conditions
from posecheck.engine.cues import SLOW_DOWN, TEMPO_SLOW, CueLog
from posecheck.engine.events import Cue, Gap, NotReady, Ready, RepClosed, RepCompleted, TrackingRegained
from posecheck.engine.machine import build_machines
from posecheck.engine.measures import FrameMeasures
from posecheck.engine.rep_log import RepLog
from posecheck.engine.reps import RepDraft
from posecheck.engine.setup import Readiness, SetupGate
from posecheck.engine.sides import SideDecider
from posecheck.engine.machine import PhaseClock
from posecheck.engine.tempo import TempoJudge
from posecheck.engine.tracking import TrackingGaps

DT = 0.25


# ------------------------------------------------------------------------------------------------ tracking gaps
def test_a_hiccup_is_no_gap_and_a_long_stretch_is_lost_once_then_kept_as_a_gap():
    gaps = TrackingGaps(lost_after=0.5, reset_after=10.0)
    events: list = []
    gaps.resume(0.0, events)
    assert gaps.missing(0.25) is False and gaps.briefly_missing  # a detector hiccup
    gaps.resume(0.5, events)
    assert events == [] and gaps.gaps == [] and gaps.tracking and not gaps.briefly_missing

    lost = [gaps.missing(0.5 + DT * i) for i in range(1, 6)]  # 0.75 .. 1.75
    assert lost == [False, True, False, False, False]  # told once, lost_after after the last pose (0.5)
    assert not gaps.tracking and not gaps.briefly_missing and gaps.lost_by(1.75)
    assert gaps.resume(2.0, events) is False  # back before reset_after: the progress is kept
    assert events == [TrackingRegained(2.0)] and gaps.gaps == [Gap(0.5, 2.0)] and gaps.tracking


def test_gone_for_reset_after_asks_for_a_fresh_start():
    gaps = TrackingGaps(lost_after=0.5, reset_after=2.0)
    events: list = []
    gaps.resume(0.0, events)
    for i in range(1, 8):
        gaps.missing(DT * i)  # to 1.75
    assert gaps.resume(2.0, events) is True
    assert gaps.resume(2.25, events) is False


def test_nobody_seen_yet_is_never_lost_tracking():
    gaps = TrackingGaps(lost_after=0.5, reset_after=10.0)
    assert not any(gaps.missing(DT * i) for i in range(8))
    events: list = []
    gaps.resume(2.0, events)
    assert events == []  # nothing to regain
    assert gaps.gaps == [Gap(0.0, 2.0)]  # but the stretch without a person is a gap in the report


@pytest.mark.parametrize("last_missing, expected", [(0.5, []), (1.0, [Gap(0.25, 1.25)])])
def test_the_end_closes_a_stretch_that_is_lost_by_then(last_missing, expected):
    gaps = TrackingGaps(lost_after=1.0, reset_after=10.0)
    gaps.resume(0.25, [])
    t = 0.5
    while t <= last_missing:
        gaps.missing(t)
        t += DT
    gaps.end(0.25 + last_missing)
    assert gaps.gaps == expected


# ------------------------------------------------------------------------------------------------ setup gate
HEAD_UP = {"head": {"min": 0.5}}


def gate(grace: float = 0.5, reset_after: float = 2.0) -> tuple[SetupGate, object]:
    setup = {
        "view": "any",
        "visible_text": "Show your arm.",
        "grace": grace,
        "start": {"when": HEAD_UP, "text": "Lift your head to start."},
    }
    spec = make_spec(setup=setup)
    return SetupGate(spec.setup, set(), reset_after), spec


def frame(head: float = 1.0, visible: bool = True) -> FrameMeasures:
    return FrameMeasures({"lift": 0.0, "head": head}, {}, math.nan, visible)


def test_counting_waits_for_the_start_position_once_and_says_so_once():
    setup, _ = gate()
    events: list = []
    assert [setup.check(t, frame(head=0.0), events) for t in (0.0, 0.25)] == [Readiness.PAUSED] * 2
    assert events == [NotReady(0.0, "Lift your head to start.")] and setup.problem_kind == "start"
    assert setup.check(0.5, frame(head=1.0), events) is Readiness.COUNTING
    assert events[-1] == Ready(0.5) and setup.ready and setup.reason is None
    # Taken once: lowering the head afterwards is the exercise, not a setup problem.
    assert setup.check(0.75, frame(head=0.0), events) is Readiness.COUNTING and len(events) == 2
    setup.rearm()  # after a long absence the start position is needed again
    assert setup.check(1.0, frame(head=0.0), events) is Readiness.COUNTING  # within the grace
    assert setup.check(1.5, frame(head=0.0), events) is Readiness.PAUSED
    assert events[-1] == NotReady(1.5, "Lift your head to start.")


def test_a_problem_shorter_than_the_grace_keeps_counting_a_lasting_one_pauses_then_stalls():
    setup, _ = gate(grace=0.5, reset_after=1.0)
    events: list = []
    setup.check(0.0, frame(), events)
    assert setup.check(0.25, frame(visible=False), events) is Readiness.COUNTING
    assert setup.check(0.5, frame(), events) is Readiness.COUNTING  # the flicker is over: the grace starts again
    verdicts = [setup.check(0.5 + DT * i, frame(visible=False), events) for i in range(1, 8)]  # 0.75 .. 2.25
    # Paused once hidden for the grace (from 0.75 to 1.25); the pause dates from when the problem began, so
    # after reset_after from 0.75 it stalls: the engine starts the progress afresh on each stalled frame.
    assert verdicts == [Readiness.COUNTING] * 2 + [Readiness.PAUSED] * 2 + [Readiness.STALLED] * 3
    assert events == [Ready(0.0), NotReady(1.25, "Show your arm.")] and setup.problem_kind == "visible"
    assert not setup.ready and setup.reason == "Show your arm."


# ------------------------------------------------------------------------------------------------ tempo
def tempo_judge(**tempo) -> tuple[TempoJudge, CueLog]:
    spec = make_spec(tempo={"too_fast": "Slower, please.", "cooldown": 1.0, **tempo})
    cues = CueLog([])
    return TempoJudge(spec.tempo, cues), cues


def test_a_phase_left_too_soon_and_a_transition_too_slow_get_verdicts():
    judge, _ = tempo_judge(phases={"top": {"min": 0.5}}, transitions=[{"from": "down", "to": "top", "seconds": {"max": 1.0}}])
    clock = PhaseClock()
    assert judge.on_phase(clock, None, "down", 0.0) == []
    assert judge.on_phase(clock, "down", "middle", 0.5) == []  # a transit phase on the way
    assert judge.on_phase(clock, "middle", "top", 2.0) == [TEMPO_SLOW]  # 1.5 s from leaving down to reaching top
    assert judge.on_phase(clock, "top", "down", 2.25) == [SLOW_DOWN]  # 0.25 s in top
    assert judge.on_phase(clock, "down", "top", 2.5) == []  # only the latest passage counts: straight up


@pytest.mark.parametrize("skip, expected", [(False, SLOW_DOWN), (True, None)])
def test_skip_first_rep_spares_only_the_first_rep(skip, expected):
    judge, _ = tempo_judge(rep={"min": 2.0}, skip_first_rep=skip)
    assert judge.rep_verdict(1.0, index=1) == expected
    assert judge.rep_verdict(1.0, index=2) == SLOW_DOWN
    assert judge.rep_verdict(3.0, index=2) is None


def test_tempo_cues_keep_their_cooldown_and_need_words():
    judge, cues = tempo_judge(rep={"min": 2.0, "max": 5.0})
    events: list = []
    for t in (1.0, 1.5, 2.0):
        judge.cue(t, SLOW_DOWN, events)
    judge.cue(4.0, TEMPO_SLOW, events)  # tempo.too_slow not given: no words, no cue
    assert events == cues.cues == [Cue(1.0, SLOW_DOWN, "Slower, please.", "info"), Cue(2.0, SLOW_DOWN, "Slower, please.", "info")]


# ------------------------------------------------------------------------------------------------ sides
def test_the_side_decider_is_only_for_one_machine_with_sides():
    signed = make_spec(sides={"decide_by": "head", "rule": "sign", "positive": "right"})
    assert SideDecider.of(make_spec(), one_machine=True) is None
    assert SideDecider.of(signed, one_machine=False) is None  # per-side machines each know their side
    decider = SideDecider.of(signed, one_machine=True)
    assert decider is not None
    left, right = decider.evidence(frame(head=0.3))
    assert left == 0.3 and right != right
    vote = decider.new_vote()
    vote.add(left, right)
    assert vote.side == "right"  # positive values mean the right side


# ------------------------------------------------------------------------------------------------ conditions
def test_a_compiled_condition_is_frozen_and_three_valued_per_side():
    (condition,) = compile_conditions(make_spec(setup={"view": "any", "visible_text": "x", "grace": 0.0,
                                                       "start": {"when": {"lift": {"max": 0.5}}, "text": "y"}}).setup.start.when,
                                      {"lift"})
    assert condition == Condition("lift", -math.inf, 0.5, True, "lift.left", "lift.right")
    with pytest.raises(dataclasses.FrozenInstanceError):
        condition.high = 1.0  # type: ignore[misc]
    nan = math.nan
    assert condition.check({"lift.left": 0.2, "lift.right": nan}, None) is True  # a hidden side is ignored
    assert condition.check({"lift.left": 0.2, "lift.right": 0.9}, None) is False
    assert condition.check({"lift.left": 0.2, "lift.right": 0.9}, "left") is True
    assert condition.check({"lift.left": nan, "lift.right": nan}, None) is None
    assert check_all([condition], {"lift.left": nan, "lift.right": 0.9}, "left") is None


# ------------------------------------------------------------------------------------------------ rep log
def test_a_rep_that_ends_on_leaving_is_judged_when_closed_with_the_cues_given_meanwhile():
    spec = make_spec(
        reps={"sequence": ["down", "top"], "end_at": "leave"},
        tempo={"rep": {"min": 2.0}, "too_fast": "Slower, please.", "cooldown": 0.0},
    )
    (machine,) = build_machines(spec, set())
    cues = CueLog([machine])
    log = RepLog(TempoJudge(spec.tempo, cues))
    events: list = []

    log.count(machine, RepDraft(start=0.0, first_phase="down"), end=1.0, t=1.0, events=events)
    (counted,) = events
    assert isinstance(counted, RepCompleted) and counted.rep.end_pending and counted.rep.tempo_ok  # no verdict yet
    cues.emit(Cue(1.25, "breath", "Breathe out.", "info"), events)  # given on the way back
    log.close(machine.closer.on_phase("down"), end=1.5, t=1.5, events=events, judge_tempo=True)
    closed, tempo_cue = events[2:]
    assert isinstance(closed, RepClosed) and closed.rep.index == 1 and closed.rep.end == 1.5
    assert closed.rep.cues == ("Breathe out.",) and not closed.rep.tempo_ok and not closed.rep.end_pending
    assert tempo_cue == Cue(1.5, SLOW_DOWN, "Slower, please.", "info")  # 1.5 s for the whole cycle
    assert log.records == [closed.rep]

    # A rep still open when the progress is reset or the session ends: closed where last seen, not judged.
    log.count(machine, RepDraft(start=3.0, first_phase="down"), end=3.5, t=3.5, events=events)
    machine.closer.observe(3.75, "top")
    log.close_open([machine], 4.0, events)
    assert isinstance(events[-1], RepClosed) and events[-1].rep.end == 3.75 and events[-1].rep.tempo_ok
    assert len(cues.cues) == 2 and machine.count == 2
