"""posecheck as a library: analyse a recording, follow poses pushed by the caller, read the spec registry.

    import posecheck

    report = posecheck.analyze("clip.mp4", "cat-cow")       # a video, or a landmark trace (.npz)
    print(report.reps, [cue.text for cue in report.cues])
    report.save("results/")                                  # report.json + reps.csv, as `posecheck analyze` writes

    session = posecheck.Session("cat-cow")                   # poses from any source (a `posecheck.core.pose.Pose`)
    for t, pose in my_poses:
        events = session.update(t, pose)                     # the engine's events for this frame
    report = session.finish()

The command line is a thin layer over these: ``posecheck analyze`` calls `analyze` and prints. Errors are
`posecheck.errors` classes (`InputError` for an unusable input, `UnknownExerciseError`, `SpecError`,
`ModelError`...), each with the exit code the command line uses.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecheck.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from posecheck.core.pose import Pose
    from posecheck.engine.events import EngineState, Event, SessionSummary
    from posecheck.estimators.model import ModelInfo
    from posecheck.runtime.session import SessionResult, Sink
    from posecheck.sinks.report import SourceDescription
    from posecheck.specs import ExerciseSpec, SpecRegistry

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------ specs


def registry(specs: str | Path | None = None) -> "SpecRegistry":
    """The exercise specs: the built-in ones, then ``$POSECHECK_SPECS``'s, then ``specs``'s (a folder of YAML
    files; the same id replaces an earlier spec). Raises InputError for a folder that does not exist."""
    from posecheck.specs import SpecRegistry

    return SpecRegistry.default(specs)


def exercises(specs: str | Path | None = None) -> list[str]:
    """The ids of every exercise posecheck knows (see `registry`), sorted: ``["bird-dog", "cat-cow", ...]``."""
    return registry(specs).ids()


def load_spec(exercise: str, specs: str | Path | None = None) -> "ExerciseSpec":
    """The validated spec of ``exercise`` (see `registry`).

    Raises:
        UnknownExerciseError: no such id (the message suggests close ones); SpecError: the spec is invalid.
    """
    from posecheck.specs import load_spec_by_id

    return load_spec_by_id(exercise, specs_dir=specs)


def _spec(exercise: "str | ExerciseSpec", specs: str | Path | None) -> "ExerciseSpec":
    return load_spec(exercise, specs) if isinstance(exercise, str) else exercise


# ------------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Rep:
    """One counted rep (a ``rep_list`` entry of the report; README.md, "Report format", says what each means)."""

    index: int
    side: str | None
    start: float | None
    end: float | None
    duration: float | None
    counted_at: float | None
    rom: float | None
    rom_unit: str | None
    peaks: dict[str, float | None]
    tempo_ok: bool
    cut_by_end: bool
    cues: list[str]


@dataclass(frozen=True)
class Hold:
    """One hold (a ``holds`` entry): seconds the position and form were kept, against the target."""

    side: str | None
    start: float | None
    end: float | None
    seconds: float | None
    target_seconds: float | None
    target_met: bool


@dataclass(frozen=True)
class Cue:
    """A cue given at ``t`` seconds (a ``cues`` entry): the spec's ``rule`` id, its ``text``, ``severity``."""

    t: float | None
    rule: str
    text: str
    severity: str


@dataclass(frozen=True)
class NotCounted:
    """Why counting paused or reps were refused (a ``not_counted`` entry): ``reason`` in plain words, and what
    was measured (``measure``, ``value``, ``unit``) against what the exercise needs (``required``)."""

    kind: str
    reason: str
    advice: str | None
    seconds: float | None
    share: float | None
    count: int | None
    measure: str | None
    value: float | None
    required: str | None
    unit: str | None
    phase: str | None
    side: str | None


def _typed(cls, entry: dict[str, Any]):
    """``cls`` made from a report entry's fields. Fields added to the report later (which need no schema bump)
    are left to ``to_dict()``, so that they do not break the typed view."""
    return cls(**{name: entry[name] for name in cls.__dataclass_fields__})


