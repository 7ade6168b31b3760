"""Bad input: each gets one ``Error: ...`` line naming the problem and a non-zero exit, never a traceback.

Damaged and synthetic videos are made in temporary folders from copies; none is committed.
"""

from __future__ import annotations

import json
import os
import shutil

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.core.trace import Trace

from conftest import requires_shared_videos, shared_clip, trace_path

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["analyze", *args])


def _assert_one_error_line(result, *fragments: str, exit_code: int = 2) -> None:
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _write_video(path, frames: list[np.ndarray], fps: float = 30.0) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_missing_file(tmp_path):
    _assert_one_error_line(_run(str(tmp_path / "nope.mp4"), "-e", "cat-cow", "--out", str(tmp_path / "o")), "nope.mp4", "no such file")


def test_a_folder_without_clips(tmp_path):
    (tmp_path / "notes.txt").write_text("no clips here")
    _assert_one_error_line(_run(str(tmp_path), "-e", "cat-cow", "--out", str(tmp_path / "o")), str(tmp_path), "holds no video or trace files")


def test_file_that_is_not_a_video(tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_text("these are not the frames you are looking for\n" * 100)
    _assert_one_error_line(_run(str(fake), "-e", "cat-cow", "--out", str(tmp_path / "o")), "holiday.mp4", "not a video")


def test_unknown_exercise(tmp_path):
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-moo", "--out", str(tmp_path / "o"))
    _assert_one_error_line(result, "unknown exercise 'cat-moo'", "cat-cow", exit_code=4)


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(blocker / "out"))
    _assert_one_error_line(result, "output folder", "cannot exist", "a-file is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_output_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(locked / "out"))
        _assert_one_error_line(result, "cannot write to output folder", "ermission denied")
    finally:
        locked.chmod(0o700)


def test_trace_option_into_a_missing_folder(tmp_path):
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "o"), "--save-trace", str(tmp_path / "no" / "t.npz"))
    _assert_one_error_line(result, "cannot write", "does not exist")


def test_npz_that_is_not_a_trace(tmp_path):
    bogus = tmp_path / "numbers.npz"
    np.savez(bogus, x=np.arange(3))
    _assert_one_error_line(_run(str(bogus), "-e", "cat-cow", "--out", str(tmp_path / "o")), "numbers.npz", "not a posecheck trace")


@requires_shared_videos
def test_truncated_video_keeps_a_partial_report(tmp_path):
    damaged = tmp_path / "cut.mp4"
    data = shared_clip("cat_cow_03.mp4").read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # the index (moov, at the front) still announces every frame
    result = _run(str(damaged), "-e", "cat-cow", "--out", str(tmp_path / "o"), "--no-video")
    _assert_one_error_line(result, "cut.mp4", "decoding stopped after", "of 185 frames", "truncated or corrupt")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert 0 < report["frames"] < 185
    # cat_cow_03's one rep runs 0.75-5.0 s (hand label); the first half of the file ends well before its
    # return, so the partial report counts nothing.
    assert report["duration"] < 4.0 and report["reps"] == 0


@requires_shared_videos
def test_video_cut_inside_its_header(tmp_path):
    damaged = tmp_path / "stub.mp4"
    damaged.write_bytes(shared_clip("cat_cow_03.mp4").read_bytes()[:5000])
    _assert_one_error_line(_run(str(damaged), "-e", "cat-cow", "--out", str(tmp_path / "o")), "stub.mp4", "no frame could be decoded")


def test_video_with_nobody_in_it(tmp_path):
    frames = []
    for i in range(30):  # an empty room: a wall, a floor and a sliding box
        frame = np.full((240, 320, 3), (180, 200, 210), dtype=np.uint8)
        frame[170:] = (60, 90, 120)
        cv2.rectangle(frame, (20 + 4 * i, 120), (70 + 4 * i, 170), (40, 40, 160), -1)
        frames.append(frame)
    empty = tmp_path / "empty_room.mp4"
    _write_video(empty, frames)
    result = _run(str(empty), "-e", "cat-cow", "--out", str(tmp_path / "o"))
    _assert_one_error_line(result, "empty_room.mp4", "no person found in any of the 30 frames")
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["frames"] == 30 and report["frames_with_pose"] == 0 and report["reps"] == 0


