"""Low frame rates: a source under 20 fps runs MediaPipe in IMAGE mode (benchmarks/VARIANTS.md).

In VIDEO mode MediaPipe smooths the landmarks over frames; at 12 fps they trail and move about 30 % less, and
push_up_01 made into a 12 fps video counted 2 of its 7 push-ups. Every frame on its own (IMAGE mode) counts 7.
"""

from __future__ import annotations

import json

import cv2
import pytest
from conftest import shared_clip
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.estimators.mediapipe_backend import IMAGE_MODE_BELOW_FPS, running_mode_for


@pytest.mark.parametrize(
    ("fps", "mode"),
    [(12.0, "image"), (15.0, "image"), (19.9, "image"), (IMAGE_MODE_BELOW_FPS, "video"), (23.976, "video"), (30.0, "video"),
     (None, "video"), (0.0, "video")],
)
def test_the_running_mode_follows_the_source_frame_rate(fps, mode):
    assert running_mode_for(fps) == mode


def thin_to(src, dst, fps: float) -> int:
    """Writes ``src`` again at ``fps`` frames a second, keeping the frames nearest each new frame's time."""
    cap = cv2.VideoCapture(str(src))
    src_fps = cap.get(cv2.CAP_PROP_FPS)
    out = None
    kept = index = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if out is None:
            out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        if int(index * fps / src_fps) == kept:  # the first source frame at or after the next new frame's time
            out.write(frame)
            kept += 1
        index += 1
    cap.release()
    out.release()
    return kept


def test_a_12_fps_video_counts_as_the_original(tmp_path):
    video = tmp_path / "push_up_01_12fps.mp4"
    frames = thin_to(shared_clip("push_up_01.mp4"), video, 12.0)
    assert frames > 100
    result = CliRunner().invoke(app, ["analyze", str(video), "-e", "push-up", "--out", str(tmp_path / "out"), "--no-video", "--no-history"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["fps"] == pytest.approx(12.0)
    assert report["reps"] == 7  # labelled 7; VIDEO mode counted 2 here
