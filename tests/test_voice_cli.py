"""``posecheck live`` with its voice options, as a real process on a short clip: what it says, that a missing
speech engine only warns, that --source/--headless stay quiet unless asked, and that an unknown voice is one error.

The speech engine is a stand-in ``espeak-ng`` script first on the PATH that writes each line it is given to a file
(this machine has no sound card); tests/test_voice.py covers the real espeak-ng.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from posecheck.sinks.speech import number_words

from conftest import shared_clip

_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PROCESS_TIMEOUT_S = 300
#: The clip: the first 6 s of cat_cow_01 (one full cycle), every 5th frame (6 fps) at half size, so the live loop
#: keeps up even on a busy machine (as in tests/test_live_process.py).
CLIP_SECONDS, CLIP_FRAME_STEP, CLIP_SCALE = 6.0, 5, 0.5


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    source = shared_clip("cat_cow_01.mp4")
    path = tmp_path_factory.mktemp("voice-clip") / "cat_cow_short.mp4"
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    writer = None
    index = 0
    while index < CLIP_SECONDS * fps:
        ok, frame = cap.read()
        if not ok:
            break
        if index % CLIP_FRAME_STEP == 0:
            frame = cv2.resize(frame, None, fx=CLIP_SCALE, fy=CLIP_SCALE, interpolation=cv2.INTER_AREA)
            if writer is None:
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps / CLIP_FRAME_STEP,
                                         (frame.shape[1], frame.shape[0]))
            writer.write(frame)
        index += 1
    cap.release()
    writer.release()
    return path


def fake_espeak(folder: Path) -> Path:
    """A folder for the PATH holding an ``espeak-ng`` that appends each line to ``said.log`` (and the tools it uses).
    The audio probe (an empty text) writes nothing."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    script = bin_dir / "espeak-ng"
    script.write_text(f'#!/bin/sh\ntext=$(cat)\n[ -n "$text" ] && echo "$text" >> {folder / "said.log"}\nexit 0\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "cat").symlink_to(shutil.which("cat"))
    return bin_dir


def live(clip: Path, out: Path, path_dirs: str, *options: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PATH"] = path_dirs
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "posecheck", "live", "cat-cow", "--source", str(clip), "--headless", "--out", str(out),
         "--json", "-", *options],
        capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S, env=env,
    )


def test_live_with_voice_says_the_name_begin_each_count_and_well_done(clip, tmp_path):
    bin_dir = fake_espeak(tmp_path)
    done = live(clip, tmp_path / "out", str(bin_dir), "--voice", "--voice-rate", "120")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["reps"] >= 1, "the clip holds a full cycle: with no count the test would prove little"
    said = (tmp_path / "said.log").read_text().splitlines()
    counts = [number_words(n) for n in range(1, report["reps"] + 1)]
    assert said == ["Cat-Cow. begin", *counts, "well done"]
    assert "voice off" not in done.stderr


def test_live_without_a_speech_engine_warns_once_and_counts(clip, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = live(clip, tmp_path / "out", str(empty), "--voice")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reps"] >= 1
    warnings = [line.strip() for line in done.stderr.splitlines() if "WARNING" in line or "voice off" in line]
    assert warnings == ["WARNING  voice off: espeak-ng not installed (apt-get install espeak-ng)"]
    assert "Traceback" not in done.stderr


def test_source_and_headless_stay_quiet_unless_asked(clip, tmp_path):
    bin_dir = fake_espeak(tmp_path)
    done = live(clip, tmp_path / "out", str(bin_dir))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "said.log").exists()


def test_an_unknown_voice_name_is_one_error_line_and_leaves_no_folder(clip, tmp_path):
    real = shutil.which("espeak-ng")
    if real is None:
        if _IN_CI:
            pytest.fail("espeak-ng is missing in CI (.ci/run installs it)")
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
    done = live(clip, tmp_path / "out", str(Path(real).parent), "--voice-name", "zzqq")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: espeak-ng has no voice 'zzqq'; list the voices with: espeak-ng --voices"]
    assert not (tmp_path / "out").exists()
