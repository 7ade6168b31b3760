"""Two people in view: posecheck notices, says so in the summary and the report, and counts for one of them.

The two-person clip is made in a temporary folder (never committed) by putting two shared clips side by side:
someone doing bridges beside someone doing push-ups, the case of the issue. The census runs once a second,
so a 3 s clip is searched three times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app

from conftest import shared_clip, trace_path

cv2 = pytest.importorskip("cv2")

HEIGHT = 480


def side_by_side(*clips: Path, out: Path, seconds: float) -> Path:
    """The first ``seconds`` of the clips side by side (one clip: just its start), each scaled to HEIGHT."""
    caps = [cv2.VideoCapture(str(clip)) for clip in clips]
    fps = caps[0].get(cv2.CAP_PROP_FPS)
    writer = None
    for _ in range(int(seconds * fps)):
        frames = []
        for cap in caps:
            ok, frame = cap.read()
            assert ok
            frames.append(cv2.resize(frame, (int(frame.shape[1] * HEIGHT / frame.shape[0]), HEIGHT)))
        both = np.hstack(frames)
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (both.shape[1], both.shape[0]))
        writer.write(both)
    writer.release()
    for cap in caps:
        cap.release()
    return out


def analyze(clip: Path, exercise: str, out: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([sys.executable, "-m", "posecheck", "analyze", str(clip), "-e", exercise, "--out", str(out),
                           "--no-video"], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "300"})
    assert done.returncode == 0, done.stderr
    return done, json.loads((out / "report.json").read_text())


def test_a_second_person_in_view_is_noticed_and_reported(tmp_path):
    clip = side_by_side(shared_clip("glute_bridge_01.mp4"), shared_clip("push_up_01.mp4"), out=tmp_path / "two.mp4", seconds=3.0)
    done, report = analyze(clip, "push-up", tmp_path / "out")
    people = report["source"]["people"]
    assert people["checks"] == 3 and people["most_in_view"] == 2 and people["checks_with_several"] >= 1, people
    assert "Note: 2 people were in view" in done.stdout and "counted for that person only" in done.stdout


def test_one_person_is_one_person(tmp_path):
    clip = side_by_side(shared_clip("cat_cow_01.mp4"), out=tmp_path / "one.mp4", seconds=3.0)
    done, report = analyze(clip, "cat-cow", tmp_path / "out")
    assert report["source"]["people"] == {"most_in_view": 1, "checks": 3, "checks_with_several": 0}
    assert "people were in view" not in done.stdout


def test_a_trace_does_not_know_how_many_people_there_were(tmp_path):
    result = CliRunner().invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path),
                                      "--no-video", "--json", "-"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"]["people"] is None
