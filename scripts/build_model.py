"""Rebuilds posecheck's pose model, ``pose_landmarker_full_posecheck.task``, byte for byte from its sources.

The model ships inside the package (``src/posecheck/models/``); nothing builds or downloads it at run time.
This script is how that file was made and how anyone can check it. Run it through ``scripts/build_model.sh``,
which makes a throwaway venv with mediapipe 0.10.21; by hand: ``python scripts/build_model.py --check`` in
any environment where ``import mediapipe`` gives 0.10.21.

Sources: the two BlazePose tflite files inside the mediapipe 0.10.21 wheel (the last release that ships them;
Apache-2.0), pinned here by sha256:
  mediapipe/modules/pose_detection/pose_detection.tflite      (the person detector)
  mediapipe/modules/pose_landmark/pose_landmark_full.tflite   (BlazePose GHUM 3D, full)

Why a build at all: the Tasks API (the only pose API of mediapipe 1.x) wants a ``.task`` zip holding
``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``. The detector already carries the metadata
the Tasks API needs; the landmark model carries none, and without it the Tasks API refuses it ("Input tensor
has type float32: it requires specifying NormalizationOptions metadata"). We add it with mediapipe's own
MetadataWriter: image input with mean 0 / std 255 (the legacy graph fed the model floats in [0, 1]) and one
feature output for each of its 5 outputs. Zip members are stored uncompressed with a fixed date and data
aligned to 64 bytes (mediapipe 1.x copies an unaligned buffer and warns), so the bytes depend only on the
inputs and on 0.10.21's writer.

Lite and heavy: ``--landmark pose_landmark_{lite,heavy}.tflite --variant lite|heavy`` bundles another legacy
landmark model with the same detector (benchmarks/make_models.py gets them from the npm package
``@mediapipe/pose``). They are not shipped.

Usage:
    python scripts/build_model.py [--out FILE]       write the bundle (default: the packaged file)
    python scripts/build_model.py --check            rebuild in memory, compare with the packaged file
Uses only the standard library besides mediapipe, so it needs no posecheck install.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "src" / "posecheck" / "models" / "pose_landmarker_full_posecheck.task"
#: The one mediapipe release whose wheel holds the sources and whose MetadataWriter made the shipped bytes.
SOURCE_MEDIAPIPE = "0.10.21"
#: sha256 of the source files in that wheel (the same in its Linux, macOS and Windows wheels' RECORD).
SOURCE_SHA256 = {
    "pose_detection.tflite": "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    "pose_landmark_full.tflite": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
}
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_ALIGN = 64
#: The landmark model's outputs in order: landmarks, pose flag, segmentation mask, heatmap, world landmarks.
_LANDMARK_OUTPUTS = ("Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_files() -> tuple[Path, Path]:
    """The detector and full landmark model inside the installed mediapipe, checked against SOURCE_SHA256."""
    from importlib.metadata import version

    import mediapipe

    if version("mediapipe") != SOURCE_MEDIAPIPE:
        raise SystemExit(f"Error: needs mediapipe=={SOURCE_MEDIAPIPE} (found {version('mediapipe')}); "
                         "run scripts/build_model.sh, which makes a venv with it")
    root = Path(mediapipe.__file__).parent / "modules"
    files = (root / "pose_detection" / "pose_detection.tflite", root / "pose_landmark" / "pose_landmark_full.tflite")
    for path in files:
        if sha256_hex(path.read_bytes()) != SOURCE_SHA256[path.name]:
            raise SystemExit(f"Error: {path} does not have the pinned sha256 {SOURCE_SHA256[path.name]}")
    return files


def landmarker_with_metadata(tflite: bytes, variant: str) -> bytes:
    """The landmark model with the input normalisation and output metadata the Tasks API reads."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(tflite))
    writer.add_general_info("pose_landmarks_detector", f"BlazePose GHUM {variant}, metadata added by posecheck")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for name in _LANDMARK_OUTPUTS:
        writer.add_feature_output(name=name)
    model, _ = writer.populate()
    return bytes(model)


def aligned_zip(members: dict[str, bytes]) -> bytes:
    """A stored (uncompressed) zip whose member data start on 64-byte boundaries, with fixed dates."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            # A local header is 30 bytes + name + extra; pad the extra field so that the data is aligned.
            header_end = buf.tell() + 30 + len(name.encode())
            pad = (-(header_end + 4)) % _ALIGN
            # 0xD935 is the extra-field id Android's zipalign uses for padding.
            info.extra = (0xD935).to_bytes(2, "little") + pad.to_bytes(2, "little") + b"\0" * pad
            zf.writestr(info, data)
    return buf.getvalue()


def build(landmark: Path | None = None, variant: str = "full") -> bytes:
    """The ``.task`` bytes: the wheel's detector + ``landmark`` (default: the wheel's full model) with metadata."""
    detector, full = source_files()
    landmark = landmark or full
    if not landmark.is_file():
        raise SystemExit(f"Error: {landmark}: no such landmark model")
    return aligned_zip({
        "pose_detector.tflite": detector.read_bytes(),
        "pose_landmarks_detector.tflite": landmarker_with_metadata(landmark.read_bytes(), variant),
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=PACKAGED, help="where to write the bundle")
    parser.add_argument("--check", action="store_true", help="compare with the packaged file instead of writing")
    parser.add_argument("--landmark", type=Path, help="another legacy landmark model (lite/heavy) to bundle")
    parser.add_argument("--variant", default="full", help="its name in the metadata (lite, full, heavy)")
    args = parser.parse_args()
    data = build(args.landmark, args.variant)
    digest = sha256_hex(data)
    if args.check:
        expected = PACKAGED.with_suffix(".task.sha256").read_text().split()[0]
        same_file = PACKAGED.is_file() and PACKAGED.read_bytes() == data
        print(f"rebuilt {len(data)} bytes, sha256 {digest}")
        if digest != expected or not same_file:
            print(f"Error: differs from {PACKAGED.relative_to(ROOT)} (sha256 {expected})", file=sys.stderr)
            return 1
        print(f"identical to {PACKAGED.relative_to(ROOT)}")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    if args.out.resolve() == PACKAGED.resolve():
        PACKAGED.with_suffix(".task.sha256").write_text(f"{digest}  {PACKAGED.name}\n")
    print(f"wrote {args.out} ({len(data)} bytes, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
