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


@dataclass(frozen=True)
class Gap:
    """An interval with no usable pose (person out of frame, detection lost)."""

    start: float
    end: float


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
