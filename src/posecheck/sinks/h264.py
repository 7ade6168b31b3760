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
from posecheck.session import VideoWriterSink

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


class H264WriterSink(VideoWriterSink):
    """`VideoWriterSink` that encodes H.264 (yuv420p) through PyAV. Same failure rules: a frame that cannot
    be written stops the video (``failure``), never the session; the file is always closed properly."""

    def __init__(self, path: str | Path, draw=None) -> None:
        super().__init__(path, draw, fourcc="avc1")
        self._container = None
        self._stream = None

    def on_start(self, info) -> None:
        import av

        # yuv420p needs even sizes: an odd last row or column is dropped.
        width, height = info.frame_size[0] // 2 * 2, info.frame_size[1] // 2 * 2
        try:
            self._container = av.open(str(self.path), "w", options={"movflags": "faststart"})
            rate = Fraction(info.fps).limit_denominator(1001) if info.fps > 0 else Fraction(30)
            self._stream = self._container.add_stream(CODEC, rate=rate, options=dict(ENCODER_OPTIONS))
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = "yuv420p"
        except Exception as exc:  # noqa: BLE001 - one line for the user
            self._close()
            raise InputError(f"cannot write video {self.path} (H.264, {width}x{height}): {exc}") from exc
        self._writer = self._container  # marks the sink open for the parent's checks

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        if frame_bgr is None or self._container is None or self.failure is not None:
            return
        try:
            image = self.draw(frame_bgr, pose, state) if self.draw else frame_bgr
            image = np.ascontiguousarray(image[: self._stream.height, : self._stream.width])
            import av

            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except Exception as exc:  # noqa: BLE001 - the caller reports it once the report is saved
            self.failure = f"{type(exc).__name__}: {exc}"
            log.info("writing %s stopped after %d frames (%s); the analysis goes on without it", self.path,
                     self.frames_written, self.failure)
            return
        self.frames_written += 1

    def on_finish(self, summary) -> None:
        if self._container is None:
            return
        try:
            for packet in self._stream.encode():  # flush the encoder's delayed frames
                self._container.mux(packet)
        except Exception as exc:  # noqa: BLE001
            self.failure = self.failure or f"{type(exc).__name__}: {exc}"
        finally:
            self._close()

    def _close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception as exc:  # noqa: BLE001 - a full disk at the very end
                self.failure = self.failure or f"{type(exc).__name__}: {exc}"
        self._container = self._stream = self._writer = None


def annotated_video_sink(path: Path, draw) -> VideoWriterSink:
    """The sink that writes annotated.mp4: H.264 when PyAV can, else OpenCV's mp4v (with a warning)."""
    if h264_available():
        return H264WriterSink(path, draw)
    log.warning("PyAV with libx264 is not available: annotated.mp4 is written as mp4v, which browsers may not play")
    return VideoWriterSink(path, draw)
