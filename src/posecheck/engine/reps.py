"""Phases -> reps: progress through the spec's phase sequence, with per-rep statistics.

Pure module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from posecheck.engine.sides import SideVote


@dataclass
class RepDraft:
    """A rep in progress (or just completed): when it began and what was seen during it."""

    start: float
    first_phase: str  # the phase the rep began in
    moving_since: float | None = None  # when that phase was left (max_seconds runs from here), None while in it
    low: float = math.inf  # extremes of the phase measure (raw units)
    high: float = -math.inf
    peaks: dict[str, float] = field(default_factory=dict)
    cues: list[str] = field(default_factory=list)
    tempo_ok: bool = True
    votes: SideVote | None = None  # evidence for the working side (sides.decide_by)
    # Since the rep entered its far phase (the one before its last, which the return goes back into): the
    # extremes of the phase measure there (raw units). Used when the session ends during the return.
    far_low: float = math.inf
    far_high: float = -math.inf

    @property
    def rom(self) -> float | None:
        return None if self.low > self.high else self.high - self.low


class Peak(NamedTuple):
    """``reps.peaks``: a measure whose extreme over each rep is reported."""

    name: str  # the measure's name in the report
    extreme: str  # "min" or "max"


class RepCounter:
    """Counts reps as the phase sequence, entered in order.

    Phases not in the sequence are transit and ignored. A sequence phase entered out of order restarts the
    rep (at the sequence's first phase, or waits for it). A sequence that ends where it starts chains: the
    completing phase starts the next rep.

    Args:
        sequence: phase names of one rep.
        start_anywhere: the first phase seen may be any phase of the cycle (clips that start mid-rep).
        min_excursion: a completed rep with less range of motion is not counted (None: no limit).
        max_seconds: a rep unfinished after this long is abandoned (None: never).
        peaks: key in the frame values -> its `Peak` (name to report, "min" or "max").
        max_from_movement: max_seconds counts from leaving the rep's first phase, not from entering it.
    """

    def __init__(
        self,
        sequence: list[str],
        start_anywhere: bool,
        min_excursion: float | None,
        max_seconds: float | None,
        peaks: dict[str, Peak],
        max_from_movement: bool = False,
    ):
        self.sequence = sequence
        self.cyclic = sequence[0] == sequence[-1]
        self.start_anywhere = start_anywhere
        self.min_excursion = min_excursion
        self.max_seconds = max_seconds
        self.max_from_movement = max_from_movement
        self.peaks = peaks
        self.reset()

    def reset(self) -> None:
        """Starts afresh, as at the beginning of a session (after a long dropout): the rep in progress is
        abandoned, and with ``start_anywhere`` the next phase seen may again be any phase of the cycle."""
        self.abandon()
        self._seen_any = False

    def abandon(self) -> None:
        """Abandons the rep in progress; the next rep starts at the next entry into the sequence's first phase."""
        self.progress = 0  # index of the next sequence phase expected; 0 = waiting for the start
        self.draft: RepDraft | None = None

    @property
    def returning(self) -> bool:
        """The rep in progress has entered its far phase and only its last phase (the return) is missing."""
        return self.draft is not None and self.progress == len(self.sequence) - 1

    def observe(self, t: float, value: float, values: dict[str, float]) -> None:
        """Records one frame's phase-measure value and peak measures into the rep in progress."""
        draft = self.draft
        if draft is None:
            return
        if self.max_seconds is not None:
            # From the rep's start, or (max_from_movement) from leaving its first phase: then resting in the start
            # position, however long, is not a stalled rep, and the rep that follows the rest is not lost.
            since = draft.moving_since if self.max_from_movement else draft.start
            if since is not None and t - since > self.max_seconds:
                self.reset()
                return
        if value == value:
            if value < draft.low:
                draft.low = value
            if value > draft.high:
                draft.high = value
            if self.returning:
                draft.far_low = min(draft.far_low, value)
                draft.far_high = max(draft.far_high, value)
        for key, (name, extreme) in self.peaks.items():
            v = values[key]
            if v == v:
                old = draft.peaks.get(name)
                if old is None or (v > old if extreme == "max" else v < old):
                    draft.peaks[name] = v

    def on_phase(self, phase: str, t: float, value: float) -> RepDraft | None:
        """Feeds a confirmed phase change (dated t), after `observe` has seen the frame that confirmed it, whose
        phase-measure value (raw units, NaN if unknown) is ``value``. Returns the completed rep, if this
        completes one.

        The returned draft is complete but not yet checked against min_excursion (see `counts`).
        """
        done = self._on_phase(phase, t)
        draft = self.draft
        if draft is not None and self.returning and value == value:
            # The far phase's extremes start with the frame that confirmed it, which `observe` saw before the
            # phase changed. (On a later phase change within the return, `observe` has already counted it.)
            draft.far_low = min(draft.far_low, value)
            draft.far_high = max(draft.far_high, value)
        return done

    def _on_phase(self, phase: str, t: float) -> RepDraft | None:
        draft = self.draft
        if draft is not None and draft.moving_since is None and phase != draft.first_phase:
            draft.moving_since = t  # any phase change, transit phases too, is the movement starting
        if phase not in self.sequence:
            return None
        first_seen = not self._seen_any
        self._seen_any = True
        if self.progress > 0 and phase == self.sequence[self.progress]:
            self.progress += 1
            if self.progress == len(self.sequence):
                done = self.draft
                self.progress = 0
                self.draft = None
                if self.cyclic:
                    self._begin(1, t, phase)
                return done
            return None
        if phase == self.sequence[0]:
            self._begin(1, t, phase)
        elif first_seen and self.start_anywhere:
            # The clip began mid-cycle: pretend the earlier phases happened.
            index = self.sequence.index(phase, 1)
            if index < len(self.sequence) - 1:
                self._begin(index + 1, t, phase)
            elif self.cyclic:
                self._begin(1, t, phase)
        else:
            self.progress, self.draft = 0, None
        return None

    def _begin(self, progress: int, t: float, phase: str) -> None:
        self.progress = progress
        self.draft = RepDraft(start=t, first_phase=phase)

    def counts(self, draft: RepDraft) -> bool:
        """Whether a completed rep moved enough to count (noise guard)."""
        if self.min_excursion is None:
            return True
        rom = draft.rom
        return rom is not None and rom >= self.min_excursion


@dataclass
class OpenRep:
    """A rep counted but not closed yet (``reps.end_at: leave``)."""

    index: int  # RepRecord.index of the rep counted but not yet closed
    last_seen: float  # the latest frame seen in the sequence's last phase
    cues: list[str] = field(default_factory=list)  # cues given since it was counted


class RepCloser:
    """``reps.end_at: leave``: a rep counted on entering its last phase ends when the person leaves that phase.

    For a sequence that ends in the far position (``[cat, cow]``, ``[upright, bent]``), the moment a rep is counted
    is half way through the movement: the way back is still to come. The count is not delayed (the engine reports
    `RepCompleted` as before); this keeps the rep open until the phase tracker leaves the last phase, and gives
    the moment to close it at: the new phase's start (a confirmed change, after ``min_dwell``, dated to when it
    began), or, when the session ends or the rep's progress is reset (tracking lost, setup paused) first, the last
    frame seen in the last phase.

    Args:
        last_phase: the sequence's last phase.
    """

    def __init__(self, last_phase: str):
        self.last_phase = last_phase
        self.open: OpenRep | None = None

    def hold(self, index: int, t: float) -> None:
        """Keeps rep ``index``, counted at ``t``, open."""
        self.open = OpenRep(index, t)

    def observe(self, t: float, phase: str | None) -> None:
        """One frame stepped with the phase tracker in ``phase``."""
        if self.open is not None and phase == self.last_phase:
            self.open.last_seen = t

    def add_cue(self, text: str) -> None:
        if self.open is not None:
            self.open.cues.append(text)

    def on_phase(self, phase: str) -> OpenRep | None:
        """A confirmed phase change into ``phase``: the open rep, if this leaves its last phase (then closed)."""
        if self.open is None or phase == self.last_phase:
            return None
        return self.take()

    def take(self) -> OpenRep | None:
        """The open rep, if any, now closed (session end, reset)."""
        done, self.open = self.open, None
        return done
