"""The live coaching view: a camera (or a video played like one) through the session loop, shown as it happens.

Everything here plugs into :func:`posecheck.runtime.session.run_session`, the one frame loop:

- the sources are :class:`posecheck.sources.capture.CameraSource` and :class:`posecheck.sources.capture.PacedFileSource`
  (a reader thread hands over the newest frame, so the camera never waits for inference or drawing);
- :class:`WindowSink` shows the annotated frame in a window and turns keys into :class:`LiveControls`
  actions (quit, pause, reset, mirror); closing the window quits;
- :class:`TerminalSink` is the ``--headless`` view: the count and the cues on stderr;
- :class:`RecordingSink` saves the annotated session as a video that keeps real time;
- :class:`ResettableEngine` lets the user start the count afresh ("r") without restarting.

The overlay is `posecheck.sinks.render.annotate` (skeleton, measured values, panel, setup/cue banner) plus what
only a live view needs: a big counter, the target, a hold ring, the frame rate, a "counting" confirmation
when the setup becomes right, and the paused screen (:func:`draw_live_view`).

Threads: the sinks are called on the loop's thread, which owns the engine, the controls and the overlay's
status, and applies every key there. What costs time per frame runs elsewhere on immutable `LiveView`
snapshots: the window is drawn and shown on the process's one GUI thread (`posecheck.sinks.gui`: OpenCV's windows
must stay on one thread), the recording is drawn and encoded on its own worker thread.

However the session ends (a key, the window closed, Ctrl-C, the video or the camera ending), the loop
finishes normally and the caller saves the report: nothing the user did is lost.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as WaitTimeout  # not the builtin TimeoutError before Python 3.11
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Protocol

import cv2
import numpy as np

from posecheck.sinks import render
from posecheck.runtime import stopping
from posecheck.engine.events import (
    Cue,
    EngineState,
    Event,
    HoldFinished,
    HoldStarted,
    NotReady,
    Ready,
    RepCompleted,
    SessionSummary,
    TrackingLost,
    TrackingRegained,
)
from posecheck.errors import DisplayError, InputError
from posecheck.sinks.gui import GuiThread, LatestSlot, OpenCvWindow, gui_thread
from posecheck.runtime.pipeline import BackgroundWorker, StageTimes
from posecheck.core.pose import X, Pose
from posecheck.runtime.session import SessionInfo, StopSession
from posecheck.specs.labels import phase_label

log = logging.getLogger(__name__)

#: Title of the live window (tests and window managers find it by this name).
WINDOW_NAME = "posecheck live"
#: The window opens no bigger than this (width, height in pixels) and keeps the frame's aspect ratio;
#: a portrait 720x1280 phone clip would otherwise open taller than a laptop screen.
WINDOW_MAX_SIZE = (1280, 860)
#: How long the "counting" confirmation stays up after the setup became right (seconds of session time).
READY_BANNER_SECONDS = 3.0
#: ... and sits at this fraction of the frame height (below the body's middle, above the cue banner).
READY_BANNER_HEIGHT = 0.72
#: The terminal status line is rewritten at most this often (seconds): faster is unreadable flicker.
STATUS_INTERVAL_S = 0.2
#: The frame-rate readout averages over roughly this many seconds.
FPS_WINDOW_S = 1.0

QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27 = Esc
PAUSE_KEYS = frozenset({ord(" ")})
RESET_KEYS = frozenset({ord("r"), ord("R")})
MIRROR_KEYS = frozenset({ord("m"), ord("M")})
KEYS_HELP = "q quit, space pause, r reset, m mirror"

# Colours are BGR, chosen to sit beside posecheck.sinks.render's palette.
COUNTER_COLOUR = (120, 230, 60)  # green: the count, the hold ring's progress, "counting"
COUNTER_WAITING_COLOUR = (170, 170, 170)  # grey: the count while the setup is not right yet
RING_TRACK_COLOUR = (90, 90, 90)
#: The big counter is never wider than this fraction of the frame, so it leaves room for the left panel.
COUNTER_MAX_WIDTH = 0.4
READY_COLOUR = (60, 150, 40)  # dark green banner
PAUSED_DIM = 0.45  # the paused frame is darkened to this fraction of its brightness
# Sizes at posecheck.sinks.render's reference frame (480 px short side); they scale with the frame like render's.
BASE_COUNTER_FONT_SCALE = 2.4
BASE_COUNTER_THICKNESS = 5
BASE_RING_RADIUS = 38
BASE_RING_THICKNESS = 8


# ------------------------------------------------------------------------------------------------ display


def gui_backend() -> str:
    """The GUI OpenCV was built with, from its build information ("QT5", "GTK3", "WIN32UI", ... or "NONE")."""
    for line in cv2.getBuildInformation().splitlines():
        name, _, value = line.strip().partition(":")
        if name == "GUI":
            return value.strip() or "NONE"
    return "NONE"


def window_problem() -> str | None:
    """Why no window can be opened here, or None when one can.

    OpenCV's Qt build aborts the whole process (SIGABRT, uncatchable) when it cannot reach a display, so
    this is checked before any window is created: first the environment (quick, precise messages), then
    by opening a window in a throw-away child process, which may die instead of us.
    """
    gui = gui_backend().upper()
    if gui == "NONE":
        return "this OpenCV was built without GUI support (opencv-python-headless?)"
    if (sys.platform.startswith("linux") or "bsd" in sys.platform) and not os.environ.get("DISPLAY"):
        if not os.environ.get("WAYLAND_DISPLAY"):
            return "no display (DISPLAY is not set)"
        if gui.startswith("QT"):
            # The Qt inside the opencv wheels has only the X (xcb) platform plugin.
            return "no X display: OpenCV's window needs X (XWayland), but only WAYLAND_DISPLAY is set"
    return _probe_window()


def _probe_window() -> str | None:
    """Opens and closes a window in a child process: None if that works, else why not (from its stderr)."""
    code = (
        "import cv2\n"
        "cv2.namedWindow('posecheck display check', cv2.WINDOW_NORMAL)\n"
        "cv2.destroyAllWindows()\n"
    )
    try:
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not test the display: {exc}"
    if child.returncode == 0:
        return None
    lines = [line.strip() for line in child.stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "could not connect to display" in line), lines[0] if lines else "")
    return f"cannot open a window on display {os.environ.get('DISPLAY', '')!r}" + (f" ({reason})" if reason else "")


def require_display() -> None:
    """Raises DisplayError (one line, suggesting --headless) when no window can be opened."""
    problem = window_problem()
    if problem is not None:
        raise DisplayError(f"{problem}; use --headless to follow the count in the terminal")


# ------------------------------------------------------------------------------------------------ controls


class ControllableSource(Protocol):
    """What the live controls need from a source (both live sources in `posecheck.sources.capture` have it)."""

    def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class ResettableEngine:
    """An engine the user can restart ("r"): the count starts again from zero, the session goes on.

    Wraps a fresh `Engine` made by ``make_engine``; the session loop sees one engine. The report covers
    what was counted since the last reset; ``discarded`` keeps the summaries of the sets before it, so
    the CLI can say what was left out.

    Args:
        make_engine: returns a new engine for the exercise (e.g. ``lambda: Engine(spec)``).
    """

    def __init__(self, make_engine: Callable[[], Any]) -> None:
        self._make_engine = make_engine
        self._engine = make_engine()
        self._last_t = 0.0
        self.discarded: list[SessionSummary] = []

    def update(self, t: float, pose: Pose | None) -> list[Event]:
        self._last_t = t
        return self._engine.update(t, pose)

    @property
    def state(self) -> EngineState:
        return self._engine.state

    def end(self, t_end: float) -> list[Event]:
        return self._engine.end(t_end)

    def finish(self, t_end: float) -> SessionSummary:
        return self._engine.finish(t_end)

    def reset(self) -> None:
        """Closes the current count (kept in ``discarded``) and starts a new engine."""
        self.discarded.append(self._engine.finish(self._last_t))
        self._engine = self._make_engine()
        log.info("count reset at %.1f s (%d reps set aside)", self._last_t, self.discarded[-1].reps)


@dataclass
class LiveControls:
    """What the keys act on, and how the session ended.

    Attributes:
        source: paused, resumed and stopped by the keys and by Ctrl-C.
        engine: reset by "r" (None: reset unavailable).
        mirror: whether the view is shown mirrored (a selfie view for a camera); the estimator and the
            engine always get the unmirrored frame, so mirroring never changes a count.
        ended_by: why the session ended, for the summary ("q key", "window closed", "Ctrl-C", ...);
            None while running or when the source simply ended.
    """

    source: ControllableSource
    engine: ResettableEngine | None = None
    mirror: bool = False
    paused: bool = False
    ended_by: str | None = None

    def stop(self, reason: str) -> None:
        if self.ended_by is None:
            self.ended_by = reason
        self.source.stop()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.source.pause()
        else:
            self.source.resume()

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()

    def toggle_mirror(self) -> None:
        self.mirror = not self.mirror


@contextmanager
def stop_on_signals(controls: LiveControls) -> Iterator[None]:
    """Ctrl-C (SIGINT), SIGTERM and SIGHUP end the session like the "q" key: the loop finishes, the report is
    saved, and the command exits with the signal's code (`posecheck.runtime.stopping`, which records it).

    The handler only asks the source to stop, so the frame in hand is finished cleanly (no exception in
    the middle of an engine update). A second Ctrl-C interrupts at once (KeyboardInterrupt), for a loop
    that is stuck. A signal ignored when the session starts (``nohup``) stays ignored. Handlers are
    restored on exit. Only the main thread may install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in stopping.STOP_SIGNALS}

    def handle(signum: int, frame: object) -> None:
        if controls.ended_by is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stopping.record(signum)
        controls.stop(stopping.describe(signum))

    try:
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, handle)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ------------------------------------------------------------------------------------------------ overlay


