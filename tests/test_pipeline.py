"""The pipelining wrappers keep every frame, in order, pass errors on, and stop their threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from posecheck.runtime.pipeline import (
    BackgroundSink,
    BackgroundWorker,
    Prefetched,
    PrefetchSource,
    StageSummary,
    StageTimes,
    frames_with_rgb,
    in_background,
)


def frames(n: int, h: int = 4, w: int = 6):
    """n distinct (t, bgr) frames: pixel [0, 0] holds the index; channel order B=i, G=i+1, R=i+2."""
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0], frame[..., 1], frame[..., 2] = i % 256, (i + 1) % 256, (i + 2) % 256
        yield i / 30.0, frame


class Recorder:
    """A source that records whether it was closed and how far it was read."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.read = 0
        self.closed = False
        self.info = "the wrapped source's info"

    def __iter__(self):
        for i, item in enumerate(frames(self.n)):
            if i == self.fail_at:
                raise OSError(f"decoder failed at frame {i}")
            self.read += 1
            yield item

    def close(self) -> None:
        self.closed = True


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "posecheck-prefetch"]


@pytest.mark.parametrize("depth", [1, 3, 64])
def test_prefetch_yields_every_frame_in_order_with_rgb(depth):
    got = list(PrefetchSource(frames(50), depth=depth))
    assert [p.t for p in got] == [i / 30.0 for i in range(50)]
    for i, p in enumerate(got):
        assert isinstance(p, Prefetched)
        assert p.bgr[0, 0].tolist() == [i % 256, (i + 1) % 256, (i + 2) % 256]
        assert p.rgb[0, 0].tolist() == [(i + 2) % 256, (i + 1) % 256, i % 256]
        assert p.rgb.flags["C_CONTIGUOUS"]


def test_prefetch_without_conversion_passes_bgr_only():
    got = list(PrefetchSource(frames(3), to_rgb=False))
    assert [p.rgb for p in got] == [None, None, None]
    assert got[2].bgr[0, 0, 0] == 2


def test_prefetch_reraises_source_error_after_earlier_frames():
    source = Recorder(10, fail_at=4)
    seen = []
    with pytest.raises(OSError, match="failed at frame 4"):
        for p in PrefetchSource(source, depth=2):
            seen.append(p.t)
    assert seen == [i / 30.0 for i in range(4)]
    assert not prefetch_threads()


def test_prefetch_stops_its_thread_when_the_loop_breaks_early():
    source = Recorder(1000)
    with PrefetchSource(source, depth=2) as pre:
        for i, _ in enumerate(pre):
            if i == 5:
                break
    assert not prefetch_threads()
    # Read ahead by at most the queue depth plus the frame in the thread's hands, not the whole source.
    assert source.read <= 6 + 2 + 1
    assert source.closed


def test_prefetch_reads_wrapped_attributes_and_iterates_once():
    pre = PrefetchSource(Recorder(2))
    assert pre.info == "the wrapped source's info"
    assert len(list(pre)) == 2
    with pytest.raises(RuntimeError, match="only once"):
        list(pre)


def test_prefetch_reads_ahead_while_the_consumer_is_busy():
    """With a slow consumer, the source is drained up to the queue depth before frames are asked for."""
    source = Recorder(20)
    it = iter(PrefetchSource(source, depth=5))
    next(it)
    deadline = time.monotonic() + 5.0
    while source.read < 1 + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert source.read >= 6
    it.close()
    assert not prefetch_threads()


def test_prefetch_records_decode_and_convert_times():
    times = StageTimes()
    list(PrefetchSource(frames(7), times=times))
    summary = times.summary()
    assert set(summary) == {"decode", "convert"}
    assert summary["decode"].count == 7 and summary["convert"].count == 7
    assert summary["convert"].total_s >= 0.0


def test_prefetch_rejects_zero_depth():
    with pytest.raises(ValueError, match="depth"):
        PrefetchSource(frames(1), depth=0)


def test_worker_runs_calls_in_submission_order_on_one_thread():
    seen, threads = [], set()

    def work(i):
        threads.add(threading.current_thread().name)
        time.sleep(0.001 * (i % 3))  # uneven durations must not reorder
        seen.append(i)

    with BackgroundWorker(depth=3, name="test-worker") as worker:
        for i in range(40):
            worker.submit(work, i)
    assert seen == list(range(40))
    assert threads == {"test-worker"}


def test_worker_flush_waits_for_queued_calls():
    seen = []
    worker = BackgroundWorker(depth=8)
    for i in range(5):
        worker.submit(lambda i=i: (time.sleep(0.01), seen.append(i)))
    worker.flush()
    assert seen == [0, 1, 2, 3, 4]
    worker.close()


