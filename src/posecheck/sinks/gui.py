"""The one thread that makes OpenCV's window calls, and the hand-offs to and from it.

Why one thread, for the life of the process: OpenCV's Qt windows belong to the thread that first used
them. Measured on this project's machines: after a first worker thread that had called ``imshow`` ended,
``imshow`` from a second thread hung. So every window call of the process (``namedWindow``, ``imshow``,
``waitKey``, ``getWindowProperty``, ``destroyWindow``) is made by :class:`GuiThread` ``"posecheck-gui"``: a
daemon thread started on first use and never ended. Other threads hand it work with :meth:`GuiThread.call`
(run and wait for the result) or :meth:`GuiThread.start` (run in the background, e.g. a live window's
display loop for the whole session). :class:`OpenCvWindow` refuses to run anywhere else.

Why not the loop's thread: drawing the overlay, ``imshow`` and ``waitKey`` cost several milliseconds per
720p frame; on the GUI thread they overlap with inference on the next frame. The thread's name starts with
``posecheck-``, so inside a pinned session it runs on the helper core, away from the estimator
(`posecheck.runtime.cores`).

:class:`LatestSlot` hands the newest item from one thread to another: a window shows the newest frame and
drops a stale one rather than queueing latency.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import numpy as np

from posecheck.runtime.cores import HELPER_THREAD_PREFIX, join_helper_cores

log = logging.getLogger(__name__)

#: The name of the process's GUI thread (the helper prefix puts it on the helper core in a pinned session).
GUI_THREAD_NAME = f"{HELPER_THREAD_PREFIX}gui"

T = TypeVar("T")


class GuiThread:
    """Runs the calls handed to it one at a time, in the order they came, on one daemon thread.

    The thread starts with the first call and is never ended (see the module docstring). A long call (a
    live window's display loop) holds the thread until it returns; calls made meanwhile wait their turn.

    Args:
        name: the thread's name.
    """

    def __init__(self, name: str = GUI_THREAD_NAME) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[..., Any], tuple, Future]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._start_lock = threading.Lock()

    def start(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queues ``fn(*args)`` to run on the thread and returns at once; the Future gives its result or error."""
        with self._start_lock:
            if self._thread.ident is None:  # not started yet
                self._thread.start()
        future: Future[T] = Future()
        self._tasks.put((fn, args, future))
        return future

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Runs ``fn(*args)`` on the thread and returns its result (or raises its exception) here.

        Raises:
            concurrent.futures.TimeoutError: ``timeout`` seconds passed first (the call still runs later). It is
                the builtin TimeoutError from Python 3.11 on, a class of its own before.
        """
        if self.owns_current_thread():  # a task that calls call() would otherwise wait for itself
            return fn(*args)
        return self.start(fn, *args).result(timeout)

    def owns_current_thread(self) -> bool:
        """True when called from this GUI thread."""
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        join_helper_cores()
        while True:
            fn, args, future = self._tasks.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)


_process_gui: GuiThread | None = None
_process_gui_lock = threading.Lock()


def gui_thread() -> GuiThread:
    """The process's GUI thread (created on first use; its thread starts with its first call)."""
    global _process_gui
    with _process_gui_lock:
        if _process_gui is None:
            _process_gui = GuiThread()
        return _process_gui


def on_gui_thread() -> bool:
    """True when called from the process's GUI thread."""
    gui = _process_gui
    return gui is not None and gui.owns_current_thread()


class OpenCvWindow:
    """One OpenCV window. Every method must run on the process's GUI thread (see the module docstring).

    Call `posecheck.sinks.window.require_display` before opening one: without a display Qt aborts the process.

    Args:
        name: the window's name (its title until ``open`` sets another; tests find windows by it).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def open(self, size: tuple[int, int], title: str | None = None) -> None:
        """Creates the window, resizable to any shape, at ``size`` (width, height) pixels.

        A window that is already open (`posecheck.sinks.window.show_starting_window` opened it early) keeps the
        size it has: the user may have resized it meanwhile.
        """
        import cv2

        self._check_thread()
        if self.is_closed():
            # Free ratio: the picture is drawn at the window's size (`inner_size`), whatever its shape.
            cv2.namedWindow(self.name, cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
            cv2.resizeWindow(self.name, *size)
        if title is not None:
            cv2.setWindowTitle(self.name, title)

    def show(self, image: np.ndarray) -> None:
        """Shows an (H, W, 3) uint8 BGR image (on screen at the next ``poll_key``)."""
        import cv2

        self._check_thread()
        cv2.imshow(self.name, image)

    def poll_key(self, wait_ms: int) -> int:
        """Processes window events (repaint, keys, close) for up to ``wait_ms``; the key pressed (0-255) or -1."""
        import cv2

        self._check_thread()
        key = cv2.waitKey(wait_ms)
        return key & 0xFF if key != -1 else -1

    def inner_size(self) -> tuple[int, int] | None:
        """The (width, height) of the picture's area in the window now, or None when the window cannot say."""
        import cv2

        self._check_thread()
        try:
            _, _, width, height = cv2.getWindowImageRect(self.name)
        except cv2.error:  # the window is gone
            return None
        return (width, height) if width > 1 and height > 1 else None

    def is_closed(self) -> bool:
        """True once the user closed the window (or it was never opened)."""
        import cv2

        self._check_thread()
        try:
            return cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:  # the window is already gone
            return True

    def close(self) -> None:
        """Destroys the window if it is still there."""
        import cv2

        self._check_thread()
        try:
            cv2.destroyWindow(self.name)
        except cv2.error:  # closed by the user already
            return
        cv2.waitKey(1)  # let the window system process the close

    def _check_thread(self) -> None:
        if not on_gui_thread():
            raise RuntimeError(
                f"OpenCV window calls must run on the {GUI_THREAD_NAME!r} thread (gui_thread().call), "
                f"not on {threading.current_thread().name!r}"
            )


class LatestSlot(Generic[T]):
    """A one-item mailbox between two threads: the newest item wins.

    ``put`` never blocks and replaces an item not taken yet (counted in ``dropped``); ``take`` waits up to a
    timeout for an item. After ``close`` nothing more is taken: the consumer sees ``closed`` and stops.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._cond.notify_all()

    def take(self, timeout: float) -> T | None:
        """The newest untaken item, waiting up to ``timeout`` seconds; None on timeout or once closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._full or self._closed, timeout)
            if self._closed or not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """Wakes the consumer and makes every later ``take`` return None (an untaken item is dropped)."""
        with self._cond:
            self._closed = True
            self._item, self._full = None, False
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
