"""Stand-ins for the session loop's parts (source, estimator, engine, sink), shared by the session tests.

Small and predictable, so that a test can say exactly what the loop must have done: frame i's pixels hold
i, a person is found in even frames only, and every frame with a person counts as a "rep".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posecheck.sources.video_file import VideoInfo
from posecheck.engine.events import EngineState, Gap, SessionSummary, TrackingLost
from posecheck.core.pose import NUM_LANDMARKS, Pose
from posecheck.runtime.session import StopSession

FPS = 10.0
SIZE = (64, 48)


def stand_in_pose(t: float) -> Pose:
    """A pose that moves with ``t``, so that a trace of it shows different values per frame."""
    lms = np.full((NUM_LANDMARKS, 5), 0.5, dtype=np.float32)
    lms[:, 0] = (t % 1.0) * 0.5 + 0.25
    return Pose(t, lms, None, SIZE)


class ListSource:
    """``n`` frames whose pixels hold their index (or no frames: ``frames=False``).

    Args:
        n: frames delivered.
        frames: False yields None instead of pictures (like a trace replay).
        announced: the frame count ``info`` claims (default ``n``).
        raise_at_index: (index, exception instance) raised when that frame is reached.
    """

    def __init__(self, n: int, *, frames: bool = True, announced: int | None = None, raise_at_index=None):
        self.n = n
        self.frames = frames
        self.raise_at = raise_at_index
        self.info = VideoInfo(Path("fake.mp4"), FPS, n if announced is None else announced, *SIZE)
        self.closed = False

    def __iter__(self):
        for i in range(self.n):
            if self.raise_at is not None and i == self.raise_at[0]:
                raise self.raise_at[1]
            frame = np.full((SIZE[1], SIZE[0], 3), i % 256, dtype=np.uint8) if self.frames else None
            yield i / FPS, frame

    def close(self):
        self.closed = True


class EveryOtherEstimator:
    """Finds a person in even frames only; keeps what it was given."""

    def __init__(self, needs_frames: bool = True):
        self.needs_frames = needs_frames
        self.given: list[object] = []

    def estimate(self, frame_rgb, t):
        self.given.append(frame_rgb)
        return stand_in_pose(t) if round(t * FPS) % 2 == 0 else None


class CountingEngine:
    """Counts frames with a pose as 'reps'; reports a TrackingLost event for the others.

    Args:
        end_events: what ``end`` returns (e.g. the HoldFinished of a hold still running).
    """

    def __init__(self, end_events: list | None = None):
        self.updates: list[tuple[float, bool]] = []
        self.end_events = list(end_events or [])
        self.ended_at: float | None = None
        self.finished_at: float | None = None
        self._reps = 0
        self._t = 0.0

    def update(self, t, pose):
        self.updates.append((t, pose is not None))
        self._t = t
        if pose is None:
            return [TrackingLost(t)]
        self._reps += 1
        return []

    @property
    def state(self):
        return EngineState(
            t=self._t, tracking=True, ready=True, not_ready_reason=None, phase=None, side=None, reps=self._reps,
            reps_by_side={}, target_reps=None, hold_seconds=None, hold_target=None, measures={}, cue=None,
        )

    def end(self, t_end):
        self.ended_at = t_end
        return self.end_events

    def finish(self, t_end):
        self.finished_at = t_end
        return SessionSummary("fake", self._reps, {}, [], [], [], [Gap(0.1, 0.2)])


class RecordingSink:
    """Records its calls: ("frame", pixel value or None, pose found, reps, event names), ("end", reps, event
    names), ("finish", reps); raises StopSession after ``stop_after`` frames."""

    def __init__(self, stop_after: int | None = None):
        self.calls: list[tuple] = []
        self.stop_after = stop_after

    def on_start(self, info):
        self.calls.append(("start", info))

    def on_frame(self, frame_bgr, pose, state, events):
        pixel = int(frame_bgr[0, 0, 0]) if frame_bgr is not None else None
        self.calls.append(("frame", pixel, pose is not None, state.reps, tuple(type(e).__name__ for e in events)))
        if self.stop_after is not None and sum(c[0] == "frame" for c in self.calls) >= self.stop_after:
            raise StopSession

    def on_end(self, state, events):
        self.calls.append(("end", state.reps, tuple(type(e).__name__ for e in events)))

    def on_finish(self, summary):
        self.calls.append(("finish", summary.reps))
