"""A video file played like a camera (`PacedFileSource`): the live view without a camera, and its tests."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from posecheck.sources.latest_frame import _POLL_S, _LatestFrameSource
from posecheck.sources.video_file import VideoFileSource

log = logging.getLogger(__name__)


class PacedFileSource(_LatestFrameSource):
    """A video file played like a camera: frames become available at the file's own frame rate.

    Used to run the live view without a camera (and to test it): decoding runs in a thread, frame k is
    handed over at ``start + k / (fps * speed)`` wall-clock time, and when the loop falls behind the
    frames it had no time for are dropped, as a camera would. Frame times are the file's own
    (``k / fps``, exactly as `VideoFileSource` gives them), so a loop that keeps up sees the same frames
    with the same times as an analysis of the file, and counts the same reps.

    The clock starts when the loop comes back for the second frame: the first frame carries one-off
    costs (model warm-up, the window appearing) that a person in front of a camera would not notice, but
    that would drop the opening frames of a short clip.

    Args:
        path: the video file.
        speed: playback speed (1.0 = the file's frame rate).

    Raises:
        InputError: as `VideoFileSource`.
    """

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        super().__init__()
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._file = VideoFileSource(path)
        self.info = self._file.info
        self._clock_started = threading.Event()
        self._clock_start = 0.0

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        for taken, item in enumerate(super().__iter__(), start=1):
            yield item
            if taken == 1:
                # The loop is back for frame 2: frame 1 is due now.
                self._clock_start = time.perf_counter() - 1.0 / (self.info.fps * self.speed)
                self._clock_started.set()

    def _run(self) -> None:
        interval = 1.0 / (self.info.fps * self.speed)
        decoded = 0
        for index, (t, frame) in enumerate(self._file):
            decoded = index + 1
            if index >= 1:
                while not self._clock_started.wait(_POLL_S):
                    if self._stop.is_set():
                        return
                if not self._wait_for_turn(self._clock_start + index * interval):
                    return
            if self._stop.is_set():
                return
            self._slot.put((t, frame))
        if 0 < decoded < self.info.frame_count:
            # A file cut off (or damaged) part-way ends like one played to its end; say so, as analyze does.
            self.end_reason = (f"{self.info.path}: decoding stopped after {decoded} of {self.info.frame_count} frames "
                               "(truncated or corrupt file)")
            log.warning("%s", self.end_reason)

    def _wait_for_turn(self, due: float) -> bool:
        """Sleeps until ``due`` (perf_counter seconds) shifted by the time spent paused; False if stopped.

        Shifting the whole schedule by the paused time makes playback continue where it stopped.
        """
        while self._wait_until_resumed():
            now = time.perf_counter()
            remaining = due + self.paused_seconds(now) - now
            if remaining <= 0:
                return True
            self._stop.wait(min(remaining, _POLL_S))
        return False

    def close(self) -> None:
        """Stops the reader thread and closes the file."""
        if self._join():
            self._file.close()
