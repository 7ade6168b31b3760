"""annotated.mp4 in H.264, which browsers and phones play (OpenCV's pip wheels can only write mp4v).

PyAV's wheels carry their own FFmpeg with the libx264 encoder, so nothing else needs installing. When PyAV
or its encoder is missing, `annotated_video_sink` falls back to OpenCV's mp4v and says so once.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np

from posecheck.errors import InputError
from posecheck.sinks.video import VideoWriterSink

log = logging.getLogger(__name__)

#: x264 settings: crf 23 is x264's own default quality; "veryfast" keeps encoding well behind the pose
#: model's time per frame; faststart puts the index first so a browser starts playing before the end.
CODEC = "libx264"
ENCODER_OPTIONS = {"crf": "23", "preset": "veryfast"}


def h264_available() -> bool:
    try:
        import av

        av.codec.Codec(CODEC, "w")
    except Exception:  # noqa: BLE001 - no PyAV, or a build without libx264: the caller falls back
        return False
    return True


class H264FileWriter:
    """An H.264 (yuv420p) .mp4 file written through PyAV, with OpenCV VideoWriter's two calls: ``write(bgr)``
    and ``release()``. Both raise on failure; the callers decide what a failure stops.

    Args:
        path: the .mp4 to write.
        fps: frames a second (30 when unknown).
        frame_size: (width, height); yuv420p needs even sizes, so an odd last row or column is dropped.

    Raises:
        InputError: the file cannot be opened for writing.
    """

    def __init__(self, path: str | Path, fps: float, frame_size: tuple[int, int]) -> None:
        import av

        self.path = Path(path)
        self.width, self.height = frame_size[0] // 2 * 2, frame_size[1] // 2 * 2
        self._container = None
        try:
            # PyAV opens the file only when the first packet is written: make an unwritable place fail here.
            self.path.open("wb").close()
            self._container = av.open(str(self.path), "w", options={"movflags": "faststart"})
            rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
            self._stream = self._container.add_stream(CODEC, rate=rate, options=dict(ENCODER_OPTIONS))
            self._stream.width, self._stream.height = self.width, self.height
            self._stream.pix_fmt = "yuv420p"
        except Exception as exc:  # noqa: BLE001 - one line for the user
            self.release()
            raise InputError(f"cannot write video {self.path} (H.264, {self.width}x{self.height}): {exc}") from exc

    def write(self, image_bgr: np.ndarray) -> None:
        import av

        image = np.ascontiguousarray(image_bgr[: self.height, : self.width])
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
            self._container.mux(packet)

    def release(self) -> None:
        """Flushes the encoder's delayed frames and closes the file (safe to call twice)."""
        container, self._container = self._container, None
        if container is None:
            return
        try:
            for packet in self._stream.encode():
                container.mux(packet)
        finally:
            container.close()


class H264WriterSink(VideoWriterSink):
    """`VideoWriterSink` that encodes H.264 through `H264FileWriter`. Same failure rules: a frame that cannot
    be written stops the video (``failure``), never the session; the file is always closed properly."""

    def __init__(self, path: str | Path, draw=None) -> None:
        super().__init__(path, draw, fourcc="avc1")

    def on_start(self, info) -> None:
        self._writer = H264FileWriter(self.path, info.fps, info.frame_size)

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        if frame_bgr is None or self._writer is None or self.failure is not None:
            return
        try:
            self._writer.write(self.draw(frame_bgr, pose, state) if self.draw else frame_bgr)
        except Exception as exc:  # noqa: BLE001 - the caller reports it once the report is saved
            self.failure = f"{type(exc).__name__}: {exc}"
            log.info("writing %s stopped after %d frames (%s); the analysis goes on without it", self.path,
                     self.frames_written, self.failure)
            return
        self.frames_written += 1

    def on_finish(self, summary) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.release()
        except Exception as exc:  # noqa: BLE001 - a full disk at the very end
            self.failure = self.failure or f"{type(exc).__name__}: {exc}"


def open_recording_writer(path: Path, fps: float, frame_size: tuple[int, int], fourcc: str):
    """A writer for a recorded session video: H.264 for an .mp4 when PyAV can (browsers and phones play it),
    else OpenCV's ``fourcc`` (None when OpenCV cannot open it either)."""
    from posecheck.sinks.video import open_video_writer

    if path.suffix.lower() == ".mp4" and h264_available():
        return H264FileWriter(path, fps, frame_size)
    return open_video_writer(path, fourcc, fps, frame_size)


def annotated_video_sink(path: Path, draw) -> VideoWriterSink:
    """The sink that writes annotated.mp4: H.264 when PyAV can, else OpenCV's mp4v (with a warning)."""
    if h264_available():
        return H264WriterSink(path, draw)
    log.warning("PyAV with libx264 is not available: annotated.mp4 is written as mp4v, which browsers may not play")
    return VideoWriterSink(path, draw)
