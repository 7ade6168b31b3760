"""Live frame sources: the newest-frame slot, the paced file source and the camera source.

The paced source is checked on small synthetic videos whose frames carry their own index, so a test can
tell exactly which frames the loop got. The camera source is checked against a fake capture device (there
is no camera here), plus the real "no camera" error.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from posecheck.sources import camera as camera_module  # noqa: E402
from posecheck.sources.camera import CameraSource, describe_cameras, probe_cameras  # noqa: E402
from posecheck.sources.latest_frame import LatestFrameSlot  # noqa: E402
from posecheck.sources.paced_file import PacedFileSource  # noqa: E402
from posecheck.sources.video_file import VideoFileSource  # noqa: E402
from posecheck.errors import CameraError, InputError  # noqa: E402

FPS = 50.0


def frame_index(frame: np.ndarray) -> int:
    """The index a synthetic frame carries as its brightness (10 grey levels per frame, robust to mp4v)."""
    return int(round(float(frame.mean()) / 10.0))


@pytest.fixture(scope="module")
def numbered_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 frames at 50 fps whose brightness is 10 x their index (0.4 s of video)."""
    path = tmp_path_factory.mktemp("capture") / "numbered.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (64, 48))
    assert writer.isOpened()
    for index in range(20):
        writer.write(np.full((48, 64, 3), 10 * index, np.uint8))
    writer.release()
    return path


# ---------------------------------------------------------------------------------------------- the slot


def test_slot_hands_over_the_newest_frame_and_counts_the_replaced_ones() -> None:
    slot = LatestFrameSlot()
    frames = [(i / FPS, np.full((2, 2, 3), i, np.uint8)) for i in range(3)]
    for item in frames:
        slot.put(item)
    t, frame = slot.take()
    assert t == frames[2][0] and frame[0, 0, 0] == 2
    assert slot.dropped == 2
    slot.put(frames[0])
    slot.end()
    assert slot.take()[0] == frames[0][0], "a frame put before the end is still delivered"
    assert slot.take() is None
    assert slot.take() is None


def test_slot_take_waits_for_a_frame_from_another_thread() -> None:
    slot = LatestFrameSlot()
    threading.Timer(0.05, slot.put, args=((1.0, np.zeros((1, 1, 3), np.uint8)),)).start()
    assert slot.take()[0] == 1.0
    assert slot.dropped == 0


def test_slot_reraises_the_producers_error_after_its_frames() -> None:
    slot = LatestFrameSlot()
    slot.put((0.0, np.zeros((1, 1, 3), np.uint8)))
    slot.end(InputError("decoder died"))
    assert slot.take()[0] == 0.0
    with pytest.raises(InputError, match="decoder died"):
        slot.take()


# --------------------------------------------------------------------------------------- the paced file


def test_paced_source_that_keeps_up_gives_every_frame_with_the_files_own_times(numbered_video: Path) -> None:
    with VideoFileSource(numbered_video) as plain:
        expected = [(t, frame_index(f)) for t, f in plain]
    started = time.perf_counter()
    with PacedFileSource(numbered_video) as paced:
        got = [(t, frame_index(f)) for t, f in paced]
        assert paced.frames_dropped == 0
    elapsed = time.perf_counter() - started
    assert got == expected
    assert [i for _, i in got] == list(range(20))
    # Paced at the file's rate: frame 19 is not handed over before 19 intervals after frame 1's
    # (a lower bound only; how much longer it takes depends on the machine).
    assert elapsed >= 18 / FPS


def test_paced_source_drops_the_frames_a_slow_loop_had_no_time_for(numbered_video: Path) -> None:
    with PacedFileSource(numbered_video) as paced:
        got = []
        for t, frame in paced:
            got.append((t, frame_index(frame)))
            time.sleep(3.5 / FPS)  # a loop three and a half times slower than the file
        dropped = paced.frames_dropped
    indices = [i for _, i in got]
    assert indices[0] == 0 and indices == sorted(set(indices)), "newest first, never a frame twice"
    assert len(got) < 20 and dropped > 0
    assert len(got) + dropped == 20, "every frame is either delivered or counted as dropped"
    assert all(t == pytest.approx(i / FPS) for t, i in got), "times stay the file's own"
    assert indices[-1] == 19, "the last frame is still delivered"


