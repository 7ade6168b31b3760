"""posecheck's own errors. The library raises these; the CLI turns each into one line and an exit code.

Pure module.
"""

from __future__ import annotations

from pathlib import Path


class PosecheckError(Exception):
    """Base of every error a user can cause or fix (bad input, missing camera, invalid spec...)."""

    exit_code = 1


class InputError(PosecheckError):
    """A video, trace, camera or folder that cannot be used (missing, corrupt, not writable)."""

    exit_code = 2


class TraceError(InputError):
    """A landmark trace file that cannot be read or written."""


class NoPersonError(InputError):
    """The source was readable but no person was found in it."""


class CameraError(InputError):
    """The camera cannot be opened or stopped delivering frames."""


class ModelError(PosecheckError):
    """The pose model cannot be built, found or loaded."""

    exit_code = 3


class SpecError(PosecheckError):
    """One or more exercise specs are invalid; ``problems`` holds one ``file: field: problem`` line each."""

    exit_code = 4

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class UnknownExerciseError(PosecheckError):
    """No spec with the requested id."""

    exit_code = 4


class DisplayError(PosecheckError):
    """No display to open a window on."""

    exit_code = 5


def why_not_a_folder(path: Path, what: str = "folder") -> str:
    """Says why ``path`` is not a usable folder: it is a file, a file stands in its way, or it does not exist.

    ``what`` names the folder for the user ("spec folder", "folder of traces").
    """
    path = Path(path)
    if path.exists():
        return f"{what} {path} is a file, not a folder"
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            return f"{what} {path} cannot exist: {parent} is a file, not a folder"
    return f"{what} {path} does not exist"
