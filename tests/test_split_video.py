"""A time-split analysis (``analyze --split 2``) gives a serial analysis's events, on dev clips made long.

What is guaranteed, and why not more: the first chunk is a serial run, and the engine runs once over the
joined poses in order, so everything before the first join is identical. After a join the poses come from
an estimator that started `WARMUP_SECONDS` earlier, cold. MediaPipe's VIDEO mode never quite forgets where
it started (it crops each frame around the previous landmarks and smooths over time): after 10 s the
landmarks still differ from a serial run's by about a pixel (median; benchmarks/SPLIT.md has the table), and
no frame is ever bit-identical. So this test asserts what that allows: the same reps, holds, cues and
not-counted reasons, and every rep's start, end and count time within one frame of the serial run's.

Each video is a dev clip repeated with ffmpeg into the test's temporary folder (never committed), long
enough for a real join after a full warm-up.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import _IN_CI, shared_clip

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None and not _IN_CI, reason="ffmpeg not found")


def _repeated(clip, times, folder):
    listing = folder / "list.txt"
    listing.write_text(f"file '{clip}'\n" * times, encoding="utf-8")
    out = folder / f"{clip.stem}_x{times}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return out


def _times_close(serial, split, frame):
    for a, b in zip(serial, split):
        if a is None or b is None:
            assert a == b
        else:
            assert abs(a - b) <= frame + 1e-6, (serial, split)


@pytest.mark.parametrize("clip,times,exercise", [("cat_cow_01.mp4", 4, "cat-cow"),
                                                  ("glute_bridge_03.mp4", 5, "glute-bridge")])
def test_split_analysis_gives_the_serial_events(clip, times, exercise, tmp_path):
    import posecheck
    from posecheck.runtime.split import WARMUP_SECONDS, plan_chunks

    video = _repeated(shared_clip(clip), times, tmp_path)
    serial = posecheck.analyze(video, exercise)
    fps = serial.result.info.fps
    chunks = plan_chunks(serial.result.frames, fps, 2, WARMUP_SECONDS)
    assert len(chunks) == 2, "the video must be long enough for a real join"
    split = posecheck.analyze(video, exercise, split=2)

    assert split.result.frames == serial.result.frames
    assert split.result.frames_with_pose == pytest.approx(serial.result.frames_with_pose, abs=2)
    assert split.reps == serial.reps and serial.reps > 0
    assert split.reps_by_side == serial.reps_by_side
    frame = 1.0 / fps
    for a, b in zip(serial.rep_list, split.rep_list):
        assert a.side == b.side
        _times_close((a.start, a.end, a.counted_at), (b.start, b.end, b.counted_at), frame)
    assert [(h.side, h.target_met) for h in split.holds] == [(h.side, h.target_met) for h in serial.holds]
    assert [c.rule for c in split.cues] == [c.rule for c in serial.cues]
    _times_close([c.t for c in serial.cues], [c.t for c in split.cues], frame)
    assert [(n.kind, n.count) for n in split.not_counted] == [(n.kind, n.count) for n in serial.not_counted]
    # Before the join the split's first chunk is a serial run: identical events there.
    join_t = chunks[1].start / fps
    def before_join(report):
        return [(r.start, r.end, r.counted_at, r.rom) for r in report.rep_list
                if r.end is not None and r.counted_at is not None and max(r.end, r.counted_at) < join_t]

    assert before_join(split) == before_join(serial)
