"""The live view frame by frame: the status kept across frames and each frame's immutable `LiveView`.

:class:`LiveOverlay` runs on the loop's thread: it follows the events (the setup became right, a hold ended),
measures the frame rate and makes one :class:`LiveView` per frame for every live output (the window, the
recording). A view is immutable, so the loop hands it to the window's GUI thread or the recorder's worker and
goes on with the next frame; its picture (`posecheck.sinks.live_render.draw_live_view`) is drawn once per size
(the window's, the recording's), by whichever of them asks first, and shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, HoldFinished, NotReady, Ready
from posecheck.runtime.controls import FrameRateMeter, LiveControls, LiveStatus
from posecheck.sinks.live_render import draw_live_view

#: How long the "counting" confirmation stays up after the setup became right (seconds of session time).
READY_BANNER_SECONDS = 3.0


@dataclass(frozen=True)
class LiveView:
    """One frame of the live view with everything needed to draw it, fixed when the loop's thread made it.

    Immutable, so the loop's thread can hand it to the window's GUI thread or the recorder's worker and go
    on with the next frame. Its picture is drawn once per size, by whichever of them asks first, and shared
    (a window as big as the frame and a recording do not draw it twice).

    Attributes:
        frame: (H, W, 3) uint8 BGR frame as captured (never mirrored, never written to).
        pose: the pose found in it, or None.
        state: the engine's state after this frame.
        spec: the `ExerciseSpec` being counted.
        status: the live status when the frame was seen (or when a key changed it while paused).
        captured_at: ``time.perf_counter()`` at which the source captured the frame; None when unknown.
    """

    frame: np.ndarray
    pose: Pose | None
    state: EngineState
    spec: Any
    status: LiveStatus
    captured_at: float | None = None
    # The pictures once drawn, by size; a view made by `replace` (another status) starts without any.
    _pictures: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, init=False, repr=False, compare=False)
    _picture_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def draw(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The (height, width, 3) uint8 BGR picture of this view at ``size`` (width, height; default the frame's
        size, as a recording has it), see :func:`draw_live_view`; drawn on the first call for that size.

        Safe from any thread; callers share the picture and must not write to it.
        """
        size = tuple(size) if size is not None else (self.frame.shape[1], self.frame.shape[0])
        with self._picture_lock:
            picture = self._pictures.get(size)
            if picture is None:
                picture = draw_live_view(self.frame, self.pose, self.state, self.spec, self.status, size,
                                         hint=self.status.hint)
                self._pictures[size] = picture
            return picture


class LiveOverlay:
    """Keeps the live status (frame rate, the "counting" confirmation, the last hold) and makes each frame's
    :class:`LiveView` for every live output (window, recording).

    Thread ownership: the loop's thread only. The window's GUI thread and the recorder's worker get
    immutable views and draw them there (each view once, see `LiveView.draw`), so no drawing touches the
    overlay's state.

    Args:
        spec: the exercise being counted.
        controls: mirroring and pause state.
    """

    def __init__(self, spec, controls: LiveControls) -> None:
        self.spec = spec
        self.controls = controls
        #: Frames the loop processed per second (the window may show fewer if it falls behind).
        self.meter = FrameRateMeter()
        self._counting_since: float | None = None
        self._last_hold_seconds: float | None = None
        self.latest: LiveView | None = None

    def view_of(self, frame: np.ndarray | None, pose: Pose | None, state: EngineState,
                events: list[Event]) -> LiveView | None:
        """The frame's view: the first sink to ask makes it (:meth:`observe`), the others get the same one."""
        if frame is not None and self.latest is not None and self.latest.frame is frame:
            return self.latest
        self.observe(frame, pose, state, events)
        return self.latest if frame is not None else None

    def observe(self, frame: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        """Takes note of a new frame (once per frame) and makes its view (``latest``)."""
        self.meter.tick()
        for event in events:
            if isinstance(event, Ready):
                self._counting_since = event.t
            elif isinstance(event, NotReady):
                self._counting_since = None
            elif isinstance(event, HoldFinished):
                self._last_hold_seconds = event.hold.seconds
        if self._counting_since is not None and state.t - self._counting_since > READY_BANNER_SECONDS:
            self._counting_since = None
        if frame is not None:
            captured_at = getattr(self.controls.source, "captured_at", None)
            self.latest = LiveView(frame, pose, state, self.spec, self.status(), captured_at)

    def status(self) -> LiveStatus:
        return LiveStatus(
            fps=self.meter.fps,
            mirror=self.controls.mirror,
            paused=self.controls.paused,
            counting_since=self._counting_since,
            last_hold_seconds=self._last_hold_seconds,
            hint=self.controls.keys_help,
        )

    def refreshed(self) -> LiveView | None:
        """The latest frame's view again with the current status (after a key: pause, mirror, reset), and
        after a reset with the new engine's state."""
        if self.latest is None:
            return None
        state = self.controls.engine.state if self.controls.engine is not None else self.latest.state
        self.latest = replace(self.latest, state=state, status=self.status())
        return self.latest
