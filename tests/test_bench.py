"""posecheck bench: the report's structure (keys, types, positive numbers), never its speed."""

from __future__ import annotations

import json
from importlib.metadata import version
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TRACES, requires_shared_videos, shared_clip, trace_path
from posecheck.bench import rates
from posecheck.bench.end_to_end import ClockSink, FirstFrames, TimedEngine
from posecheck.bench.engine import bench_engine, traces_for_exercise
from posecheck.bench.frames import check_preload, preload_frames, write_video
from posecheck.bench.rates import RateClock
from posecheck.bench.report import format_report
from posecheck.bench.run import BenchConfig, run_bench
from posecheck.bench.startup import bench_startup
from posecheck.errors import InputError
from posecheck.cli.app import app

runner = CliRunner()


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def test_rate_clock_times_only_frames_after_the_warmup(monkeypatch):
    # A fake clock: the test checks the arithmetic, not the speed of this machine.
    now = [0.0]
    monkeypatch.setattr(rates, "time", SimpleNamespace(perf_counter=lambda: now[0], process_time=lambda: now[0] / 2))
    clock = RateClock(warmup=3)
    for _ in range(3):
        now[0] += 1.0  # warm-up frames are slow: they must not count
        clock.tick()
    for _ in range(10):
        now[0] += 0.01
        clock.tick()
    rate = clock.rate()
    assert rate.frames == 10
    assert rate.seconds == pytest.approx(0.1)
    assert rate.fps == pytest.approx(100.0)
    assert rate.cpu_share == pytest.approx(0.5)


def test_rate_clock_without_enough_frames_reports_zero():
    clock = RateClock(warmup=5)
    for _ in range(5):
        clock.tick()
    assert clock.rate().frames == 0 and clock.rate().fps == 0.0


def test_first_frames_stops_at_the_count_and_notes_read_times():
    class Source:
        from posecheck.sources.video_file import VideoInfo

        info = VideoInfo("x.mp4", 30.0, 100, 4, 3)

        def __iter__(self):
            for i in range(100):
                yield i / 30.0, np.zeros((3, 4, 3), np.uint8)

    first = FirstFrames(Source(), 7)
    assert [t for t, _ in first] == [i / 30.0 for i in range(7)]
    assert len(first.read_at) == 7 and first.read_at == sorted(first.read_at)
    assert first.info.frame_count == 7 and first.info.width == 4
    assert not first.reads_ahead


def test_timed_engine_times_each_frame_once_even_when_a_hold_runs_to_the_end():
    # plank_01 ends mid-hold: the loop reads the state once more after end() to hand the hold's finish to the
    # sinks. That read belongs to no frame and must not add a sample (it repeated the last frame's update time).
    from posecheck.engine.engine import Engine
    from posecheck.estimators.replay import ReplayEstimator
    from posecheck.sources.replay import TraceFrameSource
    from posecheck.runtime.session import run_session
    from posecheck.specs import load_spec_by_id
    from posecheck.core.trace import Trace

    spec = load_spec_by_id("plank")
    trace = Trace.load(trace_path("plank_01"))
    engine = TimedEngine(Engine(spec), warmup=3)
    # As in the benchmark, whose loop always has sinks (the annotated video and the stopwatch): the loop reads
    # the state for them after each update.
    result = run_session(TraceFrameSource(trace), ReplayEstimator(trace), engine, [ClockSink(warmup=3)],
                         exercise="plank")
    assert result.summary.holds[-1].end == pytest.approx(trace.timestamps[-1]), "the clip ends while the plank is held"
    assert len(engine.seconds) == result.frames - 3
    assert all(s > 0 for s in engine.seconds)


def test_traces_for_exercise_follow_the_clip_names():
    names = [p.name for p in traces_for_exercise("cat-cow", TRACES)]
    assert names and all(n.startswith("cat_cow_") for n in names)
    # "seated_cat_cow_01" is another exercise, not cat-cow's.
    assert "seated_cat_cow_01.npz" not in names


def test_engine_alone_reports_frames_and_rate_per_exercise():
    result, skipped = bench_engine(TRACES, repeat=1, exercises=["cat-cow"])
    assert skipped == {}
    (name, rate), = result.items()
    assert name == "cat-cow"
    assert rate.frames == sum(len(np.load(TRACES / t)["timestamps"]) for t in rate.traces)
    assert positive(rate.fps) and positive(rate.us_per_frame)


