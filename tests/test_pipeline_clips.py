"""Several clips at once: one per worker process, results in order, errors per clip; analyze DIR/."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil

import pytest
from typer.testing import CliRunner

from conftest import trace_path
from posecheck.cli.app import app
from posecheck.errors import InputError
from posecheck.runtime.clips import expand_clips, run_clips

runner = CliRunner()


def _describe(clip, suffix):
    """A worker function: prints, and returns where it ran."""
    print(f"out {clip.name}")
    import sys

    print(f"err {clip.name}", file=sys.stderr)
    return f"{clip.stem}{suffix}", os.getpid()


def _fail_on_b(clip):
    if clip.stem == "b":
        raise ValueError("b is broken")
    return clip.stem


def _cores_and_split(clip, meet=None):
    """A worker function: the cores its process keeps to, and how a session there would split them.

    With ``meet`` (a barrier for all the clips), each call waits until every clip's call has started, so the
    clips are sure to run in different worker processes: otherwise a worker that starts early may take them
    all, since the calls are so quick.
    """
    from posecheck.runtime.cores import plan_split

    if meet is not None:
        meet.wait(timeout=60)
    return sorted(os.sched_getaffinity(0)), plan_split()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux thread affinity and at least two usable cores")
def test_parallel_clips_each_keep_to_their_own_cores(tmp_path, monkeypatch):
    # Otherwise every clip's session would pin its estimator to the same core as the others' (cores.py).
    monkeypatch.delenv("POSECHECK_PIN_CORES", raising=False)
    clips = [tmp_path / f"{name}.mp4" for name in "ab"]
    usable = sorted(os.sched_getaffinity(0))
    with multiprocessing.Manager() as manager:
        seen = [o.value for o in run_clips(_cores_and_split, clips, (manager.Barrier(len(clips)),), jobs=2)]
    groups = sorted(tuple(cores) for cores, _ in seen)
    assert len(set(groups)) == 2 and sorted(c for g in groups for c in g) == usable
    if len(usable) == 2:  # one core each: the sessions in them do not split it further
        assert [split for _, split in seen] == [None, None]
    (one_at_a_time,) = {tuple(o.value[0]) for o in run_clips(_cores_and_split, clips, jobs=1)}
    assert list(one_at_a_time) == usable


def test_share_out_deals_cores_to_workers(monkeypatch):
    from posecheck.runtime import cores

    monkeypatch.delenv("POSECHECK_PIN_CORES", raising=False)
    monkeypatch.setattr(cores, "plan_split", lambda: cores.CoreSplit(frozenset({0, 1, 2, 3}), frozenset({4})))
    assert cores.share_out(2) == [frozenset({0, 1, 2}), frozenset({3, 4})]
    assert cores.share_out(5) == [frozenset({i}) for i in range(5)]
    assert cores.share_out(6) is None and cores.share_out(1) is None
    monkeypatch.setattr(cores, "plan_split", lambda: None)
    assert cores.share_out(2) is None


def test_expand_clips_lists_folders_and_keeps_files(tmp_path):
    for name in ("b.mp4", "a.npz", "notes.txt", "c.MOV"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    missing = tmp_path / "missing.mp4"
    got = expand_clips([tmp_path, missing, tmp_path / "b.mp4"])
    assert got == [tmp_path / "a.npz", tmp_path / "b.mp4", tmp_path / "c.MOV", missing]


def test_expand_clips_rejects_a_folder_without_clips(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="holds no video or trace files"):
        expand_clips([tmp_path])


def test_run_clips_keeps_the_order_captures_output_and_uses_processes(tmp_path):
    clips = [tmp_path / f"{name}.mp4" for name in "dcba"]
    outcomes = list(run_clips(_describe, clips, ("!",), jobs=2))
    assert [o.clip for o in outcomes] == clips
    assert [o.value[0] for o in outcomes] == ["d!", "c!", "b!", "a!"]
    assert [o.stdout for o in outcomes] == [f"out {c.name}\n" for c in clips]
    assert [o.stderr for o in outcomes] == [f"err {c.name}\n" for c in clips]
    pids = {o.value[1] for o in outcomes}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert all(o.seconds >= 0 for o in outcomes)


def test_run_clips_reraises_a_worker_error(tmp_path):
    with pytest.raises(ValueError, match="b is broken"):
        list(run_clips(_fail_on_b, [tmp_path / "a.mp4", tmp_path / "b.mp4"], jobs=2))


def test_analyze_a_folder_writes_one_report_per_clip(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for stem in ("cat_cow_01", "cat_cow_03"):
        shutil.copy(trace_path(stem), clips / f"{stem}.npz")
    single = runner.invoke(app, ["analyze", str(clips / "cat_cow_03.npz"), "-e", "cat-cow", "--out", str(tmp_path / "one"),
                                 "--no-video", "--json", "-"])
    assert single.exit_code == 0, single.output
    result = runner.invoke(app, ["analyze", str(clips), "-e", "cat-cow", "--out", str(tmp_path / "out"), "--no-video",
                                 "--json", "-", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["source"]["path"] for r in reports] == [str(clips / "cat_cow_01.npz"), str(clips / "cat_cow_03.npz")]
    for stem in ("cat_cow_01", "cat_cow_03"):
        assert (tmp_path / "out" / stem / "report.json").is_file() and (tmp_path / "out" / stem / "reps.csv").is_file()
    # Each clip gets exactly what analysing it alone gives.
    alone = json.loads(single.stdout)
    assert {k: v for k, v in reports[1].items() if k != "source"} == {k: v for k, v in alone.items() if k != "source"}
    assert "Analysed 2 clips" in result.stderr


def test_analyze_several_clips_goes_on_after_a_bad_one(tmp_path):
    missing = tmp_path / "nope.npz"
    result = runner.invoke(app, ["analyze", str(missing), str(trace_path("cat_cow_03")), "-e", "cat-cow",
                                 "--out", str(tmp_path / "out"), "--no-video", "--save-trace", str(tmp_path / "traces")])
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr and "nope.npz" in result.stderr
    assert (tmp_path / "out" / "cat_cow_03" / "report.json").is_file()
    assert (tmp_path / "traces" / "cat_cow_03.npz").is_file()
    assert "Reps:" in result.stdout


def test_analyze_refuses_two_clips_with_the_same_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        shutil.copy(trace_path("cat_cow_03"), tmp_path / folder / "clip.npz")
    result = runner.invoke(app, ["analyze", str(tmp_path / "a" / "clip.npz"), str(tmp_path / "b" / "clip.npz"),
                                 "-e", "cat-cow", "--out", str(tmp_path / "out"), "--no-video"])
    assert result.exit_code == 2
    assert "several clips are named clip" in result.stderr