def test_person_leaving_the_frame_is_a_reported_gap(tmp_path):
    """A trace where nobody is seen from 5 s to 8 s (frames 150-239): analysed, with that gap reported."""
    trace = Trace.load(trace_path("cat_cow_01"))
    trace.landmarks[150:240] = np.nan
    trace.world[150:240] = np.nan
    trace.save(tmp_path / "walks_off.npz")
    result = _run(str(tmp_path / "walks_off.npz"), "-e", "cat-cow", "--out", str(tmp_path / "o"), "--no-video")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["frames_with_pose"] == 387 - 90
    assert len(report["gaps"]) == 1
    gap = report["gaps"][0]
    assert gap["start"] == pytest.approx(5.0, abs=0.1) and gap["end"] == pytest.approx(8.0, abs=0.1)
    assert "Tracking lost: 5.0-8.0 s" in result.stdout
    # Still the hand count (2), and no rep is counted across the 3 s without a person.
    assert report["reps"] == 2
    assert all(rep["end"] <= gap["start"] or rep["start"] >= gap["end"] for rep in report["rep_list"]), report["rep_list"]


@requires_shared_videos
def test_real_video_where_the_person_leaves(tmp_path):
    """cat_cow_03 with its middle second replaced by an empty frame: estimated, analysed, gap reported."""
    clip = shared_clip("cat_cow_03.mp4")
    cap = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    empty = np.full_like(frames[0], 200)
    frames[60:90] = [empty] * 30  # 2.0-3.0 s at 29.97 fps
    edited = tmp_path / "steps_out.mp4"
    _write_video(edited, frames, fps=29.97)
    result = _run(str(edited), "-e", "cat-cow", "--out", str(tmp_path / "o"), "--no-video")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["frames"] == 185 and report["frames_with_pose"] <= 185 - 30
    assert any(abs(g["start"] - 2.0) < 0.2 and abs(g["end"] - 3.0) < 0.3 for g in report["gaps"]), report["gaps"]
    assert report["reps"] == 1  # the hand count of cat_cow_03: the 1 s blank inside the rep neither adds nor loses one


def test_no_traceback_for_a_missing_specs_folder(tmp_path):
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--specs", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    _assert_one_error_line(result, "nowhere")


def test_error_lines_also_in_a_real_process(tmp_path):
    """The real script prints the same single line (and nothing from FFmpeg) for a damaged file."""
    import subprocess
    import sys

    fake = tmp_path / "broken.mp4"
    fake.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    done = subprocess.run(
        [sys.executable, "-m", "posecheck", "analyze", str(fake), "-e", "cat-cow", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith("Error: ")
    assert done.stdout == ""
    shutil.rmtree(tmp_path / "o", ignore_errors=True)


def test_a_bug_is_one_line_and_its_traceback_comes_with_vv(tmp_path, monkeypatch):
    """An exception posecheck does not know (here a stand-in bug in the engine) is still one line."""
    from posecheck.engine.engine import Engine

    def broken_update(self, t, pose):
        raise ZeroDivisionError("a stand-in bug")

    monkeypatch.setattr(Engine, "update", broken_update)
    args = [str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "o")]
    _assert_one_error_line(_run(*args), "ZeroDivisionError: a stand-in bug", "this is a bug", "-vv", exit_code=1)
    debug = runner.invoke(app, ["-vv", "analyze", *args])
    assert isinstance(debug.exception, ZeroDivisionError), "-vv lets the traceback through for a bug report"


def test_an_unexpected_os_error_is_one_line_naming_the_file(tmp_path, monkeypatch):
    from posecheck.sinks import report

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "o" / "report.json"))

    monkeypatch.setattr(report, "save_report", full_disk)
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "o"))
    _assert_one_error_line(result, "No space left on device", "report.json", exit_code=1)


