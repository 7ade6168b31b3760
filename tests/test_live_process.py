"""`posecheck live` as a real process: the window on a virtual X server (Xvfb), the headless view, and the
one-line errors for a missing display or camera.

The counting clip is the first 6 s of the shared cat_cow_01.mp4, re-encoded at half size and 6 fps into a
temporary folder (never committed), so that the live loop keeps up with it even on a busy shared 2-core
machine (at 10 fps it dropped frames there under a load average of 8): then no frame may be dropped, and
the live count must equal `posecheck analyze`'s count of the same clip. The tests that quit early play the
full clip, which outlasts any start-up delay.

The window is checked from Xvfb's own framebuffer (``-fbdir``: an XWD image file the server keeps
current), keys are sent with xdotool, and the window is closed the way a window manager's close button
does it: a WM_DELETE_WINDOW message (sent with libX11 through ctypes).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from posecheck.runtime.controls import KEYS_HELP  # noqa: E402
from posecheck.sinks.drawing import (  # noqa: E402
    COUNTER_COLOUR,
    COUNTER_WAITING_COLOUR,
    LEFT_COLOUR,
    RIGHT_COLOUR,
    WARNING_COLOUR,
)
from posecheck.sinks.live_layout import LiveLayout, live_layout  # noqa: E402
from posecheck.sinks.live_render import HINT_COLOUR, has_hold_ring, widest_counter  # noqa: E402
from posecheck.sinks.window import window_size_for  # noqa: E402
from posecheck.specs import load_spec_by_id  # noqa: E402

from conftest import shared_clip  # noqa: E402

XVFB = shutil.which("Xvfb")
XDOTOOL = shutil.which("xdotool")
LIBX11 = ctypes.util.find_library("X11")
needs_x = pytest.mark.skipif(
    not (XVFB and XDOTOOL and LIBX11),
    reason="window tests need Xvfb, xdotool and libX11 (apt-get install xvfb xdotool)",
)

CLIP_SECONDS = 6.0
CLIP_FRAME_STEP = 5  # 30 fps -> 6 fps
CLIP_SCALE = 0.5  # 720x1280 -> 360x640
SCREEN = (1280, 1024)
PROCESS_TIMEOUT_S = 90
CURSOR_PIXELS = 32 * 32  # X's default pointer fits in this many pixels


def posecheck(*args: str) -> list[str]:
    return [sys.executable, "-m", "posecheck", *args]


def environment(display: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["COLUMNS"] = "200"
    if display is not None:
        env["DISPLAY"] = display
    return env


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The test clip: 6 s of cat_cow_01 at 6 fps and 360x640 (see the module docstring)."""
    source = shared_clip("cat_cow_01.mp4")
    path = tmp_path_factory.mktemp("live-clip") / "cat_cow_short.mp4"
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    index = 0
    while index < CLIP_SECONDS * fps:
        ok, frame = cap.read()
        if not ok:
            break
        if index % CLIP_FRAME_STEP == 0:
            frame = cv2.resize(frame, None, fx=CLIP_SCALE, fy=CLIP_SCALE, interpolation=cv2.INTER_AREA)
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps / CLIP_FRAME_STEP, size)
            writer.write(frame)
        index += 1
    cap.release()
    writer.release()
    return path


