"""Which side is working: evidence from the spec's ``sides.decide_by`` measure, summed over a rep or a hold.

For an alternating exercise followed by one phase machine (bird-dog: the phase measure does not say which arm
is lifted), `SideDecider` reads each frame's evidence and starts a `SideVote` for each rep and each hold; the
vote names the side when the rep is counted or the hold reported. Specs whose phase measure is per side need
none of this: each side has its own machine.

Pure module.
"""

from __future__ import annotations

import math

from posecheck.engine.events import Side
from posecheck.engine.measures import FrameMeasures
from posecheck.specs.schema import ExerciseSpec


class SideVote:
    """Accumulates, frame by frame, how much the data favours the left or the right side.

    Rules (``sides.rule``), for a frame's (left, right) values of ``decide_by``:
      larger: left - right (the side whose value is larger wins, e.g. the extended arm);
      smaller: right - left;
      moved: |left - left at start| - |right - right at start| (the side that moved away from where it was
        when the rep or hold began);
      sign: ``sign`` * value for a signed measure (``left`` holds the value, ``right`` is unused).
    Frames where a needed value is unknown (NaN) add nothing.
    """

    __slots__ = ("rule", "sign", "total", "_start")

    def __init__(self, rule: str, sign: float = 1.0):
        self.rule = rule
        self.sign = sign
        self.total = 0.0
        self._start: tuple[float, float] | None = None

    def add(self, left: float, right: float) -> None:
        if self.rule == "sign":
            if left == left:
                self.total += self.sign * left
            return
        if left != left or right != right:
            return
        if self.rule == "larger":
            self.total += left - right
        elif self.rule == "smaller":
            self.total += right - left
        else:  # moved
            if self._start is None:
                self._start = (left, right)
            self.total += abs(left - self._start[0]) - abs(right - self._start[1])

    @property
    def side(self) -> Side | None:
        """The side the evidence favours, or None when it is balanced or absent."""
        if self.total > 0:
            return "left"
        if self.total < 0:
            return "right"
        return None


class SideDecider:
    """``sides``, compiled: which measure and rule decide the side, and each frame's evidence.

    Args:
        measure: ``sides.decide_by``.
        rule: ``sides.rule`` (see `SideVote`).
        sign: for rule sign, +1 when positive values mean the left side, -1 when they mean the right.
    """

    __slots__ = ("measure", "rule", "sign")

    def __init__(self, measure: str, rule: str, sign: float):
        self.measure = measure
        self.rule = rule
        self.sign = sign

    @classmethod
    def of(cls, spec: ExerciseSpec, one_machine: bool) -> SideDecider | None:
        """The spec's decider, or None when no side is decided from the data (no ``sides``, or one machine
        per side, each with its own side)."""
        if spec.sides is None or not one_machine:
            return None
        sign = 1.0 if spec.sides.positive in (None, "left") else -1.0
        return cls(spec.sides.decide_by, spec.sides.rule, sign)

    def new_vote(self) -> SideVote:
        """An empty vote, for a rep or a hold that begins."""
        return SideVote(self.rule, self.sign)

    def evidence(self, frame: FrameMeasures) -> tuple[float, float]:
        """The frame's (left, right) values of ``decide_by``; (value, NaN) for rule sign."""
        if self.rule == "sign":
            return frame.values.get(self.measure, math.nan), math.nan
        return frame.sides[self.measure]
