"""The engine alone, replaying recorded landmark traces, per exercise (no estimator, no drawing)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.bench.rates import per_second

log = logging.getLogger(__name__)


@dataclass
class EngineRate:
    """The engine alone on recorded traces of one exercise."""

    traces: list[str]
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return per_second(self.frames, self.seconds)

    @property
    def us_per_frame(self) -> float:
        return 1e6 * self.seconds / self.frames if self.frames else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"traces": self.traces, "frames": self.frames, "seconds": self.seconds, "fps": self.fps,
                "us_per_frame": self.us_per_frame}


def traces_for_exercise(exercise: str, traces_dir: Path) -> list[Path]:
    """Recorded traces of ``exercise``: files named after it, ``<id with _ for ->_<NN>.npz``.

    The shared clips are named ``cat_cow_01.mp4`` for exercise ``cat-cow``, and their traces keep the name.
    """
    stem = exercise.replace("-", "_")
    return sorted(p for p in traces_dir.glob(f"{stem}_*.npz") if p.stem[len(stem) + 1:].isdigit())


def bench_engine(traces_dir: Path, specs_dir: Path | None = None, repeat: int = 3,
                 exercises: list[str] | None = None) -> tuple[dict[str, EngineRate], dict[str, str]]:
    """Frames per second of the engine alone, per exercise, on that exercise's recorded traces.

    Poses are built from the traces before timing starts, so only what the loop asks of the engine per
    frame (``update``, then the ``state`` snapshot) and ``finish`` are timed. Each exercise runs ``repeat``
    times; the fastest run is kept (the others lost time to the rest of the machine, not to the engine).

    Returns:
        exercise -> its rate (exercises without traces are left out), and exercise -> why it was skipped
        (a spec that does not load).
    """
    from posecheck.engine.engine import Engine
    from posecheck.errors import SpecError
    from posecheck.specs import SpecRegistry
    from posecheck.core.trace import Trace

    registry = SpecRegistry.default(specs_dir)
    results: dict[str, EngineRate] = {}
    skipped: dict[str, str] = {}
    for exercise in exercises or registry.ids():
        paths = traces_for_exercise(exercise, traces_dir)
        if not paths:
            continue
        try:
            spec = registry.load(exercise)
        except SpecError as exc:
            skipped[exercise] = "; ".join(exc.problems)
            log.warning("engine benchmark skips %s: %s", exercise, skipped[exercise])
            continue
        recordings = [list(Trace.load(p).poses()) for p in paths]
        frames = sum(len(r) for r in recordings)
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            for poses in recordings:
                engine = Engine(spec)
                for t, pose in poses:
                    engine.update(t, pose)
                    engine.state  # noqa: B018 - the loop reads the snapshot after every update
                engine.finish(poses[-1][0] if poses else 0.0)
            best = min(best, time.perf_counter() - start)
        results[exercise] = EngineRate([p.name for p in paths], frames, best)
    return results, skipped
