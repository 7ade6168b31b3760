"""Measures -> phases: a Schmitt trigger with a minimum dwell, and the adaptive range learner.

Pure module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from posecheck.engine.conditions import Condition, check_all


@dataclass(frozen=True)
class PhaseRangeC:
    """A compiled phase range: bounds (-inf/inf when open) and extra conditions."""

    name: str
    low: float
    high: float
    also: tuple[Condition, ...]


class PhaseChange(NamedTuple):
    """A confirmed phase change."""

    previous: str | None  # the phase left (None at the first phase)
    phase: str  # the phase entered
    since: float  # when the new phase began (before the dwell that confirmed it)


class PhaseTracker:
    """Which named range the phase measure is in, without flicker.

    Hysteresis: the current phase is kept while the value stays within its range widened by ``hysteresis``;
    a value in a gap between ranges also keeps it. Dwell: a new phase must persist for ``min_dwell`` seconds
    before it is accepted; the change is then dated to when the new phase began.

    Args:
        ranges: the phases in spec order.
        hysteresis: in the measure's unit (or range fraction when adaptive).
        min_dwell: seconds.
    """

    def __init__(self, ranges: list[PhaseRangeC], hysteresis: float, min_dwell: float):
        self.ranges = ranges
        self.hysteresis = hysteresis
        self.min_dwell = min_dwell
        self.ranges_by_name = {r.name: r for r in ranges}
        self.reset()

    def reset(self) -> None:
        self.phase: str | None = None
        self.since: float | None = None  # when the current phase began
        self._candidate: str | None = None
        self._candidate_since = 0.0

    @property
    def candidate(self) -> str | None:
        """The phase the measure has entered but not yet kept for ``min_dwell`` (None when there is none)."""
        return self._candidate

    def confirm_candidate(self) -> PhaseChange | None:
        """Accepts the pending phase now, as `step` would once ``min_dwell`` had passed, or None when nothing is
        pending. For an end of the frames that leaves no time
        to dwell (tracking lost right after the phase was entered)."""
        if self._candidate is None:
            return None
        previous, self.phase, self.since = self.phase, self._candidate, self._candidate_since
        self._candidate = None
        return PhaseChange(previous, self.phase, self.since)

    def _raw(self, value: float, values: dict[str, float], side: str | None) -> str | None:
        for r in self.ranges:
            if r.low <= value <= r.high and (not r.also or check_all(r.also, values, side) is True):
                return r.name
        return None

    def step(self, t: float, value: float, values: dict[str, float], side: str | None) -> PhaseChange | None:
        """Feeds one frame's value (NaN = unknown, which changes nothing).

        Returns:
            The change when the phase changes, else None.
        """
        if value != value:
            return None
        current = self.ranges_by_name.get(self.phase) if self.phase is not None else None
        if current is not None and current.low - self.hysteresis <= value <= current.high + self.hysteresis:
            self._candidate = None
            return None
        raw = self._raw(value, values, side)
        if raw is None or raw == self.phase:
            self._candidate = None
            return None
        if raw != self._candidate:
            self._candidate, self._candidate_since = raw, t
        if t - self._candidate_since < self.min_dwell:
            return None
        previous, self.phase, self.since = self.phase, raw, self._candidate_since
        self._candidate = None
        return PhaseChange(previous, raw, self._candidate_since)


class RangeLearner:
    """The person's own range of the phase measure, for adaptive specs.

    Extremes of the (smoothed) measure are collected while counting, until ``learn_reps`` reps are done;
    then the range is kept. It is never narrower than ``min_range``, so that jitter around a still pose
    cannot span from one phase to the other. While it is that narrow, the person is assumed to be where the
    exercise starts: the first value seen sits at ``anchor`` (a fraction, e.g. the middle of the rep's
    first phase), so that the starting phase is recognised before the person has moved.
    """

    def __init__(self, learn_reps: int, min_range: float, anchor: float = 0.5):
        self.learn_reps = learn_reps
        self.min_range = min_range
        self.anchor = anchor
        self.low = math.inf
        self.high = -math.inf
        self.first = math.nan
        self.frozen = False

    def observe(self, value: float) -> None:
        if self.frozen or value != value:
            return
        if self.first != self.first:
            self.first = value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def reps_counted(self, reps: int) -> None:
        if reps >= self.learn_reps:
            self.frozen = True

    @property
    def bounds(self) -> tuple[float, float] | None:
        """(low, high) of the effective range, None before any value was seen."""
        if self.low > self.high:
            return None
        if self.high - self.low >= self.min_range:
            return self.low, self.high
        low = self.first - self.anchor * self.min_range
        high = low + self.min_range
        # Slide the window to cover what was seen (it fits: the seen span is narrower than min_range).
        shift = max(self.high - high, 0.0) - max(low - self.low, 0.0)
        return low + shift, high + shift

    def fraction(self, value: float) -> float:
        """Where value lies in the range: 0 at low, 1 at high (NaN before anything was seen)."""
        bounds = self.bounds
        if bounds is None or value != value:
            return math.nan
        low, high = bounds
        return (value - low) / (high - low)
