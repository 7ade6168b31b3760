"""The session loop with stand-in sources, estimators and engines: call order, Ctrl-C, early stops, errors."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.engine.events import HoldFinished, HoldRecord
from posecheck.errors import InputError
from posecheck.runtime.session import FrameSource, Sink, run_session
from posecheck.sinks.trace import TraceRecorderSink
from posecheck.sinks.video import VideoWriterSink
from posecheck.core.trace import Trace

from session_stand_ins import FPS, SIZE, CountingEngine, EveryOtherEstimator, ListSource, RecordingSink, stand_in_pose

HOLD_RUNNING_AT_END = HoldFinished(0.5, HoldRecord(None, 0.2, 0.5, 0.3, 10.0))


def test_fakes_satisfy_the_protocols():
    assert isinstance(ListSource(1), FrameSource)
    assert isinstance(RecordingSink(), Sink)


def test_every_frame_reaches_engine_and_sinks_in_order():
    sink = RecordingSink()
    engine = CountingEngine()
    result = run_session(ListSource(6), EveryOtherEstimator(), engine, [sink], exercise="fake")
    assert sink.calls[0][0] == "start" and sink.calls[0][1].frame_size == SIZE and sink.calls[0][1].exercise == "fake"
    frames = [c for c in sink.calls if c[0] == "frame"]
    assert [c[2] for c in frames] == [True, False, True, False, True, False]
    assert [c[3] for c in frames] == [1, 1, 2, 2, 3, 3]  # state is read after this frame's update
    assert frames[1][4] == ("TrackingLost",)
    assert sink.calls[-1] == ("finish", 3)
    assert [t for t, _ in engine.updates] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert engine.finished_at == pytest.approx(0.5)
    assert (result.frames, result.frames_with_pose, result.interrupted, result.stopped) == (6, 3, False, False)
    assert not result.ended_early
    assert result.summary.reps == 3


class FramesOnly:
    """A sink without on_end (the report writers, the progress bar): it is simply not given the end events."""

    def __init__(self):
        self.frames = 0

    def on_start(self, info):
        pass

    def on_frame(self, frame_bgr, pose, state, events):
        self.frames += 1

    def on_finish(self, summary):
        pass


def test_end_events_reach_the_sinks_that_take_them_after_the_last_frame_before_finish():
    sink, plain = RecordingSink(), FramesOnly()
    engine = CountingEngine(end_events=[HOLD_RUNNING_AT_END])
    run_session(ListSource(6), EveryOtherEstimator(), engine, [plain, sink], exercise="fake")
    assert [c[0] for c in sink.calls[-3:]] == ["frame", "end", "finish"]
    assert sink.calls[-2] == ("end", 3, ("HoldFinished",))
    assert engine.ended_at == pytest.approx(0.5) and plain.frames == 6


@pytest.mark.parametrize("ending", ["ctrl-c", "stop", "error"])
def test_end_events_are_handed_on_however_the_session_ends(ending):
    sink = RecordingSink(stop_after=3 if ending == "stop" else None)
    error = {"ctrl-c": KeyboardInterrupt(), "error": RuntimeError("decoder exploded")}.get(ending)
    source = ListSource(10, raise_at_index=(4, error) if error is not None else None)
    engine = CountingEngine(end_events=[HOLD_RUNNING_AT_END])
    if ending == "error":
        with pytest.raises(RuntimeError):
            run_session(source, EveryOtherEstimator(), engine, [sink], exercise="fake")
    else:
        run_session(source, EveryOtherEstimator(), engine, [sink], exercise="fake")
    assert [c[0] for c in sink.calls[-2:]] == ["end", "finish"]


def test_no_end_events_no_on_end_call():
    sink = RecordingSink()
    run_session(ListSource(4), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake")
    assert "end" not in [c[0] for c in sink.calls] and sink.calls[-1][0] == "finish"


def test_a_hold_running_at_the_end_of_a_real_trace_is_told_and_the_summary_is_unchanged():
    """plank_01 ends mid-hold: the terminal view says "hold done" for it, the summary is as before."""
    import io

    from posecheck.engine.engine import Engine
    from posecheck.estimators.replay import ReplayEstimator
    from posecheck.sources.replay import TraceFrameSource
    from posecheck.runtime.live import TerminalSink
    from posecheck.specs import load_spec_by_id

    from conftest import trace_path

    spec = load_spec_by_id("plank")
    trace = Trace.load(trace_path("plank_01"))
    out = io.StringIO()
    result = run_session(TraceFrameSource(trace), ReplayEstimator(trace), Engine(spec), [TerminalSink(spec, stream=out)],
                         exercise="plank")
    alone = Engine(spec)
    alone.process_trace(trace)
    assert result.summary == alone.finish(float(trace.timestamps[-1]))
    (hold,) = result.summary.holds
    assert hold.end == pytest.approx(trace.timestamps[-1]), "the clip ends while the plank is held"
    assert out.getvalue().splitlines()[-1].endswith(f"hold done: {hold.seconds:.1f} of 20 s")


def test_estimator_gets_rgb_frames():
    source = ListSource(2)
    estimator = EveryOtherEstimator()
    run_session(source, estimator, CountingEngine(), exercise="fake")
    assert all(isinstance(f, np.ndarray) and f.shape == (SIZE[1], SIZE[0], 3) for f in estimator.given)


def test_estimator_that_needs_no_frames_gets_none():
    estimator = EveryOtherEstimator(needs_frames=False)
    run_session(ListSource(3), estimator, CountingEngine(), exercise="fake")
    assert estimator.given == [None, None, None]


def test_ctrl_c_finishes_engine_and_sinks_with_partial_results():
    sink = RecordingSink()
    engine = CountingEngine()
    source = ListSource(10, raise_at_index=(4, KeyboardInterrupt()))
    result = run_session(source, EveryOtherEstimator(), engine, [sink], exercise="fake")
    assert result.interrupted and result.frames == 4 and result.frames_with_pose == 2
    assert sink.calls[-1] == ("finish", 2)
    assert engine.finished_at == pytest.approx(0.3)
    assert not result.ended_early  # an interruption is not a truncated file


def test_a_sink_can_stop_the_session():
    sink = RecordingSink(stop_after=3)
    result = run_session(ListSource(10), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake")
    assert result.stopped and not result.interrupted and result.frames == 2  # the 3rd frame raised mid-way
    assert sink.calls[-1][0] == "finish"


def test_source_with_fewer_frames_than_announced_ended_early():
    result = run_session(ListSource(5, announced=9), EveryOtherEstimator(), CountingEngine(), exercise="fake")
    assert result.ended_early


def test_errors_propagate_after_sinks_are_finished():
    sink = RecordingSink()
    source = ListSource(10, raise_at_index=(3, RuntimeError("decoder exploded")))
    with pytest.raises(RuntimeError, match="decoder exploded"):
        run_session(source, EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake")
    assert sink.calls[-1] == ("finish", 2)


class FailsToClose(RecordingSink):
    """A sink whose on_finish fails (a recording on a full disk)."""

    def __init__(self, error: Exception):
        super().__init__()
        self.error = error

    def on_finish(self, summary):
        super().on_finish(summary)
        raise self.error


@pytest.mark.parametrize("background", [0, 2])
def test_a_sink_failing_to_close_leaves_no_other_sink_unfinished(background):
    """The sinks after it still close (a live window after a recording); the first failure is raised."""

    class FileSink(FailsToClose):
        background_safe = True

    first, second, after = FileSink(OSError("disk full")), FileSink(ValueError("also")), RecordingSink()
    with pytest.raises(OSError, match="disk full"):
        run_session(ListSource(4), EveryOtherEstimator(), CountingEngine(), [first, second, after], exercise="fake",
                    background=background)
    assert first.calls[-1] == second.calls[-1] == after.calls[-1] == ("finish", 2)


def test_trace_recorder_saves_every_frame(tmp_path):
    path = tmp_path / "rec.npz"
    run_session(ListSource(6), EveryOtherEstimator(), CountingEngine(), [TraceRecorderSink(path, {"source": "fake"})], exercise="fake")
    trace = Trace.load(path)
    assert len(trace) == 6 and trace.fps == FPS and trace.frame_size == SIZE
    assert trace.has_pose.tolist() == [True, False, True, False, True, False]
    assert trace.timestamps == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(trace.pose_at(2).landmarks, stand_in_pose(0.2).landmarks)
    assert trace.meta == {"source": "fake"}


def test_video_writer_draws_and_writes_every_frame(tmp_path):
    import cv2

    path = tmp_path / "out.mp4"
    drawn = []

    def draw(frame, pose, state):
        drawn.append(pose is not None)
        return np.full_like(frame, 200)

    sink = VideoWriterSink(path, draw)
    run_session(ListSource(5), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake")
    assert drawn == [True, False, True, False, True] and sink.frames_written == 5
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    ok, frame = cap.read()
    assert ok and abs(float(frame.mean()) - 200) < 5  # what draw returned is what was written
    cap.release()


def test_video_writer_skips_frameless_sources(tmp_path):
    sink = VideoWriterSink(tmp_path / "out.mp4")
    run_session(ListSource(3, frames=False), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake")
    assert sink.frames_written == 0


def test_video_writer_to_an_unwritable_place_is_one_clear_error(tmp_path):
    sink = VideoWriterSink(tmp_path / "missing" / "out.mp4")
    with pytest.raises(InputError, match=r"cannot write video .*out\.mp4 \(codec mp4v, \d+x\d+\)"):
        run_session(ListSource(3), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake", background=0)


class CannotStart(FramesOnly):
    def on_start(self, info):
        raise InputError("cannot write video out.mp4")


def test_a_sink_that_cannot_start_ends_the_session_and_the_started_ones_are_finished():
    """A window that does not open after a recording has started: the recording is still closed."""
    first, after = RecordingSink(), RecordingSink()
    engine = CountingEngine()
    with pytest.raises(InputError, match="cannot write video"):
        run_session(ListSource(4), EveryOtherEstimator(), engine, [first, CannotStart(), after], exercise="fake")
    assert [c[0] for c in first.calls] == ["start", "finish"] and first.calls[-1] == ("finish", 0)
    assert after.calls == [], "a sink never started is never finished"
    assert engine.updates == []
