"""A still image, a one-frame video or a clip too short for one rep or hold: one error line, not "Reps: 0".

The rule (posecheck.specs.limits): a recording needs two frames, and a time span no shorter than the least
the spec needs to count anything: ``len(sequence) - 1`` phase dwells for a rep (one fewer with cut_at_end),
``hold.min_seconds`` for a hold, the shorter of the two when a spec has both.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.specs import load_spec_by_id
from posecheck.specs.limits import shortest_countable_seconds
from posecheck.core.trace import Trace

from conftest import trace_path

runner = CliRunner()


def _analyze(path, exercise: str, tmp_path):
    return runner.invoke(app, ["analyze", str(path), "-e", exercise, "--no-video", "--out", str(tmp_path / "out")])


def _one_error_line(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Reps:" not in result.stdout
    return lines[0]


def _first_frames(stem: str, frames: int, path) -> None:
    trace = Trace.load(trace_path(stem))
    Trace(trace.timestamps[:frames], trace.landmarks[:frames], trace.world[:frames], trace.frame_size, trace.fps,
          trace.meta).save(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_still_image_is_refused(tmp_path, suffix):
    image = tmp_path / f"photo{suffix}"
    cv2.imwrite(str(image), np.full((240, 320, 3), 128, np.uint8))
    _one_error_line(_analyze(image, "cat-cow", tmp_path), "photo", "a single frame (a still image?)")
    assert not (tmp_path / "out" / "report.json").exists()


def test_live_refuses_a_still_image_as_its_source(tmp_path):
    """``live --source`` plays a file like a camera; a still image gets the same one error line as analyze."""
    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), np.full((240, 320, 3), 128, np.uint8))
    result = runner.invoke(app, ["live", "cat-cow", "--source", str(image), "--headless", "--no-history",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "photo.png: a single frame (a still image?)" in errors[0], result.stderr
    assert "Reps:" not in result.stdout
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_one_frame_video_is_refused(tmp_path):
    video = tmp_path / "one.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30, (320, 240))
    writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    _one_error_line(_analyze(video, "push-up", tmp_path), "one.mp4", "a single frame")


def test_a_one_frame_trace_is_refused(tmp_path):
    path = tmp_path / "one.npz"
    _first_frames("cat_cow_01", 1, path)
    _one_error_line(_analyze(path, "cat-cow", tmp_path), "a single frame")


def test_a_clip_shorter_than_a_hold_can_last_is_refused_for_a_hold_only_spec(tmp_path):
    needed = shortest_countable_seconds(load_spec_by_id("childs-pose"))  # hold.min_seconds
    path = tmp_path / "short.npz"
    _first_frames("childs_pose_01", 30, path)  # 1 s at 30 fps
    assert 29 / 30 < needed
    _one_error_line(_analyze(path, "childs-pose", tmp_path), f"only 0.97 s long (30 frames); a hold of childs-pose takes at least {needed:g} s")


def test_the_same_short_clip_is_analysed_for_a_rep_spec(tmp_path):
    """One second is more than cat-cow's floor: the analysis runs and reports what it saw."""
    path = tmp_path / "short.npz"
    _first_frames("cat_cow_01", 30, path)
    result = _analyze(path, "cat-cow", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.json").exists()


def test_a_hold_only_spec_accepts_a_clip_as_long_as_its_shortest_hold(tmp_path):
    needed = shortest_countable_seconds(load_spec_by_id("childs-pose"))
    path = tmp_path / "enough.npz"
    _first_frames("childs_pose_01", int(needed * 30) + 2, path)
    assert _analyze(path, "childs-pose", tmp_path).exit_code == 0


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"sequence": ["a", "b", "a"], "min_dwell": 0.3, "cut_at_end": None, "hold": None}, 0.6),
        ({"sequence": ["a", "b", "a"], "min_dwell": 0.3, "cut_at_end": 0.8, "hold": None}, 0.3),
        ({"sequence": ["a", "b"], "min_dwell": 0.2, "cut_at_end": 0.8, "hold": None}, 0.0),
        ({"sequence": None, "min_dwell": 0.3, "cut_at_end": None, "hold": 5.0}, 5.0),
        ({"sequence": ["a", "b", "a"], "min_dwell": 0.3, "cut_at_end": None, "hold": 0.2}, 0.2),
    ],
)
def test_shortest_countable_seconds(overrides, expected):
    base = load_spec_by_id("cat-cow").model_dump(by_alias=True)
    base.pop("adaptive", None)
    base.pop("tempo", None)
    base["form"] = []
    base["phases"]["ranges"] = {"a": {"max": 10.0}, "b": {"min": 20.0}}
    base["phases"]["min_dwell"] = overrides["min_dwell"]
    base["reps"] = None
    if overrides["sequence"] is not None:
        base["reps"] = {"sequence": overrides["sequence"], "cut_at_end": overrides["cut_at_end"]}
    base["hold"] = None if overrides["hold"] is None else {"phases": ["b"], "min_seconds": overrides["hold"], "exit_grace": 1.0}
    from posecheck.specs.schema import ExerciseSpec

    assert shortest_countable_seconds(ExerciseSpec.model_validate(base)) == pytest.approx(expected)
