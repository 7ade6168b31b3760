"""The one wiring from an input to a finished session: source -> pose estimator -> engine -> sinks.

Every way into posecheck opens its input here and runs it with `run`:

    with open_input("clip.mp4", model=None) as opened:      # or open_trace, open_camera, open_video(paced=True)
        result = run(opened, spec, sinks)                    # posecheck.runtime.session.run_session
        source = opened.description()                        # the report's "source", people counted included

`open_*` choose the frame source (video file, landmark trace, camera, a video paced like a camera) and the
estimator that fits it (MediaPipe for pictures, `ReplayEstimator` for a trace), resolve the pose model once,
choose MediaPipe's running mode from the frame rate (`running_mode_for`), and keep what a report and a trace
recording need to say about the input. They close the source and the estimator when the block ends.

Heavy packages (cv2, mediapipe) are imported only when an input that needs them is opened.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecheck.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.estimators.model import ModelInfo
    from posecheck.runtime.session import Engine, FrameSource, SessionResult, Sink
    from posecheck.sinks.report import SourceDescription
    from posecheck.specs import ExerciseSpec

log = logging.getLogger(__name__)

@dataclass
class OpenedInput:
    """An input opened by one of the ``open_*`` functions, ready for `run`.

    Attributes:
        source: the frame source (`posecheck.runtime.session.FrameSource`).
        estimator: the pose estimator that fits it (MediaPipe, or trace replay).
        kind: "video", "trace" or "camera": the report's ``source.kind``.
        name: the path as given, or ``camera:<index>``: the report's ``source.path``.
        model: the pose model in use (None for a trace, whose landmarks were computed already).
        recorded_model: for a trace, the model its metadata names ({"name", "sha256"}), if it says.
        trace_meta: what a trace recorded from this input stores about it (`TraceRecorderSink.meta`): for a
            picture source, its file name, the model and posecheck's version; for a trace, its own metadata.
    """

    source: Any
    estimator: Any
    kind: str
    name: str
    model: "ModelInfo | None" = None
    recorded_model: dict[str, str] | None = None
    trace_meta: dict[str, Any] = field(default_factory=dict)

    def description(self) -> "SourceDescription":
        """The report's ``source``. Call it after the session: the people the estimator saw are counted then."""
        from posecheck.sinks.report import SourceDescription

        info = self.source.info
        if self.model is not None:
            model = describe_model(self.model)
        else:
            model = {**self.recorded_model, "origin": "trace"} if self.recorded_model else None
        people = getattr(self.estimator, "people", None) if self.kind != "trace" else None
        return SourceDescription(self.name, self.kind, (int(info.width), int(info.height)), model, people=people)


def describe_model(info: "ModelInfo") -> dict[str, str]:
    """The report's ``source.model`` for a `ModelInfo`: file name, sha256 and origin."""
    return {"name": info.path.name, "sha256": info.sha256, "origin": info.origin}


def resolve(model: "str | Path | ModelInfo | None") -> "ModelInfo":
    """A `ModelInfo` for ``model``: one already resolved is used as it is (a benchmark resolves once for many
    runs); a path or None goes through `posecheck.estimators.model.resolve_model` (checks the file)."""
    from posecheck.estimators.model import ModelInfo, resolve_model

    return model if isinstance(model, ModelInfo) else resolve_model(model)


@contextlib.contextmanager
def _mediapipe_input(source, kind: str, name: str, model, running_mode: str | None) -> Iterator[OpenedInput]:
    """Opens the model for an opened picture source; closes both at the end of the block."""
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator, running_mode_for

    with source:
        # After the source: a missing or damaged video is reported before the model is looked for.
        model_info = resolve(model)
        # A slow camera or video is run frame by frame (no tracking lag): see running_mode_for.
        mode = running_mode or running_mode_for(source.info.fps)
        meta = {"source": Path(name).name if kind == "video" else name, "model": model_info.path.name,
                "model_sha256": model_info.sha256, "posecheck": __version__}
        with MediaPipeEstimator(model_info.path, running_mode=mode) as estimator:
            yield OpenedInput(source, estimator, kind, name, model=model_info, trace_meta=meta)


