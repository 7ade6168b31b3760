"""The session loop with stand-in sources, estimators and engines: call order, Ctrl-C, early stops, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posecheck.capture import VideoInfo
from posecheck.engine.events import EngineState, Gap, SessionSummary, TrackingLost
from posecheck.pose import NUM_LANDMARKS, Pose
from posecheck.session import FrameSource, Sink, StopSession, TraceRecorderSink, VideoWriterSink, run_session
from posecheck.trace import Trace

FPS = 10.0
SIZE = (64, 48)


def _pose(t: float) -> Pose:
    lms = np.full((NUM_LANDMARKS, 5), 0.5, dtype=np.float32)
    lms[:, 0] = (t % 1.0) * 0.5 + 0.25  # moves, so a trace shows different values per frame
    return Pose(t, lms, None, SIZE)


class ListSource:
    """Frames from a list; raises ``raise_at_index`` (an exception instance) when that frame is reached."""

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
    """Finds a person in even frames only; records what it was given."""

    def __init__(self, needs_frames: bool = True):
        self.needs_frames = needs_frames
        self.given: list[object] = []

    def estimate(self, frame_rgb, t):
        self.given.append(frame_rgb)
        return _pose(t) if round(t * FPS) % 2 == 0 else None


class CountingEngine:
    """Stand-in engine: counts frames with a pose as 'reps'; reports a TrackingLost event for None poses."""

    def __init__(self):
        self.updates: list[tuple[float, bool]] = []
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

    def finish(self, t_end):
        self.finished_at = t_end
        return SessionSummary("fake", self._reps, {}, [], [], [], [Gap(0.1, 0.2)])


class RecordingSink:
    def __init__(self, stop_after: int | None = None):
        self.calls: list[tuple] = []
        self.stop_after = stop_after

    def on_start(self, info):
        self.calls.append(("start", info))

    def on_frame(self, frame_bgr, pose, state, events):
        self.calls.append(("frame", frame_bgr is not None, pose is not None, state.reps, tuple(type(e).__name__ for e in events)))
        if self.stop_after is not None and sum(c[0] == "frame" for c in self.calls) >= self.stop_after:
            raise StopSession

    def on_finish(self, summary):
        self.calls.append(("finish", summary.reps))


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


def test_trace_recorder_saves_every_frame(tmp_path):
    path = tmp_path / "rec.npz"
    run_session(ListSource(6), EveryOtherEstimator(), CountingEngine(), [TraceRecorderSink(path, {"source": "fake"})], exercise="fake")
    trace = Trace.load(path)
    assert len(trace) == 6 and trace.fps == FPS and trace.frame_size == SIZE
    assert trace.has_pose.tolist() == [True, False, True, False, True, False]
    assert trace.timestamps == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(trace.pose_at(2).landmarks, _pose(0.2).landmarks)
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
