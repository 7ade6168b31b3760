"""Phase machines: the phase tracker, rep counter, hold timer and learned range that follow one phase measure.

A spec whose phase measure is per side (``reduce: per_side``) gets one machine per side, each counting that
side's reps; any other spec gets one machine. `build_machines` makes them from the spec; `RepRequirement`
(``reps.require``) stops a machine's rep in progress when the person leaves the rep's position.

Pure module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from posecheck.engine.conditions import Condition, check_all, compile_conditions
from posecheck.engine.events import Side
from posecheck.engine.holds import HoldTimer
from posecheck.engine.measures import SIDES, side_key
from posecheck.engine.phases import PhaseRangeC, PhaseTracker, RangeLearner
from posecheck.engine.reps import Peak, RepCloser, RepCounter
from posecheck.specs.schema import ExerciseSpec


@dataclass
class PhaseClock:
    """When one phase machine last entered and last left each phase."""

    entered: dict[str, float] = field(default_factory=dict)
    left: dict[str, float] = field(default_factory=dict)


@dataclass
class PhaseMachine:
    """One phase machine: phases, reps, hold and learned range of the phase measure on one side (or none)."""

    side: Side | None
    value_key: str  # the phase measure's key in the frame values
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
    clock: PhaseClock = field(default_factory=PhaseClock)  # when phases were entered and left (tempo)
    closer: RepCloser | None = None  # reps.end_at: leave (the counted rep that is not closed yet)
    diag: Any = None  # its why-not recorder (posecheck.engine.diagnostics.MachineRecorder)

    def reset(self) -> None:
        """Starts the progress afresh (after a long absence or pause): phase, rep in progress, position."""
        self.tracker.reset()
        self.out_since, self.out_of_position = None, False
        if self.reps is not None:
            self.reps.reset()


def build_machines(spec: ExerciseSpec, per_side: set[str]) -> list[PhaseMachine]:
    """The spec's machines: one per side when the phase measure is per side, else one."""
    phase_measure = spec.phases.measure
    machine_sides: list[Side | None] = list(SIDES) if phase_measure in per_side else [None]  # type: ignore[list-item]
    machines = []
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
            peaks = {key(name): Peak(name, extreme) for name, extreme in spec.reps.peaks.items()}
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
            hold = HoldTimer(spec.hold.min_seconds, spec.hold.exit_grace, spec.target.seconds, side, release.by if release else None)
        learner = None
        if spec.adaptive is not None:
            learner = RangeLearner(spec.adaptive.learn_reps, spec.adaptive.min_range, start_anchor(spec, spec.adaptive.anchor))
        machines.append(
            PhaseMachine(
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
    return machines


class RepRequirement:
    """``reps.require``: the position a rep must stay in (e.g. on all fours for bird-dog).

    Once the conditions have failed for ``reps.abandon_after`` the machine's rep in progress is abandoned and no
    rep starts until the person is back in position. The phase is kept (the person may come back in it), so the
    next rep starts only at the next entry into the sequence's first phase: a rep whose first phase was entered
    before leaving the position cannot complete on coming back. An unknown condition neither starts nor ends a
    lapse.

    Args:
        conditions: the compiled conditions (not empty).
        abandon_after: seconds out of position before the rep is abandoned.
    """

    def __init__(self, conditions: list[Condition], abandon_after: float):
        self.conditions = conditions
        self.abandon_after = abandon_after

    @classmethod
    def of(cls, spec: ExerciseSpec, per_side: set[str]) -> RepRequirement | None:
        if spec.reps is None or not spec.reps.require:
            return None
        abandon_after = spec.reps.abandon_after if spec.reps.abandon_after is not None else 0.0
        return cls(compile_conditions(spec.reps.require, per_side), abandon_after)

    def check(self, machine: PhaseMachine, reps: RepCounter, t: float, values: dict[str, float]) -> None:
        """Updates ``machine``'s position from the frame at ``t``; abandons its rep when the position is lost."""
        held = check_all(self.conditions, values, machine.side)
        if held is True:
            machine.out_since, machine.out_of_position = None, False
        elif held is False:
            if machine.out_since is None:
                machine.out_since = t
            if not machine.out_of_position and t - machine.out_since >= self.abandon_after:
                machine.out_of_position = True
                machine.diag.abandoned(self.conditions, values, reps.draft)
                reps.abandon()
        if machine.out_of_position:
            machine.diag.out_of_position(self.conditions, values)


def start_anchor(spec: ExerciseSpec, anchor: str) -> float:
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
