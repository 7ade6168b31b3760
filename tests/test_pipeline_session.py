"""The session loop with its pipelining on (the default) gives the same results as the serial loop."""

from __future__ import annotations

import threading
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from conftest import requires_shared_videos, shared_clip
from posecheck.runtime.session import run_session
from posecheck.sinks.trace import TraceRecorderSink
from posecheck.core.trace import Trace

from posecheck.engine.events import HoldFinished, HoldRecord
from session_stand_ins import CountingEngine, EveryOtherEstimator, ListSource, RecordingSink

#: What the stand-in engine's end() returns: a hold still running when the session ends.
END_EVENTS = [HoldFinished(2.4, HoldRecord(None, 2.0, 2.4, 0.4, 10.0))]


class FileSink(RecordingSink):
    """A sink that, like the file writers, may run on the worker thread."""

    background_safe = True


def pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in ("posecheck-prefetch", "posecheck-sinks")]


@pytest.mark.parametrize(("prefetch", "background"), list(product([0, 1, 4], [0, 1, 3])))
def test_pipelined_and_serial_loops_make_identical_calls(prefetch, background):
    serial_sink, serial_estimator = RecordingSink(), EveryOtherEstimator()
    run_session(ListSource(25), serial_estimator, CountingEngine(END_EVENTS), [serial_sink], exercise="fake",
                prefetch=0, background=0)
    sink, estimator = FileSink(), EveryOtherEstimator()
    result = run_session(ListSource(25), estimator, CountingEngine(END_EVENTS), [sink], exercise="fake",
                         prefetch=prefetch, background=background)
    assert sink.calls == serial_sink.calls
    assert [c[0] for c in sink.calls[-2:]] == ["end", "finish"]
    assert [f[0, 0].tolist() for f in estimator.given] == [f[0, 0].tolist() for f in serial_estimator.given]
    assert result.frames == 25 and result.frames_with_pose == 13
    assert not pipeline_threads()


def test_safe_sinks_run_on_the_worker_thread_other_sinks_and_the_estimator_on_the_callers():
    seen = {}

    class ThreadSink(RecordingSink):
        def __init__(self, key):
            super().__init__()
            self.key = key

        def on_frame(self, *args):
            seen.setdefault(self.key, set()).add(threading.current_thread().name)

    class SafeThreadSink(ThreadSink):
        background_safe = True

    class ThreadEstimator(EveryOtherEstimator):
        def estimate(self, frame_rgb, t):
            seen.setdefault("estimator", set()).add(threading.current_thread().name)
            return super().estimate(frame_rgb, t)

    run_session(ListSource(5), ThreadEstimator(), CountingEngine(), [ThreadSink("window"), SafeThreadSink("file")],
                exercise="fake")
    here = threading.current_thread().name
    assert seen == {"file": {"posecheck-sinks"}, "window": {here}, "estimator": {here}}


def test_a_background_sink_can_still_stop_the_session():
    sink = FileSink(stop_after=3)
    result = run_session(ListSource(100), EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake", background=2)
    assert result.stopped and not result.interrupted
    # The stop is seen up to `background` frames (+ the one being submitted) after the frame that raised it.
    assert 2 <= result.frames <= 3 + 2 + 1
    assert sink.calls[-1][0] == "finish"
    assert not pipeline_threads()


@pytest.mark.parametrize("end_events", [[], END_EVENTS])
def test_a_stop_on_the_last_frame_is_not_an_error(end_events):
    sink = FileSink(stop_after=5)
    result = run_session(ListSource(5), EveryOtherEstimator(), CountingEngine(end_events), [sink], exercise="fake",
                         background=4)
    assert result.frames == 5 and sink.calls[-1][0] == "finish"


def test_a_failing_sink_ends_the_session_with_its_error_and_every_sink_finished():
    class Broken(FileSink):
        def on_frame(self, *args):
            super().on_frame(*args)
            if len(self.calls) == 4:
                raise OSError("disk full")

    broken, other = Broken(), FileSink()
    with pytest.raises(OSError, match="disk full"):
        run_session(ListSource(50), EveryOtherEstimator(), CountingEngine(), [broken, other], exercise="fake", background=2)
    assert broken.calls[-1][0] == other.calls[-1][0] == "finish"
    assert not pipeline_threads()


def test_source_error_in_the_prefetch_thread_reaches_the_caller():
    sink = FileSink()
    source = ListSource(10, raise_at_index=(3, RuntimeError("decoder exploded")))
    with pytest.raises(RuntimeError, match="decoder exploded"):
        run_session(source, EveryOtherEstimator(), CountingEngine(), [sink], exercise="fake", prefetch=4)
    assert [c[0] for c in sink.calls].count("frame") == 3 and sink.calls[-1] == ("finish", 2)
    assert not pipeline_threads()
    assert not source.closed  # the caller owns the source


@requires_shared_videos
def test_real_clip_gives_the_same_landmarks_pipelined_and_serial(tmp_path):
    """MediaPipe on a real clip: the pipelined loop feeds the estimator the same frames in the same order."""
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model

    clip = shared_clip("cat_cow_03.mp4")
    model = resolve_model()

    class FirstFrames(VideoFileSource):
        def __iter__(self):
            for i, item in enumerate(super().__iter__()):
                if i == 15:
                    return
                yield item

    traces = []
    for depth in (0, 4):
        path = tmp_path / f"trace{depth}.npz"
        with FirstFrames(clip) as source, MediaPipeEstimator(model.path) as estimator:
            run_session(source, estimator, CountingEngine(), [TraceRecorderSink(path)], exercise="fake",
                        prefetch=depth, background=depth)
        traces.append(Trace.load(path))
    serial, piped = traces
    assert len(serial) == len(piped) == 15
    assert serial.has_pose.sum() >= 10
    np.testing.assert_array_equal(serial.has_pose, piped.has_pose)
    np.testing.assert_allclose(piped.landmarks, serial.landmarks, atol=1e-6, equal_nan=True)
    assert Path(tmp_path / "trace4.npz").is_file()


@requires_shared_videos
def test_live_sources_are_not_prefetched_but_files_are():
    from posecheck.sources.paced_file import PacedFileSource
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.runtime.pipeline import reads_ahead

    clip = shared_clip("cat_cow_03.mp4")
    with PacedFileSource(clip) as paced, VideoFileSource(clip) as file:
        assert reads_ahead(paced)
        assert not reads_ahead(file)
