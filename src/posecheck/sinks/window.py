"""The live window: whether one can be opened here, its size on this screen, and the sink that shows the live
view in it and reads its keys.

:func:`require_display` is called before any window is made (OpenCV's Qt build aborts the process without a
display); once it knows a window opens, it opens the live window at once on the starting screen, so that the
seconds spent loading the pose model are not spent looking at nothing. :class:`WindowSink` shows each frame's
`posecheck.sinks.live_view.LiveView` in an `posecheck.sinks.gui.OpenCvWindow` on the process's one GUI thread,
and hands the keys it reads to `posecheck.runtime.controls.LiveControls` on the loop's thread; closing the
window quits.

The window opens to fit the screen (:func:`screen_size`, :func:`window_size_for`), and every view is drawn at
the window's real inner size, read back from the window before each picture: a window manager that makes it
smaller, or the user resizing it, changes the layout (`posecheck.sinks.live_layout`), never cuts it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as WaitTimeout  # not the builtin TimeoutError before Python 3.11
from typing import Protocol

import cv2
import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, SessionSummary
from posecheck.errors import DisplayError
from posecheck.runtime.controls import LiveControls
from posecheck.runtime.pipeline import StageTimes
from posecheck.runtime.protocols import SessionInfo, StopSession
from posecheck.sinks.gui import GuiThread, LatestSlot, OpenCvWindow, gui_thread
from posecheck.sinks.live_render import starting_screen
from posecheck.sinks.live_view import LiveOverlay, LiveView

log = logging.getLogger(__name__)

#: Title of the live window (tests and window managers find it by this name).
WINDOW_NAME = "posecheck live"
#: The window opens no bigger than this (width, height in pixels); a bigger one is the user's choice
#: (maximise it: the view is drawn at the window's size).
WINDOW_MAX_SIZE = (1600, 900)
#: ... and no bigger than these fractions of the screen: the rest is left to the window's title bar and
#: the desktop's panels (a 1366x768 laptop's are about 70 px high together).
WINDOW_SCREEN_FRACTION = (0.92, 0.85)
#: The screen assumed when it cannot be asked (no X11 or Windows API): a common small laptop.
FALLBACK_SCREEN_SIZE = (1366, 768)
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
    """Raises DisplayError (one line, suggesting --headless) when no window can be opened; else opens the live
    window at once on the starting screen (`show_starting_window`)."""
    problem = window_problem()
    if problem is not None:
        raise DisplayError(f"{problem}; use --headless to follow the count in the terminal")
    show_starting_window()


def screen_size() -> tuple[int, int] | None:
    """The screen's (width, height) in pixels, or None when it cannot be asked here.

    X11 (Linux, BSD, XWayland: libX11 through ctypes, as the X server knows it, Xvfb's ``-screen`` size
    included) and Windows (user32). With several monitors X gives their union: `WINDOW_MAX_SIZE` and the
    window's real size (read back before each picture) keep the view right there too.
    """
    if sys.platform == "win32":
        try:
            user32 = ctypes.windll.user32  # type: ignore[attr-defined]
            return int(user32.GetSystemMetrics(0)), int(user32.GetSystemMetrics(1))
        except (AttributeError, OSError):
            return None
    display_name = os.environ.get("DISPLAY")
    library = ctypes.util.find_library("X11") if display_name else None
    if library is None:
        return None
    try:
        x11 = ctypes.CDLL(library)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        display = x11.XOpenDisplay(display_name.encode())
        if not display:
            return None
        try:
            screen = x11.XDefaultScreen(display)
            size = int(x11.XDisplayWidth(display, screen)), int(x11.XDisplayHeight(display, screen))
        finally:
            x11.XCloseDisplay(display)
    except (OSError, AttributeError):
        return None
    return size if size[0] > 0 and size[1] > 0 else None


def window_size_for(screen: tuple[int, int] | None, max_size: tuple[int, int] = WINDOW_MAX_SIZE) -> tuple[int, int]:
    """The size (width, height) the live window opens at on a screen of this size (None: unknown)."""
    width, height = screen or FALLBACK_SCREEN_SIZE
    return (max(1, min(max_size[0], round(width * WINDOW_SCREEN_FRACTION[0]))),
            max(1, min(max_size[1], round(height * WINDOW_SCREEN_FRACTION[1]))))


#: The process's live window (one at a time; `show_starting_window` may open it before its session starts).
_live_window: OpenCvWindow | None = None


def live_window() -> OpenCvWindow:
    """The process's live window, named `WINDOW_NAME` (not opened by this call)."""
    global _live_window
    if _live_window is None:
        _live_window = OpenCvWindow(WINDOW_NAME)
    return _live_window


