"""The pose model: a MediaPipe ``.task`` bundle built offline from the tflite files inside the mediapipe wheel.

Why build it: mediapipe 0.10.21 ships ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` but the
Tasks API wants a ``.task`` zip, normally downloaded. Nothing may be downloaded here, so we bundle the two
files ourselves. The landmark model lacks the metadata the Tasks API needs (image input normalisation and
its 5 outputs); we add it with mediapipe's own MetadataWriter: mean 0 / std 255, because the legacy graph
feeds it floats in [0, 1]. Zip members get fixed timestamps and 64-byte aligned data, so the build is
byte-for-byte reproducible and its sha256 can be checked.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from posecheck.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_MODEL_NAME = "pose_landmarker_full_posecheck.task"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_ALIGN = 64
MODEL_ENV_VAR = "POSECHECK_MODEL"
CACHE_ENV_VAR = "POSECHECK_CACHE_DIR"


@dataclass(frozen=True)
class ModelInfo:
    """Which model file is in use, where it is and where it came from."""

    path: Path
    origin: str  # "user" (--model / env var), "cache" (built earlier) or "built" (built just now)
    sha256: str
    size_bytes: int


def cache_dir() -> Path:
    """Folder for the built model: $POSECHECK_CACHE_DIR, else the platform's user cache dir."""
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("posecheck"))


def _mediapipe_version() -> str:
    from importlib.metadata import version

    return version("mediapipe")


def _bundled_tflite_paths() -> tuple[Path, Path]:
    try:
        import mediapipe
    except ImportError as exc:  # pragma: no cover - dependency missing means a broken install
        raise ModelError(f"mediapipe is not installed ({exc}); reinstall posecheck") from exc
    root = Path(mediapipe.__file__).parent / "modules"
    detector = root / "pose_detection" / "pose_detection.tflite"
    landmarker = root / "pose_landmark" / "pose_landmark_full.tflite"
    for p in (detector, landmarker):
        if not p.is_file():
            raise ModelError(
                f"{p.name} is not inside the installed mediapipe {_mediapipe_version()}: "
                "posecheck needs mediapipe==0.10.21, or pass --model with an official pose_landmarker .task file"
            )
    return detector, landmarker


def _landmarker_with_metadata(tflite: bytes, variant: str = "full") -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(tflite))
    writer.add_general_info("pose_landmarks_detector", f"BlazePose GHUM {variant}, metadata added by posecheck")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    # Landmarks, pose flag, segmentation mask, heatmap, world landmarks: the order of the model's outputs.
    for name in ("Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4"):
        writer.add_feature_output(name=name)
    model, _ = writer.populate()
    return bytes(model)


def _aligned_zip(members: dict[str, bytes]) -> bytes:
    """A stored (uncompressed) zip whose member data start on 64-byte boundaries, with fixed dates."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            # Local header is 30 bytes + name + extra; pad the extra field so the data is aligned.
            header_end = buf.tell() + 30 + len(name.encode())
            pad = (-(header_end + 4)) % _ALIGN
            # 0xD935 is the extra-field id Android's zipalign uses for padding.
            info.extra = (0xD935).to_bytes(2, "little") + pad.to_bytes(2, "little") + b"\0" * pad
            zf.writestr(info, data)
    return buf.getvalue()


def build_bundle(landmark_tflite: Path | None = None, variant: str = "full") -> bytes:
    """Builds the ``.task`` bundle bytes from the tflite files in the installed mediapipe wheel.

    Args:
        landmark_tflite: another legacy BlazePose landmark model to bundle instead of the wheel's full one
            (``pose_landmark_lite.tflite`` or ``pose_landmark_heavy.tflite``, e.g. from the npm package
            ``@mediapipe/pose``; see benchmarks/make_models.py). The wheel's detector is used either way.
        variant: its name in the bundle's metadata (lite, full, heavy).
    """
    detector, landmarker = _bundled_tflite_paths()
    if landmark_tflite is not None:
        landmarker = Path(landmark_tflite)
        if not landmarker.is_file():
            raise ModelError(f"{landmarker}: no such landmark model")
    try:
        landmark_model = _landmarker_with_metadata(landmarker.read_bytes(), variant)
    except Exception as exc:  # mediapipe's writer raises assorted types; all mean the same to the user
        raise ModelError(f"cannot add metadata to {landmarker.name}: {exc}") from exc
    return _aligned_zip(
        {
            "pose_detector.tflite": detector.read_bytes(),
            "pose_landmarks_detector.tflite": landmark_model,
        }
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _checksum_file(model: Path) -> Path:
    return model.with_suffix(model.suffix + ".sha256")


def resolve_model(user_path: str | Path | None = None, *, build: bool = True) -> ModelInfo:
    """Finds the model to use: ``user_path``, else $POSECHECK_MODEL, else the cached bundle (built if needed).

    The cached bundle is stored with its sha256; a cached file whose checksum no longer matches (a partial
    write, a disk error) is rebuilt rather than trusted.
    """
    user_path = user_path or os.environ.get(MODEL_ENV_VAR)
    if user_path:
        path = Path(user_path).expanduser()
        if not path.is_file():
            raise ModelError(f"model file {path} does not exist")
        if not zipfile.is_zipfile(path):
            raise ModelError(f"model file {path} is not a MediaPipe .task bundle (not a zip file)")
        return ModelInfo(path, "user", _sha256(path), path.stat().st_size)

    folder = cache_dir() / f"mediapipe-{_mediapipe_version()}"
    path = folder / BUNDLED_MODEL_NAME
    checksum = _checksum_file(path)
    if path.is_file() and checksum.is_file():
        expected = checksum.read_text().strip()
        actual = _sha256(path)
        if actual == expected:
            return ModelInfo(path, "cache", actual, path.stat().st_size)
        log.warning("cached model %s failed its checksum; rebuilding", path)
    if not build:
        raise ModelError(f"no model has been built yet (it would go to {path})")

    data = build_bundle()
    digest = hashlib.sha256(data).hexdigest()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        checksum.write_text(digest + "\n")
    except OSError as exc:
        raise ModelError(f"cannot write the model to {folder}: {exc.strerror or exc} (set {CACHE_ENV_VAR})") from exc
    log.info("built pose model %s (%d bytes, sha256 %s)", path, len(data), digest)
    return ModelInfo(path, "built", digest, len(data))