def test_a_failed_annotated_video_still_gives_the_whole_report(tmp_path, monkeypatch):
    """Writing annotated.mp4 fails partway (a stand-in for a full disk): the count and the report are whole,
    the video keeps the frames before, and one line says so."""
    from posecheck.sinks import render

    draw = render.annotate
    drawn = []

    def failing_annotate(frame, pose, state, **kwargs):
        drawn.append(state.t)
        if len(drawn) > 30:
            raise OSError(28, "No space left on device")
        return draw(frame, pose, state, **kwargs)

    monkeypatch.setattr(render, "annotate", failing_annotate)
    out = tmp_path / "o"
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(out))
    _assert_one_error_line(result, "annotated.mp4 stopped early (OSError: [Errno 28] No space left on device)",
                           "report in", "is complete", exit_code=2)
    whole = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "w"),
                                "--no-video"])
    assert whole.exit_code == 0
    report, expected = (json.loads((folder / "report.json").read_text()) for folder in (out, tmp_path / "w"))
    assert report["reps"] == expected["reps"] and report["frames"] == expected["frames"]
    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    frames = int(video.get(cv2.CAP_PROP_FRAME_COUNT))
    video.release()
    assert frames == 30, "the frames drawn before the failure, in a file closed properly"


def test_a_bug_in_one_of_several_clips_is_that_clips_error_line(tmp_path, monkeypatch, capsys):
    """In `analyze DIR/` each clip runs in `_analyze_clip_in_worker` (here called in this process, so the
    stand-in bug reaches it): the bug becomes the clip's exit code and one line, and the run goes on."""
    from posecheck.cli import analyze as cli
    from posecheck.engine.engine import Engine

    def broken_update(self, t, pose):
        raise ZeroDivisionError("a stand-in bug")

    monkeypatch.setattr(Engine, "update", broken_update)
    code, report = cli._analyze_clip_in_worker(trace_path("cat_cow_01"), "cat-cow", None, None, tmp_path, None,
                                               False, 0)
    assert (code, report) == (1, None)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: posecheck failed unexpectedly (ZeroDivisionError")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--specs", "{file}"], "spec folder {file} is a file, not a folder"),
        (["--specs", "{tmp}/missing"], "spec folder {tmp}/missing does not exist"),
        (["--json", "{file}/x.json"], "cannot write {file}/x.json: folder {file} is a file, not a folder"),
        (["--json", "{tmp}/missing/x.json"], "cannot write {tmp}/missing/x.json: folder {tmp}/missing does not exist"),
        (["--json", "{tmp}"], "cannot write {tmp}: it is a folder, not a file"),
        (["--out", "{file}"], "output folder {file} is a file, not a folder"),
        (["--save-trace", "{file}/t.npz"], "folder {file} is a file, not a folder"),
    ],
)
def test_a_message_names_the_real_problem_with_a_path(tmp_path, args, fragment):
    """A file where a folder should be is "a file, not a folder", not "does not exist"."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    args = [arg.format(file=a_file, tmp=tmp_path) for arg in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "o")]
    result = _run(str(trace_path("cat_cow_01")), "-e", "cat-cow", "--no-video", *out, *args)
    _assert_one_error_line(result, fragment.format(file=a_file, tmp=tmp_path))


def test_a_mirror_that_is_a_file_is_named_as_such(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = runner.invoke(app, ["samples", "fetch", "cat_cow_01", "--dest", str(tmp_path / "d"), "--mirror", str(a_file)])
    _assert_one_error_line(result, f"mirror folder {a_file} is a file, not a folder")
