"""The setup gate: counting waits until the camera view, the body in the picture and the start position are right.

A count taken from the wrong camera angle, with the body half out of the picture, or before the person has
taken the start position would be wrong, so the engine counts only while the spec's ``setup`` holds. Each
problem has the spec's words (``NotReady``, told when it starts or changes). A problem shorter than
``setup.grace`` once counting has begun is tolerated (a landmark flickering should not stop a rep), and a pause
lasting ``tracking.reset_after`` means the person may come back anywhere: the engine then starts the progress
afresh (`Readiness.STALLED`). The start position is needed once, and again only after a long absence (`rearm`).

Pure module.
"""

from __future__ import annotations

from enum import Enum

from posecheck.engine.conditions import check_all, compile_conditions
from posecheck.engine.events import Event, NotReady, Ready
from posecheck.engine.measures import FrameMeasures
from posecheck.specs.schema import Setup


class Readiness(Enum):
    """What the gate decided for one frame."""

    COUNTING = "counting"  # counting goes on (also through a problem shorter than setup.grace)
    PAUSED = "paused"  # counting waits for the setup
    STALLED = "stalled"  # paused for tracking.reset_after: the progress starts afresh


class SetupGate:
    """Readiness from one frame's measures, with the spec's words for what is wrong.

    Args:
        setup: the spec's setup.
        per_side: the per-side measures (for the start conditions).
        reset_after: seconds of pause after which the progress starts afresh (``tracking.reset_after``).
    """

    def __init__(self, setup: Setup, per_side: set[str], reset_after: float):
        self.setup = setup
        self.start = compile_conditions(setup.start.when, per_side) if setup.start else []
        self.reset_after = reset_after
        self.ready = False
        self.reason: str | None = None  # the words of the problem that paused counting (None when ready)
        self.problem_kind: str | None = None  # this frame's problem, for the diagnostics: view, visible or start
        self._problem_since: float | None = None  # while ready: when the current problem began
        self._not_ready_since: float | None = None
        self._start_ok = not self.start

    def rearm(self) -> None:
        """The person was gone for long: the start position is needed again."""
        self._start_ok = not self.start

    def check(self, t: float, frame: FrameMeasures, events: list[Event]) -> Readiness:
        """Readiness in the frame at ``t``; appends ``Ready`` or ``NotReady`` when it changes."""
        problem = self._problem(frame)
        if problem is None:
            self._problem_since = None
            self._not_ready_since = None
            if not self.ready:
                self.ready = True
                self.reason = None
                events.append(Ready(t))
            return Readiness.COUNTING
        if self.ready:
            if self._problem_since is None:
                self._problem_since = t
            if t - self._problem_since < self.setup.grace:
                return Readiness.COUNTING  # a short problem is tolerated; counting goes on
            self.ready = False
            self._not_ready_since = self._problem_since
            self.reason = problem
            events.append(NotReady(t, problem))
            return Readiness.PAUSED
        if self._not_ready_since is None:
            self._not_ready_since = t
        if problem != self.reason:
            self.reason = problem
            events.append(NotReady(t, problem))
        return Readiness.STALLED if t - self._not_ready_since >= self.reset_after else Readiness.PAUSED

    def _problem(self, frame: FrameMeasures) -> str | None:
        """The words of the frame's first problem (view, then visibility, then start position), or None."""
        setup = self.setup
        ratio = frame.view_ratio
        if setup.view != "any" and ratio == ratio and setup.view_ratio is not None:
            wrong = ratio >= setup.view_ratio if setup.view == "side" else ratio <= setup.view_ratio
            if wrong:
                self.problem_kind = "view"
                return setup.view_text
        if not frame.visible:
            self.problem_kind = "visible"
            return setup.visible_text
        if not self._start_ok:
            if check_all(self.start, frame.values) is True:
                self._start_ok = True
            elif setup.start is not None:
                self.problem_kind = "start"
                return setup.start.text
        return None
