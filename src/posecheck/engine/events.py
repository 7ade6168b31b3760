"""What the engine tells the rest of posecheck: typed events, per-rep and per-hold records, a state snapshot.

These types are the contract between the pure engine and every sink (overlay, reports, live view, eval).
Pure module. All times are seconds on the pose timestamps' clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Side = Literal["left", "right"]
Severity = Literal["info", "warning"]


@dataclass(frozen=True)
class RepRecord:
    """One completed rep.

    Attributes:
        index: 1-based count over the whole session (both sides together).
        side: the working side for alternating exercises, else None.
        start, end: seconds; duration = end - start.
        rom_deg: range of motion of the spec's main measure within the rep (max - min), in its unit
            (degrees for angles; normalised units for distances).
        peaks: measure name -> the extreme value reached in the rep (the one the rep is about).
        cues: texts of the cues given during the rep.
        tempo_ok: False when the rep was faster (or slower) than the spec's tempo allows.
        cut_by_end: the session ended during the rep's return (``reps.cut_at_end``): it was counted at the end,
            and ``end`` is the last frame seen, not the moment the return finished.
        counted_at: when the rep was counted (its last phase entered; None in records made outside the engine).
            It equals ``end`` unless ``reps.end_at`` is ``leave``: the rep then ends when the person leaves its last
            phase, so that it covers the whole cycle.
        end_pending: True only in the `RepCompleted` of a rep with ``reps.end_at: leave``: ``end`` is still the
            moment it was counted, and a `RepClosed` event brings the final record (end, duration, tempo_ok).
            Records in `SessionSummary.rep_list` are always final.
    """

    index: int
    side: Side | None
    start: float
    end: float
    rom_deg: float | None
    peaks: dict[str, float] = field(default_factory=dict)
    cues: tuple[str, ...] = ()
    tempo_ok: bool = True
    cut_by_end: bool = False
    counted_at: float | None = None
    end_pending: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class HoldRecord:
    """One hold: from entering the hold position to leaving it.

    ``seconds`` counts only the time the hold conditions and form rules were met (the timer pauses
    otherwise), so it can be less than end - start.
    """

    side: Side | None
    start: float
    end: float
    seconds: float
    target_seconds: float | None

    @property
    def target_met(self) -> bool:
        return self.target_seconds is None or self.seconds >= self.target_seconds


@dataclass(frozen=True)
class PhaseChanged:
    t: float
    phase: str
    previous: str | None
    side: Side | None = None


@dataclass(frozen=True)
class RepCompleted:
    t: float
    rep: RepRecord


@dataclass(frozen=True)
class RepClosed:
    """The final record of a rep that was counted earlier with ``end_pending`` (``reps.end_at: leave``).

    ``t`` is the rep's end: when the person left its last phase (dated like a phase change, to when the next
    phase began), or, when the session ended or tracking was lost first, the last frame seen in that phase.
    ``rep.index`` is the index the `RepCompleted` gave; its count does not change.
    """

    t: float
    rep: RepRecord


@dataclass(frozen=True)
class HoldStarted:
    t: float
    side: Side | None = None


@dataclass(frozen=True)
class HoldFinished:
    t: float
    hold: HoldRecord


@dataclass(frozen=True)
class Cue:
    """A form or tempo cue. ``rule`` is the spec's rule id ("slow_down" for tempo, "setup" for setup)."""

    t: float
    rule: str
    text: str
    severity: Severity = "info"


@dataclass(frozen=True)
class NotReady:
    """Counting is paused because the setup is not right; ``reason`` is the spec's guidance text."""

    t: float
    reason: str


@dataclass(frozen=True)
class Ready:
    t: float


@dataclass(frozen=True)
class TrackingLost:
    t: float


@dataclass(frozen=True)
class TrackingRegained:
    t: float


Event = PhaseChanged | RepCompleted | RepClosed | HoldStarted | HoldFinished | Cue | NotReady | Ready | TrackingLost | TrackingRegained


