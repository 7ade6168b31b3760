"""posecheck: rep counting and form cues for back-care exercises.

The public API (README.md, "Use posecheck from Python"):

    import posecheck

    report = posecheck.analyze("clip.mp4", "cat-cow")     # a video or a landmark trace -> posecheck.Report
    session = posecheck.Session("cat-cow")                 # poses pushed by the caller: update(t, pose), finish()
    posecheck.exercises()                                  # the exercise ids; posecheck.load_spec("cat-cow")

Importing posecheck stays light: the API (`posecheck.api`) is imported on first use, and cv2 and mediapipe
only when a video or a camera is opened. The errors the library raises are the classes exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posecheck.errors import (
    CameraError,
    DisplayError,
    InputError,
    ModelError,
    NoPersonError,
    PosecheckError,
    SpecError,
    TraceError,
    UnknownExerciseError,
)

from posecheck.version import __version__

#: Public names imported on first use (module ``__getattr__``), so that ``import posecheck`` and
#: ``posecheck --help`` load neither numpy-heavy modules nor cv2 nor mediapipe.
_LAZY = {
    name: "posecheck.api"
    for name in ("analyze", "Session", "Report", "Rep", "Hold", "Cue", "NotCounted", "exercises", "load_spec",
                 "registry")
}

__all__ = [
    "CameraError",
    "DisplayError",
    "InputError",
    "ModelError",
    "NoPersonError",
    "PosecheckError",
    "SpecError",
    "TraceError",
    "UnknownExerciseError",
    "__version__",
    *_LAZY,
]

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.api import Cue, Hold, NotCounted, Rep, Report, Session, analyze, exercises, load_spec, registry


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'posecheck' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
