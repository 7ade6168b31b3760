"""The exercise engine: poses in, typed events out, driven entirely by an `ExerciseSpec`.

Data flows one way: pose -> smoothed landmarks -> measures (`measures.py`) -> readiness (setup) -> phases
(`phases.py`) -> reps (`reps.py`), holds (`holds.py`) -> cues (`cues.py`) -> events (`events.py`).
Time comes only from the pose timestamps, never from a clock, so replaying a trace gives the same events
as the live run that recorded it.

Usage::

    engine = Engine(load_spec_by_id("cat-cow"))
    for t, pose in trace.poses():
        for event in engine.update(t, pose):
            ...
    final_events = engine.end(trace.timestamps[-1])   # a rep cut off on its way back, a hold still running
    summary = engine.finish(trace.timestamps[-1])

``process_trace`` feeds a recorded trace's frames through the same per-frame path as ``update``.

Pure module: numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from posecheck.engine.conditions import check_all, compile_conditions
from posecheck.engine.cues import SLOW_DOWN, TEMPO_SLOW, Cooldown, FormRuleState, tempo_verdict
from posecheck.engine.diagnostics import DiagnosticsRecorder, NullRecorder
from posecheck.engine.events import (
    Cue,
    EngineState,
    Event,
    Gap,
    NotReady,
    PhaseChanged,
    Ready,
    RepClosed,
    RepCompleted,
    RepRecord,
    SessionSummary,
    Side,
    TrackingLost,
    TrackingRegained,
)
from posecheck.engine.holds import HoldTimer
from posecheck.engine.measures import LEFT, SIDES, FrameMeasures, MeasureSet, side_key
from posecheck.engine.phases import PhaseRangeC, PhaseTracker, RangeLearner
from posecheck.engine.reps import RepCloser, RepCounter, RepDraft, OpenRep
from posecheck.engine.sides import SideVote
from posecheck.core.pose import NUM_LANDMARKS, Pose
from posecheck.specs.schema import ExerciseSpec

# Default for how long EngineState.cue keeps showing the latest cue: time to read a one-line cue twice. A
# display choice for overlays (Engine(cue_seconds=...) changes it): it decides nothing about counting or
# cueing, whose numbers live in the specs.
CUE_FRESH_SECONDS = 4.0


@dataclass
class _Machine:
    """One phase machine: phases, reps, hold and learned range of the phase measure on one side (or none)."""

    side: Side | None
    value_key: str
    release_key: str | None  # the frame-value key of hold.release's measure on this side (None: no release)
    tracker: PhaseTracker
    reps: RepCounter | None
    hold: HoldTimer | None
    learner: RangeLearner | None
    count: int = 0
    # reps.require: when its conditions began failing (None while they hold), and whether the person has
    # been out of the rep's position for reps.abandon_after (reps are then not started).
    out_since: float | None = None
    out_of_position: bool = False
    entered: dict[str, float] = field(default_factory=dict)  # phase -> when last entered (tempo)
    left: dict[str, float] = field(default_factory=dict)  # phase -> when last left (tempo)
    closer: RepCloser | None = None  # reps.end_at: leave (the counted rep that is not closed yet)
    diag: Any = None  # its why-not recorder (posecheck.engine.diagnostics.MachineRecorder)


class Engine:
    """Follows one exercise for one person, frame by frame.

    Args:
        spec: a validated spec (`posecheck.specs.load_spec_by_id`). Everything is precompiled here, so
            `update` does no validation and builds no pydantic objects.
        cue_seconds: how long `state.cue` shows the latest cue, in seconds of pose time (display only).
        diagnostics: keep the reasons counting paused or reps were refused (`SessionSummary.diagnostics`,
            `state.paused_reason`). Reporting only: the events are the same without.
    """

    def __init__(self, spec: ExerciseSpec, cue_seconds: float = CUE_FRESH_SECONDS, diagnostics: bool = True):
        if not cue_seconds >= 0:
            raise ValueError(f"cue_seconds must be 0 or more, got {cue_seconds}")
        self.spec = spec
        self.cue_seconds = cue_seconds
        self.measures = MeasureSet(spec)
        per_side = set(self.measures.per_side)
        tracking = spec.tracking
        self._lost_after = tracking.lost_after
        self._reset_after = tracking.reset_after

        # setup
        setup = spec.setup
        self._view = setup.view
        self._view_ratio = setup.view_ratio
        self._start = compile_conditions(setup.start.when, per_side) if setup.start else []
        self._grace = setup.grace

        # phases, reps, holds: one machine, or one per side when the phase measure is per-side
        phase_measure = spec.phases.measure
        machine_sides: list[Side | None] = list(SIDES) if phase_measure in per_side else [None]  # type: ignore[list-item]
        self._sided = spec.sides is not None or machine_sides != [None]
        self._machines: list[_Machine] = []
        for side in machine_sides:
            def key(name: str, side: Side | None = side) -> str:
                return side_key(name, side) if name in per_side and side is not None else name

            ranges = [
                PhaseRangeC(
                    name,
                    -math.inf if r.min is None else r.min,
                    math.inf if r.max is None else r.max,
                    tuple(compile_conditions(r.also, per_side)),
                )
                for name, r in spec.phases.ranges.items()
            ]
            reps = None
            if spec.reps is not None:
                peaks = {key(name): (name, extreme) for name, extreme in spec.reps.peaks.items()}
                reps = RepCounter(
                    spec.reps.sequence,
                    spec.reps.start == "anywhere",
                    spec.reps.min_excursion,
                    spec.reps.max_seconds,
                    peaks,
                    spec.reps.max_seconds_from == "movement",
                )
            hold = None
            release = spec.hold.release if spec.hold is not None else None
            if spec.hold is not None:
                hold = HoldTimer(
                    spec.hold.min_seconds, spec.hold.exit_grace, spec.target.seconds, side, release.by if release else None
                )
            learner = None
            if spec.adaptive is not None:
                learner = RangeLearner(spec.adaptive.learn_reps, spec.adaptive.min_range, _start_anchor(spec, spec.adaptive.anchor))
            self._machines.append(
                _Machine(
                    side,
                    key(phase_measure),
                    key(release.measure) if release else None,
                    PhaseTracker(ranges, spec.phases.hysteresis, spec.phases.min_dwell),
                    reps,
                    hold,
                    learner,
                    closer=RepCloser(spec.reps.sequence[-1]) if spec.reps is not None and spec.reps.end_at == "leave" else None,
                )
            )

        # sides decided from the data (single machine)
        self._decide: tuple[str, str, float] | None = None  # (measure, rule, sign for "sign")
        if spec.sides is not None and machine_sides == [None]:
            sign = 1.0 if spec.sides.positive in (None, "left") else -1.0
            self._decide = (spec.sides.decide_by, spec.sides.rule, sign)
            for machine in self._machines:
                if machine.hold is not None:
                    machine.hold.new_vote = self._new_vote

        # a rep whose return is cut off by the end of the session (reps.cut_at_end)
        self._cut_at_end: _CutAtEnd | None = None
        if spec.reps is not None and spec.reps.cut_at_end is not None:
            far_name, last_name = spec.reps.sequence[-2], spec.reps.sequence[-1]
            by_name = self._machines[0].tracker.ranges_by_name
            far, last = by_name[far_name], by_name[last_name]
            # Phase ranges never overlap, so the last phase lies wholly above or wholly below the far phase.
            upward = last.low >= far.high
            self._cut_at_end = _CutAtEnd(spec.reps.cut_at_end, last, upward, last.low if upward else last.high)

        # the position a rep must stay in (reps.require)
        self._rep_require = compile_conditions(spec.reps.require, per_side) if spec.reps else []
        self._abandon_after = spec.reps.abandon_after if spec.reps and spec.reps.abandon_after is not None else 0.0

        # why not: the reasons counting paused or reps were refused (reporting only)
        self._diag = (
            DiagnosticsRecorder(spec, self._start, self._rep_require, self._lost_after) if diagnostics else NullRecorder()
        )
        for machine in self._machines:
            machine.diag = self._diag.machine(machine.side, machine.tracker, machine.learner)

        # holds
        self._hold_phases = frozenset(spec.hold.phases) if spec.hold and spec.hold.phases else None
        self._hold_when = compile_conditions(spec.hold.when, per_side) if spec.hold else []
        # hold.release: the sign that makes larger values deeper into the held position (its measure's key on
        # each side is the machine's release_key)
        self._release_sign = -1.0 if spec.hold and spec.hold.release and spec.hold.release.deepest == "min" else 1.0

        # cues
        self._rules = [
            FormRuleState(
                rule.id,
                compile_conditions(rule.require, per_side),
                frozenset(rule.phases) if rule.phases else None,
                rule.after,
                rule.cue,
                rule.severity,
                rule.cooldown,
            )
            for rule in spec.form
        ]
        # the form rules whose fault pauses the hold timer (hold.pause_on: by severity)
        pause_on = spec.hold.pause_on if spec.hold else "none"
        self._pausing_rules = [
            r for r in self._rules if pause_on == "any" or (pause_on == "warning" and r.severity == "warning")
        ]
        tempo = spec.tempo
        self._tempo_cooldown = Cooldown(tempo.cooldown) if tempo else None
        self._rep_tempo = (tempo.rep.min, tempo.rep.max) if tempo and tempo.rep else None
        self._tempo_skips_first_rep = bool(tempo and tempo.skip_first_rep)
        self._phase_tempo = {name: (r.min, r.max) for name, r in tempo.phases.items()} if tempo else {}
        self._transition_tempo = [(tr.from_, tr.to, tr.seconds.min, tr.seconds.max) for tr in tempo.transitions] if tempo else []

        # session state
        self._t: float | None = None
        self._last_pose_t: float | None = None
        self._lost_reported = False
        self._gap_start: float | None = None  # start of the current stretch without a pose
        self._gap_long = False  # that stretch has lasted tracking.lost_after
        self._ready = False
        self._reason: str | None = None
        self._problem_since: float | None = None
        self._not_ready_since: float | None = None
        self._start_ok = not self._start
        self._values: dict[str, float] = {}
        self._reps: list[RepRecord] = []
        self._cues: list[Cue] = []
        self._gaps: list[Gap] = []
        self._last_cue: Cue | None = None
        self._ended = False

    # ------------------------------------------------------------------------------------------ public API
    def update(self, t: float, pose: Pose | None) -> list[Event]:
        """Feeds one frame.

        Args:
            t: the frame's time in seconds (the pose timestamp's clock), increasing.
            pose: the person's pose, or None when no person was found in this frame.

        Returns:
            The events this frame caused, in order (often none).
        """
        if pose is None:
            return self._no_pose(t)
        return self._pose_frame(t, pose.landmarks, pose.world, pose.frame_size)

    def process_trace(self, trace) -> list[Event]:
        """All events of a recorded trace (`posecheck.core.trace.Trace`), as if each frame went through `update`."""
        return self.process_arrays(trace.timestamps, trace.landmarks, trace.world, trace.frame_size)

    def process_arrays(
        self, ts: np.ndarray, landmarks: np.ndarray, world: np.ndarray | None, frame_size: tuple[int, int]
    ) -> list[Event]:
        """Feeds a block of frames (e.g. a recorded trace's arrays), one after the other.

        Args:
            ts: (N,) seconds, increasing.
            landmarks: (N, 33, 5) as in Pose.landmarks; rows of NaN where no person was found.
            world: (N, 33, 3) world landmarks (NaN where none), or None.
            frame_size: (width, height) in pixels.

        Returns:
            The events, exactly as `update` would give them frame by frame.
        """
        ts = np.asarray(ts, dtype=np.float64)
        if landmarks.shape != (len(ts), NUM_LANDMARKS, 5):
            raise ValueError(f"landmarks: expected shape ({len(ts)}, 33, 5), got {landmarks.shape}")
        has_pose = (~np.isnan(landmarks[:, 0, 0])).tolist()
        events: list[Event] = []
        for i, t in enumerate(ts.tolist()):
            if has_pose[i]:
                events += self._pose_frame(t, landmarks[i], None if world is None else world[i], frame_size)
            else:
                events += self._no_pose(t)
        return events

    @property
    def state(self) -> EngineState:
        """Snapshot after the latest update (for overlays)."""
        machine = self._display_machine()
        hold = next((m.hold for m in self._machines if m.hold is not None and m.hold.seconds is not None), None)
        cue = self._last_cue
        fresh = cue is not None and self._t is not None and self._t - cue.t <= self.cue_seconds
        return EngineState(
            t=self._t if self._t is not None else 0.0,
            tracking=self._last_pose_t is not None and not self._lost_reported,
            ready=self._ready,
            not_ready_reason=None if self._ready else self._reason,
            phase=machine.tracker.phase if machine else None,
            side=machine.side if machine else None,
            reps=len(self._reps),
            reps_by_side=self._reps_by_side(),
            target_reps=self.spec.target.reps,
            hold_seconds=hold.seconds if hold else None,
            hold_target=self.spec.target.seconds,
            measures={k: (None if v != v else v) for k, v in self._values.items()},
            cue=cue.text if fresh and cue is not None else None,
            paused_reason=self._diag.paused_reason([m.out_of_position for m in self._machines]) if self._ready else None,
        )

    def end(self, t: float) -> list[Event]:
        """Ends the session at ``t`` and returns the events that causes.

        A rep whose return the end cut off is counted when ``reps.cut_at_end`` says it had come back far
        enough (see `_cut_rep`): its ``RepCompleted`` comes first, dated to the last frame with a pose, its
        record marked ``cut_by_end``. A rep still open (``reps.end_at: leave``, the person still in its last
        phase) is closed at the last frame seen there (``RepClosed``, no rep tempo verdict). A hold still running is closed (dated to its last frame in position)
        and its ``HoldFinished`` is returned, so that sinks see every hold finish, not only those the person
        left before the end; an open gap is closed. Call it once, after the last `update` and before `finish`, and pass the events
        on to the sinks; `finish` calls it itself when it was not called (the events are then only in the
        summary). Later calls return nothing.

        Args:
            t: the session's last time in seconds (the last frame's timestamp).
        """
        if self._ended:
            return []
        self._ended = True
        events: list[Event] = []
        if self._gap_start is not None and not self._gap_long and self._last_pose_t is not None:
            self._count_pending_returns(t, events)  # the person left just before the end
        for machine in self._machines:
            done = self._cut_rep(machine, t)
            if done is not None and self._last_pose_t is not None:
                self._complete_rep(machine, done, self._last_pose_t, t, events, cut_by_end=True)
        self._close_open_reps(t, events)
        for machine in self._machines:
            if machine.hold is not None:
                events += machine.hold.finish()
        if self._gap_start is not None and (self._gap_long or t - self._gap_start >= self._lost_after):
            self._gaps.append(Gap(self._gap_start, t))
            self._gap_start, self._gap_long = None, False
        return events

    def finish(self, t: float) -> SessionSummary:
        """Ends the session at ``t`` (see `end`, which it calls if needed) and sums everything up."""
        self.end(t)
        holds = sorted((r for m in self._machines if m.hold for r in m.hold.records), key=lambda r: r.start)
        by_side = self._reps_by_side()
        asymmetry = None
        if self._sided and (self.spec.sides is None or self.spec.sides.alternating):
            most = max(by_side.values(), default=0)
            if most > 0:
                asymmetry = (by_side["left"] - by_side["right"]) / most
        learned = {}
        for machine in self._machines:
            if machine.learner is not None and machine.learner.bounds is not None:
                learned[machine.value_key] = machine.learner.bounds
        return SessionSummary(
            exercise=self.spec.id,
            reps=len(self._reps),
            reps_by_side=by_side,
            rep_list=list(self._reps),
            holds=holds,
            cues=list(self._cues),
            gaps=list(self._gaps),
            asymmetry=asymmetry,
            adaptive_range=learned or None,
            diagnostics=self._diag.diagnostics(),
        )

    # ------------------------------------------------------------------------------------------ tracking
    def _no_pose(self, t: float) -> list[Event]:
        events: list[Event] = []
        self._t = t
        if self._gap_start is None:
            self._gap_start = self._last_pose_t if self._last_pose_t is not None else t
        if not self._gap_long and t - self._gap_start >= self._lost_after:
            # Long enough to be a gap rather than a detector hiccup. TrackingLost only if we were tracking.
            self._gap_long = True
            if self._last_pose_t is not None:
                self._count_pending_returns(t, events)
                self._lost_reported = True
                events.append(TrackingLost(t))
        for machine in self._machines:
            if machine.hold is not None:
                events += machine.hold.lapse(t)
        for rule in self._rules:
            rule.clear()
        return events

    def _count_pending_returns(self, t: float, events: list[Event]) -> None:
        """Tracking was lost (the person left the frame) just after a rep's return was reached: the measure had
        entered the rep's last phase, but had not stayed there for ``min_dwell`` (0.1-0.5 s), which is what
        confirms a phase. Every frame since it entered was in that phase, so the return is confirmed as it
        stood, dated to when it began, and the rep counts as it would have a moment later."""
        if not self._ready:
            return
        for machine in self._machines:
            reps = machine.reps
            if reps is None or not reps.returning or machine.out_of_position:
                continue
            if machine.tracker.candidate != reps.sequence[-1]:
                continue
            change = machine.tracker.confirm_candidate()
            if change is None:
                continue
            previous, phase, since = change
            events.append(PhaseChanged(since, phase, previous, machine.side))
            self._phase_tempo_check(machine, previous, phase, since, t, events)
            done = reps.on_phase(phase, since, math.nan)
            if done is not None and reps.counts(done):
                self._complete_rep(machine, done, since, t, events)

    def _resume(self, t: float, events: list[Event]) -> None:
        """Bookkeeping for the first frame with a pose after frames without one."""
        if self._gap_start is not None:
            if self._gap_long:
                self._gaps.append(Gap(self._gap_start, t))
            self._gap_start, self._gap_long = None, False
        if self._lost_reported:
            self._lost_reported = False
            events.append(TrackingRegained(t))
        if self._last_pose_t is not None and t - self._last_pose_t >= self._reset_after:
            # Gone for long: the person may have moved anywhere. Start afresh (but keep the counts).
            self.measures.reset()
            self._reset_progress(t, events)
            self._start_ok = not self._start

    def _reset_progress(self, t: float, events: list[Event]) -> None:
        self._close_open_reps(t, events)  # the way back was not seen: a rep still open ends where it was last seen
        for machine in self._machines:
            machine.tracker.reset()
            machine.out_since, machine.out_of_position = None, False
            if machine.reps is not None:
                machine.reps.reset()

    # ------------------------------------------------------------------------------------------ per frame
    def _pose_frame(
        self, t: float, landmarks: np.ndarray, world: np.ndarray | None, frame_size: tuple[int, int]
    ) -> list[Event]:
        """One frame with a pose ((33, 5) landmarks, (33, 3) world landmarks or None): its events."""
        events: list[Event] = []
        self._resume(t, events)
        self._diag.pose_frame(t, landmarks)
        self._frame(t, self.measures.compute(t, landmarks, world, frame_size), events)
        return events

    def _frame(self, t: float, frame: FrameMeasures, events: list[Event]) -> None:
        self._t = t
        self._last_pose_t = t
        values = frame.values
        self._values = values

        if not self._check_setup(t, frame, values, events):
            for machine in self._machines:
                if machine.hold is not None:
                    events += machine.hold.lapse(t)
            for rule in self._rules:
                rule.clear()
            return

        evidence = self._side_evidence(frame, values)
        for machine in self._machines:
            self._step_machine(machine, t, values, evidence, events)
        self._step_rules(t, values, events)
        self._step_holds(t, values, evidence, events)

    def _check_setup(self, t: float, frame: FrameMeasures, values: dict[str, float], events: list[Event]) -> bool:
        """Updates readiness; True when counting may go on in this frame."""
        setup = self.spec.setup
        problem = kind = None
        ratio = frame.view_ratio
        if self._view != "any" and ratio == ratio and self._view_ratio is not None:
            wrong = ratio >= self._view_ratio if self._view == "side" else ratio <= self._view_ratio
            if wrong:
                problem, kind = setup.view_text, "view"
        if problem is None and not frame.visible:
            problem, kind = setup.visible_text, "visible"
        if problem is None and not self._start_ok:
            if check_all(self._start, values) is True:
                self._start_ok = True
            elif setup.start is not None:
                problem, kind = setup.start.text, "start"

        if problem is None:
            self._problem_since = None
            self._not_ready_since = None
            if not self._ready:
                self._ready = True
                self._reason = None
                events.append(Ready(t))
            return True
        if self._ready:
            if self._problem_since is None:
                self._problem_since = t
            if t - self._problem_since < self._grace:
                return True  # a short problem is tolerated; counting goes on
            self._ready = False
            self._not_ready_since = self._problem_since
            self._reason = problem
            events.append(NotReady(t, problem))
            self._diag.not_ready(kind, frame, values)
            return False
        if self._not_ready_since is None:
            self._not_ready_since = t
        if problem != self._reason:
            self._reason = problem
            events.append(NotReady(t, problem))
        if t - self._not_ready_since >= self._reset_after:
            self._reset_progress(t, events)
        self._diag.not_ready(kind, frame, values)
        return False

    def _new_vote(self) -> SideVote | None:
        if self._decide is None:
            return None
        _, rule, sign = self._decide
        return SideVote(rule, sign)

    def _side_evidence(self, frame: FrameMeasures, values: dict[str, float]) -> tuple[float, float] | None:
        """This frame's (left, right) values of sides.decide_by ((value, NaN) for rule sign), or None."""
        if self._decide is None:
            return None
        name, rule, _ = self._decide
        if rule == "sign":
            return values.get(name, math.nan), math.nan
        return frame.sides[name]

    def _step_machine(
        self, machine: _Machine, t: float, values: dict[str, float], evidence: tuple[float, float] | None, events: list[Event]
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
        if reps is not None and self._rep_require:
            self._check_rep_position(machine, reps, t, values)
        machine.diag.step(value, raw, values, machine.out_of_position)
        if reps is not None:
            before = reps.draft
            reps.observe(t, raw, values)
            if before is not None and reps.draft is None:  # only max_seconds ends a rep in observe
                machine.diag.rep_timed_out(before, t)
            if reps.draft is not None and evidence is not None:
                if reps.draft.votes is None:
                    reps.draft.votes = self._new_vote()
                if reps.draft.votes is not None:
                    reps.draft.votes.add(*evidence)
        if change is None:
            return
        previous, phase, since = change
        events.append(PhaseChanged(since, phase, previous, machine.side))
        self._phase_tempo_check(machine, previous, phase, since, t, events)
        if machine.closer is not None:
            left = machine.closer.on_phase(phase)
            if left is not None:
                self._close_rep(left, since, t, events, judge_tempo=True)
        if reps is None or machine.out_of_position:
            return
        done = reps.on_phase(phase, since, raw)
        if done is not None and reps.counts(done):
            self._complete_rep(machine, done, since, t, events)
        elif done is not None:
            machine.diag.rep_too_small(done, since)

    def _check_rep_position(self, machine: _Machine, reps: RepCounter, t: float, values: dict[str, float]) -> None:
        """reps.require: abandons the rep in progress once the position has been lost for reps.abandon_after.

        The phase is kept (the person may come back in it), so the next rep starts only at the next entry into
        the sequence's first phase: a rep whose first phase was entered before leaving the position cannot
        complete on coming back. An unknown condition neither starts nor ends a lapse.
        """
        held = check_all(self._rep_require, values, machine.side)
        if held is True:
            machine.out_since, machine.out_of_position = None, False
        elif held is False:
            if machine.out_since is None:
                machine.out_since = t
            if not machine.out_of_position and t - machine.out_since >= self._abandon_after:
                machine.out_of_position = True
                machine.diag.abandoned(self._rep_require, values, reps.draft)
                reps.abandon()
        if machine.out_of_position:
            machine.diag.out_of_position(self._rep_require, values)

    def _phase_tempo_check(self, machine: _Machine, previous: str | None, phase: str, since: float, t: float, events: list[Event]) -> None:
        verdicts = []
        if previous is not None:
            if previous in self._phase_tempo and previous in machine.entered:
                verdicts.append(tempo_verdict(since - machine.entered[previous], *self._phase_tempo[previous]))
            machine.left[previous] = since
        for origin, target, low, high in self._transition_tempo:
            if target != phase or origin not in machine.left:
                continue
            # Only the most recent passage from origin to here: origin was left after we were last here.
            if machine.left[origin] >= machine.entered.get(phase, -math.inf):
                verdicts.append(tempo_verdict(since - machine.left[origin], low, high))
        machine.entered[phase] = since
        for verdict in verdicts:
            if verdict is not None:
                if machine.reps is not None and machine.reps.draft is not None:
                    machine.reps.draft.tempo_ok = False
                self._tempo_cue(t, verdict, events)

    def _cut_rep(self, machine: _Machine, t_end: float) -> RepDraft | None:
        """The rep in progress if the session ending at ``t_end`` cut off its return and it counts (``reps.cut_at_end``).

        It counts when, on the last frame, the person was tracked and counting was on, the rep was in its return
        (far phase entered, last phase not yet), the phase measure had come back from its extreme in the far
        phase by ``cut_at_end`` of the way to the last phase's range, the last phase's ``also`` conditions did
        not fail, and the rep moved at least ``min_excursion``. Someone still in the far position or holding it
        (a timed hold still running: the top of a bridge that settles after the lift reads as coming back), a
        session whose last frames had no pose, or a rep abandoned (``reps.require``) count nothing.
        """
        rule, reps = self._cut_at_end, machine.reps
        if reps is None or not reps.returning or reps.draft is None:
            return None
        draft = reps.draft
        # Each refusal below is also told (diagnostics): the session ended during a rep that is not counted.
        refused = machine.diag.cut_refused
        if rule is None:
            return refused("no_rule", draft, t_end)
        if machine.out_of_position:
            return refused("out_of_position", draft, t_end)
        if not self._ready or self._last_pose_t is None:
            return refused("not_ready", draft, t_end)
        if self._gap_start is not None and t_end - self._gap_start >= self._lost_after:
            return refused("lost", draft, t_end)  # tracking was lost before the end: what the person did last was not seen
        if machine.hold is not None and machine.hold.seconds is not None:
            return refused("holding", draft, t_end)  # a timed hold still running: the person is holding the position, not coming back
        raw = self._values.get(machine.value_key, math.nan)
        far_raw = draft.far_low if rule.upward else draft.far_high
        if raw != raw or not math.isfinite(far_raw):
            return refused("unknown", draft, t_end)  # the phase measure unknown on the last frame, or never known in the far phase
        if machine.learner is not None:
            value, far = machine.learner.fraction(raw), machine.learner.fraction(far_raw)
        else:
            value, far = raw, far_raw
        needed = far + rule.share * (rule.boundary - far)
        if not (value >= needed if rule.upward else value <= needed):
            span = rule.boundary - far
            return refused("short", draft, t_end, (value - far) / span if span else None)
        if rule.last.also and check_all(rule.last.also, self._values, machine.side) is False:
            return refused("also", draft, t_end)
        return draft if reps.counts(draft) else refused("small", draft, t_end)

    def _complete_rep(
        self, machine: _Machine, done: RepDraft, end: float, t: float, events: list[Event], cut_by_end: bool = False
    ) -> None:
        side = machine.side
        if side is None and done.votes is not None:
            side = done.votes.side
        tempo_cue = None
        # reps.end_at: leave: the rep's end, and so its tempo verdict, comes when it is closed (`_close_rep`).
        end_pending = machine.closer is not None and not cut_by_end
        # A rep cut off by the end has no true end: its duration would be too short for a tempo verdict. With
        # tempo.skip_first_rep the session's first rep gets none either: it is timed from when counting began.
        first_rep = not self._reps
        skip_tempo = first_rep and self._tempo_skips_first_rep
        if self._rep_tempo is not None and not cut_by_end and not end_pending and not skip_tempo:
            verdict = tempo_verdict(end - done.start, *self._rep_tempo)
            if verdict is not None:
                done.tempo_ok = False
                tempo_cue = verdict
        machine.count += 1
        if machine.learner is not None:
            machine.learner.reps_counted(machine.count)
        record = RepRecord(
            index=len(self._reps) + 1,
            side=side,
            start=done.start,
            end=end,
            rom_deg=done.rom,
            peaks=dict(done.peaks),
            cues=tuple(done.cues),
            tempo_ok=done.tempo_ok,
            cut_by_end=cut_by_end,
            counted_at=end,
            end_pending=end_pending,
        )
        self._reps.append(record)
        if end_pending and machine.closer is not None:
            machine.closer.hold(record.index, end)
        events.append(RepCompleted(end, record))
        if tempo_cue is not None:
            self._tempo_cue(t, tempo_cue, events)

    def _close_open_reps(self, t: float, events: list[Event]) -> None:
        """Closes every rep still open (reps.end_at: leave) at the last frame seen in its last phase, with no rep
        tempo verdict: the person had not come back yet, so its true duration is unknown."""
        for machine in self._machines:
            if machine.closer is not None:
                left = machine.closer.take()
                if left is not None:
                    self._close_rep(left, left.last_seen, t, events, judge_tempo=False)

    def _close_rep(self, left: OpenRep, end: float, t: float, events: list[Event], judge_tempo: bool) -> None:
        """reps.end_at: leave: the final record of rep ``left.index``, ending at ``end`` (RepClosed), and its rep
        tempo verdict over the whole cycle."""
        record = self._reps[left.index - 1]
        verdict = None
        # tempo.skip_first_rep applies to a closed rep as to one judged when counted.
        skip_tempo = left.index == 1 and self._tempo_skips_first_rep
        if judge_tempo and self._rep_tempo is not None and not skip_tempo:
            verdict = tempo_verdict(end - record.start, *self._rep_tempo)
        final = replace(
            record,
            end=end,
            cues=record.cues + tuple(left.cues),
            tempo_ok=record.tempo_ok and verdict is None,
            end_pending=False,
        )
        self._reps[left.index - 1] = final
        events.append(RepClosed(end, final))
        if verdict is not None:
            self._tempo_cue(t, verdict, events)

    def _tempo_cue(self, t: float, verdict: str, events: list[Event]) -> None:
        tempo = self.spec.tempo
        if tempo is None or self._tempo_cooldown is None:
            return
        text = tempo.too_fast if verdict == SLOW_DOWN else tempo.too_slow
        if text is None or not self._tempo_cooldown.ready(t):
            return
        self._tempo_cooldown.fire(t)
        self._emit_cue(Cue(t, SLOW_DOWN if verdict == SLOW_DOWN else TEMPO_SLOW, text, "info"), events)

    def _emit_cue(self, cue: Cue, events: list[Event]) -> None:
        self._cues.append(cue)
        self._last_cue = cue
        events.append(cue)
        for machine in self._machines:
            if machine.reps is not None and machine.reps.draft is not None:
                machine.reps.draft.cues.append(cue.text)
            if machine.closer is not None:
                machine.closer.add_cue(cue.text)

    def _step_rules(self, t: float, values: dict[str, float], events: list[Event]) -> None:
        for rule in self._rules:
            if rule.phases is None:
                failing = check_all(rule.conditions, values) is False
            else:
                checked = [m for m in self._machines if m.tracker.phase in rule.phases]
                if not checked:
                    rule.clear()
                    continue
                failing = any(check_all(rule.conditions, values, m.side) is False for m in checked)
            cue = rule.step(t, failing)
            if cue is not None:
                self._emit_cue(cue, events)

    def _step_holds(self, t: float, values: dict[str, float], evidence: tuple[float, float] | None, events: list[Event]) -> None:
        if self.spec.hold is None:
            return
        paused = any(r.faulty for r in self._pausing_rules)
        for machine in self._machines:
            hold = machine.hold
            if hold is None:
                continue
            in_phase = self._hold_phases is None or machine.tracker.phase in self._hold_phases
            # An unknown condition is not holding: the timer runs only on evidence.
            in_position = in_phase and (not self._hold_when or check_all(self._hold_when, values, machine.side) is True)
            depth = None
            if machine.release_key is not None:
                value = values[machine.release_key]
                depth = None if value != value else self._release_sign * value  # NaN: unknown
            events += hold.step(t, in_position, paused, evidence, depth)

    # ------------------------------------------------------------------------------------------ helpers
    def _reps_by_side(self) -> dict[str, int]:
        if not self._sided:
            return {}
        counts = {"left": 0, "right": 0}
        for rep in self._reps:
            if rep.side is not None:
                counts[rep.side] += 1
        return counts

    def _display_machine(self) -> _Machine | None:
        """The machine to show: the one whose phase changed last (per-side machines), else the only one."""
        if len(self._machines) == 1:
            return self._machines[0]
        moving = [m for m in self._machines if m.tracker.since is not None]
        return max(moving, key=lambda m: m.tracker.since or 0.0) if moving else self._machines[LEFT]


@dataclass(frozen=True)
class _CutAtEnd:
    """reps.cut_at_end, compiled: how far back a cut-off return must have come, and toward which range."""

    share: float  # of the way from the far phase's extreme to ``boundary`` (0-1)
    last: PhaseRangeC  # the sequence's last phase (the return goes into it)
    upward: bool  # the last phase lies above the far phase
    boundary: float  # the last phase's near edge (phase units: fractions of the learned range when adaptive)


def _start_anchor(spec: ExerciseSpec, anchor: str) -> float:
    """Where in the learned range (0-1) a person who has not moved yet is assumed to be (`adaptive.anchor`):
    the bottom (low), the top (high), or by default the middle of the rep's first phase (the middle of the
    range for hold-only specs)."""
    if anchor == "low":
        return 0.0
    if anchor == "high":
        return 1.0
    if spec.reps is None:
        return 0.5
    first = spec.phases.ranges[spec.reps.sequence[0]]
    low = 0.0 if first.min is None else max(0.0, first.min)
    high = 1.0 if first.max is None else min(1.0, first.max)
    return (low + high) / 2


__all__ = ["CUE_FRESH_SECONDS", "Engine"]
