"""Landmark traces: every frame's pose of a recording, saved so it can be replayed without a model.

File format (``.npz``, numpy's zipped arrays, version 1):

=================  ===============  ==========================================================
key                shape / dtype    meaning
=================  ===============  ==========================================================
format             () str           ``"posecheck-trace"``
version            () int           ``1``
timestamps         (N,) float64     seconds of each frame from the start of the source
landmarks          (N, 33, 5) f4    x, y (normalised to frame width/height), z, visibility,
                                    presence; all NaN in frames where no person was found
world              (N, 33, 3) f4    world landmarks in metres (NaN where no person)
frame_size         (2,) int         width, height in pixels
fps                () float         frame rate of the source
meta               () str           JSON: source file name, model, posecheck version
=================  ===============  ==========================================================

Pure module: numpy only.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posecheck.errors import TraceError
from posecheck.core.pose import NUM_LANDMARKS, Pose

TRACE_FORMAT = "posecheck-trace"
TRACE_VERSION = 1


@dataclass
class Trace:
    """Per-frame landmarks of one recording (see the module docstring for the arrays)."""

    timestamps: np.ndarray
    landmarks: np.ndarray
    world: np.ndarray
    frame_size: tuple[int, int]
    fps: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        if self.landmarks.shape != (n, NUM_LANDMARKS, 5):
            raise TraceError(f"trace landmarks: expected shape ({n}, 33, 5), got {self.landmarks.shape}")
        if self.world.shape != (n, NUM_LANDMARKS, 3):
            raise TraceError(f"trace world landmarks: expected shape ({n}, 33, 3), got {self.world.shape}")

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def has_pose(self) -> np.ndarray:
        """(N,) bool: frames in which a person was found."""
        return ~np.isnan(self.landmarks[:, 0, 0])

    def pose_at(self, i: int) -> Pose | None:
        """The pose of frame i, or None where no person was found."""
        if np.isnan(self.landmarks[i, 0, 0]):
            return None
        world = None if np.isnan(self.world[i, 0, 0]) else self.world[i]
        return Pose(float(self.timestamps[i]), self.landmarks[i], world, self.frame_size)

    def poses(self) -> Iterator[tuple[float, Pose | None]]:
        """(t, pose or None) for every frame in order."""
        for i in range(len(self)):
            yield float(self.timestamps[i]), self.pose_at(i)

    @classmethod
    def from_poses(
        cls,
        frames: list[tuple[float, Pose | None]],
        frame_size: tuple[int, int],
        fps: float,
        meta: dict | None = None,
    ) -> "Trace":
        """Builds a trace from (t, pose or None) per frame."""
        n = len(frames)
        lms = np.full((n, NUM_LANDMARKS, 5), np.nan, dtype=np.float32)
        world = np.full((n, NUM_LANDMARKS, 3), np.nan, dtype=np.float32)
        ts = np.empty(n, dtype=np.float64)
        for i, (t, pose) in enumerate(frames):
            ts[i] = t
            if pose is not None:
                lms[i] = pose.landmarks
                if pose.world is not None:
                    world[i] = pose.world
        return cls(ts, lms, world, (int(frame_size[0]), int(frame_size[1])), float(fps), dict(meta or {}))

    def save(self, path: str | Path) -> None:
        """Writes the trace as a compressed ``.npz`` to ``path`` as given (no extension is added: `is_trace_path`
        recognises traces by their ``.npz`` name, so give one)."""
        path = Path(path)
        try:
            with path.open("wb") as fh:
                np.savez_compressed(
                    fh,
                    format=np.array(TRACE_FORMAT),
                    version=np.array(TRACE_VERSION),
                    timestamps=self.timestamps,
                    landmarks=self.landmarks.astype(np.float32),
                    world=self.world.astype(np.float32),
                    frame_size=np.array(self.frame_size, dtype=np.int64),
                    fps=np.array(self.fps),
                    meta=np.array(json.dumps(self.meta)),
                )
        except OSError as exc:
            raise TraceError(f"cannot write trace {path}: {exc.strerror or exc}") from exc

    def check(self) -> None:
        """Checks every field as `load` does: one `TraceError` naming the first problem found.

        A trace must hold at least one frame; finite, strictly increasing timestamps; each frame's landmarks
        either all finite (a person) or all NaN (nobody), and likewise its world landmarks; a positive, finite
        fps; a frame size of two positive integers no larger than `MAX_FRAME_SIDE`; and meta a mapping.
        """
        if not isinstance(self.meta, dict):
            raise TraceError(f"meta must be a mapping (a JSON object), got {type(self.meta).__name__}")
        if not (isinstance(self.fps, (int, float)) and math.isfinite(self.fps) and self.fps > 0):
            raise TraceError(f"fps must be a positive number, got {self.fps}")
        width, height = self.frame_size
        if not (0 < width <= MAX_FRAME_SIDE and 0 < height <= MAX_FRAME_SIDE):
            raise TraceError(f"frame_size must be a width and a height of 1-{MAX_FRAME_SIDE} pixels, got {width} x {height}")
        times = self.timestamps
        if times.ndim != 1:
            raise TraceError(f"timestamps: expected one value per frame, got shape {times.shape}")
        if len(times) == 0:
            raise TraceError("the trace holds no frames")
        if not np.isfinite(times).all():
            raise TraceError(f"timestamps: frame {int(np.argmin(np.isfinite(times)))} has no valid time ({times[~np.isfinite(times)][0]})")
        steps = np.diff(times)
        if (steps <= 0).any():
            i = int(np.argmax(steps <= 0)) + 1
            raise TraceError(f"timestamps must increase from frame to frame: frame {i} is at {times[i]:g} s, after {times[i - 1]:g} s")
        for name, values in (("landmarks", self.landmarks), ("world landmarks", self.world)):
            finite = np.isfinite(values).all(axis=(1, 2))
            nobody = np.isnan(values).all(axis=(1, 2))
            mixed = ~(finite | nobody)
            if mixed.any():
                raise TraceError(f"{name}: frame {int(np.argmax(mixed))} mixes numbers with NaN or infinity "
                                 "(a frame is all numbers, or all NaN where nobody was found)")

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Reads a trace written by :meth:`save` and checks every field (:meth:`check`).

        Raises:
            TraceError: one line naming the file and the problem.
        """
        path = Path(path)
        if path.is_dir():
            raise TraceError(f"{path} is a folder, not a trace file")
        if not path.is_file():
            raise TraceError(f"{path}: no such trace file")
        try:
            archive = np.load(path, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):  # np.save's single array
                raise TraceError("not a posecheck trace (a single numpy array, not an .npz archive)")
            with archive as data:
                missing = [key for key in _TRACE_KEYS if key not in data.files]
                if "format" in missing or _text(data, "format") != TRACE_FORMAT:
                    raise TraceError("not a posecheck trace")
                if "version" in missing:
                    raise TraceError("missing version")
                version = _number(data, "version", integer=True)
                if version != TRACE_VERSION:
                    raise TraceError(f"trace version {version:g} is not supported (expected {TRACE_VERSION})")
                if missing:
                    raise TraceError(f"missing {', '.join(missing)}")
                frame_size = _array(data, "frame_size", 1, integer=True)
                if frame_size.shape != (2,):
                    raise TraceError(f"frame_size must be a width and a height, got shape {frame_size.shape}")
                try:
                    meta = json.loads(_text(data, "meta"))
                except ValueError as exc:
                    raise TraceError(f"meta is not valid JSON ({exc})") from None
                trace = cls(
                    timestamps=_array(data, "timestamps", 1).astype(np.float64),
                    landmarks=_array(data, "landmarks", 3).astype(np.float32),
                    world=_array(data, "world", 3).astype(np.float32),
                    frame_size=(int(frame_size[0]), int(frame_size[1])),
                    fps=_number(data, "fps"),
                    meta=meta,
                )
                trace.check()
                return trace
        except TraceError as exc:
            raise TraceError(f"{path}: {exc}") from None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
            # numpy and zipfile's own complaints about a damaged or foreign file
            raise TraceError(f"{path}: not a readable posecheck trace ({exc})") from exc


