"""Trace replay backend: the recorded pose at the asked time, trace sources, and save/load round trips."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.errors import TraceError
from posecheck.estimators.base import PoseEstimator
from posecheck.estimators.replay import ReplayEstimator
from posecheck.sources.replay import BLANK_CANVAS_BGR, TraceFrameSource
from posecheck.core.pose import NUM_LANDMARKS, Pose
from posecheck.runtime.session import FrameSource, run_session
from posecheck.core.trace import Trace

from conftest import trace_path

FPS = 20.0


def _trace(n: int = 5, missing: tuple[int, ...] = (2,)) -> Trace:
    frames = []
    for i in range(n):
        lms = np.full((NUM_LANDMARKS, 5), 0.5, dtype=np.float32)
        lms[:, 0] = i / 10  # frame i is recognisable by x
        frames.append((i / FPS, None if i in missing else Pose(i / FPS, lms, None, (40, 30))))
    return Trace.from_poses(frames, (40, 30), FPS, {"source": "synthetic"})


def test_replay_estimator_is_a_pose_estimator():
    assert isinstance(ReplayEstimator(_trace()), PoseEstimator)
    assert isinstance(TraceFrameSource(_trace()), FrameSource)


@pytest.mark.parametrize(
    ("t", "expected_frame"),
    [
        (0.0, 0),
        (0.05, 1),
        (0.06, 1),  # within half a frame interval (0.025 s) of frame 1
        (0.074, 1),
        (0.076, None),  # nearer frame 2, which recorded nobody
        (0.1, None),  # frame 2 recorded nobody
        (0.2, 4),
        (0.3, None),  # past the end
        (-0.1, None),  # before the start
    ],
)
def test_replay_returns_the_nearest_recorded_pose(t, expected_frame):
    pose = ReplayEstimator(_trace()).estimate(None, t)
    if expected_frame is None:
        assert pose is None
    else:
        assert pose is not None and pose.t == pytest.approx(t)
        assert pose.landmarks[0, 0] == pytest.approx(expected_frame / 10)


def test_replay_in_any_order():
    estimator = ReplayEstimator(_trace())
    xs = [estimator.estimate(None, t).landmarks[0, 0] for t in (0.2, 0.0, 0.15, 0.05)]
    assert xs == pytest.approx([0.4, 0.0, 0.3, 0.1])


def test_trace_frame_source_yields_times_and_optional_canvases():
    trace = _trace()
    assert [t for t, f in TraceFrameSource(trace)] == pytest.approx(list(trace.timestamps))
    assert all(f is None for _, f in TraceFrameSource(trace))
    frames = [f for _, f in TraceFrameSource(trace, blank_frames=True)]
    assert frames[0].shape == (30, 40, 3) and frames[0].dtype == np.uint8
    assert tuple(frames[0][0, 0]) == BLANK_CANVAS_BGR
    assert frames[0] is not frames[1]  # each frame can be drawn on without touching the next
    source = TraceFrameSource(trace, "x.npz")
    assert (source.info.fps, source.info.frame_count, source.info.width, source.info.height) == (FPS, 5, 40, 30)


def test_replay_through_the_session_converts_no_frame_for_the_estimator():
    """Blank canvases (for an annotated video) reach the sinks, but the replay is asked by time alone."""
    given, drawn = [], []

    class Watched(ReplayEstimator):
        def estimate(self, frame_rgb, t):
            given.append(frame_rgb)
            return super().estimate(frame_rgb, t)

    class Canvases:
        def on_start(self, info):
            pass

        def on_frame(self, frame_bgr, pose, state, events):
            drawn.append(frame_bgr is not None)

        def on_finish(self, summary):
            pass

    from posecheck.engine.engine import Engine
    from posecheck.specs import load_spec_by_id

    trace = _trace()
    result = run_session(TraceFrameSource(trace, blank_frames=True), Watched(trace), Engine(load_spec_by_id("cat-cow")),
                         [Canvases()], exercise="cat-cow", background=0)
    assert given == [None] * len(trace) and drawn == [True] * len(trace)
    assert result.frames_with_pose == int(trace.has_pose.sum()) == 4


def test_save_load_round_trip_keeps_every_value(tmp_path):
    trace = _trace(missing=(1, 3))
    trace.save(tmp_path / "t.npz")
    loaded = Trace.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(loaded.timestamps, trace.timestamps)
    np.testing.assert_array_equal(loaded.landmarks, trace.landmarks)  # NaN rows compare equal here
    assert loaded.frame_size == trace.frame_size and loaded.fps == trace.fps and loaded.meta == trace.meta
    assert loaded.has_pose.tolist() == [True, False, True, False, True]


def test_replaying_a_committed_trace_gives_back_its_poses():
    trace = Trace.load(trace_path("cat_cow_03"))
    estimator = ReplayEstimator(trace)
    found = 0
    for t, _ in TraceFrameSource(trace):
        pose = estimator.estimate(None, t)
        expected = trace.pose_at(int(np.searchsorted(trace.timestamps, t)))
        assert (pose is None) == (expected is None)
        if pose is not None:
            np.testing.assert_array_equal(pose.landmarks, expected.landmarks)
            found += 1
    assert found == int(trace.has_pose.sum()) > 0.9 * len(trace)


def test_loading_something_else_is_a_trace_error(tmp_path):
    bogus = tmp_path / "bogus.npz"
    bogus.write_bytes(b"this is not a zip")
    with pytest.raises(TraceError, match="not a readable posecheck trace"):
        TraceFrameSource.open(bogus)
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(TraceError):
        Trace.load(tmp_path / "other.npz")
    with pytest.raises(TraceError, match="no such trace file"):
        Trace.load(tmp_path / "missing.npz")
