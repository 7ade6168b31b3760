"""Where exercise specs come from: the built-in folder, ``$POSECHECK_SPECS`` and a ``--specs DIR``.

A spec's id is its file name without ``.yaml`` (the loader checks that the ``id:`` inside agrees), so listing
the exercises needs no parsing. Folders searched later override earlier ones, so a user can replace a
built-in spec by writing one with the same id into their own folder.

Pure module (reads files).
"""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path

from posecheck.errors import InputError, UnknownExerciseError, why_not_a_folder
from posecheck.specs.builtin import builtin_specs_dir
from posecheck.specs.loader import load_spec_file
from posecheck.specs.schema import ExerciseSpec
from posecheck.specs.sharing import next_after

log = logging.getLogger(__name__)

ENV_VAR = "POSECHECK_SPECS"
SPEC_SUFFIXES = (".yaml", ".yml")


def _spec_files(folder: Path) -> dict[str, Path]:
    """id -> file for the spec files directly in ``folder`` (names starting with _ or . are skipped)."""
    return {
        path.stem: path
        for path in sorted(folder.iterdir())
        if path.suffix in SPEC_SUFFIXES and path.is_file() and not path.name.startswith(("_", "."))
    }


class SpecRegistry:
    """Exercise specs by id, from one or more folders (later folders override earlier ones).

    Args:
        folders: spec folders in order of increasing priority.
    """

    def __init__(self, folders: list[Path]):
        self.folders = [Path(f) for f in folders]
        self._paths: dict[str, Path] = {}
        for folder in self.folders:
            if not folder.is_dir():
                raise InputError(why_not_a_folder(folder, "spec folder"))
            for spec_id, path in _spec_files(folder).items():
                if spec_id in self._paths:
                    log.info("spec %s from %s replaces %s", spec_id, path, self._paths[spec_id])
                self._paths[spec_id] = path
        self._cache: dict[str, ExerciseSpec] = {}

    @classmethod
    def default(cls, specs_dir: str | Path | None = None) -> "SpecRegistry":
        """Built-in specs, then the folders in ``$POSECHECK_SPECS`` (os.pathsep-separated), then ``specs_dir``."""
        folders: list[Path] = []
        builtin = builtin_specs_dir()
        if builtin is not None:
            folders.append(builtin)
        folders += [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
        if specs_dir is not None:
            folders.append(Path(specs_dir))
        return cls(folders)

    def ids(self) -> list[str]:
        """Every known exercise id, sorted."""
        return sorted(self._paths)

    def __contains__(self, spec_id: object) -> bool:
        return spec_id in self._paths

    def path(self, spec_id: str) -> Path:
        """The file the spec ``spec_id`` is read from.

        Raises:
            UnknownExerciseError: no such id; the message lists the known ids.
        """
        try:
            return self._paths[spec_id]
        except KeyError:
            known = ", ".join(self.ids()) or "none"
            close = self.suggest(spec_id)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise UnknownExerciseError(f"unknown exercise '{spec_id}'{hint} (known: {known})") from None

    def suggest(self, spec_id: str) -> list[str]:
        """Known ids close to ``spec_id``: the same letters in another case or without the dashes
        (``Cat-Cow``, ``catcow``), else a near spelling (``cat-cwo``)."""
        def plain(text: str) -> str:
            return "".join(c for c in text.lower() if c.isalnum())

        same = [known for known in self.ids() if plain(known) == plain(spec_id)]
        if same:
            return same
        by_plain = {plain(known): known for known in self.ids()}
        return [by_plain[p] for p in difflib.get_close_matches(plain(spec_id), list(by_plain), n=2, cutoff=0.75)]

    def load(self, spec_id: str) -> ExerciseSpec:
        """The validated spec ``spec_id`` (read once, then cached).

        Raises:
            UnknownExerciseError: no such id.
            SpecError: the file is invalid.
        """
        if spec_id not in self._cache:
            self._cache[spec_id] = load_spec_file(self.path(spec_id), self.find_parent)
        return self._cache[spec_id]

    def find_parent(self, spec_id: str, asking: Path) -> Path | None:
        """The file of the spec an ``extends: spec_id`` in ``asking`` means: the one the registry would load,
        or, when that is ``asking`` itself (a user's spec adjusting the built-in spec of the same id), the
        one it replaces."""
        candidates = [
            files[spec_id] for files in (_spec_files(folder) for folder in reversed(self.folders)) if spec_id in files
        ]
        return next_after(asking, candidates)


def load_spec_by_id(spec_id: str, specs_dir: str | Path | None = None) -> ExerciseSpec:
    """The spec ``spec_id`` from the built-in specs, ``$POSECHECK_SPECS`` and ``specs_dir`` (see SpecRegistry)."""
    return SpecRegistry.default(specs_dir).load(spec_id)
