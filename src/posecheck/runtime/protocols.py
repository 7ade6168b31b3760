"""What the one loop (`posecheck.runtime.session.run_session`) and the things plugged into it agree on.

Sources, sinks and the pipeline's wrappers need these names without needing the loop itself, so they live
apart from it: `posecheck.runtime.pipeline` raises and catches `StopSession` for the sinks it runs in the
background, and the loop imports the pipeline. `posecheck.runtime.session` explains the call order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, SessionSummary


class StopSession(Exception):
    """Raised by a sink (or a source) to end the session normally, e.g. when the user closes the window."""


class SourceInfo(Protocol):
    """What a frame source knows about itself (`posecheck.sources.video_file.VideoInfo` satisfies it)."""

    path: Path
    fps: float
    frame_count: int  # 0 when unknown (cameras)
    width: int
    height: int


@runtime_checkable
class FrameSource(Protocol):
    """Frames in time order: ``(t seconds, frame (H, W, 3) uint8 BGR or None)``."""

    info: SourceInfo

    def __iter__(self) -> Iterator[tuple[float, np.ndarray | None]]: ...

    def close(self) -> None: ...


class Estimator(Protocol):
    """`posecheck.estimators.base.PoseEstimator`, as far as the loop needs it."""

    def estimate(self, frame_rgb: np.ndarray | None, t: float) -> Pose | None: ...


class Engine(Protocol):
    """`posecheck.engine.engine.Engine`, as far as the loop needs it."""

    def update(self, t: float, pose: Pose | None) -> list[Event]: ...

    @property
    def state(self) -> EngineState: ...

    def end(self, t_end: float) -> list[Event]: ...

    def finish(self, t_end: float) -> SessionSummary: ...


@dataclass(frozen=True)
class SessionInfo:
    """Given to every sink before the first frame.

    Attributes:
        exercise: the spec id.
        source: the source's path or name, for display.
        fps: frames per second of the source.
        frame_size: (width, height) in pixels.
        frame_count: frames the source says it has; 0 when unknown (a camera).
    """

    exercise: str
    source: str
    fps: float
    frame_size: tuple[int, int]
    frame_count: int


@runtime_checkable
class Sink(Protocol):
    """Receives the session as it happens. `posecheck.runtime.session` gives the call order."""

    def on_start(self, info: SessionInfo) -> None: ...

    def on_frame(
        self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]
    ) -> None: ...

    def on_finish(self, summary: SessionSummary) -> None: ...
