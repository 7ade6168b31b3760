"""Tracking gaps: stretches of frames without a pose, told apart from a detector's hiccup.

A frame without a pose is normal (the detector misses one now and then). Only a stretch of them lasting
``tracking.lost_after`` is lost tracking: ``TrackingLost`` is told once, ``TrackingRegained`` when a pose comes
back, and the stretch is kept as a `Gap` for the report. A person gone for ``tracking.reset_after`` may come back
anywhere, so the engine then starts the count's progress afresh (`resume` says when).

Pure module.
"""

from __future__ import annotations

from posecheck.engine.events import Event, Gap, TrackingRegained


class TrackingGaps:
    """Which frames had a pose, and the gaps between them, from the pose timestamps alone.

    Args:
        lost_after: seconds without a pose that make lost tracking (``tracking.lost_after``).
        reset_after: seconds without a pose after which the progress starts afresh (``tracking.reset_after``).
    """

    def __init__(self, lost_after: float, reset_after: float):
        self.lost_after = lost_after
        self.reset_after = reset_after
        self.t: float | None = None  # the latest frame's time, with a pose or not
        self.last_pose_t: float | None = None  # the latest frame with a pose
        self.gaps: list[Gap] = []
        self._lost_reported = False
        self._gap_start: float | None = None  # start of the current stretch without a pose
        self._gap_long = False  # that stretch has lasted lost_after

    @property
    def tracking(self) -> bool:
        """A person has been seen and is not lost now (a short stretch without a pose still counts as tracked)."""
        return self.last_pose_t is not None and not self._lost_reported

    @property
    def briefly_missing(self) -> bool:
        """The latest frames had no pose, but not yet for ``lost_after``, after a person had been seen."""
        return self._gap_start is not None and not self._gap_long and self.last_pose_t is not None

    def lost_by(self, t: float) -> bool:
        """The current stretch without a pose had lasted ``lost_after`` by ``t``: the person was not seen last."""
        return self._gap_start is not None and t - self._gap_start >= self.lost_after

    def missing(self, t: float) -> bool:
        """A frame without a pose at ``t``. True when this frame makes tracking lost (a person had been seen):
        the caller then tells ``TrackingLost``, once."""
        self.t = t
        if self._gap_start is None:
            self._gap_start = self.last_pose_t if self.last_pose_t is not None else t
        if not self._gap_long and t - self._gap_start >= self.lost_after:
            self._gap_long = True  # long enough to be a gap rather than a detector hiccup
            if self.last_pose_t is not None:
                self._lost_reported = True
                return True
        return False

    def resume(self, t: float, events: list[Event]) -> bool:
        """A frame with a pose at ``t``: ends a stretch without one (its `Gap` kept when it was long, and
        ``TrackingRegained`` told when tracking had been lost). True when no pose had been seen for
        ``reset_after``: the person may have moved anywhere, and the caller starts the progress afresh."""
        if self._gap_start is not None:
            if self._gap_long:
                self.gaps.append(Gap(self._gap_start, t))
            self._gap_start, self._gap_long = None, False
        if self._lost_reported:
            self._lost_reported = False
            events.append(TrackingRegained(t))
        gone_long = self.last_pose_t is not None and t - self.last_pose_t >= self.reset_after
        self.t = self.last_pose_t = t
        return gone_long

    def end(self, t: float) -> None:
        """The session ends at ``t``: a stretch without a pose that was (or by then is) lost tracking is a gap."""
        if self._gap_start is not None and (self._gap_long or t - self._gap_start >= self.lost_after):
            self.gaps.append(Gap(self._gap_start, t))
            self._gap_start, self._gap_long = None, False
