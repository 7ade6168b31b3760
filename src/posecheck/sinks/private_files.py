"""Files that hold health data (reports, measures, videos of the person): written readable by the user only."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from posecheck.errors import InputError

log = logging.getLogger(__name__)


def write_private_text(path: Path, text: str) -> Path:
    """Writes ``text`` to ``path``, readable and writable by the user only. Raises InputError on failure."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def make_private(path: Path) -> None:
    """Makes an existing file readable by the user only (report.json from `posecheck.sinks.report`)."""
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        log.warning("could not make %s private: %s", path, exc.strerror or exc)