def test_paced_source_stop_ends_the_iteration_from_another_thread(numbered_video: Path) -> None:
    with PacedFileSource(numbered_video, speed=0.25) as paced:  # 1.6 s of playback
        got = []
        for t, frame in paced:
            got.append(frame_index(frame))
            if len(got) == 3:
                threading.Timer(0.01, paced.stop).start()
    assert 3 <= len(got) <= 4


def test_paced_source_pause_holds_playback_and_keeps_the_files_times(numbered_video: Path) -> None:
    with PacedFileSource(numbered_video) as paced:
        got = []
        paused_for = 0.3
        started = time.perf_counter()
        for t, frame in paced:
            got.append((t, frame_index(frame)))
            if len(got) == 5:
                paced.pause()
                time.sleep(paused_for)  # the loop is blocked, as the window is while paused
                paced.resume()
        elapsed = time.perf_counter() - started
        dropped = paced.frames_dropped
    # Playback resumed where it stopped: at most the frame already due at the pause was replaced.
    assert dropped <= 1
    assert [i for _, i in got][:5] == [0, 1, 2, 3, 4]
    assert all(t == pytest.approx(i / FPS) for t, i in got)
    assert elapsed >= 18 / FPS + paused_for


def test_paced_source_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        PacedFileSource(tmp_path / "missing.mp4")


# ------------------------------------------------------------------------------------------- the camera


def test_no_camera_here_gives_one_line_naming_what_opens() -> None:
    assert probe_cameras() == []
    with pytest.raises(CameraError) as error:
        CameraSource(0)
    assert str(error.value) == "camera 0 cannot be opened; no camera found"


def test_describe_cameras() -> None:
    assert describe_cameras([]) == "no camera found"
    assert describe_cameras([0, 2]) == "cameras that open: 0, 2"


class FakeCapture:
    """Stands in for cv2.VideoCapture on a camera: ``frames`` good reads at ``fps``, then failing reads."""

    def __init__(self, frames: int, fps: float = 100.0) -> None:
        self.frames = frames
        self.interval = 1.0 / fps
        self.reads = 0
        self.released = False

    def read(self):
        time.sleep(self.interval)
        self.reads += 1
        if self.reads > self.frames:
            return False, None
        return True, np.full((48, 64, 3), self.reads % 256, np.uint8)

    def get(self, prop: int) -> float:
        return 1.0 / self.interval if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self) -> None:
        self.released = True


def test_camera_source_reads_until_the_camera_goes_away(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture(frames=30)
    monkeypatch.setattr(camera_module, "_open_camera", lambda *args, **kwargs: fake)
    monkeypatch.setattr(camera_module, "CAMERA_STALL_SECONDS", 0.1)
    with CameraSource(0) as camera:
        assert (camera.info.width, camera.info.height, camera.info.frame_count) == (64, 48, 0)
        times = [t for t, _ in camera]
        assert camera.end_reason == "camera 0 stopped delivering frames (unplugged or in use?)"
    assert fake.released
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:]))
    assert 1 <= len(times) <= 29  # the first frame was read by the constructor


def test_camera_source_leaves_paused_time_out_of_the_frame_times(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCapture(frames=10_000)
    monkeypatch.setattr(camera_module, "_open_camera", lambda *args, **kwargs: fake)
    with CameraSource(0) as camera:
        times = []
        started = time.perf_counter()
        for t, _ in camera:
            times.append(t)
            if len(times) == 3:
                camera.pause()
                time.sleep(0.5)
                camera.resume()
            if time.perf_counter() - started > 0.8:
                camera.stop()
        wall = time.perf_counter() - started
    gaps = np.diff(times)
    # Every step between delivered frames is a few read intervals, never the half second paused.
    assert gaps.max() < 0.25, gaps
    assert times[-1] < wall - 0.3