class Report:
    """The result of an analysis or a session: what ``report.json`` holds, as typed attributes.

    Attributes:
        exercise: the spec id; reps: reps counted (both sides); target_reps: the spec's target or None.
        reps_by_side: ``{"left": n, "right": n}`` for alternating exercises, else ``{}``.
        rep_list, holds, cues, not_counted: tuples of `Rep`, `Hold`, `Cue`, `NotCounted`.
        interrupted: the session was stopped early (Ctrl-C); the rest covers the frames before.
        summary: the engine's own `SessionSummary` (times not rounded).
        source: where the frames came from (`posecheck.sinks.report.SourceDescription`).
        result: the session loop's `SessionResult` (frame counts, processing speed), None for a pushed session.
        output_failures: files the analysis wrote that stopped early -> why (an annotated video on a full disk);
            the report itself is whole.
    """

    def __init__(self, data: dict[str, Any], *, summary: "SessionSummary", source: "SourceDescription",
                 result: "SessionResult | None" = None, output_failures: dict[Path, str] | None = None) -> None:
        self._data = data
        self.summary = summary
        self.source = source
        self.result = result
        self.output_failures = dict(output_failures or {})
        self.rep_list = tuple(_typed(Rep, rep) for rep in data["rep_list"])
        self.holds = tuple(_typed(Hold, hold) for hold in data["holds"])
        self.cues = tuple(_typed(Cue, cue) for cue in data["cues"])
        self.not_counted = tuple(_typed(NotCounted, entry) for entry in data["not_counted"])

    exercise = property(lambda self: self._data["exercise"])
    reps = property(lambda self: self._data["reps"])
    target_reps = property(lambda self: self._data["target_reps"])
    reps_by_side = property(lambda self: dict(self._data["reps_by_side"]))
    interrupted = property(lambda self: self._data["interrupted"])

    def to_dict(self) -> dict[str, Any]:
        """The report as ``report.json`` holds it (README.md, "Report format"); a copy the caller may change."""
        return copy.deepcopy(self._data)

    def to_json(self) -> str:
        """``report.json``'s text."""
        from posecheck.sinks.report import to_json

        return to_json(self._data)

    def why_not_counted(self) -> tuple[str, list[NotCounted]] | None:
        """What a summary says about ``not_counted``: a heading and the top reasons, or None when all counted
        (`posecheck.sinks.report.why_not_counted`)."""
        from posecheck.sinks.report import why_not_counted

        why = why_not_counted(self._data)
        return None if why is None else (why[0], [_typed(NotCounted, entry) for entry in why[1]])

    def save(self, folder: str | Path, *, json_path: str | Path | None = None) -> list[Path]:
        """Writes ``report.json`` and ``reps.csv`` into ``folder`` (created if needed), and the report to
        ``json_path`` too when given. Returns the files written; raises InputError if one cannot be."""
        from posecheck.sinks.report import save_report

        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from exc
        return save_report(self._data, folder, json_path)

    def __repr__(self) -> str:
        return (f"Report(exercise={self.exercise!r}, reps={self.reps}, holds={len(self.holds)}, "
                f"cues={len(self.cues)}, not_counted={len(self.not_counted)})")


def _report(spec: "ExerciseSpec", summary: "SessionSummary", stats, source: "SourceDescription", **extra) -> Report:
    from posecheck.sinks.report import build_spec_report

    return Report(build_spec_report(spec, summary, stats, source), summary=summary, source=source, **extra)


# ------------------------------------------------------------------------------------------------ analyze