def show_starting_window(title: str = "posecheck", message: str = "Getting ready: loading the pose model...") -> None:
    """Opens the live window now, on the starting screen; the session's `WindowSink` takes it over.

    Call `require_display` first (it calls this): a window without a display aborts the process.
    """
    size = window_size_for(screen_size())
    window = live_window()
    try:
        gui_thread().call(_open_with, window, size, None,
                          lambda inner: starting_screen(inner, title=title, message=message),
                          timeout=WINDOW_OPEN_TIMEOUT_S)
    except WaitTimeout:
        raise DisplayError(f"the window did not open within {WINDOW_OPEN_TIMEOUT_S:.0f} s") from None


def _open_with(window: "WindowBackend", size: tuple[int, int], title: str | None,
               first_picture: Callable[[tuple[int, int]], np.ndarray]) -> None:
    """On the GUI thread: opens the window (if not open yet) at ``size`` and shows ``first_picture(inner size)``
    in it at once (a window opened early may have been resized by the user meanwhile)."""
    window.open(size, title)
    window.show(first_picture(window.inner_size() or size))
    window.poll_key(1)


# ------------------------------------------------------------------------------------------------ the sink


class WindowBackend(Protocol):
    """The window as the display loop uses it (`posecheck.sinks.gui.OpenCvWindow`; tests pass a stand-in).

    Every call is made on the GUI thread.
    """

    def open(self, size: tuple[int, int], title: str | None = None) -> None: ...

    def show(self, image: np.ndarray) -> None: ...

    def poll_key(self, wait_ms: int) -> int: ...

    def inner_size(self) -> tuple[int, int] | None: ...

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
        max_size: the window opens no bigger than this (width, height); it also fits the screen.
        window: the window to show in; default an OpenCV window named `WINDOW_NAME`.
        gui: the thread to run the window on; default the process's GUI thread (the only one that may
            make OpenCV window calls; a stand-in window may run on another).
    """

    def __init__(self, overlay: LiveOverlay, controls: LiveControls, max_size: tuple[int, int] = WINDOW_MAX_SIZE,
                 *, window: WindowBackend | None = None, gui: GuiThread | None = None) -> None:
        self.overlay = overlay
        self.controls = controls
        self.max_size = max_size
        self._window = window if window is not None else live_window()
        self._size = window_size_for(None, max_size)  # until the window says its own
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
        self._size = size = window_size_for(screen_size(), self.max_size)
        hint = self.controls.keys_help
        title = f"posecheck live - {info.exercise}   ({hint})"
        spec_title = self.overlay.spec.title

        def first(inner: tuple[int, int]) -> np.ndarray:
            return starting_screen(inner, info.frame_size, title=spec_title, message="Starting the camera view...",
                                   hint=hint)

        gui = self._gui if self._gui is not None else gui_thread()
        try:
            gui.call(_open_with, self._window, size, title, first, timeout=WINDOW_OPEN_TIMEOUT_S)
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
                    changed |= self.controls.press(pressed)
                pressed = self._inputs.get_nowait()
        except queue.Empty:
            pass
        return changed

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

    def _display_loop(self) -> None:
        """Shows the newest view until the session ends (the slot is closed) or the user closes the window.

        Each view is drawn at the window's inner size as it is now; when the size changes (the user resized the
        window) with no new view coming (paused), the last view is drawn again at the new size.
        """
        last_frame = None
        last_view: LiveView | None = None
        shown_size = None
        try:
            while not self._views.closed:
                view = self._views.take(timeout=WINDOW_POLL_MS / 1000)
                size = self._window.inner_size() or self._size
                if view is None and size != shown_size and last_view is not None:
                    self._window.show(last_view.draw(size))
                    shown_size = size
                if view is not None:
                    self._window.show(view.draw(size))
                    last_view, shown_size = view, size
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
