"""Clip runners: a labelled clip's poses and posecheck's result on them, from a recorded landmark trace
(:func:`replay_trace`) or from the video itself (:func:`analyze_video`), and the engine loop both use
(:func:`run_engine`).

Everything here is pure except :func:`analyze_video`, which imports the session loop, cv2 and mediapipe
lazily when it is called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.core.pose import Pose
from posecheck.core.trace import Trace
from posecheck.errors import InputError
from posecheck.evaluation.labels import ClipLabel
from posecheck.evaluation.scoring import CountedHold, CountResult

PoseStream = Iterable[tuple[float, Pose | None]]


def run_engine(spec: Any, poses: PoseStream) -> CountResult:
    """Runs posecheck's engine with ``spec`` over a pose stream, exactly as ``analyze`` feeds it.

    Args:
        spec: a loaded exercise spec (``posecheck.specs.load_spec_by_id``).
        poses: (t, pose or None) per frame, in time order.
    """
    from posecheck.engine.engine import Engine

    engine = Engine(spec)
    t_end = 0.0
    for t, pose in poses:
        engine.update(t, pose)
        t_end = t
    return _count_result(engine.finish(t_end))


def _count_result(summary: Any) -> CountResult:
    """The parts of a SessionSummary that are scored."""
    return CountResult(
        reps=summary.reps,
        rep_times=tuple((rep.start, rep.end) for rep in summary.rep_list),
        holds=tuple(CountedHold(h.start, h.end, h.seconds) for h in summary.holds),
        not_counted=not_counted_texts(summary),
    )


def not_counted_texts(summary: Any) -> tuple[str, ...]:
    """A SessionSummary's diagnostics as "kind: reason" texts, most time first (eval's ``not_counted``)."""
    return tuple(f"{d.kind}: {d.reason}" for d in getattr(summary, "diagnostics", ()))


def spec_loader(specs_dir: Path | None) -> Callable[[str], Any | None]:
    """``load(exercise id) -> spec or None`` over the built-in specs, ``$POSECHECK_SPECS`` and ``specs_dir``
    (the same search ``analyze`` does). None means there is no spec with that id: the clip is skipped.

    Invalid specs are not skipped: their SpecError propagates, because a broken spec must be seen.
    """
    from posecheck.specs import SpecRegistry

    registry = SpecRegistry.default(specs_dir)
    return lambda exercise: registry.load(exercise) if exercise in registry else None


@dataclass(frozen=True)
class ClipRun:
    """One clip run through posecheck.

    Attributes:
        poses: (t, pose or None) per frame, for the baseline and the robustness variants.
        result: posecheck's count and holds, or None when no spec was given.
    """

    poses: list[tuple[float, Pose | None]]
    result: CountResult | None


#: run(label, spec or None) -> ClipRun; raises InputError when the clip's input cannot be had.
ClipRunner = Callable[[ClipLabel, Any], ClipRun]


def replay_trace(traces_dir: Path, label: ClipLabel, spec: Any | None) -> ClipRun:
    """Replays the clip's landmark trace ``traces_dir/<clip stem>.npz`` through the engine.

    Raises:
        TraceError: no trace for this clip (or it cannot be read).
    """
    poses = list(Trace.load(Path(traces_dir) / f"{label.stem}.npz").poses())
    return ClipRun(poses, None if spec is None else run_engine(spec, poses))


def analyze_video(videos_dir: Path, label: ClipLabel, spec: Any | None, model_path: Path | None = None) -> ClipRun:
    """Decodes ``videos_dir/<clip>`` and runs it through the wiring and the session loop that ``analyze`` uses
    (`posecheck.runtime.wiring`: video source -> MediaPipe estimator -> engine). Imports cv2 and mediapipe.

    Clips without a spec are not decoded (there is nothing of posecheck's to measure).

    Raises:
        InputError: the video is missing or unreadable; ModelError: the pose model cannot be loaded.
    """
    path = Path(videos_dir) / label.clip
    if not path.is_file():
        raise InputError(f"{path}: no such video")
    if spec is None:
        return ClipRun([], None)
    from posecheck.runtime import wiring
    from posecheck.sinks.trace import PoseRecorderSink

    collector = PoseRecorderSink()
    with wiring.open_video(path, model=model_path) as opened:
        session = wiring.run(opened, spec, [collector])
    return ClipRun(collector.poses, _count_result(session.summary))