@contextlib.contextmanager
def open_video(path: str | Path, *, model: "str | Path | ModelInfo | None" = None, paced: bool = False,
               running_mode: str | None = None) -> Iterator[OpenedInput]:
    """A video file and the pose model.

    Args:
        path: the video.
        model: a ``.task`` file, a resolved `ModelInfo`, or None for the default model (``$POSECHECK_MODEL``,
            else the one shipped with posecheck).
        paced: play the file at its own frame rate, dropping frames the loop is too slow for, as a camera
            would deliver them (``live --source``); False decodes every frame as fast as the loop takes them.
        running_mode: "video" or "image" to override the choice `running_mode_for` makes from the frame rate.

    Raises:
        InputError: the video is missing or cannot be decoded; ModelError: the model cannot be loaded.
    """
    from posecheck.sources import paced_file, video_file

    source = paced_file.PacedFileSource(path) if paced else video_file.VideoFileSource(path)
    with _mediapipe_input(source, "video", str(path), model, running_mode) as opened:
        yield opened


@contextlib.contextmanager
def open_camera(index: int = 0, *, width: int | None = None, height: int | None = None,
                model: "str | Path | ModelInfo | None" = None, running_mode: str | None = None) -> Iterator[OpenedInput]:
    """A camera (``index``, 0 = the default one; ``width`` x ``height`` the capture size asked for) and the model.

    Raises:
        CameraError: the camera cannot be opened; ModelError: the model cannot be loaded.
    """
    from posecheck.sources import camera

    # Looked up on the module when called, so that a test can stand a clip in for the camera.
    source = camera.CameraSource(index, width, height)
    with _mediapipe_input(source, "camera", f"camera:{index}", model, running_mode) as opened:
        yield opened


@contextlib.contextmanager
def open_trace(path: str | Path, *, blank_frames: bool = False) -> Iterator[OpenedInput]:
    """A landmark trace (``.npz``, saved by ``--save-trace``), replayed without decoding and without a model.

    Args:
        blank_frames: yield a blank canvas per frame (for an annotated video of the skeleton); False yields no
            pictures at all (the fastest replay).

    Raises:
        TraceError: the file is not a readable posecheck trace.
    """
    from posecheck.estimators.replay import ReplayEstimator
    from posecheck.sources.replay import TraceFrameSource

    with TraceFrameSource.open(path, blank_frames=blank_frames) as source:
        trace = source.trace
        recorded = {key: str(trace.meta[meta]) for key, meta in (("name", "model"), ("sha256", "model_sha256"))
                    if meta in trace.meta}
        with ReplayEstimator(trace) as estimator:
            yield OpenedInput(source, estimator, "trace", str(path), recorded_model=recorded or None,
                              trace_meta=dict(trace.meta))


def is_trace(path: str | Path) -> bool:
    """True when ``path`` names a landmark trace (by its ``.npz`` suffix), which `open_input` replays."""
    from posecheck.core.trace import is_trace_path

    return is_trace_path(Path(path))


@contextlib.contextmanager
def open_input(path: str | Path, *, model: "str | Path | ModelInfo | None" = None,
               blank_frames: bool = False) -> Iterator[OpenedInput]:
    """A recorded input: a landmark trace (`open_trace`; ``model`` is ignored, with a warning) or a video file
    (`open_video`; ``blank_frames`` does not apply)."""
    if is_trace(path):
        if model is not None:
            log.warning("--model is ignored when replaying a trace (its landmarks were computed already)")
        with open_trace(path, blank_frames=blank_frames) as opened:
            yield opened
    else:
        with open_video(path, model=model) as opened:
            yield opened


def run(opened: OpenedInput, spec: "ExerciseSpec", sinks: "Sequence[Sink]" = (), *, engine: "Engine | None" = None,
        source: "FrameSource | None" = None, **loop_options: Any) -> "SessionResult":
    """Runs the session loop (`posecheck.runtime.session.run_session`) on an opened input.

    Args:
        opened: from one of the ``open_*`` functions.
        spec: the exercise.
        sinks: called in order for every frame.
        engine: the engine to drive; default a fresh ``Engine(spec)`` (a live view passes one it can reset,
            a benchmark one it times).
        source: a wrapper of ``opened.source`` to read from instead (a benchmark's first N frames).
        loop_options: ``prefetch``, ``background``, ``pin_cores``, passed on to `run_session`.
    """
    from posecheck.runtime.session import run_session

    if engine is None:
        from posecheck.engine.engine import Engine

        engine = Engine(spec)
    frames = opened.source if source is None else source
    return run_session(frames, opened.estimator, engine, sinks, exercise=spec.id, **loop_options)