def analyze(
    path: str | Path,
    exercise: "str | ExerciseSpec" = "cat-cow",
    *,
    model: "str | Path | ModelInfo | None" = None,
    specs: str | Path | None = None,
    sinks: "Sequence[Sink]" = (),
    annotated_video: str | Path | None = None,
    save_trace: str | Path | None = None,
    split: int = 1,
) -> Report:
    """Counts reps, times holds and collects cues in a recorded video, or in a landmark trace (``.npz``).

    Nothing is written unless asked: call ``report.save(folder)`` for report.json and reps.csv.

    Args:
        path: a video file, or a trace saved by ``posecheck analyze --save-trace`` (replayed without a model).
        exercise: a spec id (see `exercises`) or a spec already loaded.
        model: the pose model (a ``.task`` file); default ``$POSECHECK_MODEL``, else the one shipped with
            posecheck. Ignored for a trace.
        specs: a folder of extra exercise specs (for an id).
        sinks: more session sinks (`posecheck.runtime.session.Sink`), called for every frame after the
            annotated video and the trace recorder (a progress bar: `posecheck.sinks.progress.ProgressSink`).
        annotated_video: write the annotated video (H.264 .mp4) here; for a trace, the skeleton on a blank canvas.
        save_trace: record every frame's landmarks into this ``.npz`` trace.
        split: estimate the poses of a video in this many parts at once, one process each (one per core is
            the fastest); the engine still runs once over all of them in order (`posecheck.runtime.split`).
            1: no split. Ignored for a trace, whose poses need no estimating.

    Returns:
        The `Report`. A Ctrl-C during the analysis ends it early: the report covers the frames before
        (``report.interrupted``).

    Raises:
        InputError: the file is missing, not a video or trace, or too short for one rep or hold of the
            exercise, or ``split`` is below 1; TraceError: a damaged trace; ModelError: the model cannot be loaded;
            UnknownExerciseError, SpecError: the exercise.
    """
    from posecheck.runtime import wiring

    spec = _spec(exercise, specs)
    path = Path(path)
    own_sinks = _analysis_sinks(spec, annotated_video, save_trace)
    if split != 1:
        from posecheck.runtime.split import check_parts, open_split

        check_parts(split)
        if wiring.is_trace(path):
            log.warning("split is ignored when replaying a trace (its landmarks were computed already)")
    if split != 1 and not wiring.is_trace(path):
        opening = open_split(path, split, model=model, pictures=annotated_video is not None)
    else:
        opening = wiring.open_input(path, model=model, blank_frames=annotated_video is not None)
    with opening as opened:
        for sink in own_sinks:
            if hasattr(sink, "meta"):  # the trace recorder: what the input was, for a later replay's report
                sink.meta.update(opened.trace_meta)
        result = wiring.run(opened, spec, [*own_sinks, *sinks])
        source = opened.description()
    refuse_too_short(path, spec, result)
    failures = {sink.path: sink.failure for sink in own_sinks if getattr(sink, "failure", None) is not None}
    return _report(spec, result.summary, frame_stats(result), source, result=result, output_failures=failures)


def _analysis_sinks(spec: "ExerciseSpec", annotated_video: str | Path | None, save_trace: str | Path | None) -> list:
    sinks: list = []
    if annotated_video is not None:
        from functools import partial

        from posecheck.sinks.h264 import annotated_video_sink  # H.264, which browsers play
        from posecheck.sinks.render import annotate

        # Each frame comes fresh from the source and no later sink looks at its pixels: draw on it directly.
        sinks.append(annotated_video_sink(Path(annotated_video), partial(annotate, spec=spec, copy=False)))
    if save_trace is not None:
        from posecheck.sinks.trace import TraceRecorderSink

        sinks.append(TraceRecorderSink(save_trace))
    return sinks


def frame_stats(result: "SessionResult"):
    """The report's frame statistics for a recording run through the loop (duration = frames / fps)."""
    from posecheck.sinks.report import FrameStats

    fps = result.info.fps
    return FrameStats(frames=result.frames, frames_with_pose=result.frames_with_pose, fps=fps,
                      duration=result.frames / fps if fps else 0.0, interrupted=result.interrupted)


def refuse_too_short(path: str | Path, spec: "ExerciseSpec", result: "SessionResult") -> None:
    """A still image, a one-frame video or a recording too short for one rep or hold raises InputError, rather
    than giving a report of 0 reps (see `posecheck.specs.limits`). A session stopped early (Ctrl-C, a damaged
    file) passes: its report says that instead."""
    from posecheck.specs.limits import shortest_countable_seconds

    if result.interrupted or result.ended_early or result.frames == 0:
        return
    if result.frames == 1:
        raise InputError(f"{path}: a single frame (a still image?); posecheck needs a video of the exercise")
    span = result.last_t - result.first_t
    needed = shortest_countable_seconds(spec)
    if span < needed:
        what = {"reps": "one rep", "hold": "a hold", "reps+hold": "a rep or a hold"}[spec.kind]
        raise InputError(f"{path}: only {span:.2f} s long ({result.frames} frames); {what} of {spec.id} takes at "
                         f"least {needed:g} s")


# ------------------------------------------------------------------------------------------------ session


