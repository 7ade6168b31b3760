"""The MediaPipe estimator on real clips (offline model), and the model file it uses.

Two short clips keep this under ~10 s on 2 cores: an all-fours side view (cat_cow_03) and a lying one
(glute_bridge_14, the hard case for the detector).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from posecheck.capture import VideoFileSource
from posecheck.errors import ModelError
from posecheck.estimators.base import PoseEstimator
from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
from posecheck.estimators.model import build_bundle, resolve_model
from posecheck.pose import Landmark
from posecheck.trace import Trace

from conftest import requires_shared_videos, shared_clip, trace_path

#: Share of frames with a person that counts as "nearly every frame" for these fully visible clips.
MIN_FOUND_SHARE = 0.97
#: The committed traces were made by the same model from the same files; allow for float noise across
#: machines (XNNPACK may order float sums differently), not for a different model.
MAX_MEDIAN_PIXEL_DIFFERENCE = 3.0


@pytest.fixture(scope="module")
def model():
    return resolve_model()


def test_model_is_built_offline_and_verified(model):
    assert model.path.is_file() and model.path.suffix == ".task"
    assert model.origin in ("cache", "built")
    assert len(model.sha256) == 64 and model.size_bytes == model.path.stat().st_size
    checksum_file = model.path.with_suffix(".task.sha256")
    assert checksum_file.read_text().strip() == model.sha256


def test_a_user_task_file_is_used_as_given(model, tmp_path):
    official_name = tmp_path / "pose_landmarker_full.task"
    shutil.copyfile(model.path, official_name)
    info = resolve_model(official_name)
    assert (info.path, info.origin, info.sha256) == (official_name, "user", model.sha256)
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(tmp_path / "nope.task")
    (tmp_path / "fake.task").write_text("not a zip")
    with pytest.raises(ModelError, match="not a MediaPipe .task bundle"):
        resolve_model(tmp_path / "fake.task")


def test_another_landmark_model_bundles_the_same_way(model, tmp_path):
    # How benchmarks/make_models.py builds lite and heavy bundles: here with the wheel's own full model, which
    # must give the cached bundle's members (only the metadata's variant name differs).
    import zipfile

    import mediapipe

    full = tmp_path / "pose_landmark_full.tflite"
    shutil.copyfile(Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / "pose_landmark_full.tflite", full)
    rebuilt = tmp_path / "rebuilt.task"
    rebuilt.write_bytes(build_bundle(full, "full"))
    with zipfile.ZipFile(rebuilt) as ours, zipfile.ZipFile(model.path) as cached:
        assert ours.namelist() == cached.namelist()
        assert all(ours.read(name) == cached.read(name) for name in ours.namelist())
    with pytest.raises(ModelError, match="no such landmark model"):
        build_bundle(tmp_path / "missing.tflite")


@requires_shared_videos
@pytest.mark.parametrize("clip", ["cat_cow_03", "glute_bridge_14"])
def test_estimator_finds_the_person_in_nearly_every_frame(model, clip):
    recorded = Trace.load(trace_path(clip))
    found = 0
    differences = []
    with VideoFileSource(shared_clip(f"{clip}.mp4")) as source, MediaPipeEstimator(model.path) as estimator:
        assert isinstance(estimator, PoseEstimator)
        for i, (t, frame) in enumerate(source):
            pose = estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
            if pose is None:
                continue
            found += 1
            assert pose.t == t and pose.frame_size == (source.info.width, source.info.height)
            assert pose.landmarks.dtype == np.float32 and pose.world is not None
            expected = recorded.pose_at(i)
            if expected is not None:
                visible = (pose.visibility > 0.5) & (expected.visibility > 0.5)
                differences.extend(np.linalg.norm(pose.xy_px[visible] - expected.xy_px[visible], axis=1))
        frames = i + 1
    assert frames == len(recorded)
    assert found / frames >= MIN_FOUND_SHARE
    assert np.median(differences) <= MAX_MEDIAN_PIXEL_DIFFERENCE


@requires_shared_videos
def test_landmarks_sit_on_the_body(model):
    """On the all-fours clip the visible wrist is below its shoulder, and the shoulder is inside the frame."""
    with VideoFileSource(shared_clip("cat_cow_03.mp4")) as source, MediaPipeEstimator(model.path) as estimator:
        t, frame = next(iter(source))
        pose = estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
    assert pose is not None
    xy = pose.xy_px
    side = max((Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER), key=lambda lm: pose.visibility[lm])
    wrist = Landmark.LEFT_WRIST if side == Landmark.LEFT_SHOULDER else Landmark.RIGHT_WRIST
    assert xy[wrist, 1] > xy[side, 1]  # on all fours the wrist is below the shoulder (image y grows down)
    assert 0 <= xy[side, 0] <= pose.frame_size[0] and 0 <= xy[side, 1] <= pose.frame_size[1]


def test_estimator_on_an_empty_frame_finds_nobody(model):
    with MediaPipeEstimator(model.path) as estimator:
        assert estimator.estimate(np.zeros((240, 320, 3), dtype=np.uint8), 0.0) is None


def test_a_broken_model_file_is_a_model_error(tmp_path):
    import zipfile

    broken = tmp_path / "broken.task"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("pose_detector.tflite", b"garbage")
    with pytest.raises(ModelError, match="cannot load pose model"):
        MediaPipeEstimator(broken).open()