class FrameRateMeter:
    """Frames per second over a sliding window of about ``window_s`` seconds of wall-clock time."""

    def __init__(self, window_s: float = FPS_WINDOW_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self.window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def tick(self) -> None:
        now = self._clock()
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window_s:
            self._times.popleft()

    @property
    def fps(self) -> float | None:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


@dataclass(frozen=True)
class LiveStatus:
    """What the live view shows beside the engine's state.

    Attributes:
        fps: frames the loop processed per second, None until measured.
        mirror: draw the frame mirrored (left-right flipped).
        paused: draw the paused screen.
        counting_since: session time (s) at which the setup last became right, while the "counting"
            confirmation should show; None otherwise.
        last_hold_seconds: counted seconds of the last finished hold, None before the first.
    """

    fps: float | None = None
    mirror: bool = False
    paused: bool = False
    counting_since: float | None = None
    last_hold_seconds: float | None = None


def flipped_pose(pose: Pose) -> Pose:
    """The pose drawn on a mirrored frame: x flipped, landmark identities kept.

    Unlike `Pose.mirrored` the left/right labels are not swapped: the person's left arm is still their
    left arm (and keeps its colour), it just appears on the other side of a selfie view.
    """
    landmarks = pose.landmarks.copy()
    landmarks[:, X] = 1.0 - landmarks[:, X]
    return replace(pose, landmarks=landmarks)


def counts_seconds(spec) -> bool:
    """True for hold exercises (a plank): the big number is the seconds held, not a rep count."""
    return spec.reps is None and spec.hold is not None


def target_text(spec) -> str | None:
    """The goal under the big number: "of 10 slow reps", "10 each side", "of 20 s", or None."""
    target = spec.target
    if target.reps:
        slow = " slow" if spec.tempo is not None and spec.tempo.rep is not None and spec.tempo.rep.min else ""
        return f"{target.reps} each side" if target.per_side else f"of {target.reps}{slow} reps"
    if target.seconds:
        return f"of {target.seconds:.0f} s" + (" each side" if target.per_side else "")
    return None


def counter_text(state: EngineState, spec, last_hold_seconds: float | None = None) -> str:
    """The big number: the count, "L 3  R 2" for exercises counted per side, or the seconds held ("12s")
    for hold exercises (the running hold, else the last one)."""
    if counts_seconds(spec):
        held = state.hold_seconds if state.hold_seconds is not None else (last_hold_seconds or 0.0)
        return f"{held:.0f}s"
    if state.reps_by_side:
        return render.per_side_text(state.reps_by_side)
    return str(state.reps)


def draw_live_view(
    frame: np.ndarray, pose: Pose | None, state: EngineState, spec, status: LiveStatus
) -> np.ndarray:
    """The live window's picture: `posecheck.sinks.render.annotate` plus the live elements.

    Args:
        frame: (H, W, 3) uint8 BGR frame as captured (never mirrored).
        pose: the pose found in it, or None.
        state: the engine's state after this frame.
        spec: the `ExerciseSpec` being counted.
        status: frame rate, mirroring, pause and the "counting" confirmation.

    Returns:
        A new (H, W, 3) uint8 BGR image; ``frame`` is not modified.
    """
    if status.mirror:
        image = cv2.flip(frame, 1)
        pose = flipped_pose(pose) if pose is not None else None
    else:
        image = frame.copy()
    render.annotate(image, pose, state, spec, copy=False)
    style = render.Style.for_frame(image.shape[1], image.shape[0])
    counter_bottom = _draw_counter(image, counter_text(state, spec, status.last_hold_seconds), state, spec, style)
    ring_bottom = _draw_hold_ring(image, state, spec, style, top=counter_bottom)
    _draw_fps(image, status.fps, style, top=ring_bottom)
    if status.counting_since is not None and state.ready and state.tracking:
        _draw_ready_banner(image, style)
    if status.paused:
        _draw_paused(image, style)
    return image


@lru_cache(maxsize=64)  # the count, the target, "Paused": the same few texts frame after frame
def _text_size(text: str, font_scale: float, thickness: int) -> tuple[int, int, int]:
    """(width, height, baseline) in pixels of ``text`` in render's font."""
    (w, h), baseline = cv2.getTextSize(text, render.FONT, font_scale, thickness)
    return w, h, baseline


def _put(image: np.ndarray, text: str, org: tuple[int, int], font_scale: float, colour, thickness: int) -> None:
    cv2.putText(image, text, org, render.FONT, font_scale, colour, thickness, cv2.LINE_AA)


def _draw_counter(image: np.ndarray, big: str, state: EngineState, spec, style: render.Style) -> int:
    """Top-right box: the big number and the target under it. Returns the box's bottom y."""
    small = target_text(spec) or ""
    big_thick = max(2, round(BASE_COUNTER_THICKNESS * style.scale))
    # As big as a glance needs, but never wider than COUNTER_MAX_WIDTH of the frame ("L 12  R 11").
    unit_width = _text_size(big, 1.0, big_thick)[0]
    big_scale = min(BASE_COUNTER_FONT_SCALE * style.scale, COUNTER_MAX_WIDTH * image.shape[1] / max(unit_width, 1))
    small_scale, small_thick = 0.55 * style.scale, style.thickness
    bw, bh, bbase = _text_size(big, big_scale, big_thick)
    sw, sh, sbase = _text_size(small, small_scale, small_thick) if small else (0, 0, 0)
    pad = style.margin
    box_w = max(bw, sw) + 2 * pad
    box_h = bh + bbase + (sh + sbase + pad // 2 if small else 0) + 2 * pad
    right = image.shape[1] - style.margin
    left, top = right - box_w, style.margin
    cv2.rectangle(image, (left, top), (right, top + box_h), render.PANEL_COLOUR, -1)
    colour = COUNTER_COLOUR if state.ready and state.tracking else COUNTER_WAITING_COLOUR
    _put(image, big, (right - pad - bw, top + pad + bh), big_scale, colour, big_thick)
    if small:
        _put(image, small, (right - pad - sw, top + pad + bh + bbase + pad // 2 + sh), small_scale,
             render.TEXT_COLOUR, small_thick)
    return top + box_h


def _draw_hold_ring(image: np.ndarray, state: EngineState, spec, style: render.Style, *, top: int) -> int:
    """A ring that fills as the hold's counted seconds reach the target. Returns the bottom y used."""
    if spec.hold is None and state.hold_seconds is None:
        return top
    radius = round(BASE_RING_RADIUS * style.scale)
    thickness = max(3, round(BASE_RING_THICKNESS * style.scale))
    centre = (image.shape[1] - style.margin - radius - thickness, top + style.margin + radius + thickness)
    cv2.circle(image, centre, radius + thickness, render.PANEL_COLOUR, -1, cv2.LINE_AA)
    cv2.circle(image, centre, radius, RING_TRACK_COLOUR, thickness, cv2.LINE_AA)
    seconds = state.hold_seconds or 0.0
    target = state.hold_target or spec.target.seconds  # None or 0: no target, the ring stays empty
    if target:
        sweep = 360.0 * min(seconds / target, 1.0)
        if sweep > 0:
            cv2.ellipse(image, centre, (radius, radius), -90.0, 0.0, sweep, COUNTER_COLOUR, thickness, cv2.LINE_AA)
    label = f"{seconds:.0f}s"
    font_scale = 0.8 * style.scale
    w, h, _ = _text_size(label, font_scale, style.thickness)
    _put(image, label, (centre[0] - w // 2, centre[1] + h // 2), font_scale, render.TEXT_COLOUR, style.thickness)
    return centre[1] + radius + thickness


def _draw_fps(image: np.ndarray, fps: float | None, style: render.Style, *, top: int) -> None:
    """The frame rate, small, on its own dark strip under the counter (readable on any background)."""
    if fps is None:
        return
    label = f"{fps:.0f} fps"
    font_scale = 0.45 * style.scale
    w, h, base = _text_size(label, font_scale, 1)
    right = image.shape[1] - style.margin
    top += style.margin // 2
    pad = max(2, style.margin // 2)
    cv2.rectangle(image, (right - w - 2 * pad, top), (right, top + h + base + 2 * pad), render.PANEL_COLOUR, -1)
    _put(image, label, (right - w - pad, top + pad + h), font_scale, render.TEXT_COLOUR, 1)


def _draw_ready_banner(image: np.ndarray, style: render.Style) -> None:
    """"Counting" confirmation: a short-lived strip in the lower part, clear of the panels and the banner."""
    text = "You're set - counting now"
    font_scale = 0.7 * style.scale
    w, h, base = _text_size(text, font_scale, style.thickness)
    x = max(style.margin, (image.shape[1] - w) // 2)
    y = round(image.shape[0] * READY_BANNER_HEIGHT)
    cv2.rectangle(image, (x - style.margin, y - h - style.margin), (x + w + style.margin, y + base + style.margin),
                  READY_COLOUR, -1)
    _put(image, text, (x, y), font_scale, render.TEXT_COLOUR, style.thickness)


def _draw_paused(image: np.ndarray, style: render.Style) -> None:
    image[:] = (image * PAUSED_DIM).astype(np.uint8)
    lines = [("Paused", 1.6), ("space: resume   q: quit", 0.6)]
    y = image.shape[0] // 2
    for text, size in lines:
        font_scale = size * style.scale
        thickness = max(1, round(size * 2 * style.scale))
        w, h, base = _text_size(text, font_scale, thickness)
        _put(image, text, ((image.shape[1] - w) // 2, y), font_scale, render.TEXT_COLOUR, thickness)
        y += h + base + 2 * style.margin


def starting_screen(frame_size: tuple[int, int]) -> np.ndarray:
    """A dark (H, W, 3) BGR picture saying the view is starting, shown until the first frame is ready."""
    width, height = frame_size
    image = np.full((height, width, 3), render.PANEL_COLOUR, np.uint8)
    style = render.Style.for_frame(width, height)
    text = "Starting the camera view..."
    font_scale = 0.7 * style.scale
    w, h, _ = _text_size(text, font_scale, style.thickness)
    _put(image, text, (max(style.margin, (width - w) // 2), (height + h) // 2), font_scale, render.TEXT_COLOUR,
         style.thickness)
    return image


@dataclass(frozen=True)
class LiveView:
    """One frame of the live view with everything needed to draw it, fixed when the loop's thread made it.

    Immutable, so the loop's thread can hand it to the window's GUI thread or the recorder's worker and go
    on with the next frame. Its picture is drawn once, by whichever of them asks first, and shared: with a
    window and a recording, each frame is not drawn twice.

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
    # The picture once drawn; a view made by `replace` (another status) starts without one.
    _picture: list[np.ndarray] = field(default_factory=list, init=False, repr=False, compare=False)
    _picture_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def draw(self) -> np.ndarray:
        """The (H, W, 3) uint8 BGR picture of this view (see :func:`draw_live_view`), drawn on the first call.

        Safe from any thread; callers share the picture and must not write to it.
        """
        with self._picture_lock:
            if not self._picture:
                self._picture.append(draw_live_view(self.frame, self.pose, self.state, self.spec, self.status))
            return self._picture[0]


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
        )

    def refreshed(self) -> LiveView | None:
        """The latest frame's view again with the current status (after a key: pause, mirror, reset), and
        after a reset with the new engine's state."""
        if self.latest is None:
            return None
        state = self.controls.engine.state if self.controls.engine is not None else self.latest.state
        self.latest = replace(self.latest, state=state, status=self.status())
        return self.latest


# ------------------------------------------------------------------------------------------------ sinks

#: When no new frame comes (paused, or the loop busy), the window is still repainted and read for keys, and
#: a paused loop checks for keys, this often (milliseconds).
WINDOW_POLL_MS = 50
#: How long the loop waits for the GUI thread to open the window before giving up (seconds). Opening the
#: first window starts Qt, which takes a second or two on a busy machine; a GUI thread that does not answer
#: at all is stuck (in a window of an earlier session) and would hang the session instead.
WINDOW_OPEN_TIMEOUT_S = 30.0
#: How long ending the session waits for the window to close before leaving it to the process's exit (seconds).
WINDOW_CLOSE_TIMEOUT_S = 5.0
#: What the GUI thread hands the loop when the user closed the window (keys are 0-255).
WINDOW_CLOSED = -2
#: Frames that may wait for the recorder's worker (drawing and encoding); every frame is recorded.
RECORD_QUEUE_DEPTH = 4


class WindowBackend(Protocol):
    """The window as the display loop uses it (`posecheck.sinks.gui.OpenCvWindow`; tests pass a stand-in).

    Every call is made on the GUI thread.
    """

    def open(self, size: tuple[int, int], title: str | None = None) -> None: ...

    def show(self, image: np.ndarray) -> None: ...

    def poll_key(self, wait_ms: int) -> int: ...

    def is_closed(self) -> bool: ...

    def close(self) -> None: ...


class WindowSink:
    """Shows the live view in a window and handles its keys; raises `StopSession` to end the session.

    Two threads share the work, and each owns its part:

    - the loop's thread (``on_start``, ``on_frame``, ``on_finish``) makes each frame's `LiveView` and hands
      it over in a newest-wins slot, then goes back to inference at once. It alone applies the keys (stop,
      pause, reset, mirror): the engine and the controls are not thread-safe, and the loop is using them.
      While paused it waits here, inside ``on_frame``, so the session is frozen;
    - the process's GUI thread (`posecheck.sinks.gui`) runs the display loop: draws the newest view, shows it,
      polls the window (repaint, keys, close) and queues what the user did for the loop's thread. A view
      the loop replaced before it was drawn is skipped: showing it late would only add latency.

    Call :func:`require_display` first: creating a window without a display aborts the process.

    Args:
        overlay: makes the frames' views (shared with a `RecordingSink`).
        controls: what the keys act on.
        max_size: the window opens no bigger than this (width, height), keeping the aspect ratio.
        window: the window to show in; default an OpenCV window named `WINDOW_NAME`.
        gui: the thread to run the window on; default the process's GUI thread (the only one that may
            make OpenCV window calls; a stand-in window may run on another).
    """

    def __init__(self, overlay: LiveOverlay, controls: LiveControls, max_size: tuple[int, int] = WINDOW_MAX_SIZE,
                 *, window: WindowBackend | None = None, gui: GuiThread | None = None) -> None:
        self.overlay = overlay
        self.controls = controls
        self.max_size = max_size
        self._window = window if window is not None else OpenCvWindow(WINDOW_NAME)
        self._gui = gui
        self._views: LatestSlot[LiveView] = LatestSlot()  # loop's thread -> GUI thread, newest wins
        # GUI thread -> loop's thread: keys, WINDOW_CLOSED. A Queue, not a SimpleQueue: the paused loop waits
        # on it with a timeout on the main thread, where Ctrl-C's handler runs, and on CPython 3.11 a
        # SimpleQueue.get(timeout=...) whose handler runs past the timeout then waits forever.
        self._inputs: queue.Queue[int] = queue.Queue()
        self._display: Future[None] | None = None
        self._display_error_raised = False
        #: Frames shown, each counted once however often a key had it redrawn (written by the GUI thread).
        self.frames_shown = 0
        #: Seconds from capture to the frame being on screen, under "capture to screen", per frame shown (when
        #: the source says). Bounded: a count and a total of every frame, the percentiles of the latest ones.
        self.latency = StageTimes()

    @property
    def frames_skipped(self) -> int:
        """Views the loop replaced before the GUI thread could show them."""
        return self._views.dropped

    # ------------------------------------------------------------------ the loop's thread

    def on_start(self, info: SessionInfo) -> None:
        width, height = info.frame_size
        fit = min(1.0, self.max_size[0] / width, self.max_size[1] / height)
        size = (max(1, round(width * fit)), max(1, round(height * fit)))
        title = f"posecheck live - {info.exercise}   ({KEYS_HELP})"
        gui = self._gui if self._gui is not None else gui_thread()
        try:
            gui.call(self._open, size, title, starting_screen(info.frame_size), timeout=WINDOW_OPEN_TIMEOUT_S)
        except WaitTimeout:
            raise DisplayError(f"the window did not open within {WINDOW_OPEN_TIMEOUT_S:.0f} s") from None
        self._display = gui.start(self._display_loop)

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        self._raise_display_error()
        changed = self._apply_inputs()  # what the user did since the last frame
        view = self.overlay.view_of(frame_bgr, pose, state, events)
        if changed:  # the view may have been made before the keys (by the recording): show their effect now
            view = self.overlay.refreshed()
        if view is not None:
            self._views.put(view)
        # Paused: the session waits here; the GUI thread keeps the window painted and reading keys.
        while self.controls.paused and self.controls.ended_by is None:
            if self._apply_inputs(wait_s=WINDOW_POLL_MS / 1000):
                view = self.overlay.refreshed()
                if view is not None:
                    self._views.put(view)
            self._raise_display_error()
        if self.controls.ended_by is not None:
            raise StopSession(self.controls.ended_by)

    def _apply_inputs(self, wait_s: float = 0.0) -> bool:
        """Applies the keys (and a window close) the GUI thread queued, waiting up to ``wait_s`` for the first.

        Returns:
            True when a key changed the picture (pause, mirror, reset).
        """
        changed = False
        try:
            pressed = self._inputs.get(timeout=wait_s) if wait_s > 0 else self._inputs.get_nowait()
            while True:
                if pressed == WINDOW_CLOSED:
                    self.controls.stop("window closed")
                else:
                    changed |= self._handle_key(pressed)
                pressed = self._inputs.get_nowait()
        except queue.Empty:
            pass
        return changed

    def _handle_key(self, key: int) -> bool:
        """Acts on one key; True if the picture changes."""
        if key in QUIT_KEYS:
            self.controls.stop("Esc key" if key == 27 else "q key")
        elif key in PAUSE_KEYS:
            self.controls.toggle_pause()
        elif key in RESET_KEYS:
            self.controls.reset()
        elif key in MIRROR_KEYS:
            self.controls.toggle_mirror()
        else:
            return False
        return key not in QUIT_KEYS

    def _raise_display_error(self) -> None:
        """Raises, once, the error that ended the display loop (a drawing bug, an OpenCV error)."""
        display = self._display
        if display is not None and display.done() and not self._display_error_raised:
            error = display.exception()
            if error is not None:
                self._display_error_raised = True
                raise error

    def on_finish(self, summary: SessionSummary) -> None:
        # Never raises: the sinks after this one (a recording) must still be finished.
        self._views.close()  # the display loop closes the window and returns
        display, self._display = self._display, None
        if display is not None:
            try:
                error = display.exception(timeout=WINDOW_CLOSE_TIMEOUT_S)
            except WaitTimeout:
                log.warning("the live window did not close within %.0f s", WINDOW_CLOSE_TIMEOUT_S)
            else:
                if error is not None and not self._display_error_raised:
                    log.error("the live window failed: %s", error)
        log.info("shown %d frames (%d skipped: the window fell behind the loop)", self.frames_shown,
                 self.frames_skipped)
        latency = self.latency.summary().get("capture to screen")
        if latency is not None:
            log.info("capture to screen %.0f ms median, %.0f ms at the 95th percentile", latency.median_ms,
                     latency.p95_ms)

    # ------------------------------------------------------------------ the GUI thread

    def _open(self, size: tuple[int, int], title: str, first_image: np.ndarray) -> None:
        self._window.open(size, title)
        # Something to look at at once: the first frame still has the model's warm-up ahead of it.
        self._window.show(first_image)
        self._window.poll_key(1)

    def _display_loop(self) -> None:
        """Shows the newest view until the session ends (the slot is closed) or the user closes the window."""
        last_frame = None
        try:
            while not self._views.closed:
                view = self._views.take(timeout=WINDOW_POLL_MS / 1000)
                if view is not None:
                    self._window.show(view.draw())
                key = self._window.poll_key(1)  # the window repaints here
                if view is not None and view.frame is not last_frame:  # not a redraw after a key
                    last_frame = view.frame
                    self.frames_shown += 1
                    if view.captured_at is not None:
                        self.latency.add("capture to screen", time.perf_counter() - view.captured_at)
                if key != -1:
                    self._inputs.put(key)
                if self._window.is_closed():
                    # Show nothing more: imshow would open the window again.
                    self._inputs.put(WINDOW_CLOSED)
                    return
        finally:
            self._window.close()


class RecordingSink:
    """Saves the annotated live view as a video (``--record``), keeping real time.

    A live loop shows fewer frames than the camera delivers when it falls behind; writing them one to one
    would play back too fast. Each frame is written as many times as needed to keep the video's clock
    (frame k at k / fps) with the session's, so a minute of session is a minute of video.

    Threads: the loop's thread gets each frame's `LiveView` from the overlay and decides how many times to
    write it; a worker thread (``posecheck-record``) draws and encodes it, while the loop goes on with the
    next frame. The worker touches only the immutable view and its own video file. Every frame is written
    (a bounded queue: the loop waits if the worker falls behind).

    Args:
        path: output file; ``.mp4`` is written in H.264 through PyAV (browsers and phones play it; OpenCV's
            pip wheels have no H.264 encoder), or with OpenCV's ``mp4v`` when PyAV's encoder is missing;
            ``.avi`` with MJPG.
        overlay: the same overlay the window uses (one view per frame for both).
    """

    def __init__(self, path: str | Path, overlay: LiveOverlay) -> None:
        self.path = Path(path)
        self.overlay = overlay
        self._writer = None
        self._worker: BackgroundWorker | None = None
        self._fps = 0.0
        self._t0: float | None = None
        self._frames_queued = 0  # loop's thread
        #: Frames written to the file (by the worker; final after on_finish).
        self.frames_written = 0
        #: Why the recording stopped early ("Type: message"), or None. A failed write stops the recording,
        #: not the session: the file keeps the frames before it, and the count and report go on.
        self.failure: str | None = None

    def on_start(self, info: SessionInfo) -> None:
        from posecheck.sinks.h264 import open_recording_writer

        fourcc = "MJPG" if self.path.suffix.lower() == ".avi" else "mp4v"
        self._fps = info.fps
        self._writer = open_recording_writer(self.path, info.fps, info.frame_size, fourcc)
        if self._writer is None:
            raise InputError(f"cannot write video {self.path} (codec {fourcc})")
        self._worker = BackgroundWorker(RECORD_QUEUE_DEPTH, name="posecheck-record")

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        if self._worker is None or frame_bgr is None or self.failure is not None:
            return
        view = self.overlay.view_of(frame_bgr, pose, state, events)
        if self._t0 is None:
            self._t0 = state.t
        due = int(round((state.t - self._t0) * self._fps)) + 1  # frames the video should hold by now
        copies = max(1, due - self._frames_queued)
        self._frames_queued += copies
        try:
            self._worker.submit(self._write, view, copies)  # raises an earlier write's error
        except Exception as exc:  # noqa: BLE001 - the count matters more than the video: the session goes on
            self._stop_recording(exc)

    def _stop_recording(self, error: Exception) -> None:
        self.failure = f"{type(error).__name__}: {error}"
        log.error("the recording stopped after %d frames (%s); the session goes on without it",
                  self.frames_written, self.failure)

    def _write(self, view: LiveView, copies: int) -> None:
        """On the worker: draws the view and writes it ``copies`` times."""
        image = view.draw()
        for _ in range(copies):
            self._writer.write(image)
            self.frames_written += 1

    def on_finish(self, summary: SessionSummary) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        try:
            worker.flush()  # raises a failed write not raised yet
        except Exception as exc:  # noqa: BLE001 - kept in `failure`, for the caller to report
            if self.failure is None:
                self._stop_recording(exc)
        finally:
            worker.call(self._release)
            worker.close()
        if self.failure is None:
            log.info("saved the session video %s (%d frames)", self.path, self.frames_written)

    def _release(self) -> None:
        self._writer.release()
        self._writer = None


@dataclass
class TerminalSink:
    """The ``--headless`` view: the count, phase and cues on a terminal (stderr by default).

    On a terminal one status line is rewritten in place and events (reps, cues, setup guidance) are
    printed above it; when the stream is not a terminal (a log file, a pipe) only the events are printed,
    one plain line each.

    Args:
        spec: the exercise being counted.
        stream: where to write; None (default) writes to whatever ``sys.stderr`` is at the time, so that
            ``--json -`` keeps stdout for the report and a redirected stderr is followed.
        interactive: rewrite a status line in place; default: whether ``stream`` is a terminal.
        clock: wall clock for rate-limiting the status line.
    """

    spec: Any
    stream: IO[str] | None = None
    interactive: bool | None = None
    clock: Callable[[], float] = time.perf_counter
    meter: FrameRateMeter | None = None
    _last_status_at: float = -1e9
    _status_shown: bool = False
    _last_paused: str | None = None

    def __post_init__(self) -> None:
        if self.meter is None:
            self.meter = FrameRateMeter(clock=self.clock)
        if self.interactive is None:
            isatty = getattr(self._out, "isatty", None)
            self.interactive = bool(isatty and isatty())

    @property
    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def on_start(self, info: SessionInfo) -> None:
        source = info.source
        self._line(f"posecheck live: {self.spec.title} from {source} (Ctrl-C to stop)")

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        self.meter.tick()
        printed = self._print_events(events, state)
        printed = self._print_paused(state) or printed
        # Redrawn at once under a new event line, else at most every STATUS_INTERVAL_S.
        if self.interactive and (printed or self.clock() - self._last_status_at >= STATUS_INTERVAL_S):
            self._last_status_at = self.clock()
            self._status(status_line(state, self.spec, self.meter.fps))

    def on_end(self, state: EngineState, events: list[Event]) -> None:
        """The session's end events: a hold still running when the session ended gets its "hold done" line."""
        self._print_events(events, state)

    def on_finish(self, summary: SessionSummary) -> None:
        self._clear_status()

    def _print_events(self, events: list[Event], state: EngineState) -> bool:
        """One line per event worth telling; True if any was printed."""
        printed = False
        for event in events:
            text = describe_event(event, state)
            if text:
                self._line(f"{_clock_text(event.t)}  {text}")
                printed = True
        return printed

    def _print_paused(self, state: EngineState) -> bool:
        """A line when reps stop being counted although the setup is right (state.paused_reason), once per reason."""
        reason = state.paused_reason if state.ready else None
        if reason == self._last_paused:
            return False
        self._last_paused = reason
        if reason is None:
            return False
        self._line(f"{_clock_text(state.t)}  {reason}")
        return True

    def _line(self, text: str) -> None:
        self._clear_status()
        self._out.write(text + "\n")
        self._out.flush()

    def _status(self, text: str) -> None:
        # \r and "erase to end of line": the line is rewritten in place, whatever its previous length.
        self._out.write("\r\x1b[K" + text)
        self._out.flush()
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self._out.write("\r\x1b[K")
            self._status_shown = False


def _clock_text(t: float) -> str:
    minutes, seconds = divmod(max(t, 0.0), 60.0)
    return f"{int(minutes):02d}:{seconds:04.1f}"


def describe_event(event: Event, state: EngineState) -> str | None:
    """One line for the events a person wants to hear about; None for the others (phase changes)."""
    if isinstance(event, RepCompleted):
        rep = event.rep
        side = f" ({rep.side})" if rep.side else ""
        total = f" / {state.target_reps}" if state.target_reps else ""
        if rep.cut_by_end:  # the session ended on the way back: the rep is done, its duration unknown
            return f"rep {rep.index}{total}{side}, counted as you finished"
        if rep.end_pending:  # reps.end_at: leave: counted now, its duration is known when the way back is done
            return f"rep {rep.index}{total}{side}"
        return f"rep {rep.index}{total}{side} in {rep.duration:.1f} s"
    if isinstance(event, Cue):
        return f"cue: {event.text}"
    if isinstance(event, NotReady):
        return f"setup: {event.reason}"
    if isinstance(event, Ready):
        return "you're set - counting now"
    if isinstance(event, HoldStarted):
        return "hold started" + (f" ({event.side})" if event.side else "")
    if isinstance(event, HoldFinished):
        hold = event.hold
        target = f" of {hold.target_seconds:.0f}" if hold.target_seconds else ""
        return f"hold done: {hold.seconds:.1f}{target} s"
    if isinstance(event, TrackingLost):
        return "lost sight of you - please step into view"
    if isinstance(event, TrackingRegained):
        return "found you again"
    return None


def status_line(state: EngineState, spec, fps: float | None) -> str:
    """The headless status line: count, target, phase, hold, frame rate, and the setup or cue text."""
    parts = [f"{spec.title}: {counter_text(state, spec)}"]
    target = target_text(spec)
    if target:
        parts[0] += f" {target}"
    if state.phase:
        parts.append(f"phase {phase_label(spec, state.phase)}")  # the spec's words for people
    if state.hold_seconds is not None and not counts_seconds(spec):
        hold_target = f"/{state.hold_target:.0f}" if state.hold_target else ""
        parts.append(f"hold {state.hold_seconds:.1f}{hold_target} s")
    if fps is not None:
        parts.append(f"{fps:.0f} fps")
    message = render.state_message(state)
    if message is not None:
        kind, text = message
        parts.append("looking for you" if kind == "lost" else f"setup: {text}" if kind == "setup" else text)
    return " | ".join(parts)


# ------------------------------------------------------------------------------------------------ session


@dataclass(frozen=True)
class LiveResult:
    """A finished live session.

    Attributes:
        session: what the loop returned (the summary of the count since the last reset, frame counts).
        ended_by: "q key", "Esc key", "window closed", "Ctrl-C", "SIGTERM", or for a source that ended by
            itself "end of video" / the camera's reason.
        source_ended: the source ran out (end of the video, camera gone) rather than the user stopping.
        source_failed: the source died part-way (a camera unplugged, a video file cut off) rather than reaching
            its end; ``ended_by`` says how.
        frames_dropped: frames the loop had no time for (see `posecheck.sources.capture.LatestFrameSlot`).
        discarded: summaries of the counts the user reset ("r"), oldest first.
        recording_failure: why the ``record`` video stopped early (it holds the frames before), or None.
    """

    session: Any
    ended_by: str
    source_ended: bool
    frames_dropped: int
    discarded: list[SessionSummary]
    recording_failure: str | None = None
    source_failed: bool = False


def run_live(
    spec,
    source,
    estimator,
    make_engine: Callable[[], Any],
    *,
    window: bool = True,
    record: Path | None = None,
    mirror: bool = False,
    terminal: TerminalSink | None = None,
    extra_sinks: Sequence = (),
) -> LiveResult:
    """Runs a live session through `posecheck.runtime.session.run_session` with the live sinks.

    Args:
        spec: the exercise spec.
        source: a `CameraSource` or `PacedFileSource` (anything with stop/pause/resume and ``info``);
            the caller opens and closes it.
        estimator: the pose estimator (opened by the caller).
        make_engine: returns a fresh engine; called again on each reset.
        window: show the window (call :func:`require_display` first); False = headless.
        record: save the annotated view to this video file.
        mirror: start with a mirrored view (a selfie view for a camera).
        terminal: the headless view; default: a `TerminalSink` on stderr when ``window`` is False.
        extra_sinks: more sinks (history, per-frame measures: `posecheck.sinks.outputs`), called before the view.

    Returns:
        The session and how it ended; the caller writes the report.
    """
    from posecheck.runtime.session import run_session

    engine = ResettableEngine(make_engine)
    controls = LiveControls(source=source, engine=engine, mirror=mirror)
    overlay = LiveOverlay(spec, controls)
    sinks: list = []
    recording = RecordingSink(record, overlay) if record is not None else None
    if recording is not None:
        sinks.append(recording)
    sinks.extend(extra_sinks)
    if window:
        # Last: nothing is opened after the window that could still fail (the session would finish the
        # window again at once).
        sinks.append(WindowSink(overlay, controls))
    else:
        sinks.append(terminal if terminal is not None else TerminalSink(spec))
    with stop_on_signals(controls):
        # Sinks are called on the loop's thread (background=0): they hand their slow work to their own threads
        # (the GUI thread, the recorder's worker) and keys must act on the loop's thread; the capture thread
        # already keeps the camera from waiting on us.
        session = run_session(source, estimator, engine, sinks, exercise=spec.id, background=0)
    if session.interrupted and controls.ended_by is None:
        controls.ended_by = "Ctrl-C"
    source_ended = controls.ended_by is None
    end_reason = getattr(source, "end_reason", None)
    ended_by = controls.ended_by or end_reason or "end of video"
    return LiveResult(
        session=session,
        ended_by=ended_by,
        source_ended=source_ended,
        source_failed=source_ended and end_reason is not None,
        frames_dropped=int(getattr(source, "frames_dropped", 0)),
        discarded=list(engine.discarded),
        recording_failure=recording.failure if recording is not None else None,
    )
