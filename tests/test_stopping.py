"""Stopping a command: Ctrl-C, SIGTERM and SIGHUP save what was done and give the documented exit codes
(130, 143, 129) in analyze and live; a stop during start-up says so; a live source that dies part-way is
reported as such, never as a normal end.

The process tests run the real ``posecheck`` in a child process and signal it: in the loop (after its
"session started" log line) or during start-up (as soon as the handlers are installed, which
/proc/PID/status shows: SigCgt). Clips are the shared ones, or cut from them into a temporary folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posecheck.runtime import stopping

from conftest import shared_clip

cv2 = pytest.importorskip("cv2")

TIMEOUT_S = 120


def posecheck(*args: str) -> list[str]:
    return [sys.executable, "-m", "posecheck", *args]


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["COLUMNS"] = "200"
    return env


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(posecheck(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())


def wait_for_line(process: subprocess.Popen, text: str) -> list[str]:
    """Reads stderr until a line holding ``text``; returns the lines read (fails if the process ends first)."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            return lines
    pytest.fail(f"never saw {text!r}; stderr: {''.join(lines)}")


def finish(process: subprocess.Popen, earlier: list[str] = ()) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    return process.returncode, stdout, "".join(earlier) + stderr


def handles(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``signum`` (Linux: the SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(caught >> (signum - 1) & 1)


def video_frames(path: Path) -> int:
    """Frames a video really holds, decoded one by one (a file without its index gives 0 or fails to open)."""
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.isOpened():
        ok, _ = cap.read()
        if not ok:
            break
        frames += 1
    cap.release()
    return frames


# ------------------------------------------------------------------------------------------------ the module


@pytest.fixture
def own_handlers():
    """Installs posecheck's stop handlers in this (main) thread for one test; restores the earlier ones."""
    before = {sig: signal.getsignal(sig) for sig in stopping.STOP_SIGNALS}
    stopping.forget()
    stopping.install()
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)
    stopping.forget()


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM"),
                                                   (signal.SIGHUP, 129, "SIGHUP")])
def test_each_stop_signal_is_an_interrupt_with_its_own_exit_code(own_handlers, sig, code, name):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs at the next bytecode; never reached
    assert stopping.received() == sig and stopping.exit_code() == code and stopping.describe() == name


def test_a_repeated_sigterm_cannot_break_the_saving_but_a_second_ctrl_c_can(own_handlers):
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)  # only noted: the first one's saving goes on
    os.kill(os.getpid(), signal.SIGHUP)
    with pytest.raises(KeyboardInterrupt):  # a stuck loop can still be interrupted
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    assert stopping.exit_code() == 143, "the first signal decides the exit code"


def test_a_signal_ignored_at_start_stays_ignored():
    before = signal.getsignal(signal.SIGHUP)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup leaves it
    try:
        stopping.install()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for sig in stopping.STOP_SIGNALS:
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        signal.signal(signal.SIGHUP, before)
        stopping.forget()


# ------------------------------------------------------------------------------------------------ analyze


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_analyze_stopped_by_a_signal_saves_the_report_and_a_playable_video(tmp_path, sig, code, name):
    clip = shared_clip("cat_cow_01.mp4")
    process = start(["-v", "analyze", str(clip), "-e", "cat-cow", "--out", str(tmp_path), "--save-trace",
                     str(tmp_path / "trace.npz")])
    earlier = wait_for_line(process, "session started")
    deadline = time.monotonic() + 60  # some frames analysed and written (a busy machine may take a while)
    while not ((tmp_path / "annotated.mp4").exists() and (tmp_path / "annotated.mp4").stat().st_size > 200_000):
        assert time.monotonic() < deadline and process.poll() is None, "analyze wrote no frames"
        time.sleep(0.05)
    process.send_signal(sig)
    returncode, stdout, stderr = finish(process, earlier)
    assert returncode == code, stderr
    assert f"Interrupted ({name}): the report covers the first" in stderr and "Traceback" not in stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True and 0 < report["frames"] < 387
    assert 0 < video_frames(tmp_path / "annotated.mp4") <= report["frames"], "annotated.mp4 was closed: it plays"
    from posecheck.core.trace import Trace

    assert len(Trace.load(tmp_path / "trace.npz")) == report["frames"], "the trace was saved too"


def test_a_stop_during_start_up_says_what_happened(tmp_path):
    clip = shared_clip("cat_cow_01.mp4")
    process = start(["analyze", str(clip), "-e", "cat-cow", "--out", str(tmp_path / "out")])
    deadline = time.monotonic() + 30
    while not handles(process.pid, signal.SIGTERM):  # posecheck's handlers are in; the rest is still loading
        assert time.monotonic() < deadline and process.poll() is None, "the handlers were never installed"
        time.sleep(0.002)
    process.send_signal(signal.SIGTERM)
    returncode, stdout, stderr = finish(process)
    assert returncode == 143, stderr
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert line in ("Interrupted (SIGTERM) while starting: nothing was done.",
                    "Interrupted (SIGTERM) before any result was saved."), stderr
    assert not (tmp_path / "out" / "report.json").exists()


# ------------------------------------------------------------------------------------------------ live


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_live_stopped_by_a_signal_exits_with_its_code_and_saves_everything(tmp_path, sig, code, name):
    clip = shared_clip("cat_cow_01.mp4")  # 12.9 s played in real time: still playing when the signal comes
    process = start(["-v", "live", "cat-cow", "--source", str(clip), "--headless", "--out", str(tmp_path / "out"),
                     "--record", str(tmp_path / "session.mp4")])
    earlier = wait_for_line(process, "session started")
    time.sleep(1.5)
    process.send_signal(sig)
    returncode, stdout, stderr = finish(process, earlier)
    assert returncode == code, stderr
    assert "Traceback" not in stderr and f"Session ended: {name}" in stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["live"]["ended_by"] == name and report["live"]["source_failed"] is False
    assert report["interrupted"] is True, "a video stopped before its end gives a partial report"
    assert video_frames(tmp_path / "session.mp4") > 0, "the recording was closed: it plays"


@pytest.fixture(scope="module")
def cut_off_clip(tmp_path_factory) -> tuple[Path, int]:
    """3 s of cat_cow_01 at half size in an AVI (MJPG) whose header announces all its frames, cut off after
    half its bytes, as a copy interrupted part-way leaves it. Returns (path, frames announced)."""
    source = shared_clip("cat_cow_01.mp4")
    folder = tmp_path_factory.mktemp("cut-off")
    whole = folder / "whole.avi"
    cap = cv2.VideoCapture(str(source))
    writer = None
    frames = 0
    while frames < 90:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.resize(frame, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        if writer is None:
            writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
        frames += 1
    cap.release()
    writer.release()
    cut = folder / "cut_off.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    probe = cv2.VideoCapture(str(cut))
    announced = int(probe.get(cv2.CAP_PROP_FRAME_COUNT))
    probe.release()
    assert announced == frames and 0 < video_frames(cut) < frames, "the cut-off file is not cut off"
    return cut, announced


def test_a_live_video_cut_off_part_way_is_reported_never_as_a_normal_end(cut_off_clip, tmp_path):
    clip, announced = cut_off_clip
    done = subprocess.run(posecheck("live", "cat-cow", "--source", str(clip), "--headless", "--out", str(tmp_path)),
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=environment())
    decoded = video_frames(clip)
    expected = f"{clip}: decoding stopped after {decoded} of {announced} frames (truncated or corrupt file)"
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"Error: {expected}; partial report saved in {tmp_path}"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["live"]["ended_by"] == expected and report["live"]["source_failed"] is True
    assert report["interrupted"] is True
