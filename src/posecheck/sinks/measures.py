"""Every frame's measures and phase, kept for measures.csv and the report's plots.

measures.csv has one row per frame, as Sports2D writes its angle files: the time, the phase (for people),
the working side, and every measure, with headers for people ("head height above the shoulders (torso
lengths)"). Cells are empty where a value is unknown (no person, or a hidden landmark).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from posecheck.errors import InputError
from posecheck.specs.labels import measure_heading, phase_label


@dataclass
class MeasureFrames:
    """The per-frame record of a session.

    Attributes:
        t: (N,) seconds of each frame.
        phase: the engine's phase per frame (None before the first one, or while not tracking).
        side: the working side per frame (alternating exercises), else None.
        values: measure key -> (N,) float64, NaN where unknown. Keys as the engine's state has them
            (per-side measures as ``name.left`` / ``name.right``).
    """

    t: np.ndarray
    phase: list[str | None]
    side: list[str | None]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)


class MeasuresRecorderSink:
    """Keeps ``(t, phase, side, measures)`` of every frame (a session sink).

    Only appends to its own lists, so it may run on the session's worker thread.
    """

    background_safe = True

    def __init__(self) -> None:
        self._t: list[float] = []
        self._phase: list[str | None] = []
        self._side: list[str | None] = []
        self._values: dict[str, list[float]] = {}

    def on_start(self, info) -> None:
        self.__init__()

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        n = len(self._t)
        self._t.append(state.t)
        self._phase.append(state.phase if state.tracking else None)
        self._side.append(state.side)
        for key, value in state.measures.items():
            column = self._values.get(key)
            if column is None:  # a measure first seen now: unknown in the frames before
                column = self._values[key] = [math.nan] * n
            column.append(math.nan if value is None else float(value))
        for key, column in self._values.items():
            if len(column) < n + 1:
                column.append(math.nan)

    def on_finish(self, summary) -> None:
        """Nothing to close: the frames stay in memory until `frames` is read."""

    def frames(self) -> MeasureFrames:
        return MeasureFrames(
            t=np.asarray(self._t, dtype=np.float64),
            phase=list(self._phase),
            side=list(self._side),
            values={key: np.asarray(column, dtype=np.float64) for key, column in self._values.items()},
        )


def write_measures_csv(frames: MeasureFrames, path: str | Path, spec=None) -> Path:
    """Writes measures.csv: ``time (s)``, ``phase``, ``side``, then one column per measure (header for people).

    Raises:
        InputError: the file cannot be written.
    """
    path = Path(path)
    keys = list(frames.values)
    header = ["time (s)", "phase", "side"] + [measure_heading(spec, key) for key in keys]
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for i in range(len(frames)):
                row = [f"{frames.t[i]:.3f}", phase_label(spec, frames.phase[i]) or "", frames.side[i] or ""]
                for key in keys:
                    value = frames.values[key][i]
                    row.append("" if math.isnan(value) else f"{value:.4g}")
                writer.writerow(row)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
