"""Where the built-in specs (and the measure library beside them) are, in a checkout and in an install."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def builtin_specs_dir() -> Path | None:
    """The folder of built-in specs.

    In a source checkout or an editable install that is ``<repo>/exercise_specs`` (found by walking up from
    this package to the folder holding pyproject.toml); a regular install carries a copy inside the package
    (``posecheck/exercise_specs``, put there by setup.py's build step).
    """
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "exercise_specs").is_dir():
            return parent / "exercise_specs"
        if parent.name == "site-packages":
            break
    packaged = resources.files("posecheck") / "exercise_specs"
    if packaged.is_dir():
        return Path(str(packaged))
    return None
