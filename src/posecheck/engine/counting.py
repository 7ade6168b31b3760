"""Counting: measures -> phases -> reps on every phase machine, for the frames the setup lets through.

Each frame, each machine's phase measure (a fraction of the learned range when adaptive) goes through its
phase tracker; a confirmed phase change is told (``PhaseChanged``), judged for tempo, closes a rep that ends on
leaving its last phase (``reps.end_at: leave``), and moves the rep counter on, which may count a rep
(`posecheck.engine.rep_log`). Meanwhile the rep in progress collects its extremes, peaks and side evidence, and
is abandoned when the person leaves the rep's position (``reps.require``). The frames without a pose and the end
of the session reach reps too: a return reached just before tracking was lost still counts
(`count_pending_returns`), and the end may count the rep it cut off (`posecheck.engine.cut_at_end`).

Pure module.
"""

from __future__ import annotations

import math

from posecheck.engine.cut_at_end import CutAtEnd, cut_rep
from posecheck.engine.events import Event, PhaseChanged
from posecheck.engine.machine import PhaseMachine, RepRequirement
from posecheck.engine.rep_log import RepLog
from posecheck.engine.sides import SideDecider
from posecheck.engine.tempo import TempoJudge


class Counting:
    """Phases and reps on the engine's machines.

    Args:
        machines: the phase machines.
        require: ``reps.require`` (None: no position required).
        sides: decides the working side from the data (None: the machine's side, or none).
        tempo: judges phases and transitions.
        reps: counts and closes reps.
        cut_at_end: ``reps.cut_at_end`` (None: a rep cut off by the end never counts).
    """

    def __init__(
        self,
        machines: list[PhaseMachine],
        require: RepRequirement | None,
        sides: SideDecider | None,
        tempo: TempoJudge,
        reps: RepLog,
        cut_at_end: CutAtEnd | None,
    ):
        self.machines = machines
        self.require = require
        self.sides = sides
        self.tempo = tempo
        self.reps = reps
        self.cut_at_end = cut_at_end

    def step(self, t: float, values: dict[str, float], evidence: tuple[float, float] | None, events: list[Event]) -> None:
        """One counting frame at ``t`` with its measures, and its side evidence (None without a decider)."""
        for machine in self.machines:
            self._step_machine(machine, t, values, evidence, events)

    def _step_machine(
        self, machine: PhaseMachine, t: float, values: dict[str, float], evidence: tuple[float, float] | None, events: list[Event]
    ) -> None:
        raw = values[machine.value_key]
        value = raw
        if machine.learner is not None:
            machine.learner.observe(raw)
            value = machine.learner.fraction(raw)
        change = machine.tracker.step(t, value, values, machine.side)
        if machine.closer is not None:
            machine.closer.observe(t, machine.tracker.phase)
        reps = machine.reps
        if reps is not None and self.require is not None:
            self.require.check(machine, reps, t, values)
        machine.diag.step(value, raw, values, machine.out_of_position)
        if reps is not None:
            before = reps.draft
            reps.observe(t, raw, values)
            if before is not None and reps.draft is None:  # only max_seconds ends a rep in observe
                machine.diag.rep_timed_out(before, t)
            if reps.draft is not None and evidence is not None:
                if reps.draft.votes is None:
                    reps.draft.votes = self.sides.new_vote()  # type: ignore[union-attr]  (evidence: there is a decider)
                reps.draft.votes.add(*evidence)
        if change is None:
            return
        previous, phase, since = change
        self._phase_changed(machine, previous, phase, since, t, events)
        if machine.closer is not None:
            left = machine.closer.on_phase(phase)
            if left is not None:
                self.reps.close(left, since, t, events, judge_tempo=True)
        if reps is None or machine.out_of_position:
            return
        done = reps.on_phase(phase, since, raw)
        if done is not None and reps.counts(done):
            self.reps.count(machine, done, since, t, events)
        elif done is not None:
            machine.diag.rep_too_small(done, since)

    def _phase_changed(self, machine: PhaseMachine, previous: str | None, phase: str, since: float, t: float, events: list[Event]) -> None:
        """Tells a confirmed phase change and its tempo verdicts (which mark the rep in progress off tempo)."""
        events.append(PhaseChanged(since, phase, previous, machine.side))
        for verdict in self.tempo.on_phase(machine.clock, previous, phase, since):
            if machine.reps is not None and machine.reps.draft is not None:
                machine.reps.draft.tempo_ok = False
            self.tempo.cue(t, verdict, events)

    def count_pending_returns(self, t: float, events: list[Event]) -> None:
        """Tracking was lost (the person left the frame) just after a rep's return was reached: the measure had
        entered the rep's last phase, but had not stayed there for ``min_dwell`` (0.1-0.5 s), which is what
        confirms a phase. Every frame since it entered was in that phase, so the return is confirmed as it
        stood, dated to when it began, and the rep counts as it would have a moment later. Only while counting
        (the setup ready)."""
        for machine in self.machines:
            reps = machine.reps
            if reps is None or not reps.returning or machine.out_of_position:
                continue
            if machine.tracker.candidate != reps.sequence[-1]:
                continue
            change = machine.tracker.confirm_candidate()
            if change is None:
                continue
            previous, phase, since = change
            self._phase_changed(machine, previous, phase, since, t, events)
            done = reps.on_phase(phase, since, math.nan)
            if done is not None and reps.counts(done):
                self.reps.count(machine, done, since, t, events)

    def reset(self, t: float, events: list[Event]) -> None:
        """Starts every machine's progress afresh (after a long absence or pause); the counts are kept."""
        self.reps.close_open(self.machines, t, events)  # the way back was not seen: a rep still open ends where it was last seen
        for machine in self.machines:
            machine.reset()

    def end(self, t: float, values: dict[str, float], last_pose_t: float | None, seen: bool, lost: bool, events: list[Event]) -> None:
        """The session ends at ``t``: counts each rep whose return the end cut off when it counts (dated to the
        last frame with a pose, ``last_pose_t``), then closes the reps still open.

        Args:
            values: the last frame's measures.
            seen: counting was on (setup ready) and a person had been seen.
            lost: tracking was lost before the end.
        """
        for machine in self.machines:
            done = cut_rep(self.cut_at_end, machine, t, values, seen, lost)
            if done is not None and last_pose_t is not None:
                self.reps.count(machine, done, last_pose_t, t, events, cut_by_end=True)
        self.reps.close_open(self.machines, t, events)
