"""The live view's parts, in-process and without a window: overlay, terminal view, keys, reset, signals,
recording, and the display check.

The window itself, driven as a real process on a virtual X server, is in test_live_process.py.
"""

from __future__ import annotations

import io
import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from posecheck import live, render  # noqa: E402
from posecheck.capture import VideoFileSource  # noqa: E402
from posecheck.engine.events import (  # noqa: E402
    Cue,
    EngineState,
    HoldFinished,
    HoldRecord,
    NotReady,
    PhaseChanged,
    Ready,
    RepCompleted,
    RepRecord,
    SessionSummary,
    TrackingLost,
)
from posecheck.errors import DisplayError  # noqa: E402
from posecheck.session import SessionInfo, StopSession  # noqa: E402
from posecheck.specs import load_spec_by_id  # noqa: E402
from posecheck.trace import Trace  # noqa: E402

from conftest import trace_path  # noqa: E402

SPEC = load_spec_by_id("cat-cow")
INFO = SessionInfo(exercise="cat-cow", source="test", fps=10.0, frame_size=(240, 320), frame_count=0)


def make_state(**changes) -> EngineState:
    state = EngineState(
        t=1.0, tracking=True, ready=True, not_ready_reason=None, phase="cow", side=None, reps=6,
        reps_by_side={}, target_reps=10, hold_seconds=None, hold_target=None,
        measures={"head_lift": 0.21}, cue=None,
    )
    return replace(state, **changes)


@pytest.fixture(scope="module")
def pose():
    """A real cat-cow pose (frame 140 of the committed cat_cow_01 trace)."""
    return Trace.load(trace_path("cat_cow_01")).pose_at(140)


def grey_frame(width: int = 240, height: int = 320) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


def colour_pixels(image: np.ndarray, colour, tolerance: int = 30) -> int:
    """How many pixels are within ``tolerance`` (per channel) of a BGR colour."""
    return int(np.all(np.abs(image.astype(int) - np.array(colour)) <= tolerance, axis=-1).sum())


# ------------------------------------------------------------------------------------------------ overlay


PLANK = load_spec_by_id("plank")


@pytest.mark.parametrize(
    ("state", "spec", "last_hold", "expected"),
    [
        (make_state(), SPEC, None, "6"),
        (make_state(reps=5, reps_by_side={"left": 3, "right": 2}), SPEC, None, "L 3  R 2"),
        # Hold exercises show the seconds held: the running hold, else the last one, else 0.
        (make_state(reps=0, hold_seconds=11.6, hold_target=20.0), PLANK, 8.0, "12s"),
        (make_state(reps=0), PLANK, 8.0, "8s"),
        (make_state(reps=0), PLANK, None, "0s"),
    ],
)
def test_counter_text(state, spec, last_hold, expected):
    assert live.counter_text(state, spec, last_hold) == expected


def test_target_text_follows_the_spec():
    assert live.target_text(SPEC) == "of 10 slow reps"  # cat-cow has a minimum rep time
    no_tempo = SPEC.model_copy(update={"tempo": None})
    assert live.target_text(no_tempo) == "of 10 reps"
    per_side = SPEC.model_copy(update={"target": SPEC.target.model_copy(update={"per_side": True})})
    assert live.target_text(per_side) == "10 each side"
    hold = SPEC.model_copy(update={"target": SPEC.target.model_copy(update={"reps": None, "seconds": 30.0})})
    assert live.target_text(hold) == "of 30 s"
    assert live.target_text(PLANK) == "of 20 s"


def test_flipped_pose_mirrors_positions_but_keeps_which_side_is_which(pose):
    flipped = live.flipped_pose(pose)
    assert np.allclose(flipped.landmarks[:, 0], 1.0 - pose.landmarks[:, 0])
    assert np.array_equal(flipped.landmarks[:, 1:], pose.landmarks[:, 1:])


