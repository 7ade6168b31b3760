"""The exercise engine: poses in, typed events out, driven entirely by an `ExerciseSpec`.

Data flows one way: pose -> smoothed landmarks -> measures (`measures.py`) -> readiness (`setup.py`) -> phases
and reps (`counting.py`: `phases.py` and `reps.py` on one `machine.py` per side or one, counted and closed by
`rep_log.py`), holds (`holds.py`) -> cues (`cues.py`, `tempo.py`) -> events (`events.py`). Around that: frames
without a pose (`tracking.py`), the working side (`sides.py`), the rep the end cuts off (`cut_at_end.py`), and
why counting paused (`diagnostics.py`). `Engine` only wires these parts in that order.

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

import numpy as np

from posecheck.core.pose import NUM_LANDMARKS, Pose
from posecheck.engine.counting import Counting
from posecheck.engine.cues import CueLog, FormRules
from posecheck.engine.cut_at_end import CutAtEnd
from posecheck.engine.diagnostics import DiagnosticsRecorder, NullRecorder
from posecheck.engine.events import EngineState, Event, SessionSummary, TrackingLost
from posecheck.engine.hold_rules import Holds
from posecheck.engine.machine import PhaseMachine, RepRequirement, build_machines
from posecheck.engine.measures import LEFT, MeasureSet
from posecheck.engine.rep_log import RepLog
from posecheck.engine.setup import Readiness, SetupGate
from posecheck.engine.sides import SideDecider
from posecheck.engine.tempo import TempoJudge
from posecheck.engine.tracking import TrackingGaps
from posecheck.specs.schema import ExerciseSpec

# Default for how long EngineState.cue keeps showing the latest cue: time to read a one-line cue twice. A
# display choice for overlays (Engine(cue_seconds=...) changes it): it decides nothing about counting or
# cueing, whose numbers live in the specs.
CUE_FRESH_SECONDS = 4.0


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
        self._tracking = TrackingGaps(spec.tracking.lost_after, spec.tracking.reset_after)
        self._setup = SetupGate(spec.setup, per_side, spec.tracking.reset_after)
        self._machines: list[PhaseMachine] = build_machines(spec, per_side)
        self._sided = spec.sides is not None or len(self._machines) > 1
        self._sides = SideDecider.of(spec, one_machine=len(self._machines) == 1)
        if self._sides is not None:
            for machine in self._machines:
                if machine.hold is not None:
                    machine.hold.new_vote = self._sides.new_vote
        require = RepRequirement.of(spec, per_side)
        self._cues = CueLog(self._machines)
        self._rules = FormRules(spec, per_side)
        tempo = TempoJudge(spec.tempo, self._cues)
        self._reps = RepLog(tempo)
        self._counting = Counting(self._machines, require, self._sides, tempo, self._reps, CutAtEnd.of(spec, self._machines[0]))
        self._holds = Holds(spec.hold, per_side, self._machines) if spec.hold is not None else None
        # why not: the reasons counting paused or reps were refused (reporting only)
        self._diag = (
            DiagnosticsRecorder(spec, self._setup.start, require.conditions if require else [], spec.tracking.lost_after)
            if diagnostics
            else NullRecorder()
        )
        for machine in self._machines:
            machine.diag = self._diag.machine(machine.side, machine.tracker, machine.learner)
        self._values: dict[str, float] = {}  # the latest frame's measures
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
        t = self._tracking.t
        cue = self._cues.last
        fresh = cue is not None and t is not None and t - cue.t <= self.cue_seconds
        ready = self._setup.ready
        return EngineState(
            t=t if t is not None else 0.0,
            tracking=self._tracking.tracking,
            ready=ready,
            not_ready_reason=None if ready else self._setup.reason,
            phase=machine.tracker.phase if machine else None,
            side=machine.side if machine else None,
            reps=len(self._reps.records),
            reps_by_side=self._reps_by_side(),
            target_reps=self.spec.target.reps,
            hold_seconds=self._holds.running_seconds if self._holds is not None else None,
            hold_target=self.spec.target.seconds,
            measures={k: (None if v != v else v) for k, v in self._values.items()},
            cue=cue.text if fresh and cue is not None else None,
            paused_reason=self._diag.paused_reason([m.out_of_position for m in self._machines]) if ready else None,
        )

    def end(self, t: float) -> list[Event]:
        """Ends the session at ``t`` and returns the events that causes.

        A rep whose return the end cut off is counted when ``reps.cut_at_end`` says it had come back far
        enough (`posecheck.engine.cut_at_end`): its ``RepCompleted`` comes first, dated to the last frame with a
        pose, its record marked ``cut_by_end``. A rep still open (``reps.end_at: leave``, the person still in its
        last phase) is closed at the last frame seen there (``RepClosed``, no rep tempo verdict). A hold still
        running is closed (dated to its last frame in position) and its ``HoldFinished`` is returned, so that
        sinks see every hold finish, not only those the person left before the end; an open gap is closed. Call
        it once, after the last `update` and before `finish`, and pass the events on to the sinks; `finish`
        calls it itself when it was not called (the events are then only in the summary). Later calls return
        nothing.

        Args:
            t: the session's last time in seconds (the last frame's timestamp).
        """
        if self._ended:
            return []
        self._ended = True
        events: list[Event] = []
        tracking = self._tracking
        if tracking.briefly_missing:
            self._count_pending_returns(t, events)  # the person left just before the end
        last_pose_t = tracking.last_pose_t
        seen = self._setup.ready and last_pose_t is not None
        self._counting.end(t, self._values, last_pose_t, seen, tracking.lost_by(t), events)
        if self._holds is not None:
            self._holds.finish(events)
        tracking.end(t)
        return events

    def finish(self, t: float) -> SessionSummary:
        """Ends the session at ``t`` (see `end`, which it calls if needed) and sums everything up."""
        self.end(t)
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
            reps=len(self._reps.records),
            reps_by_side=by_side,
            rep_list=list(self._reps.records),
            holds=self._holds.records if self._holds is not None else [],
            cues=list(self._cues.cues),
            gaps=list(self._tracking.gaps),
            asymmetry=asymmetry,
            adaptive_range=learned or None,
            diagnostics=self._diag.diagnostics(),
        )

    # ------------------------------------------------------------------------------------------ per frame
    def _pose_frame(self, t: float, landmarks: np.ndarray, world: np.ndarray | None, frame_size: tuple[int, int]) -> list[Event]:
        """One frame with a pose ((33, 5) landmarks, (33, 3) world landmarks or None): its events."""
        events: list[Event] = []
        if self._tracking.resume(t, events):
            # Gone for long: the person may have moved anywhere. Start afresh (but keep the counts).
            self.measures.reset()
            self._counting.reset(t, events)
            self._setup.rearm()
        self._diag.pose_frame(t, landmarks)
        frame = self.measures.compute(t, landmarks, world, frame_size)
        values = self._values = frame.values

        readiness = self._setup.check(t, frame, events)
        if readiness is not Readiness.COUNTING:
            if readiness is Readiness.STALLED:
                self._counting.reset(t, events)
            self._diag.not_ready(self._setup.problem_kind, frame, values)
            self._pause(t, events)
            return events

        evidence = self._sides.evidence(frame) if self._sides is not None else None
        self._counting.step(t, values, evidence, events)
        self._rules.step(t, values, self._machines, self._cues, events)
        if self._holds is not None:
            self._holds.step(t, values, self._rules.pausing_fault, evidence, events)
        return events

    def _no_pose(self, t: float) -> list[Event]:
        events: list[Event] = []
        if self._tracking.missing(t):
            self._count_pending_returns(t, events)
            events.append(TrackingLost(t))
        self._pause(t, events)
        return events

    def _pause(self, t: float, events: list[Event]) -> None:
        """A frame that is not counted (no pose, setup not ready): holds lapse, form faults are forgotten."""
        if self._holds is not None:
            self._holds.lapse(t, events)
        self._rules.clear()

    def _count_pending_returns(self, t: float, events: list[Event]) -> None:
        """The person left (or the session ended) just after reaching a rep's return: it counts while counting."""
        if self._setup.ready:
            self._counting.count_pending_returns(t, events)

    # ------------------------------------------------------------------------------------------ helpers
    def _reps_by_side(self) -> dict[str, int]:
        return self._reps.by_side() if self._sided else {}

    def _display_machine(self) -> PhaseMachine | None:
        """The machine to show: the one whose phase changed last (per-side machines), else the only one."""
        if len(self._machines) == 1:
            return self._machines[0]
        moving = [m for m in self._machines if m.tracker.since is not None]
        return max(moving, key=lambda m: m.tracker.since or 0.0) if moving else self._machines[LEFT]


__all__ = ["CUE_FRESH_SECONDS", "Engine"]