@dataclass(frozen=True)
class EngineState:
    """Snapshot after the latest update, for overlays and live views (cheap to build every frame)."""

    t: float
    tracking: bool
    ready: bool
    not_ready_reason: str | None
    phase: str | None
    side: Side | None
    reps: int
    reps_by_side: dict[str, int]
    target_reps: int | None
    hold_seconds: float | None  # the running hold's counted seconds, None when not holding
    hold_target: float | None
    measures: dict[str, float | None]  # current (smoothed) value of every measure, None when unknown
    cue: str | None  # the most recent cue's text while it is still fresh, else None
    # Why reps are not being counted right now although the setup is right (a rep's position left, see
    # reps.require; a phase reached but refused by its `also` conditions), in plain words; else None.
    paused_reason: str | None = None


@dataclass(frozen=True)
class Gap:
    """An interval with no usable pose (person out of frame, detection lost)."""

    start: float
    end: float


DiagnosticKind = Literal[
    "view", "visible", "start", "require", "phase_blocked", "phase_not_reached", "fell_short", "min_excursion",
    "min_range", "max_seconds", "cut_at_end",
]


@dataclass(frozen=True)
class Diagnostic:
    """One reason counting was paused or reps were not counted, for people (reports, summaries).

    Built by `posecheck.engine.diagnostics`; reporting only: nothing here changes what is counted.

    Attributes:
        kind: what kept the count back. Setup (counting paused): ``view`` (the camera's angle is wrong),
            ``visible`` (body parts out of the picture), ``start`` (not in the start position). Reps refused or
            never started: ``require`` (the rep's position was left, reps.require), ``phase_blocked`` (the
            main measure reached a phase but one of the phase's ``also`` conditions failed),
            ``phase_not_reached`` (the main measure never got into a phase of the rep), ``fell_short``
            (movements toward the rep's next phase that came back before reaching it), ``min_excursion``
            (reps too small), ``min_range`` (the movement never spanned the adaptive range's minimum),
            ``max_seconds`` (reps that took too long), ``cut_at_end`` (a last rep cut off by the end).
        reason: one or two plain sentences saying what happened and what the exercise needs.
        advice: what to do about it (the spec's own guidance text), or None.
        seconds: how long it lasted (time paused or refused), or None.
        share: ``seconds`` as a share (0-1) of the time the person was tracked, or None.
        count: how many reps (or times) it refused, or None.
        measure: the spec's measure that decided (``view_ratio`` for the camera view), or None.
        value: what that measure read: the median while it failed (setup, require, phase_blocked), the
            largest rep or span (min_excursion, min_range), the nearest it came (phase_not_reached; fell_short:
            the median of each movement's nearest), the share of the way back (cut_at_end); or None.
        required: what the spec asks of it, in words ("at least 0.2", "below 0.7"), or None.
        unit: the unit of ``value`` (``deg``, ``torso`` lengths, ``ratio``, ``s``), or None.
        phase: the phase concerned, or None.
        side: the side's own phase machine (per-side specs), else None.
    """

    kind: DiagnosticKind
    reason: str
    advice: str | None = None
    seconds: float | None = None
    share: float | None = None
    count: int | None = None
    measure: str | None = None
    value: float | None = None
    required: str | None = None
    unit: str | None = None
    phase: str | None = None
    side: Side | None = None


@dataclass
class SessionSummary:
    """Everything the engine learned in a session: what reports are made from."""

    exercise: str
    reps: int
    reps_by_side: dict[str, int]
    rep_list: list[RepRecord]
    holds: list[HoldRecord]
    cues: list[Cue]
    gaps: list[Gap]
    asymmetry: float | None = None  # (left - right) / max(left, right) reps, alternating exercises only
    adaptive_range: dict[str, tuple[float, float]] | None = None  # measure -> (low, high) learned range
    # Why counting paused or reps were refused, most time first (see Diagnostic); empty when nothing did.
    diagnostics: list[Diagnostic] = field(default_factory=list)
