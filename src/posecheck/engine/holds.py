"""The hold timer: counts the seconds a position is held with good form; pauses, never resets, on short lapses.

`HoldTimer` times one phase machine's holds; `posecheck.engine.hold_rules.Holds` decides on each frame whether
each timer is in the hold position.

Pure module.
"""

from __future__ import annotations

from collections.abc import Callable

from posecheck.engine.events import HoldFinished, HoldRecord, HoldStarted, Side
from posecheck.engine.sides import SideVote


class HoldTimer:
    """One hold at a time.

    A hold begins on the first frame in position. Time counts between consecutive frames that are both in
    position and not paused (by a form cue). Leaving the position for longer than ``exit_grace`` ends the
    hold, dated to the last frame in position. Holds whose counted time stays under ``min_seconds`` were
    passing through the position and are not reported; ``HoldStarted`` is sent once a hold reaches
    ``min_seconds`` (dated to its beginning).

    With ``release_by``, a hold also ends once the person has started back out of it: a frame whose ``depth``
    (the spec's ``hold.release.measure``, signed so that larger is deeper) is more than ``release_by`` short
    of the deepest value of the hold so far counts as out of position. The hold then ends as above, after
    ``exit_grace``, dated to its last frame in position; a frame that is in position again afterwards starts
    a new hold (someone who eases off a little and stays there is timed again once ``min_seconds`` pass).

    The hold's side is ``side`` when fixed (per-side machines); otherwise, when ``new_vote`` is set, the side
    the ``sides.decide_by`` evidence favours over the hold so far, fixed when the hold is reported.

    Args:
        min_seconds, exit_grace: seconds.
        target: the hold target in seconds (None: no target).
        side: the fixed side of this timer, or None.
        release_by: how far back from the deepest ``depth`` ends the hold (the measure's units), or None.
    """

    def __init__(
        self,
        min_seconds: float,
        exit_grace: float,
        target: float | None,
        side: Side | None = None,
        release_by: float | None = None,
    ):
        self.min_seconds = min_seconds
        self.exit_grace = exit_grace
        self.release_by = release_by
        self._deepest: float | None = None
        self.target = target
        self.fixed_side = side
        self.new_vote: Callable[[], SideVote | None] | None = None
        self._votes: SideVote | None = None
        self.records: list[HoldRecord] = []
        self._active = False
        self._reported = False
        self._start = 0.0
        self._last_in = 0.0
        self._seconds = 0.0
        self._side: Side | None = None
        self._prev_t: float | None = None
        self._prev_good = False

    @property
    def seconds(self) -> float | None:
        """Counted seconds of the running, reported hold; None otherwise."""
        return self._seconds if self._active and self._reported else None

    @property
    def side(self) -> Side | None:
        return self._side

    def step(
        self,
        t: float,
        in_position: bool,
        paused: bool,
        evidence: tuple[float, float] | None = None,
        depth: float | None = None,
    ) -> list:
        """Feeds one frame. Returns hold events.

        Args:
            evidence: the frame's (left, right) decide_by values, or None.
            depth: the frame's release measure, signed so that larger is deeper; None when unknown (an
                unknown depth never ends a hold) or when the hold has no release.
        """
        events: list = []
        if in_position and self._active and not self._still_deep(depth):
            in_position = False
        good = in_position and not paused
        if in_position and not self._active:
            self._active, self._reported = True, False
            self._start = self._last_in = t
            self._seconds = 0.0
            self._side = self.fixed_side
            self._votes = self.new_vote() if self.new_vote is not None else None
            self._deepest = depth
        elif self._active:
            if in_position:
                if good and self._prev_good and self._prev_t is not None:
                    self._seconds += t - self._prev_t
                self._last_in = t
            elif t - self._last_in > self.exit_grace:
                events += self._end()
        if in_position and self._active and self._votes is not None and evidence is not None:
            self._votes.add(*evidence)
        if self._active and not self._reported and self._seconds >= self.min_seconds and self._seconds > 0:
            self._reported = True
            if self._side is None and self._votes is not None:
                self._side = self._votes.side
            events.append(HoldStarted(self._start, self._side))
        self._prev_t, self._prev_good = t, good
        return events

    def _still_deep(self, depth: float | None) -> bool:
        """Whether the running hold is still within ``release_by`` of its deepest point (and notes a deeper one)."""
        if self.release_by is None or depth is None:
            return True
        if self._deepest is None or depth > self._deepest:
            self._deepest = depth
            return True
        return self._deepest - depth <= self.release_by

    def lapse(self, t: float) -> list:
        """A frame with no usable pose (tracking lost or setup not ready): counts as out of position."""
        return self.step(t, False, False)

    def finish(self) -> list:
        """Ends a running hold at the end of the session (dated to its last frame in position)."""
        return self._end() if self._active else []

    def _end(self) -> list:
        self._active = False
        if not self._reported:
            return []
        record = HoldRecord(self._side, self._start, self._last_in, self._seconds, self.target)
        self.records.append(record)
        return [HoldFinished(self._last_in, record)]