def test_engine_alone_skips_a_spec_that_does_not_load(tmp_path):
    (tmp_path / "cat-cow.yaml").write_text("id: cat-cow\nnot_a_field: 1\n")
    result, skipped = bench_engine(TRACES, specs_dir=tmp_path, repeat=1, exercises=["cat-cow"])
    assert result == {} and "cat-cow.yaml" in skipped["cat-cow"]


def test_bench_needs_a_source():
    result = runner.invoke(app, ["bench", "--frames", "10"])
    assert result.exit_code == 2
    assert "Error: give either --source FILE or --camera N" in result.output


def test_bench_without_a_camera_says_so():
    result = runner.invoke(app, ["bench", "--camera", "7", "--frames", "10", "--warmup", "2"])
    assert result.exit_code == 2
    assert "Error: camera 7 cannot be opened" in result.output


@requires_shared_videos
def test_bench_json_report_has_every_part(tmp_path):
    clip = shared_clip("cat_cow_03.mp4")
    result = runner.invoke(app, ["bench", "--source", str(clip), "--frames", "14", "--warmup", "3",
                                 "--no-engine", "--no-startup", "--json", "-"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    for key in ("end_to_end_fps", "estimator_fps", "ratio", "serial_fps", "serial_ratio", "cpu_share",
                "estimator_cpu_share", "peak_rss_mb", "engine_share"):
        assert positive(report[key]), key
    assert report["ratio"] == pytest.approx(report["end_to_end_fps"] / report["estimator_fps"])
    # The ratio is taken against the faster way of running the bare estimator (as scheduled, or on one core).
    assert report["estimator_fps"] == max(report["estimator_unpinned_fps"], report["estimator_pinned_fps"] or 0)
    assert positive(report["engine_in_loop_ms"]["mean_ms"]) and report["engine_in_loop_ms"]["count"] == 14 - 3
    assert report["engine_share"] == pytest.approx(report["engine_in_loop_ms"]["mean_ms"] * report["end_to_end_fps"] / 1000)
    assert positive(report["latency_ms"]["median"]) and report["latency_ms"]["p95"] >= report["latency_ms"]["median"]
    assert report["source"]["frames"] == 14 and report["source"]["width"] > 0
    for key in ("cpu", "cores", "python", "mediapipe", "opencv", "commit", "date"):
        assert key in report["machine"]
    assert report["machine"]["mediapipe"] == version("mediapipe")
    assert set(report["stages"]) >= {"decode", "convert", "infer", "engine", "draw", "encode"}
    for name, stage in report["stages"].items():
        assert positive(stage["median_ms"]) and stage["p95_ms"] >= stage["median_ms"], name
    pinned_runs = ("estimator_pinned",) if report["cores"] is not None else ()
    for kind in ("end_to_end", "serial", "estimator", *pinned_runs):
        (run,) = report["runs"][kind]
        assert run["frames"] == 14 - 3 and positive(run["fps"])
        assert run.get("frames_total", 14) == 14
    (loop,) = report["runs"]["end_to_end"]
    assert (loop["prefetch"], loop["background"]) > (0, 0)
    assert report["runs"]["serial"][0]["prefetch"] == report["runs"]["serial"][0]["background"] == 0
    assert "engine" not in report and "startup" not in report


@requires_shared_videos
def test_bench_text_report_and_json_file(tmp_path):
    clip = shared_clip("cat_cow_03.mp4")
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "--source", str(clip), "--frames", "8", "--warmup", "2", "--no-stages",
                                 "--no-engine", "--no-startup", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert "x estimator" in result.stdout and f"{report['ratio']:.2f}" in result.stdout
    assert "stages" not in report


def test_bench_rejects_fewer_frames_than_the_warmup():
    with pytest.raises(InputError, match="larger than the warm-up"):
        run_bench(BenchConfig(source=TRACES / "x.mp4", frames=5, warmup=10))


def test_check_preload_refuses_more_frames_than_fit_and_names_the_most_that_do():
    # 720p BGR frames and their RGB copies: 5.5 MB a frame, so 388 fit in MAX_PRELOAD_BYTES (2 GiB) and 389 do not.
    check_preload(1280, 720, 388, copies=2, purpose="the bare-estimator run")
    with pytest.raises(InputError, match=r"^389 frames of 1280x720 need 2\.2 GB in memory for the bare-estimator run; "
                                         r"use --frames 388 or fewer$"):
        check_preload(1280, 720, 389, copies=2, purpose="the bare-estimator run")
    check_preload(1280, 720, 776)  # one copy: twice as many
    with pytest.raises(InputError, match="for the benchmark; use --frames 776 or fewer"):
        check_preload(1280, 720, 777)


def test_written_clip_reads_back_resized_and_an_unwritable_one_is_an_input_error(tmp_path):
    # What scaling.py does: the same frames written as a clip, then read back at another height.
    frames = [(i / 30.0, np.full((48, 64, 3), 40 * i, np.uint8)) for i in range(5)]
    clip = write_video(frames, tmp_path / "clip.mp4", 30.0)
    back = preload_frames(clip, 10, height=24)
    assert len(back) == 5 and all(f.shape == (24, 32, 3) for _, f in back)
    assert [round(f.mean() / 40) for _, f in back] == [0, 1, 2, 3, 4]  # flat greys survive mp4v near enough
    with pytest.raises(InputError, match="cannot write .* with the mp4v codec"):
        write_video(frames, tmp_path / "no-such-folder" / "clip.mp4", 30.0)


@requires_shared_videos
def test_startup_runs_twice_with_the_packaged_model():
    startup = bench_startup(shared_clip("cat_cow_03.mp4"), help_runs=1)
    assert positive(startup["help_s"])
    assert [probe["model_origin"] for probe in startup["first_frame_runs"]] == ["packaged", "packaged"]
    for probe in startup["first_frame_runs"]:
        for key in ("import_s", "resolve_model_s", "open_estimator_s", "first_frame_s", "total_s"):
            assert positive(probe[key]), key
        assert probe["total_s"] >= probe["import_s"] + probe["resolve_model_s"]



def test_first_frame_probe_module_imports_nothing_heavy_before_its_clock_starts():
    """The probe runs as ``python -m posecheck.bench.end_to_end``: whatever its module imports at the top is
    imported before the clock starts, so cv2, numpy, mediapipe and posecheck's source/estimator must not be."""
    import subprocess
    import sys

    code = ("import sys, posecheck.bench.end_to_end; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cv2', 'numpy', 'mediapipe')"
            " or m.startswith(('posecheck.estimators', 'posecheck.sources', 'posecheck.runtime'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

def test_format_report_shows_the_ratios():
    report = {
        "machine": {"cpu": "cpu", "cores": 2, "load_1min": 1.0, "python": "3.11", "mediapipe": "0.10.21",
                    "opencv": "4.11", "commit": "abc", "date": "today"},
        "source": {"path": "clip.mp4", "width": 640, "height": 480, "frames": 100, "warmup": 10, "exercise": "cat-cow"},
        "model": {"path": "m.task", "origin": "packaged"},
        "estimator_fps": 100.0, "estimator_cpu_share": 1.0, "end_to_end_fps": 96.0, "ratio": 0.96, "cpu_share": 1.3,
        "serial_fps": 70.0, "serial_ratio": 0.7, "latency_ms": {"median": 40.0, "p95": 50.0}, "peak_rss_mb": 300.0,
        "stages": {"infer": {"median_ms": 9.5, "p95_ms": 11.0}}, "engine_share": 0.004, "engine_share_alone": 0.002,
        "engine_in_loop_ms": {"median_ms": 0.039, "mean_ms": 0.0417, "p95_ms": 0.06, "count": 90},
        "estimator_unpinned_fps": 90.0, "estimator_pinned_fps": 100.0,
        "engine": {"cat-cow": {"frames": 500, "fps": 20000.0, "us_per_frame": 50.0}},
    }
    text = format_report(report)
    assert "0.96 x estimator" in text and "0.70 x estimator" in text
    assert "= 0.40 % of the frame time" in text and "engine alone against the loop's frame time: 0.20 %" in text
    assert "as scheduled 90.0, on one core 100.0" in text
    assert "cat-cow" in text
