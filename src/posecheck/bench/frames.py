"""Frames held in memory for the benchmarks: decoded, resized, written back, and the memory check that keeps
a run from swapping a shared machine. Imports cv2 lazily."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np

from posecheck.errors import InputError

# Each frame of the bare-estimator run is kept decoded in memory (a 720p RGB frame is 2.8 MB): refuse
# runs that would need more than this rather than swap a shared machine.
MAX_PRELOAD_BYTES = 2 * 1024**3


def resize_to_height(frame: np.ndarray, height: int | None) -> np.ndarray:
    """(H, W, 3) -> (height, W * height / H, 3) with area averaging; the frame itself when height is None."""
    if height is None or frame.shape[0] == height:
        return frame
    import cv2

    width = max(2, round(frame.shape[1] * height / frame.shape[0] / 2) * 2)  # even: codecs want it
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def preload_frames(video: Path, count: int, height: int | None = None) -> list[tuple[float, np.ndarray]]:
    """Decodes the first ``count`` frames of ``video`` into memory as (t, (H, W, 3) uint8 BGR).

    Raises:
        InputError: the file cannot be read, or the frames would not fit in MAX_PRELOAD_BYTES.
    """
    from posecheck.sources.video_file import VideoFileSource

    with VideoFileSource(video) as source:
        h = height or source.info.height
        check_preload(round(source.info.width * h / source.info.height), h, count)
        return [(t, resize_to_height(frame, height)) for t, frame in islice(source, count)]


def write_video(frames: list[tuple[float, np.ndarray]], path: Path, fps: float) -> Path:
    """Writes BGR frames to an mp4v ``.mp4`` (used to make same-content clips at other resolutions)."""
    from posecheck.sinks.video import open_video_writer

    h, w = frames[0][1].shape[:2]
    writer = open_video_writer(path, "mp4v", fps, (w, h))
    if writer is None:
        raise InputError(f"cannot write {path} with the mp4v codec")
    try:
        for _, frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return path


def check_preload(width: int, height: int, count: int, copies: int = 1, *, purpose: str = "the benchmark") -> None:
    """Raises InputError if ``copies`` decoded copies of ``count`` frames would not fit in MAX_PRELOAD_BYTES
    (``purpose`` names the run that needs them, for the message)."""
    frame_bytes = width * height * 3 * copies
    if count * frame_bytes > MAX_PRELOAD_BYTES:
        raise InputError(f"{count} frames of {width}x{height} need {count * frame_bytes / 1e9:.1f} GB in memory for "
                         f"{purpose}; use --frames {MAX_PRELOAD_BYTES // frame_bytes} or fewer")
