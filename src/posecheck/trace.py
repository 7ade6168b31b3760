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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posecheck.errors import TraceError
from posecheck.pose import NUM_LANDMARKS, Pose

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

    @classmethod
    def load(cls, path: str | Path) -> "Trace":
        """Reads a trace written by :meth:`save`; raises TraceError with the reason otherwise."""
        path = Path(path)
        if not path.is_file():
            raise TraceError(f"{path}: no such trace file")
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != TRACE_FORMAT:
                    raise TraceError(f"{path}: not a posecheck trace")
                version = int(data["version"])
                if version != TRACE_VERSION:
                    raise TraceError(f"{path}: trace version {version} is not supported (expected {TRACE_VERSION})")
                w, h = (int(v) for v in data["frame_size"])
                return cls(
                    timestamps=data["timestamps"].astype(np.float64),
                    landmarks=data["landmarks"].astype(np.float32),
                    world=data["world"].astype(np.float32),
                    frame_size=(w, h),
                    fps=float(data["fps"]),
                    meta=json.loads(str(data["meta"])),
                )
        except TraceError:
            raise
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise TraceError(f"{path}: not a readable posecheck trace ({exc})") from exc


def is_trace_path(path: str | Path) -> bool:
    """True for files that should be replayed as traces rather than decoded as video."""
    return str(path).lower().endswith(".npz")