def test_worker_error_is_raised_in_caller_once_and_later_calls_dropped():
    seen = []

    def work(i):
        if i == 2:
            raise ValueError("encoder broke on frame 2")
        seen.append(i)

    worker = BackgroundWorker(depth=2)
    with pytest.raises(ValueError, match="frame 2"):
        for i in range(100):
            worker.submit(work, i)
        worker.flush()
    assert seen == [0, 1]
    assert worker.failed
    with pytest.raises(RuntimeError, match="earlier background call failed"):
        worker.submit(work, 3)
    # call() still runs after the failure (cleanup), on the worker thread, and returns its result.
    assert worker.call(lambda: threading.current_thread().name) == "posecheck-worker"
    worker.close()  # the error was raised already: not again
    assert seen == [0, 1]
    assert not any(t.name == "posecheck-worker" and t.is_alive() for t in threading.enumerate())


def test_worker_call_returns_after_queued_calls_and_raises_its_own_error():
    seen = []
    with BackgroundWorker(depth=4) as worker:
        for i in range(3):
            worker.submit(lambda i=i: (time.sleep(0.005), seen.append(i)))
        assert worker.call(lambda: list(seen)) == [0, 1, 2]
        with pytest.raises(KeyError):
            worker.call(lambda: {}["missing"])
        assert not worker.failed  # an error in call() belongs to its caller only
    with pytest.raises(RuntimeError, match="closed"):
        worker.call(lambda: None)


def test_worker_close_raises_error_of_last_call():
    worker = BackgroundWorker()
    worker.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        worker.close()


def test_worker_context_does_not_mask_the_callers_error():
    with pytest.raises(KeyError):
        with BackgroundWorker() as worker:
            worker.submit(lambda: 1 / 0)
            raise KeyError("the loop's own error")


def test_worker_backpressure_bounds_pending_calls():
    release = threading.Event()
    worker = BackgroundWorker(depth=2)
    worker.submit(release.wait)  # the thread takes this one and blocks
    time.sleep(0.05)
    worker.submit(lambda: None)
    worker.submit(lambda: None)  # queue now full (depth 2)
    blocked = threading.Thread(target=worker.submit, args=(lambda: None,))
    blocked.start()
    blocked.join(0.1)
    assert blocked.is_alive(), "a third pending call should wait for room"
    release.set()
    blocked.join(5)
    assert not blocked.is_alive()
    worker.close()


def test_worker_records_call_durations():
    times = StageTimes()
    with BackgroundWorker(times=times, stage="draw") as worker:
        for _ in range(4):
            worker.submit(time.sleep, 0.002)
    s = times.summary()["draw"]
    assert s.count == 4
    assert s.median_ms >= 1.5


def test_stage_times_keep_bounded_samples_but_count_all():
    times = StageTimes(keep=10)
    for i in range(100):
        times.add("infer", 0.001 * (i + 1))
    s = times.summary()["infer"]
    assert s.count == 100
    assert s.total_s == pytest.approx(sum(0.001 * (i + 1) for i in range(100)))
    assert s.median_ms == pytest.approx(95.5)  # of the last 10 samples: 91..100 ms


def test_stage_summary_percentiles():
    s = StageSummary.of([0.001] * 19 + [0.1])
    assert s.median_ms == pytest.approx(1.0)
    assert s.p95_ms > 1.0
    assert s.mean_ms == pytest.approx((19 + 100) / 20)
    assert StageSummary.of([]).median_ms == 0.0


# ---------------------------------------------------------------------------------- BackgroundSink


class RecordingSink:
    """Records the calls it gets and the threads they came on; can fail at a chosen frame."""

    def __init__(self, name: str, log: list, fail_at: int | None = None, error: type[BaseException] = OSError):
        self.name, self.log, self.fail_at, self.error = name, log, fail_at, error
        self.threads: set[str] = set()
        self.frames = 0

    def on_start(self, info):
        self.threads.add(threading.current_thread().name)
        self.log.append((self.name, "start", info))

    def on_frame(self, frame_bgr, pose, state, events):
        self.threads.add(threading.current_thread().name)
        if self.frames == self.fail_at:
            raise self.error(f"{self.name} failed at frame {self.frames}")
        self.frames += 1
        self.log.append((self.name, "frame", int(frame_bgr[0, 0, 0]), pose, state, tuple(events)))

    def on_finish(self, summary):
        self.threads.add(threading.current_thread().name)
        self.log.append((self.name, "finish", summary))


