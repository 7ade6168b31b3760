"""Rates: frames timed after a warm-up, how fast they went and how much CPU they took.

Figures drift from run to run on a shared machine; the ratios measured within one run are what the
benchmark reports are for.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.runtime.pipeline import StageSummary

DEFAULT_FRAMES = 300
DEFAULT_WARMUP = 30


def per_second(amount: float, seconds: float) -> float:
    """``amount / seconds``; 0.0 for an empty interval (too few frames were timed)."""
    return amount / seconds if seconds > 0 else 0.0


@dataclass
class Rate:
    """Frames timed after the warm-up, and how fast they went.

    Attributes:
        frames: frames timed (warm-up excluded).
        seconds: wall time for them.
        cpu_s: process CPU time (all threads) over the same interval.
    """

    frames: int
    seconds: float
    cpu_s: float

    @property
    def fps(self) -> float:
        return per_second(self.frames, self.seconds)

    @property
    def cpu_share(self) -> float:
        """Process CPU time / wall time: 1.0 is one core kept busy, 2.0 two."""
        return per_second(self.cpu_s, self.seconds)

    def to_dict(self) -> dict[str, float]:
        return {"frames": self.frames, "seconds": self.seconds, "fps": self.fps, "cpu_share": self.cpu_share}


class RateClock:
    """Measures a :class:`Rate` from per-frame ticks, ignoring the first ``warmup`` frames."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.count = 0
        self._start: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def tick(self) -> None:
        """Call once per finished frame."""
        self.count += 1
        now = (time.perf_counter(), time.process_time())
        if self.count == self.warmup or (self.warmup <= 0 and self._start is None):
            self._start = now
        self._last = now

    def rate(self) -> Rate:
        if self._start is None or self._last is None or self.count <= max(self.warmup, 1):
            return Rate(0, 0.0, 0.0)
        timed = self.count - max(self.warmup, 1)
        return Rate(timed, self._last[0] - self._start[0], self._last[1] - self._start[1])


def summary_dict(s: StageSummary) -> dict[str, float]:
    return {"median_ms": s.median_ms, "p95_ms": s.p95_ms, "mean_ms": s.mean_ms, "count": s.count}
