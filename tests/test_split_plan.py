"""The time split's planning and joining (posecheck.runtime.split), and its bad values at the command line.

No video needed: the chunks are planned from frame counts, joined from traces, and the command line refuses
bad values before any file is opened.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.core.pose import NUM_LANDMARKS
from posecheck.core.trace import Trace
from posecheck.errors import InputError
from posecheck.runtime.split import MIN_CHUNK_WARMUPS, ChunkPoses, check_parts, join, merge_people, plan_chunks

from conftest import trace_path

runner = CliRunner()


@pytest.mark.parametrize("frames,fps,parts,warmup", [(11610, 30.0, 2, 10.0), (11610, 30.0, 3, 10.0),
                                                     (72000, 25.0, 8, 10.0), (5000, 30.0, 2, 0.0), (1001, 29.97, 4, 2.0)])
def test_chunks_cover_every_frame_once_and_warm_up_before_their_start(frames, fps, parts, warmup):
    chunks = plan_chunks(frames, fps, parts, warmup)
    assert len(chunks) == parts
    warm = int(np.ceil(warmup * fps))
    assert chunks[0].warm_start == chunks[0].start == 0
    assert chunks[-1].end is None
    for before, after in zip(chunks, chunks[1:]):
        assert before.end == after.start  # kept frames: contiguous, no overlap
        assert after.warm_start == after.start - warm
    # Each worker estimates about the same number of frames, its warm-up included.
    work = [(c.end if c.end is not None else frames) - c.warm_start for c in chunks]
    assert max(work) - min(work) <= 2


def test_a_video_too_short_for_the_parts_is_split_into_fewer():
    warm = 300  # 10 s at 30 fps
    assert len(plan_chunks(MIN_CHUNK_WARMUPS * warm * 3, 30.0, 8, 10.0)) == 3
    assert plan_chunks(100, 30.0, 2, 10.0) == plan_chunks(100, 30.0, 1, 10.0)
    assert plan_chunks(0, 30.0, 2, 10.0)[0].end is None  # no frame count: one chunk to the end


def _part(trace: Trace, start: int, stop: int, complete: bool = True, people=None) -> ChunkPoses:
    from posecheck.runtime.split import Chunk

    piece = Trace(trace.timestamps[start:stop], trace.landmarks[start:stop], trace.world[start:stop],
                  trace.frame_size, trace.fps)
    return ChunkPoses(Chunk(0, start, start, stop), piece, people or {}, complete, 0.0)


def test_joining_chunks_gives_back_the_whole_trace():
    trace = Trace.load(trace_path("cat_cow_01"))
    joined = join([_part(trace, 0, 150), _part(trace, 150, 300), _part(trace, 300, len(trace))], trace.fps,
                  trace.frame_size)
    assert np.array_equal(joined.timestamps, trace.timestamps)
    assert np.array_equal(joined.landmarks, trace.landmarks, equal_nan=True)
    assert np.array_equal(joined.world, trace.world, equal_nan=True)


def test_a_chunk_the_file_ended_in_is_the_last_joined():
    trace = Trace.load(trace_path("cat_cow_01"))
    joined = join([_part(trace, 0, 150), _part(trace, 150, 200, complete=False), _part(trace, 300, 400)],
                  trace.fps, trace.frame_size)
    assert len(joined) == 200  # no gap: the report says decoding stopped early, as a serial run's does


def test_censuses_are_merged():
    empty = Trace(np.zeros(0), np.zeros((0, NUM_LANDMARKS, 5), np.float32), np.zeros((0, NUM_LANDMARKS, 3), np.float32),
                  (640, 480), 30.0)
    parts = [ChunkPoses(None, empty, {"most_in_view": 1, "checks": 10, "checks_with_several": 0}, True, 0.0),
             ChunkPoses(None, empty, {"most_in_view": 2, "checks": 12, "checks_with_several": 3}, True, 0.0)]
    assert merge_people(parts) == {"most_in_view": 2, "checks": 22, "checks_with_several": 3}


@pytest.mark.parametrize("value", [0, -1, 2.5, "2", True, None])
def test_bad_part_counts_are_refused(value):
    with pytest.raises(InputError, match="split"):
        check_parts(value)


def test_api_refuses_a_bad_split_before_opening_anything(tmp_path):
    import posecheck

    with pytest.raises(InputError, match="split"):
        posecheck.analyze(tmp_path / "missing.mp4", "cat-cow", split=0)


def test_a_trace_ignores_the_split():
    import posecheck

    path = trace_path("cat_cow_01")
    assert posecheck.analyze(path, "cat-cow", split=2).to_dict() == posecheck.analyze(path, "cat-cow").to_dict()


@pytest.mark.parametrize("args", [["--split", "0"], ["--split", "-2"], ["--split", "two"]])
def test_cli_bad_split_is_one_error_line(args, tmp_path):
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path),
                                 *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--split" in lines[0], result.output


def test_cli_split_with_several_clips_is_one_error_line(tmp_path):
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), str(trace_path("cat_cow_03")),
                                 "-e", "cat-cow", "--out", str(tmp_path), "--split", "2"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--split" in lines[0], result.output


def test_a_seek_that_lands_on_another_frame_is_refused():
    trace = Trace.load(trace_path("cat_cow_01"))
    first, second = _part(trace, 0, 150), _part(trace, 150, len(trace))
    first.next_frame, second.first_kept = "picture at 150", "picture at 149"
    with pytest.raises(InputError, match="seeking"):
        join([first, second], trace.fps, trace.frame_size)
    second.first_kept = "picture at 150"
    assert len(join([first, second], trace.fps, trace.frame_size)) == len(trace)
