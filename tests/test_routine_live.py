"""`posecheck routine run` as a real process on real clips: the desk break played from two clips, headless and in
a window under Xvfb, counted like `posecheck.analyze` counts the same clips; the pain and next keys; the report.

The clips are seated_cat_cow_01 and seated_side_bend_01 from ../shared/videos, whole, at 6 fps and half size
(as tests/test_live_process.py does for live): a live --source plays a clip at its own rate and drops the
frames the loop has no time for, so on a shared 2-core machine a 30 fps clip would be counted from fewer frames
than analyze decodes. At 6 fps nothing is dropped (checked), both run MediaPipe frame by frame (below 20 fps),
and the live count must equal analyze's exactly, rep for rep.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import pytest

from conftest import shared_clip
from test_live_process import PROCESS_TIMEOUT_S, environment, needs_x, posecheck, xserver  # noqa: F401 - a fixture

FRAME_STEP = 5  # 30 fps -> 6 fps
SCALE = 0.5
CLIPS = (("seated_cat_cow_01.mp4", "seated-cat-cow"), ("seated_side_bend_01.mp4", "seated-side-bend"))
#: desk-break's targets (routines/desk-break.yaml): 6 reps, and 3 each side; the clips hold 2 and 1 + 1.
TARGETS = (6, 6)


def _slow_copy(source: Path, path: Path) -> Path:
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    index = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index % FRAME_STEP == 0:
            frame = cv2.resize(frame, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps / FRAME_STEP,
                                         (frame.shape[1], frame.shape[0]))
            writer.write(frame)
        index += 1
    cap.release()
    writer.release()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("routine-clips")
    return [_slow_copy(shared_clip(name), folder / name) for name, _ in CLIPS]


@pytest.fixture(scope="module")
def analyzed(clips) -> list[dict]:
    import posecheck

    reports = [posecheck.analyze(clip, exercise).to_dict() for clip, (_, exercise) in zip(clips, CLIPS)]
    assert [report["reps"] for report in reports] == [2, 2], "the clips' labelled counts (labels.yaml)"
    return reports


def _run(tmp_path: Path, clips: list[Path], *extra: str, display: str | None = None):
    out = tmp_path / "out"
    command = posecheck("routine", "run", "desk-break", "--source", str(clips[0]), "--source", str(clips[1]),
                        "--countdown", "0", "--out", str(out), *extra)
    done = subprocess.run(command, capture_output=True, text=True, timeout=3 * PROCESS_TIMEOUT_S,
                          env=environment(display))
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else None
    return done, report


def _assert_counts_like_analyze(report: dict, analyzed: list[dict]) -> None:
    """Every step counts what analyze counts on its clip (up to the step's target). With no frame dropped the
    live loop saw exactly analyze's frames, so reps, their times and the holds are the same to the millisecond.
    A machine too busy for even 6 fps (other processes on its cores) drops a few frames while the model warms
    up; then the count must still agree, and the reps' times within a few frames."""
    for step, expected, target in zip(report["steps"], analyzed, TARGETS):
        (live,) = step["reports"]
        assert step["status"] == "source_ended"
        assert step["reps"] == live["reps"] == min(expected["reps"], target)
        assert live["reps_by_side"] == expected["reps_by_side"]
        dropped = live["live"]["frames_dropped"]
        assert live["frames"] + dropped == expected["frames"]
        if dropped == 0:
            assert [(r["start"], r["end"]) for r in live["rep_list"]] == [(r["start"], r["end"]) for r in expected["rep_list"]]
            assert [h["seconds"] for h in live["holds"]] == [h["seconds"] for h in expected["holds"]]
        else:
            tolerance = 3 / expected["fps"]
            for got, want in zip(live["rep_list"], expected["rep_list"]):
                assert got["end"] == pytest.approx(want["end"], abs=tolerance)


def test_headless_desk_break_counts_like_analyze(clips, analyzed, tmp_path):
    done, report = _run(tmp_path, clips, "--headless")
    assert done.returncode == 0, done.stderr
    _assert_counts_like_analyze(report, analyzed)
    assert report["completed"] and report["totals"]["reps"] == 4 and report["pain_flags"] == []
    said = [entry["text"] for entry in report["log"] if entry["kind"] == "say"]
    assert said[0] == "Seated Cat-Cow." and said.count("Begin.") == 2 and said[-1] == "Well done."
    assert "Step 1/2 - Seated Mobility: Seated Cat-Cow" in done.stderr and "Target: 6 reps, within 90 s" in done.stderr
    assert "Desk Break: 2 of 2 steps completed" in done.stderr
    for folder in ("01-seated-cat-cow", "02-seated-side-bend"):
        for name in ("report.json", "reps.csv", "measures.csv", "report.html"):
            assert (tmp_path / "out" / "steps" / folder / name).is_file()
    from posecheck.history.store import HistoryStore

    with HistoryStore() as store:  # conftest's private POSECHECK_DATA_DIR
        sessions = sorted(store.sessions(), key=lambda s: s.id)
        assert [(s.exercise, s.mode, s.status, s.reps) for s in sessions] == [
            ("seated-cat-cow", "routine", "completed", 2), ("seated-side-bend", "routine", "completed", 2)]


def test_pain_and_next_keys(clips, tmp_path):
    done, report = _run(tmp_path, clips, "--headless", "--keys", "1:h@4,2:n@3")
    assert done.returncode == 0, done.stderr
    first, second = report["steps"]
    assert first["status"] == "pain" and first["pain"] and first["reps"] == 0  # its first rep ends at 6.8 s
    assert second["status"] == "skipped" and second["skipped"]
    assert second["reports"][0]["duration"] == pytest.approx(3.0, abs=0.4)
    assert report["pain_flags"] == [{"step": 1, "t": pytest.approx(4.0, abs=0.2)}]
    assert "the routine says stop if it hurts" in done.stderr  # back-care and desk-break's pain line, shown
    assert report["totals"] == {**report["totals"], "completed": 0, "skipped": 1, "pain": 1}


@needs_x
def test_windowed_desk_break_counts_like_analyze(xserver, clips, analyzed, tmp_path):  # noqa: F811 - the fixture
    done, report = _run(tmp_path, clips, display=xserver.display)
    assert done.returncode == 0, done.stderr
    _assert_counts_like_analyze(report, analyzed)
    assert report["completed"]
