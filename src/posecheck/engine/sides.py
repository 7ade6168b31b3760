"""Which side is working: evidence from the spec's ``sides.decide_by`` measure, summed over a rep or a hold.

Pure module.
"""

from __future__ import annotations

from posecheck.engine.events import Side


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
