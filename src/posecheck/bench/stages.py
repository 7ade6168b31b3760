"""Each stage of the loop alone, over the same frames: decode, BGR->RGB, inference (with posecheck's Pose
conversion), smoothing + engine, drawing, encoding, display. Imports cv2 and mediapipe lazily."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.bench.frames import resize_to_height
from posecheck.errors import InputError
from posecheck.runtime.pipeline import StageSummary, StageTimes


def time_each(items: Iterable[Any], fn, times: StageTimes, stage: str, warmup: int) -> list[Any]:
    """Calls ``fn(item)`` for each item, recording durations after the first ``warmup``; returns results."""
    clock = time.perf_counter
    out = []
    for i, item in enumerate(items):
        start = clock()
        out.append(fn(item))
        if i >= warmup:
            times.add(stage, clock() - start)
    return out


def bench_decode(video: Path, count: int, warmup: int, times: StageTimes, height: int | None = None) -> None:
    """Times reading (decoding) each frame of ``video`` (and the resize to ``height``, if any)."""
    from posecheck.sources.video_file import VideoFileSource

    clock = time.perf_counter
    with VideoFileSource(video) as source:
        iterator = iter(source)
        for i in range(count):
            start = clock()
            item = next(iterator, None)
            if item is None:
                break
            resize_to_height(item[1], height)
            if i >= warmup:
                times.add("decode", clock() - start)


def bench_stages(video: Path | None, frames_bgr: list[np.ndarray], model_path: Path, spec: Any, warmup: int,
                 out_dir: Path) -> tuple[dict[str, StageSummary], list[str]]:
    """Each stage of the loop alone, one after the other, over the same frames.

    Returns:
        stage -> durations (ms per frame), and notes on stages that could not be measured here.
    """
    import cv2

    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.sinks.render import annotate
    from posecheck.sinks.video import open_video_writer

    times = StageTimes()
    notes: list[str] = []
    if video is not None:
        bench_decode(video, len(frames_bgr), warmup, times)
    else:
        notes.append("decode: not measured for a camera (frames arrive at the camera's pace)")
    # Timed without keeping the results: holding hundreds of new frames would make every conversion fault
    # in fresh memory, which the loop (where each frame's memory is soon reused) does not pay.
    time_each(frames_bgr, lambda f: cv2.cvtColor(f, cv2.COLOR_BGR2RGB) is None, times, "convert", warmup)
    rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames_bgr]
    with MediaPipeEstimator(model_path) as estimator:
        poses = time_each(list(enumerate(rgb)), lambda item: estimator.estimate(item[1], item[0] / 30.0),
                          times, "infer", warmup)
    del rgb
    engine = Engine(spec)

    def engine_step(item: tuple[int, Any]) -> Any:
        i, pose = item
        engine.update(i / 30.0, pose)
        return engine.state  # the loop reads the state snapshot after every update

    states = time_each(list(enumerate(poses)), engine_step, times, "engine", warmup)
    canvases = [f.copy() for f in frames_bgr]
    drawn = time_each(list(zip(canvases, poses, states)), lambda a: annotate(a[0], a[1], a[2], spec, copy=False),
                      times, "draw", warmup)
    h, w = frames_bgr[0].shape[:2]
    writer = open_video_writer(out_dir / "stages.mp4", "mp4v", 30.0, (w, h))
    if writer is None:  # a writer that did not open takes frames and does nothing: the timing would be void
        raise InputError(f"cannot write video {out_dir / 'stages.mp4'} (codec mp4v) for the encode stage")
    try:
        time_each(drawn, writer.write, times, "encode", warmup)
    finally:
        writer.release()
    del canvases, drawn
    if os.environ.get("DISPLAY") or sys.platform in ("win32", "darwin"):
        from posecheck.sinks.gui import OpenCvWindow, gui_thread

        # OpenCV's windows must stay on one thread for the life of the process (posecheck.sinks.gui), so this is
        # timed as a call to that thread. The window is made like the live one (with a window that imshow
        # makes by itself, Qt warns at exit that its timers belong to another thread).
        window, gui = OpenCvWindow("posecheck bench"), gui_thread()

        def display(frame: np.ndarray) -> None:
            window.show(frame)
            window.poll_key(1)

        try:
            gui.call(window.open, (w, h))
            time_each(frames_bgr, lambda f: gui.call(display, f), times, "display", warmup)
        finally:
            gui.call(window.close)
    else:
        notes.append("display: not measured (no DISPLAY; run under xvfb-run to include it)")
    return times.summary(), notes