@pytest.fixture(scope="module")
def analyzed(clip, tmp_path_factory) -> dict:
    """`posecheck analyze`'s report of the clip: what the live view must reproduce."""
    out = tmp_path_factory.mktemp("analyze")
    done = subprocess.run(
        posecheck("analyze", str(clip), "-e", "cat-cow", "--out", str(out), "--no-video", "--json", "-"),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=environment(None),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # A count of 0 would make "live equals analyze" prove nothing: the clip holds one full cat-cow cycle.
    assert report["reps"] >= 1, report
    return report


def assert_same_count(report: dict, analyzed: dict) -> None:
    assert report["live"]["frames_dropped"] == 0, "the live loop fell behind a 6 fps clip"
    assert report["frames"] == analyzed["frames"]
    assert report["reps"] == analyzed["reps"]
    assert [(r["start"], r["end"]) for r in report["rep_list"]] == [(r["start"], r["end"]) for r in analyzed["rep_list"]]


# ------------------------------------------------------------------------------------------------ errors


def test_without_a_display_one_line_suggests_headless(clip, tmp_path):
    done = subprocess.run(
        posecheck("live", "cat-cow", "--source", str(clip), "--out", str(tmp_path / "out")),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=environment(None),
    )
    assert done.returncode == 5
    assert done.stderr == "Error: no display (DISPLAY is not set); use --headless to follow the count in the terminal\n"
    assert done.stdout == ""
    assert not (tmp_path / "out").exists(), "a failed start leaves no empty output folder behind"


def test_an_unreachable_display_is_an_error_not_an_abort(clip, tmp_path):
    done = subprocess.run(
        posecheck("live", "cat-cow", "--source", str(clip), "--out", str(tmp_path)),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=environment(":87"),
    )
    assert done.returncode == 5, done.stderr  # not -6 (SIGABRT from Qt)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot open a window on display ':87'")
    assert lines[0].endswith("use --headless to follow the count in the terminal")


@pytest.mark.parametrize("camera", [0, 3])
def test_no_camera_is_one_line_listing_the_cameras_that_open(camera, tmp_path):
    done = subprocess.run(
        posecheck("live", "cat-cow", "--headless", "--camera", str(camera), "--out", str(tmp_path / "out")),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=environment(None),
    )
    assert done.returncode == 2
    assert done.stderr == f"Error: camera {camera} cannot be opened; no camera found\n"
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------ headless


def test_headless_shows_the_count_in_the_terminal_and_counts_like_analyze(clip, analyzed, tmp_path):
    recording = tmp_path / "session.mp4"
    done = subprocess.run(
        posecheck("live", "cat-cow", "--source", str(clip), "--headless", "--out", str(tmp_path), "--json", "-",
                  "--record", str(recording)),
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=environment(None),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout holds the report and nothing else
    assert_same_count(report, analyzed)
    assert report["live"]["ended_by"] == "end of video" and report["interrupted"] is False
    assert json.loads((tmp_path / "report.json").read_text()) == report
    # Not a terminal here: plain event lines, no status-line control characters.
    # (cat-cow's reps end when the next cat begins, reps.end_at: leave: the count's line gives no duration)
    assert "rep 1 / 10" in done.stderr and "\x1b" not in done.stderr
    assert "Session ended: end of video." in done.stderr
    # The session is in the history (conftest's POSECHECK_DATA_DIR), with report.html and measures.csv beside.
    from posecheck.history.store import HistoryStore

    with HistoryStore() as store:
        (session,) = store.sessions()
        assert (session.mode, session.status, session.reps) == ("live", "completed", report["reps"])
    assert (tmp_path / "report.html").is_file() and (tmp_path / "measures.csv").is_file()
    # --record: the annotated session, frame for frame, at the clip's size and rate.
    recorded = cv2.VideoCapture(str(recording))
    assert int(recorded.get(cv2.CAP_PROP_FRAME_COUNT)) == analyzed["frames"]
    assert recorded.get(cv2.CAP_PROP_FPS) == pytest.approx(analyzed["fps"], abs=0.01)
    ok, last = recorded.read()
    recorded.release()
    assert ok and last.shape == (640, 360, 3)
    counter = live_layout((360, 640), (360, 640), KEYS_HELP, has_hold_ring(CAT_COW), widest_counter(CAT_COW)).counter
    assert green_pixels(crop(last, counter)) > 50, "the overlay (the green count) is in the recording"


# ------------------------------------------------------------------------------------------------ window


@dataclass
class XServer:
    display: str
    fbdir: Path

    def screenshot(self) -> np.ndarray:
        """The whole screen as (H, W, 3) uint8 BGR, from the XWD file Xvfb keeps in ``fbdir``."""
        data = (self.fbdir / "Xvfb_screen0").read_bytes()
        header = struct.unpack(">25I", data[:100])
        header_size, width, height, bits_per_pixel, bytes_per_line, ncolors = (
            header[0], header[4], header[5], header[11], header[12], header[19])
        assert bits_per_pixel == 32, "the server was started with a 24-bit screen"
        offset = header_size + 12 * ncolors  # each colormap entry is 12 bytes
        rows = np.frombuffer(data, np.uint8, count=bytes_per_line * height, offset=offset).reshape(height, bytes_per_line)
        return rows[:, : 4 * width].reshape(height, width, 4)[..., :3].copy()  # LSB first: B, G, R, pad

    def xdotool(self, *args: str) -> str:
        done = subprocess.run([XDOTOOL, *args], capture_output=True, text=True, timeout=30, env=environment(self.display))
        return done.stdout.strip()

    def close_window(self, window: int) -> None:
        """Asks the window to close, as a window manager's close button does (WM_DELETE_WINDOW)."""
        x11 = ctypes.CDLL(LIBX11)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XInternAtom.restype = ctypes.c_ulong
        x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

        class ClientMessage(ctypes.Structure):
            _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                        ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                        ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

        class XEvent(ctypes.Union):
            _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

        display = x11.XOpenDisplay(self.display.encode())
        assert display, f"cannot open {self.display}"
        try:
            event = XEvent()
            event.xclient.type = 33  # ClientMessage
            event.xclient.window = window
            event.xclient.format = 32
            event.xclient.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
            event.xclient.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
            assert x11.XSendEvent(display, window, 0, 0, ctypes.byref(event))
            x11.XFlush(display)
        finally:
            x11.XCloseDisplay(display)


@pytest.fixture(scope="module")
def xserver(tmp_path_factory):
    """A private Xvfb (1280x1024, 24 bit) with its framebuffer in a file, for this module's window tests."""
    if not (XVFB and XDOTOOL and LIBX11):
        pytest.skip("window tests need Xvfb, xdotool and libX11 (apt-get install xvfb xdotool)")
    yield from running_xserver(SCREEN, tmp_path_factory.mktemp("xvfb"))


def running_xserver(screen: tuple[int, int], fbdir: Path):
    """Starts an Xvfb with a ``screen`` (width, height) screen, yields its `XServer`, then ends it."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [XVFB, "-displayfd", str(write_end), "-screen", "0", f"{screen[0]}x{screen[1]}x24", "-fbdir", str(fbdir),
         "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    number = b""
    deadline = time.monotonic() + 30
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_end], [], [], 1.0)
        if ready:
            chunk = os.read(read_end, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_end)
    try:
        assert number.strip(), "Xvfb did not start"
        yield XServer(display=f":{number.decode().strip()}", fbdir=fbdir)
    finally:
        server.terminate()
        server.wait(timeout=10)


class LiveWindow:
    """A running `posecheck live` process with its window on the test X server.

    On a CPU-starved Xvfb, Qt (OpenCV's window toolkit) now and then maps a window and never paints it: it
    stays pure black however many frames are shown. A 30-line OpenCV script with no posecheck code does the
    same (about 1 start in 4 under a load average of 8 on 2 cores, with or without a window manager or
    MIT-SHM), so a window that is still entirely black `BLACK_WINDOW_S` after it appeared is started again
    (at most `START_ATTEMPTS` times) rather than failing the test for the toolkit's sake.
    """

    START_ATTEMPTS = 3
    BLACK_WINDOW_S = 4.0

    def __init__(self, xserver: XServer, clip: Path, out: Path, *extra: str) -> None:
        self.x = xserver
        self.out = out
        probe = cv2.VideoCapture(str(clip))
        self.frame_size = (int(probe.get(cv2.CAP_PROP_FRAME_WIDTH)), int(probe.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        probe.release()
        command = posecheck("live", "cat-cow", "--source", str(clip), "--out", str(out), *extra)
        for attempt in range(1, self.START_ATTEMPTS + 1):
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            env=environment(xserver.display))
            window = self._find_window(retry=attempt < self.START_ATTEMPTS)
            if window is None:  # Qt could not reach the fresh server (seen once in CI, under load): again
                shutil.rmtree(out, ignore_errors=True)
                continue
            self.window = window
            if self._painted() or attempt == self.START_ATTEMPTS:
                return
            self.process.kill()  # an unpainted window (see above): try again from scratch
            self.process.communicate()
            shutil.rmtree(out, ignore_errors=True)

    def _find_window(self, retry: bool = False) -> int | None:
        """The live window's id. None when ``retry`` and the process ended because Qt could not connect to the
        X server: a toolkit hiccup on a CPU-starved machine (the same command passed at once when run again)."""
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                ended = self.process.communicate()
                if retry and "could not connect to display" in ended[1]:
                    return None
                raise AssertionError(f"posecheck live exited early: {ended}")
            windows = self.live_windows()
            if windows:
                return int(windows[0])
            time.sleep(0.2)
        raise AssertionError("the live window never appeared")

    def _painted(self) -> bool:
        """Whether the window shows anything at all (even Qt's grey background) within BLACK_WINDOW_S."""
        deadline = time.monotonic() + self.BLACK_WINDOW_S
        while time.monotonic() < deadline and self.process.poll() is None:
            view = self.view()
            # More lit pixels than the mouse pointer, which X draws on top of whatever window is under it.
            if view.size and int((view.max(axis=-1) > 0).sum()) > CURSOR_PIXELS:
                return True
            time.sleep(0.1)
        return self.process.poll() is not None  # it ended: let the caller's checks say why

    def live_windows(self) -> list[str]:
        """This process's live window(s). By pid: a window of the previous test's process may linger for a
        moment after it exited. By name: not the display check's short-lived window ("posecheck live"
        until the title is set, then "posecheck live - <exercise> (keys)")."""
        # --all: xdotool matches ANY of the conditions by default.
        return self.x.xdotool("search", "--all", "--pid", str(self.process.pid), "--name", "^posecheck live( - |$)").split()

    @property
    def geometry(self) -> tuple[int, int, int, int] | None:
        """x, y, width, height of the window now (it is resized once the first frame's size is known);
        None while X does not know it (not mapped yet, or gone)."""
        answer = self.x.xdotool("getwindowgeometry", "--shell", str(self.window))
        shell = dict(line.split("=", 1) for line in answer.splitlines() if "=" in line)
        if not {"X", "Y", "WIDTH", "HEIGHT"} <= shell.keys():
            return None
        return tuple(int(shell[key]) for key in ("X", "Y", "WIDTH", "HEIGHT"))

    def view(self) -> np.ndarray:
        """The window's pixels, from a screenshot of the screen (empty when the window is not known)."""
        geometry = self.geometry
        if geometry is None:
            return np.zeros((0, 0, 3), np.uint8)
        x, y, w, h = geometry
        return self.x.screenshot()[y : y + h, x : x + w]

    def layout(self, view: np.ndarray) -> LiveLayout:
        """The layout the live view has in a window showing ``view`` (its inner size: Xvfb has no frame)."""
        return live_layout((view.shape[1], view.shape[0]), self.frame_size, KEYS_HELP, has_hold_ring(CAT_COW),
                           widest_counter(CAT_COW))

    def wait_for_overlay(self) -> np.ndarray:
        """Waits until the window shows the live view (the count in its box, the skeleton); returns that view."""
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        seen = []
        last_view = None
        while time.monotonic() < deadline:
            view = self.view()
            h, w = view.shape[:2]
            green = count_pixels(crop(view, self.layout(view).counter)) if view.size else 0
            if green > 50 and skeleton_pixels(view) > 100:
                return view
            seen.append((view.shape[:2], green))
            last_view = view if view.size else last_view
            if self.process.poll() is not None:
                if last_view is not None:
                    cv2.imwrite(str(self.out / "last_view.png"), last_view)
                raise AssertionError(
                    f"the window never showed the overlay; (size, green pixels) seen: {seen[-20:]}; "
                    f"last view: {self.out / 'last_view.png'}; posecheck said: {self.process.communicate()[1]}"
                )
            time.sleep(0.1)
        raise AssertionError("the window never showed the overlay")

    def finish(self) -> tuple[int, str, str, dict]:
        stdout, stderr = self.process.communicate(timeout=PROCESS_TIMEOUT_S)
        report_path = self.out / "report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        return self.process.returncode, stdout, stderr, report


CAT_COW = load_spec_by_id("cat-cow")


def pixels_like(image: np.ndarray, colour, tolerance: int = 30) -> int:
    return int(np.all(np.abs(image.astype(int) - np.array(colour)) <= tolerance, axis=-1).sum())


def green_pixels(image: np.ndarray) -> int:
    return pixels_like(image, COUNTER_COLOUR)


def count_pixels(image: np.ndarray) -> int:
    """The big count's pixels: green while counting, grey while the setup is not right yet."""
    return green_pixels(image) + pixels_like(image, COUNTER_WAITING_COLOUR, tolerance=8)


def crop(image: np.ndarray, box) -> np.ndarray:
    return image[box.y : box.bottom, box.x : box.right]


def skeleton_pixels(image: np.ndarray) -> int:
    return sum(
        int(np.all(np.abs(image.astype(int) - np.array(colour)) <= 20, axis=-1).sum())
        for colour in (LEFT_COLOUR, RIGHT_COLOUR)
    )


@needs_x
def test_window_shows_the_overlay_pauses_and_counts_like_analyze(xserver, clip, analyzed, tmp_path):
    window = LiveWindow(xserver, clip, tmp_path, "--json", "-")
    view = window.wait_for_overlay()
    h, w = view.shape[:2]
    assert (w, h) == window_size_for(SCREEN), "the window opens to fit the screen"
    # What the overlay adds is there, and it is the overlay's doing: the raw clip has none of these colours.
    first_frame = cv2.VideoCapture(str(clip)).read()[1]
    assert skeleton_pixels(crop(view, window.layout(view).video)) > 200 and skeleton_pixels(first_frame) < 50

    # Space pauses: the picture freezes (dimmed) until space again; no frame is lost by pausing.
    window.x.xdotool("key", "--window", str(window.window), "space")
    time.sleep(0.5)
    paused = window.view()
    time.sleep(0.6)
    assert np.array_equal(window.view(), paused), "the paused picture does not change"
    video = window.layout(view).video
    assert crop(paused, video).mean() < 0.7 * crop(view, video).mean()
    window.x.xdotool("key", "--window", str(window.window), "space")

    returncode, stdout, stderr, report = window.finish()
    assert returncode == 0, stderr
    assert json.loads(stdout) == report  # --json - : the report on stdout, nothing else
    assert_same_count(report, analyzed)
    assert report["live"]["ended_by"] == "end of video"


@needs_x
@pytest.mark.parametrize(
    ("how", "ended_by"),
    [("q key", "q key"), ("close button", "window closed"), ("Ctrl-C", "Ctrl-C")],
)
def test_every_way_out_saves_the_report(xserver, tmp_path, how, ended_by):
    full_clip = shared_clip("cat_cow_01.mp4")  # 12.9 s: still playing when the quit arrives
    window = LiveWindow(xserver, full_clip, tmp_path)
    window.wait_for_overlay()
    if how == "q key":
        window.x.xdotool("key", "--window", str(window.window), "q")
    elif how == "close button":
        window.x.close_window(window.window)
    else:
        window.process.send_signal(signal.SIGINT)
    returncode, stdout, stderr, report = window.finish()
    assert returncode == (130 if how == "Ctrl-C" else 0), stderr  # the README's exit code after Ctrl-C
    assert "Traceback" not in stderr
    assert report["live"]["ended_by"] == ended_by
    assert 0 < report["frames"] + report["live"]["frames_dropped"] < 387, "stopped before the end of the clip"
    assert report["interrupted"] is True, "a video not played to the end gives a partial report"
    assert (tmp_path / "reps.csv").exists()
    assert f"Session ended: {ended_by}" in stderr
    assert "Reps:" in stdout, "the summary is printed"
    deadline = time.monotonic() + 5
    while window.live_windows() and time.monotonic() < deadline:  # the server tidies up after the exit
        time.sleep(0.1)
    assert not window.live_windows(), "the window is gone"


# ------------------------------------------------------------------------------------------------ screens
#
# The live view on laptop, desktop and netbook screens, with a portrait (phone) and a landscape clip, and in
# a window the user resized: the count, the message and the key hint must be inside the visible window. Each
# is checked in a real screenshot, where the layout the code computes for the window's size puts it. The
# check is made on the paused screen, which is still (no timing) and always has a message ("Paused").

PORTRAIT_CLIP = "cat_cow_01.mp4"  # 720x1280, 12.9 s: still playing when the checks are done
LANDSCAPE_CLIP = "cat_cow_32.mp4"  # 1280x720, 13.5 s


def pause(window: LiveWindow) -> None:
    """Pauses the session: the view stays still, so nothing below depends on timing or on the clip's length."""
    window.x.xdotool("key", "--window", str(window.window), "space")


def check_the_panel_is_on_screen(window: LiveWindow, screen: tuple[int, int], name: str) -> np.ndarray:
    """Checks, in screenshots of the paused session, the window inside the screen and the count, the message
    and the key hint where the layout for the window's size puts them; returns the view (saved as ``name``.png).

    Screenshots are taken until all are seen in one (or the time is up): just after a resize, the window shows
    the previous picture stretched until the view is drawn again at its new size.
    """
    x, y, w, h = window.geometry
    assert x >= 0 and y >= 0 and x + w <= screen[0] and y + h <= screen[1], f"window {w}x{h}+{x}+{y} off screen"
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while True:
        view = window.view()
        layout = window.layout(view)
        for box in (layout.counter, layout.message, layout.hint, layout.video):
            assert 0 <= box.x and box.right <= w and 0 <= box.y and box.bottom <= h
        message = crop(view, layout.message)
        seen = {
            # "Paused - press space to go on" on its amber box
            "the paused message": pixels_like(message, WARNING_COLOUR, tolerance=12)
            > 0.3 * message.shape[1] * layout.line_height,
            "its words": pixels_like(message, (255, 255, 255), tolerance=40) > 30,
            "the count in its box": count_pixels(crop(view, layout.counter)) > 50,
            "the key hint": pixels_like(crop(view, layout.hint), HINT_COLOUR, tolerance=40) > 30,
        }
        if all(seen.values()):
            cv2.imwrite(str(window.out.parent / f"{name}.png"), view)
            return view
        if time.monotonic() > deadline or window.process.poll() is not None:
            cv2.imwrite(str(window.out.parent / f"{name}-failed.png"), view)
            raise AssertionError(f"not seen in the {w}x{h} window: {[k for k, v in seen.items() if not v]}")
        time.sleep(0.1)


def quit_window(window: LiveWindow) -> None:
    window.x.xdotool("key", "--window", str(window.window), "q")
    returncode, _, stderr, report = window.finish()
    assert returncode == 0, stderr
    assert report["live"]["ended_by"] == "q key"


@needs_x
@pytest.mark.parametrize(
    ("screen", "clip_name"),
    [((1366, 768), PORTRAIT_CLIP), ((1366, 768), LANDSCAPE_CLIP), ((1920, 1080), LANDSCAPE_CLIP),
     ((1024, 600), PORTRAIT_CLIP)],
    ids=["laptop-portrait", "laptop-landscape", "desktop-landscape", "netbook-portrait"],
)
def test_the_count_the_message_and_the_hint_are_inside_the_window(screen, clip_name, tmp_path):
    server = running_xserver(screen, tmp_path / "fb")
    (tmp_path / "fb").mkdir()
    xserver = next(server)
    try:
        window = LiveWindow(xserver, shared_clip(clip_name), tmp_path / "out")
        view = window.wait_for_overlay()
        assert (view.shape[1], view.shape[0]) == window_size_for(screen), "the window opens to fit the screen"
        pause(window)
        check_the_panel_is_on_screen(window, screen, f"{screen[0]}x{screen[1]}-{clip_name}")
        quit_window(window)
    finally:
        server.close()


@needs_x
def test_a_resized_window_is_drawn_again_at_its_new_size(tmp_path):
    screen = (1366, 768)
    server = running_xserver(screen, tmp_path / "fb")
    (tmp_path / "fb").mkdir()
    xserver = next(server)
    try:
        window = LiveWindow(xserver, shared_clip(PORTRAIT_CLIP), tmp_path / "out")
        window.wait_for_overlay()
        pause(window)  # resized while paused: no new frame comes, the paused view is drawn again at each size
        for size in ((560, 700), (900, 420)):  # tall and narrow, then short and wide (as a user may drag it)
            window.x.xdotool("windowsize", str(window.window), str(size[0]), str(size[1]))
            deadline = time.monotonic() + PROCESS_TIMEOUT_S
            while window.geometry[2:] != size:
                assert time.monotonic() < deadline, "the window was not resized"
                time.sleep(0.1)
            view = check_the_panel_is_on_screen(window, screen, f"resized-{size[0]}x{size[1]}")
            assert window.layout(view).canvas == size
        quit_window(window)
    finally:
        server.close()


# ------------------------------------------------------------------------------------------------ camera


def test_a_camera_that_goes_away_ends_the_session_with_the_report_saved(clip, analyzed, tmp_path, monkeypatch):
    """The camera path of the command, with the clip standing in for a camera that is unplugged when it ends."""
    from typer.testing import CliRunner

    from posecheck.sources import camera, paced_file
    from posecheck.cli.app import app

    opened = []

    class UnpluggedCamera(paced_file.PacedFileSource):
        def __init__(self, index, width=None, height=None):
            super().__init__(clip)
            opened.append((index, width, height))

        def _run(self):
            super()._run()
            self.end_reason = f"camera {opened[0][0]} stopped delivering frames (unplugged or in use?)"

    monkeypatch.setattr(camera, "CameraSource", UnpluggedCamera)
    result = CliRunner().invoke(
        app, ["live", "cat-cow", "--camera", "2", "--width", "640", "--height", "480", "--headless", "--out", str(tmp_path)]
    )
    assert opened == [(2, 640, 480)]
    assert result.exit_code == 2, result.output
    assert "Error: camera 2 stopped delivering frames (unplugged or in use?); report saved in" in result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["source"]["kind"] == "camera" and report["source"]["path"] == "camera:2"
    assert report["live"]["ended_by"] == "camera 2 stopped delivering frames (unplugged or in use?)"
    assert report["interrupted"] is False, "a camera has no end to miss"
    assert_same_count(report, analyzed)  # the whole clip was seen before the "camera" went away
