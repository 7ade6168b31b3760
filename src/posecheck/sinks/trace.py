"""Recording the session's poses: in memory (`PoseRecorderSink`) or as a landmark trace file
(`TraceRecorderSink`, ``--save-trace``), which `posecheck.sources.replay` plays back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from posecheck.core.pose import Pose
from posecheck.core.trace import Trace
from posecheck.engine.events import EngineState, Event, SessionSummary
from posecheck.runtime.protocols import SessionInfo

log = logging.getLogger(__name__)


class PoseRecorderSink:
    """Keeps every frame's ``(t, pose or None)`` in ``poses`` (the eval's baseline and variants use them)."""

    #: Only appends to its own list: may run on the session's worker thread.
    background_safe = True

    def __init__(self) -> None:
        self.poses: list[tuple[float, Pose | None]] = []
        self.info: SessionInfo | None = None

    def on_start(self, info: SessionInfo) -> None:
        self.info = info
        self.poses = []

    def on_frame(
        self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]
    ) -> None:
        self.poses.append((state.t, pose))

    def on_finish(self, summary: SessionSummary) -> None:
        """Nothing to close: the poses stay in memory."""


class TraceRecorderSink(PoseRecorderSink):
    """Records every frame's pose and saves them as a `Trace` (``--save-trace``) when the session ends.

    Args:
        path: the ``.npz`` file to write.
        meta: extra metadata stored in the trace (source name, model, version).
    """

    def __init__(self, path: str | Path, meta: dict | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.meta = dict(meta or {})

    def on_finish(self, summary: SessionSummary) -> None:
        assert self.info is not None, "on_start was not called"
        trace = Trace.from_poses(self.poses, self.info.frame_size, self.info.fps, self.meta)
        trace.save(self.path)
        log.info("saved trace %s (%d frames)", self.path, len(trace))
