"""The pose model: a MediaPipe ``.task`` bundle shipped inside the package, or one the user names.

posecheck ships ``posecheck/models/pose_landmarker_full_posecheck.task`` (BlazePose full, Apache-2.0; see
``posecheck/models/NOTICE.md``). mediapipe 1.x ships no model files and its Tasks API normally downloads
them; posecheck downloads nothing, so the model comes with it. The bundle was built once from the tflite
files of the mediapipe 0.10.21 wheel (the last release that carried them) by ``scripts/build_model.py``,
which rebuilds it byte for byte; its sha256 is shipped beside it and checked before the file is used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from posecheck.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "pose_landmarker_full_posecheck.task"
MODEL_ENV_VAR = "POSECHECK_MODEL"
CACHE_ENV_VAR = "POSECHECK_CACHE_DIR"


@dataclass(frozen=True)
class ModelInfo:
    """Which model file is in use, where it is and where it came from."""

    path: Path
    origin: str  # "user" (--model / env var) or "packaged" (shipped with posecheck)
    sha256: str
    size_bytes: int


def cache_dir() -> Path:
    """Folder for downloaded samples: $POSECHECK_CACHE_DIR, else the platform's user cache dir."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posecheck"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def packaged_model_path() -> Path:
    """Where the shipped bundle is (a real file: wheels and sdists install package data unzipped)."""
    return Path(str(resources.files("posecheck") / "models" / BUNDLED_MODEL_NAME))


def packaged_model() -> ModelInfo:
    """The shipped bundle, after checking it against the sha256 shipped beside it.

    A mismatch (a damaged install, a partial copy) must not be run silently: its landmarks would differ from
    everything posecheck was measured with.
    """
    path = packaged_model_path()
    checksum = path.with_suffix(path.suffix + ".sha256")
    if not path.is_file() or not checksum.is_file():
        raise ModelError(f"the pose model shipped with posecheck is missing ({path}); reinstall posecheck")
    expected = checksum.read_text().split()[0]
    actual = _sha256(path)
    if actual != expected:
        raise ModelError(f"the pose model shipped with posecheck is damaged ({path}: sha256 {actual}, "
                         f"expected {expected}); reinstall posecheck")
    return ModelInfo(path, "packaged", actual, path.stat().st_size)


def resolve_model(user_path: str | Path | None = None) -> ModelInfo:
    """The model to use: ``user_path``, else $POSECHECK_MODEL, else the bundle shipped with posecheck."""
    user_path = user_path or os.environ.get(MODEL_ENV_VAR)
    if not user_path:
        return packaged_model()
    path = Path(user_path).expanduser()
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ModelError(f"model file {path} is not a MediaPipe .task bundle (not a zip file)")
    return ModelInfo(path, "user", _sha256(path), path.stat().st_size)
