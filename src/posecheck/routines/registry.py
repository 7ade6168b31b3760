"""Where routines come from: the built-in ``routines/`` folder, then a user's ``--routines DIR``, or a file path.

A routine's id is its file name without ``.yaml`` (the loader checks that the ``id:`` inside agrees). Folders
searched later override earlier ones, as for exercise specs.

Pure module (reads files).
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from posecheck.errors import InputError, UnknownExerciseError, why_not_a_folder
from posecheck.routines.loader import load_routine_file
from posecheck.routines.schema import Routine

SUFFIXES = (".yaml", ".yml")


class UnknownRoutineError(UnknownExerciseError):
    """No routine with the requested id (exit code 4, as for an unknown exercise)."""


def builtin_routines_dir() -> Path | None:
    """The folder of built-in routines: ``<repo>/routines`` in a checkout or an editable install; a regular
    install carries a copy in ``posecheck/routines/builtin`` (setup.py's build step puts it there)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "routines").is_dir():
            return parent / "routines"
        if parent.name == "site-packages":
            break
    packaged = resources.files("posecheck") / "routines" / "builtin"
    if packaged.is_dir():
        return Path(str(packaged))
    return None


class RoutineRegistry:
    """Routines by id from folders (later folders override earlier ones).

    Args:
        folders: routine folders in order of increasing priority.
        specs: the exercise registry steps are checked against (default: built-in specs and $POSECHECK_SPECS).
    """

    def __init__(self, folders: list[Path], specs=None) -> None:
        self._paths: dict[str, Path] = {}
        self.specs = specs
        for folder in folders:
            if not folder.is_dir():
                raise InputError(why_not_a_folder(folder, "routine folder"))
            for path in sorted(folder.iterdir()):
                if path.suffix in SUFFIXES and path.is_file() and not path.name.startswith(("_", ".")):
                    self._paths[path.stem] = path

    @classmethod
    def default(cls, routines_dir: str | Path | None = None, specs=None) -> "RoutineRegistry":
        folders = [folder for folder in (builtin_routines_dir(),) if folder is not None]
        if routines_dir is not None:
            folders.append(Path(routines_dir))
        return cls(folders, specs)

    def ids(self) -> list[str]:
        return sorted(self._paths)

    def path(self, name: str) -> Path:
        """The file of routine ``name`` (an id, or a path to a ``.yaml`` file)."""
        if name in self._paths:
            return self._paths[name]
        as_path = Path(name)
        if as_path.suffix in SUFFIXES and as_path.is_file():
            return as_path
        close = difflib.get_close_matches(name, self.ids(), n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UnknownRoutineError(f"unknown routine '{name}'{hint} (known: {', '.join(self.ids()) or 'none'})")

    def load(self, name: str) -> Routine:
        """The validated routine ``name``. Raises UnknownRoutineError, InputError or RoutineError."""
        return load_routine_file(self.path(name), self.specs)