def feed(sink, n: int) -> None:
    for i, (t, frame) in enumerate(frames(n)):
        sink.on_frame(frame, f"pose{i}", f"state{i}", [f"event{i}"])


def test_background_sink_calls_every_sink_in_order_on_one_thread():
    log = []
    a, b = RecordingSink("a", log), RecordingSink("b", log)
    sink = BackgroundSink([a, b], depth=2)
    sink.on_start("info")
    feed(sink, 30)
    sink.on_finish("summary")
    expected = [("a", "start", "info"), ("b", "start", "info")]
    for i in range(30):
        expected += [(name, "frame", i, f"pose{i}", f"state{i}", (f"event{i}",)) for name in ("a", "b")]
    expected += [("a", "finish", "summary"), ("b", "finish", "summary")]
    assert log == expected
    assert a.threads == b.threads == {"posecheck-sinks"}
    assert not any(t.name == "posecheck-sinks" for t in threading.enumerate())


def test_background_sink_error_reaches_the_loop_and_sinks_are_still_finished():
    log = []
    a, b = RecordingSink("a", log), RecordingSink("b", log, fail_at=3)
    sink = BackgroundSink([a, b], depth=1)
    sink.on_start("info")
    with pytest.raises(OSError, match="b failed at frame 3"):
        feed(sink, 50)
    sink.on_finish("summary")  # the error was raised already; every sink still gets on_finish
    assert log[-2:] == [("a", "finish", "summary"), ("b", "finish", "summary")]
    assert b.frames == 3
    assert a.frames <= 3 + 1 + 1  # frames queued after the failure are dropped, not drawn


def test_background_sink_error_on_the_last_frames_is_raised_by_on_finish():
    log = []
    sink = BackgroundSink([RecordingSink("a", log, fail_at=4)], depth=8)
    sink.on_start("info")
    feed(sink, 5)
    with pytest.raises(OSError, match="frame 4"):
        sink.on_finish("summary")
    assert log[-1] == ("a", "finish", "summary")


def test_background_sink_start_error_is_raised_at_once_and_stops_the_thread():
    class Unwritable(RecordingSink):
        def on_start(self, info):
            raise PermissionError("cannot write annotated.mp4")

    with pytest.raises(PermissionError):
        BackgroundSink([Unwritable("a", [])]).on_start("info")
    assert not any(t.name == "posecheck-sinks" for t in threading.enumerate())


def test_in_background_moves_only_background_safe_sinks():
    class FileSink(RecordingSink):
        background_safe = True

    window, writer, progress, tracer = RecordingSink("w", []), FileSink("v", []), RecordingSink("p", []), FileSink("t", [])
    assert in_background([window, writer], 0) == [window, writer]
    assert in_background([window, progress], 3) == [window, progress]  # nothing declared safe
    assert in_background([], 3) == []
    *in_loop, wrapped = in_background([window, writer, progress, tracer], 3)
    assert in_loop == [window, progress]
    assert isinstance(wrapped, BackgroundSink) and wrapped.sinks == [writer, tracer] and wrapped.depth == 3


# ---------------------------------------------------------------------------------- frames_with_rgb


@pytest.mark.parametrize("prefetch", [0, 2])
def test_frames_with_rgb_yields_the_same_frames_with_or_without_prefetch(prefetch):
    got = list(frames_with_rgb(frames(12), prefetch))
    assert [p.t for p in got] == [i / 30.0 for i in range(12)]
    assert [int(p.rgb[0, 0, 2]) for p in got] == list(range(12))


def test_frames_with_rgb_passes_missing_pictures_through():
    source = [(0.0, None), (0.5, None)]
    assert list(frames_with_rgb(source, 2)) == [Prefetched(0.0, None, None), Prefetched(0.5, None, None)]
    assert list(frames_with_rgb(source, 0, to_rgb=False)) == [Prefetched(0.0, None, None), Prefetched(0.5, None, None)]


def test_frames_with_rgb_does_not_prefetch_sources_that_read_ahead():
    class LiveLike(Recorder):
        reads_ahead = True

    source = LiveLike(5)
    it = frames_with_rgb(source, 4)
    next(it)
    time.sleep(0.05)
    assert source.read == 1  # read on demand, never queued ahead
    assert not prefetch_threads()
    it.close()


def test_closing_frames_with_rgb_stops_the_thread_but_leaves_the_source_open():
    source = Recorder(100)
    it = frames_with_rgb(source, 3)
    next(it)
    assert prefetch_threads()
    it.close()
    assert not prefetch_threads()
    assert not source.closed
