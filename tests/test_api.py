"""The library API (`posecheck.analyze`, `Session`, `Report`, the spec registry) and the one wiring
(`posecheck.runtime.wiring`), on recorded traces: the same answers as the command line, typed, and light to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import posecheck
from posecheck.cli.app import app
from posecheck.core.trace import Trace
from posecheck.runtime import wiring

from conftest import REPO_ROOT, trace_path

runner = CliRunner()


def _cli_report(path: Path, exercise: str, out: Path) -> dict:
    result = runner.invoke(app, ["analyze", str(path), "-e", exercise, "--out", str(out), "--no-video",
                                 "--no-history", "--json", "-"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("name", "exercise"), [("cat_cow_01", "cat-cow"), ("bird_dog_01", "bird-dog"),
                                                ("plank_01", "plank"), ("cat_cow_01", "glute-bridge")])
def test_the_api_gives_the_report_posecheck_analyze_writes(name, exercise, tmp_path):
    """Reps, alternating sides, a hold, and nothing counted (with its reasons): the same dict either way."""
    cli = _cli_report(trace_path(name), exercise, tmp_path)
    report = posecheck.analyze(trace_path(name), exercise)
    assert report.to_dict() == cli
    assert (report.reps, report.exercise) == (cli["reps"], exercise)
    assert len(report.rep_list) == len(cli["rep_list"]) and len(report.holds) == len(cli["holds"])


def test_a_report_has_typed_entries_and_saves_what_the_cli_saves(tmp_path):
    report = posecheck.analyze(trace_path("plank_01"), "plank")
    assert report.holds and all(isinstance(hold, posecheck.Hold) for hold in report.holds)
    assert report.holds[0].seconds == report.to_dict()["holds"][0]["seconds"] > 0
    bridge = posecheck.analyze(trace_path("cat_cow_01"), "glute-bridge")
    assert bridge.reps == 0 and bridge.not_counted and isinstance(bridge.not_counted[0], posecheck.NotCounted)
    heading, reasons = bridge.why_not_counted()
    assert heading == "Why no reps were counted:" and reasons[0].reason == bridge.not_counted[0].reason
    copy = report.to_dict()
    copy["reps"] = 99
    assert report.to_dict()["reps"] != 99, "to_dict is the caller's copy"

    written = report.save(tmp_path / "new" / "folder")
    assert [path.name for path in written] == ["report.json", "reps.csv"]
    assert json.loads(written[0].read_text()) == report.to_dict() and written[0].read_text() == report.to_json()
    cli_out = tmp_path / "cli"
    _cli_report(trace_path("plank_01"), "plank", cli_out)
    assert (cli_out / "reps.csv").read_text() == written[1].read_text()


def test_analyze_can_write_the_annotated_video_and_the_trace(tmp_path):
    video, trace = tmp_path / "annotated.mp4", tmp_path / "again.npz"
    report = posecheck.analyze(trace_path("cat_cow_01"), "cat-cow", annotated_video=video, save_trace=trace)
    assert video.stat().st_size > 0 and report.output_failures == {}
    assert Trace.load(trace).meta == Trace.load(trace_path("cat_cow_01")).meta, "the replayed trace's own metadata"
    assert posecheck.analyze(trace, "cat-cow").to_dict()["rep_list"] == report.to_dict()["rep_list"]


def test_pushed_poses_count_as_the_analysis_does():
    """A Session fed the trace's poses one by one gives analyze's report, but for where the poses came from."""
    trace = Trace.load(trace_path("bird_dog_01"))
    states = []
    session = posecheck.Session("bird-dog", fps=trace.fps)
    for t, pose in trace.poses():
        session.update(t, pose)
        states.append(session.state.reps)
    pushed = session.finish().to_dict()
    analysed = posecheck.analyze(trace_path("bird_dog_01"), "bird-dog").to_dict()
    assert pushed.pop("source") == {"path": "<poses>", "kind": "poses", "width": trace.frame_size[0],
                                    "height": trace.frame_size[1], "model": None, "people": None}
    analysed.pop("source")
    assert pushed == analysed and pushed["reps"] > 0
    assert states == sorted(states) and states[-1] == pushed["reps"]
    assert session.finish() is session.finish(), "finishing again gives the same report"
    with pytest.raises(RuntimeError, match="finished"):
        session.update(99.0, None)


def test_a_session_hosts_sinks_like_the_loop_does():
    calls = []

    class Recorder:
        def on_start(self, info):
            calls.append(("start", info.exercise, info.fps, info.frame_size))

        def on_frame(self, frame_bgr, pose, state, events):
            calls.append(("frame", state.t))

        def on_finish(self, summary):
            calls.append(("finish", summary.reps))

    trace = Trace.load(trace_path("cat_cow_01"))
    session = posecheck.Session("cat-cow", sinks=[Recorder()], fps=trace.fps, source="my camera")
    poses = list(trace.poses())[:40]
    for t, pose in poses:
        session.update(t, pose)
    report = session.finish()
    assert calls[0] == ("start", "cat-cow", trace.fps, trace.frame_size)
    assert [call[1] for call in calls[1:-1]] == [t for t, _ in poses]
    assert calls[-1] == ("finish", report.reps) and report.to_dict()["source"]["path"] == "my camera"


def test_a_sink_that_cannot_start_ends_the_session_once():
    """As in the loop: the sinks started before it are finished once, and nothing is called again after."""
    calls = []

    class Good:
        def on_start(self, info):
            calls.append("good start")

        def on_frame(self, frame_bgr, pose, state, events):
            calls.append("good frame")

        def on_finish(self, summary):
            calls.append("good finish")

    class Bad(Good):
        def on_start(self, info):
            raise OSError("no window")

    trace = Trace.load(trace_path("cat_cow_01"))
    (t, pose), (t2, pose2) = list(trace.poses())[:2]
    session = posecheck.Session("cat-cow", sinks=[Good(), Bad()])
    with pytest.raises(OSError, match="no window"):
        session.update(t, pose)
    with pytest.raises(RuntimeError, match="finished"):
        session.update(t2, pose2)
    session.finish()
    assert calls == ["good start", "good finish"]


def test_the_spec_registry_and_the_errors_are_public(tmp_path):
    assert "cat-cow" in posecheck.exercises() and posecheck.exercises() == sorted(posecheck.exercises())
    assert posecheck.load_spec("cat-cow").id == "cat-cow"
    with pytest.raises(posecheck.UnknownExerciseError, match="did you mean cat-cow") as unknown:
        posecheck.load_spec("catcow")
    assert unknown.value.exit_code == 4
    with pytest.raises(posecheck.InputError) as missing:
        posecheck.analyze(tmp_path / "nope.mp4", "cat-cow")
    assert isinstance(missing.value, posecheck.PosecheckError) and missing.value.exit_code == 2
    short = tmp_path / "short.npz"
    full = Trace.load(trace_path("cat_cow_01"))
    Trace.from_poses(list(full.poses())[:3], full.frame_size, full.fps, dict(full.meta)).save(short)
    with pytest.raises(posecheck.InputError, match="only 0.07 s long"):
        posecheck.analyze(short, "cat-cow")


def test_importing_posecheck_loads_no_heavy_package():
    probe = ("import sys, posecheck; posecheck.PosecheckError; "
             "print(sorted(m for m in ('cv2', 'mediapipe', 'numpy', 'posecheck.api') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
    probe = "import sys, posecheck; posecheck.Session; print('cv2' in sys.modules, 'mediapipe' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False False", done.stdout + done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        posecheck.nothing  # noqa: B018


def test_the_wiring_describes_a_trace_input_and_runs_it():
    spec = posecheck.load_spec("cat-cow")
    with wiring.open_input(trace_path("cat_cow_01")) as opened:
        assert opened.kind == "trace" and opened.model is None and opened.trace_meta["model"]
        result = wiring.run(opened, spec)
        source = opened.description()
    assert result.summary.reps == 2 and result.frames == len(Trace.load(trace_path("cat_cow_01")))
    assert source.kind == "trace" and source.model["origin"] == "trace" and source.people is None


def test_a_model_given_for_a_trace_is_ignored_with_a_warning(caplog):
    with wiring.open_input(trace_path("cat_cow_01"), model="some.task") as opened:
        assert opened.kind == "trace"
    assert "--model is ignored when replaying a trace" in caplog.text


def test_command_modules_never_import_the_root_app():
    """cli.app imports the command modules (lazily); they import cli.common, never cli.app: no cycle."""
    import ast

    for module in sorted((REPO_ROOT / "src" / "posecheck" / "cli").glob("*.py")):
        if module.name == "app.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
            assert not any(name == "posecheck.cli.app" for name in names), f"{module.name} imports posecheck.cli.app"


def test_a_session_given_pictures_asks_its_estimator_for_the_poses():
    """Frames instead of poses: the session's estimator finds them (here trace replay stands in for the model,
    answering by time), and the count is the one of the poses themselves."""
    import numpy as np

    from posecheck.estimators.replay import ReplayEstimator

    trace = Trace.load(trace_path("cat_cow_01"))
    width, height = trace.frame_size
    session = posecheck.Session("cat-cow", estimator=ReplayEstimator(trace), fps=trace.fps)
    for t in trace.timestamps:
        session.update(float(t), frame=np.zeros((height, width, 3), np.uint8))
    report = session.finish()
    assert report.reps == posecheck.analyze(trace_path("cat_cow_01"), "cat-cow").reps == 2
    assert report.to_dict()["frames_with_pose"] == int(trace.has_pose.sum())
