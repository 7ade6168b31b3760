"""Trends per day from the history: reps, range of motion per side, hold seconds, tempo, left/right asymmetry.

Days are the user's local calendar days. A session counts whether it completed or was interrupted (its
reps were done); a session still running is left out.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from posecheck.history.store import STATUS_RUNNING, HistoryStore, SessionRow

SPARK_CHARS = "▁▂▃▄▅▆▇█"


@dataclass
class DayProgress:
    """One day of one exercise.

    Attributes:
        day: local calendar day.
        sessions: sessions that day.
        reps: reps counted, both sides; reps_by_side: per side for alternating exercises.
        rom: mean range of motion per rep, by side (None = not an alternating exercise), in ``rom_unit``.
        hold_seconds: the longest hold of the day (counted seconds), None when there was none.
        rep_seconds: mean duration of a rep (tempo), seconds.
        asymmetry: (left - right) / max(left, right) of the mean range of motion, None without both sides.
    """

    day: date
    sessions: int = 0
    reps: int = 0
    reps_by_side: dict[str, int] = field(default_factory=dict)
    rom: dict[str | None, float] = field(default_factory=dict)
    rom_unit: str | None = None
    hold_seconds: float | None = None
    rep_seconds: float | None = None
    asymmetry: float | None = None


def local_day(started_at: str) -> date:
    return datetime.fromisoformat(started_at).astimezone().date()


def daily_progress(store: HistoryStore, exercise: str, *, since: datetime | None = None,
                   until: datetime | None = None) -> list[DayProgress]:
    """The exercise's sessions in [since, until) summed up per local day, oldest first."""
    sessions = [s for s in store.sessions(exercise=exercise, since=since, until=until) if s.status != STATUS_RUNNING]
    by_day: dict[date, list[SessionRow]] = defaultdict(list)
    for session in sessions:
        by_day[local_day(session.started_at)].append(session)
    return [_day(store, day, rows) for day, rows in sorted(by_day.items())]


def _day(store: HistoryStore, day: date, sessions: list[SessionRow]) -> DayProgress:
    progress = DayProgress(day=day, sessions=len(sessions))
    roms: dict[str | None, list[float]] = defaultdict(list)
    durations: list[float] = []
    holds: list[float] = []
    for session in sessions:
        progress.reps += session.reps or 0
        for side, count in (("left", session.reps_left), ("right", session.reps_right)):
            if count is not None:
                progress.reps_by_side[side] = progress.reps_by_side.get(side, 0) + count
        for rep in store.reps(session.id):
            if rep["rom"] is not None:
                roms[rep["side"]].append(rep["rom"])
                progress.rom_unit = progress.rom_unit or rep["rom_unit"]
            if rep["duration"] is not None and not rep["cut_by_end"]:  # a cut rep's duration is too short
                durations.append(rep["duration"])
        holds += [hold["seconds"] for hold in store.holds(session.id) if hold["seconds"] is not None]
    progress.rom = {side: statistics.fmean(values) for side, values in roms.items()}
    progress.rep_seconds = statistics.fmean(durations) if durations else None
    progress.hold_seconds = max(holds) if holds else None
    left, right = progress.rom.get("left"), progress.rom.get("right")
    if left is not None and right is not None and max(left, right) > 0:
        progress.asymmetry = (left - right) / max(left, right)
    return progress


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, ▁ (lowest) to █ (highest); a space where a value is missing."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    chars = []
    for value in values:
        if value is None or not math.isfinite(value):
            chars.append(" ")
        elif span == 0:
            chars.append(SPARK_CHARS[len(SPARK_CHARS) // 2])
        else:
            chars.append(SPARK_CHARS[round((value - low) / span * (len(SPARK_CHARS) - 1))])
    return "".join(chars)