class Session:
    """An exercise session fed by the caller, one frame at a time: poses from any source, or pictures and an
    estimator. The same engine as `analyze`; it reads time only from the ``t`` it is given.

    Args:
        exercise: a spec id or a spec already loaded.
        specs: a folder of extra exercise specs (for an id).
        sinks: session sinks (`posecheck.runtime.session.Sink`: an annotated video, a recorder...), started at
            the first `update` and finished by `finish`.
        estimator: a `posecheck.estimators.base.PoseEstimator` for `update` calls that give a ``frame``
            instead of a pose (the caller opens and closes it).
        fps: the frame rate, for the sinks and the report; default: measured from the times given.
        source: a name for the input, the report's ``source.path``.

    Example:
        session = Session("cat-cow")
        for t, pose in poses:                 # pose: a posecheck.core.pose.Pose, or None when nobody is seen
            for event in session.update(t, pose):
                print(event)
        report = session.finish()
    """

    def __init__(self, exercise: "str | ExerciseSpec" = "cat-cow", *, specs: str | Path | None = None,
                 sinks: "Sequence[Sink]" = (), estimator: Any = None, fps: float | None = None,
                 source: str = "<poses>") -> None:
        from posecheck.engine.engine import Engine

        self.spec = _spec(exercise, specs)
        self.engine = Engine(self.spec)
        self.sinks = list(sinks)
        self.estimator = estimator
        self.fps = fps
        self.source = source
        self.frames = self.frames_with_pose = 0
        self.first_t = self.last_t = 0.0
        self._frame_size: tuple[int, int] | None = None
        self._started = False
        self._start_failed = False
        self._report: Report | None = None

    @property
    def state(self) -> "EngineState":
        """The engine's state after the latest update: phase, reps, hold timer, measures, the fresh cue."""
        return self.engine.state

    def update(self, t: float, pose: "Pose | None" = None, *, frame: "np.ndarray | None" = None) -> list["Event"]:
        """Feeds one frame; returns the events it caused (a phase change, a rep, a cue...).

        Args:
            t: seconds from the start, increasing.
            pose: the person's pose, or None when nobody was found. When None and ``frame`` is given, the
                session's estimator finds it in ``frame``.
            frame: the picture, (H, W, 3) uint8 BGR, for the estimator and the sinks (optional).
        """
        if self._report is not None or self._start_failed:
            raise RuntimeError("this session is finished; start a new Session")
        if pose is None and frame is not None and self.estimator is not None:
            import cv2

            pose = self.estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
        if self._frame_size is None:
            if pose is not None:
                self._frame_size = tuple(pose.frame_size)
            elif frame is not None:
                self._frame_size = (int(frame.shape[1]), int(frame.shape[0]))
        if not self._started:
            self._start()
        events = self.engine.update(t, pose)
        state = self.engine.state
        for sink in self.sinks:
            sink.on_frame(frame, pose, state, events)
        if self.frames == 0:
            self.first_t = t
        self.last_t = t
        self.frames += 1
        self.frames_with_pose += pose is not None
        return events

    def _start(self) -> None:
        from posecheck.runtime.protocols import SessionInfo
        from posecheck.runtime.session import start_sinks

        info = SessionInfo(exercise=self.spec.id, source=self.source, fps=float(self.fps or 0.0),
                           frame_size=self._frame_size or (0, 0), frame_count=0)
        try:
            start_sinks(self.sinks, info, self.engine)  # the loop's own order and clean-up when a sink fails
        except BaseException:
            # start_sinks has finished the sinks it started and the engine: the session is over, and no sink is
            # called again (not a finished one, not one that never started).
            self.sinks = ()
            self._start_failed = True
            raise
        self._started = True

    def finish(self) -> Report:
        """Ends the session (a hold still running ends here) and finishes the sinks; returns the `Report`.
        Calling it again returns the same report."""
        if self._report is not None:
            return self._report
        from posecheck.runtime.pipeline import finish_each
        from posecheck.runtime.session import hand_on_end_events
        from posecheck.sinks.report import FrameStats, SourceDescription

        try:
            if self._started:
                hand_on_end_events(self.engine, self.sinks, self.last_t)
        finally:
            summary = self.engine.finish(self.last_t)
            if self._started:
                finish_each(self.sinks, summary)
        fps = self.fps or (((self.frames - 1) / (self.last_t - self.first_t)) if self.last_t > self.first_t else 0.0)
        stats = FrameStats(frames=self.frames, frames_with_pose=self.frames_with_pose, fps=fps,
                           duration=self.frames / fps if fps else 0.0)
        source = SourceDescription(self.source, "poses", self._frame_size or (0, 0))
        self._report = _report(self.spec, summary, stats, source)
        return self._report