def test_live_view_draws_the_counter_and_the_skeleton_and_leaves_the_frame_alone(pose):
    frame = grey_frame(720 // 2, 1280 // 2)
    before = frame.copy()
    image = live.draw_live_view(frame, pose, make_state(), SPEC, live.LiveStatus(fps=29.6))
    assert np.array_equal(frame, before)
    h, w = image.shape[:2]
    top_right = image[: h // 5, w // 2 :]
    assert colour_pixels(top_right, live.COUNTER_COLOUR) > 100, "the big green count is in the top-right corner"
    assert colour_pixels(image, render.LEFT_COLOUR) + colour_pixels(image, render.RIGHT_COLOUR) > 100
    waiting = live.draw_live_view(frame, pose, make_state(ready=False, not_ready_reason="Come onto your hands and knees."),
                                  SPEC, live.LiveStatus())
    assert colour_pixels(waiting[: h // 5, w // 2 :], live.COUNTER_COLOUR) == 0, "no green count before counting starts"
    assert colour_pixels(waiting[: h // 5, w // 2 :], live.COUNTER_WAITING_COLOUR, tolerance=5) > 100


def test_mirrored_view_is_the_frame_flipped_with_the_skeleton_on_the_flipped_person(pose):
    frame = np.zeros((640, 360, 3), np.uint8)
    frame[:, :180] = (200, 0, 0)  # left half blue
    plain = live.draw_live_view(frame, pose, make_state(), SPEC, live.LiveStatus())
    mirrored = live.draw_live_view(frame, pose, make_state(), SPEC, live.LiveStatus(mirror=True))
    mid = (slice(300, 340), slice(None))
    assert plain[mid][:, 5, 0] == pytest.approx(200, abs=5) and mirrored[mid][:, -6, 0] == pytest.approx(200, abs=5)
    # The skeleton is drawn where the flipped person is: the nose's colour shows up at the flipped x.
    nose_x = pose.landmarks[0, 0] * 360
    nose_y = int(pose.landmarks[0, 1] * 640)
    assert pose.visibility[0] > 0.9, "the fixture frame shows the nose"
    flipped_x = int(round(360 - nose_x))
    patch = mirrored[nose_y - 3 : nose_y + 4, flipped_x - 3 : flipped_x + 4]
    assert colour_pixels(patch, render.CENTRE_COLOUR) > 0


def test_hold_ring_fills_with_the_held_seconds():
    hold_spec = SPEC.model_copy(update={"target": SPEC.target.model_copy(update={"reps": None, "seconds": 10.0})})
    frame = grey_frame(480, 640)
    empty = live.draw_live_view(frame, None, make_state(hold_seconds=0.0, hold_target=10.0), hold_spec, live.LiveStatus())
    half = live.draw_live_view(frame, None, make_state(hold_seconds=5.0, hold_target=10.0), hold_spec, live.LiveStatus())
    full = live.draw_live_view(frame, None, make_state(hold_seconds=12.0, hold_target=10.0), hold_spec, live.LiveStatus())
    green = [colour_pixels(img[:, 240:], live.COUNTER_COLOUR) - colour_pixels(empty[:, 240:], live.COUNTER_COLOUR)
             for img in (half, full)]
    assert 0 < green[0] < green[1]
    assert green[1] == pytest.approx(2 * green[0], rel=0.25)


def test_paused_view_is_dimmed():
    frame = np.full((640, 480, 3), 200, np.uint8)
    shown = live.draw_live_view(frame, None, make_state(), SPEC, live.LiveStatus())
    paused = live.draw_live_view(frame, None, make_state(), SPEC, live.LiveStatus(paused=True))
    corner = (slice(300, 340), slice(0, 40))
    assert paused[corner].mean() < 0.6 * shown[corner].mean()


def test_frame_rate_meter():
    now = [0.0]
    meter = live.FrameRateMeter(window_s=1.0, clock=lambda: now[0])
    assert meter.fps is None
    for _ in range(31):
        meter.tick()
        now[0] += 1 / 30
    assert meter.fps == pytest.approx(30.0, rel=0.05)


# ------------------------------------------------------------------------------------------------ terminal


EVENTS_AND_LINES = [
    (RepCompleted(4.0, RepRecord(3, None, 1.0, 4.0, 0.2)), "rep 3 / 10 in 3.0 s"),
    (RepCompleted(4.0, RepRecord(3, "left", 1.0, 4.0, 0.2)), "rep 3 / 10 (left) in 3.0 s"),
    (RepCompleted(4.0, RepRecord(3, None, 1.0, 4.0, 0.2, cut_by_end=True)), "rep 3 / 10, counted as you finished"),
    (Cue(2.0, "slow_down", "Lovely, now try it even slower."), "cue: Lovely, now try it even slower."),
    (NotReady(0.5, "Turn side-on to the camera."), "setup: Turn side-on to the camera."),
    (Ready(0.7), "you're set - counting now"),
    (HoldFinished(9.0, HoldRecord(None, 1.0, 9.0, 7.5, 10.0)), "hold done: 7.5 of 10 s"),
    (TrackingLost(3.0), "lost sight of you - please step into view"),
    (PhaseChanged(1.0, "cat", None), None),
]


@pytest.mark.parametrize(("event", "line"), EVENTS_AND_LINES)
def test_describe_event(event, line):
    assert live.describe_event(event, make_state()) == line


def test_terminal_view_prints_plain_event_lines_when_not_a_terminal():
    out = io.StringIO()
    sink = live.TerminalSink(SPEC, stream=out)
    sink.on_start(INFO)
    sink.on_frame(None, None, make_state(), [Ready(0.0)])
    sink.on_frame(None, None, make_state(), [])  # nothing new: nothing printed
    sink.on_frame(None, None, make_state(), [RepCompleted(4.0, RepRecord(1, None, 1.0, 4.0, 0.2))])
    sink.on_finish(SessionSummary("cat-cow", 1, {}, [], [], [], []))
    lines = out.getvalue().splitlines()
    assert lines[1:] == ["00:00.0  you're set - counting now", "00:04.0  rep 1 / 10 in 3.0 s"]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_terminal_view_rewrites_one_status_line_on_a_terminal():
    out = io.StringIO()
    now = [0.0]
    sink = live.TerminalSink(SPEC, stream=out, interactive=True, clock=lambda: now[0])
    sink.on_start(INFO)
    for i in range(5):
        now[0] = i * 0.1  # status refreshes every 0.2 s at most
        sink.on_frame(None, None, make_state(reps=i), [])
    sink.on_frame(None, None, make_state(reps=5), [Cue(2.0, "x", "Breathe out as you round.")])
    sink.on_finish(SessionSummary("cat-cow", 5, {}, [], [], [], []))
    text = out.getvalue()
    statuses = [part for part in text.split("\r\x1b[K") if part.startswith("Cat-Cow:")]
    assert [s.split()[1] for s in statuses] == ["0", "2", "4", "5"]
    assert "00:02.0  cue: Breathe out as you round.\n" in text
    assert text.endswith("\r\x1b[K"), "the status line is cleared at the end"


def test_terminal_view_tells_the_hold_still_running_when_the_session_ended():
    out = io.StringIO()
    sink = live.TerminalSink(PLANK, stream=out, interactive=True, clock=lambda: 0.0)
    sink.on_start(INFO)
    sink.on_frame(None, None, make_state(reps=0, hold_seconds=12.9, hold_target=20.0), [])
    sink.on_end(make_state(reps=0), [HoldFinished(13.0, HoldRecord(None, 0.0, 13.0, 12.9, 20.0))])
    sink.on_finish(SessionSummary("plank", 0, {}, [], [], [], []))
    # The status line is cleared, then the event is the last thing written.
    assert out.getvalue().endswith("\r\x1b[K00:13.0  hold done: 12.9 of 20 s\n")


def test_status_line_of_a_hold_counts_seconds():
    line = live.status_line(make_state(reps=0, phase="plank", hold_seconds=4.3, hold_target=20.0), PLANK, None)
    assert line == "Plank: 4s of 20 s | phase plank"


def test_status_line_shows_setup_guidance_before_counting():
    line = live.status_line(make_state(ready=False, not_ready_reason="Come onto your hands and knees.", reps=0), SPEC, 24.6)
    assert line == "Cat-Cow: 0 of 10 slow reps | phase cow | 25 fps | setup: Come onto your hands and knees."


# ------------------------------------------------------------------------------------------------ controls


class FakeSource:
    def __init__(self):
        self.calls: list[str] = []

    def stop(self):
        self.calls.append("stop")

    def pause(self):
        self.calls.append("pause")

    def resume(self):
        self.calls.append("resume")


class CountingEngine:
    """Stand-in engine: one rep per update."""

    made = 0

    def __init__(self):
        CountingEngine.made += 1
        self.reps = 0
        self.t = 0.0

    def update(self, t, pose):
        self.reps += 1
        self.t = t
        return []

    @property
    def state(self):
        return make_state(t=self.t, reps=self.reps)

    def end(self, t_end):
        return [HoldFinished(t_end, HoldRecord(None, 0.0, t_end, t_end, None))] if self.reps else []

    def finish(self, t_end):
        return SessionSummary("cat-cow", self.reps, {}, [], [], [], [])


def test_reset_starts_the_count_again_and_keeps_what_was_set_aside():
    engine = live.ResettableEngine(CountingEngine)
    for t in range(3):
        engine.update(float(t), None)
    engine.reset()
    assert engine.state.reps == 0
    engine.update(3.0, None)
    assert [e.t for e in engine.end(3.0)] == [3.0]  # the current engine's end, not a discarded one's
    assert engine.finish(3.0).reps == 1
    assert [s.reps for s in engine.discarded] == [3]


def test_window_keys_act_on_the_controls():
    source = FakeSource()
    engine = live.ResettableEngine(CountingEngine)
    engine.update(0.0, None)
    controls = live.LiveControls(source=source, engine=engine)
    sink = live.WindowSink(live.LiveOverlay(SPEC, controls), controls)
    sink._handle_key(ord("m"))
    assert controls.mirror is True
    sink._handle_key(ord("r"))
    assert engine.state.reps == 0 and len(engine.discarded) == 1
    sink._handle_key(ord(" "))
    sink._handle_key(ord(" "))
    assert source.calls == ["pause", "resume"] and controls.paused is False
    sink._handle_key(ord("x"))  # other keys do nothing
    assert controls.ended_by is None
    sink._handle_key(27)
    assert controls.ended_by == "Esc key" and source.calls[-1] == "stop"
    sink._handle_key(ord("q"))
    assert controls.ended_by == "Esc key", "the first reason to end is kept"


def test_ctrl_c_stops_the_source_once_and_interrupts_the_second_time():
    source = FakeSource()
    controls = live.LiveControls(source=source)
    before = signal.getsignal(signal.SIGINT)
    with live.stop_on_signals(controls):
        os.kill(os.getpid(), signal.SIGINT)
        assert controls.ended_by == "Ctrl-C" and source.calls == ["stop"]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_also_ends_the_session_cleanly():
    source = FakeSource()
    controls = live.LiveControls(source=source)
    with live.stop_on_signals(controls):
        os.kill(os.getpid(), signal.SIGTERM)
    assert controls.ended_by == "SIGTERM" and source.calls == ["stop"]


def test_run_live_ends_with_the_source_and_reports_how(tmp_path):
    """The live wiring through the real session loop, headless, with a stand-in estimator and engine."""
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 50.0, (64, 48))
    for _ in range(10):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()

    class NoPerson:
        def estimate(self, frame_rgb, t):
            return None

    from posecheck.capture import PacedFileSource

    out = io.StringIO()
    with PacedFileSource(path) as source:
        result = live.run_live(SPEC, source, NoPerson(), CountingEngine, window=False,
                               terminal=live.TerminalSink(SPEC, stream=out), record=tmp_path / "rec.mp4")
    assert result.ended_by == "end of video" and result.source_ended
    assert result.session.frames + result.frames_dropped == 10
    assert result.session.summary.reps == result.session.frames  # the stand-in counts every frame
    assert out.getvalue().startswith("posecheck live: Cat-Cow from ")
    with VideoFileSource(tmp_path / "rec.mp4") as recorded:
        assert recorded.info.frame_count == 10 and (recorded.info.width, recorded.info.height) == (64, 48)


# ------------------------------------------------------------------------------------------------ recording


def test_recording_keeps_real_time_when_frames_were_dropped(tmp_path, pose):
    controls = live.LiveControls(source=FakeSource())
    overlay = live.LiveOverlay(SPEC, controls)
    sink = live.RecordingSink(tmp_path / "session.mp4", overlay)
    sink.on_start(INFO)  # 10 fps
    frame = grey_frame()
    for t in (0.0, 0.1, 0.2, 0.5, 0.6, 1.0):  # 0.3, 0.4, 0.7-0.9 were dropped
        sink.on_frame(frame.copy(), pose, make_state(t=t), [])
    sink.on_finish(SessionSummary("cat-cow", 0, {}, [], [], [], []))
    assert sink.frames_written == 11  # 0.0 to 1.0 s at 10 fps
    with VideoFileSource(tmp_path / "session.mp4") as recorded:
        frames = list(recorded)
    assert len(frames) == 11
    assert colour_pixels(frames[0][1][: 320 // 5, 120:], live.COUNTER_COLOUR) > 20, "the overlay is recorded"


def test_recording_to_an_unwritable_place_is_one_clear_error(tmp_path):
    from posecheck.errors import InputError

    sink = live.RecordingSink(tmp_path / "missing" / "session.mp4", live.LiveOverlay(SPEC, live.LiveControls(FakeSource())))
    with pytest.raises(InputError, match="cannot write video"):
        sink.on_start(INFO)


# ------------------------------------------------------------------------------------------------ display


def test_no_display_is_reported_before_any_window(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert live.window_problem() == "no display (DISPLAY is not set)"
    with pytest.raises(DisplayError, match=r"^no display \(DISPLAY is not set\); use --headless"):
        live.require_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert "XWayland" in live.window_problem()


def test_an_unreachable_display_is_found_by_a_child_process_not_by_aborting(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":87")  # no X server there
    problem = live.window_problem()
    assert problem is not None and problem.startswith("cannot open a window on display ':87'")


def test_opencv_without_gui_is_reported(monkeypatch):
    monkeypatch.setattr(live, "gui_backend", lambda: "NONE")
    assert "without GUI support" in live.window_problem()


def test_this_opencv_has_a_gui():
    assert live.gui_backend().upper() != "NONE"


def test_window_sink_turns_a_stop_into_stopsession(monkeypatch):
    """on_frame ends the session (StopSession) once the controls were stopped; no real window involved."""
    controls = live.LiveControls(source=FakeSource())
    sink = live.WindowSink(live.LiveOverlay(SPEC, controls), controls)
    monkeypatch.setattr(sink, "_show", lambda image: None)
    monkeypatch.setattr(sink, "_poll_key", lambda wait_ms: ord("q"))
    with pytest.raises(StopSession):
        sink.on_frame(grey_frame(), None, make_state(), [])
    assert controls.ended_by == "q key" and sink.frames_shown == 1


def test_window_sink_stays_paused_until_space(monkeypatch):
    source = FakeSource()
    controls = live.LiveControls(source=source)
    sink = live.WindowSink(live.LiveOverlay(SPEC, controls), controls)
    shown = []
    keys = iter([ord(" "), -1, -1, ord("m"), -1, ord(" ")])
    monkeypatch.setattr(sink, "_show", lambda image: shown.append(image))
    monkeypatch.setattr(sink, "_poll_key", lambda wait_ms: next(keys))
    sink.on_frame(grey_frame(), None, make_state(), [])
    assert source.calls == ["pause", "resume"] and controls.mirror is True
    assert len(shown) == 6  # the frame, then the paused screen at every poll until space


def test_overlay_remembers_the_last_hold_and_the_moment_counting_started():
    controls = live.LiveControls(source=FakeSource())
    overlay = live.LiveOverlay(PLANK, controls)
    overlay.observe(grey_frame(), None, make_state(t=0.5), [Ready(0.5)])
    assert overlay.status().counting_since == 0.5
    overlay.observe(grey_frame(), None, make_state(t=9.0), [HoldFinished(9.0, HoldRecord(None, 1.0, 9.0, 7.5, 20.0))])
    status = overlay.status()
    assert status.last_hold_seconds == 7.5
    assert status.counting_since is None, f"the confirmation shows for {live.READY_BANNER_SECONDS} s only"