#: Largest width or height a trace may give: above 8K video, and small enough that a blank canvas of that
#: size (replaying a trace with an annotated video) fits in memory.
MAX_FRAME_SIDE = 16384
_TRACE_KEYS = ("format", "version", "timestamps", "landmarks", "world", "frame_size", "fps", "meta")


def _array(data, key: str, ndim: int, *, integer: bool = False) -> np.ndarray:
    """``data[key]`` if it is a real-valued array with ``ndim`` dimensions; TraceError otherwise."""
    value = data[key]
    kinds = "iu" if integer else "iuf"
    if value.dtype.kind not in kinds:
        raise TraceError(f"{key} must hold {'integers' if integer else 'numbers'}, got {value.dtype}")
    if value.ndim != ndim:
        raise TraceError(f"{key}: expected {ndim} dimension(s), got shape {value.shape}")
    return value


def _number(data, key: str, *, integer: bool = False) -> float:
    value = _array(data, key, 0, integer=integer)
    return int(value) if integer else float(value)


def _text(data, key: str) -> str:
    value = data[key]
    if value.dtype.kind != "U" or value.ndim != 0:
        raise TraceError(f"{key} must be a text, got {value.dtype} of shape {value.shape}")
    return str(value)


def is_trace_path(path: str | Path) -> bool:
    """True for files that should be replayed as traces rather than decoded as video."""
    return str(path).lower().endswith(".npz")
