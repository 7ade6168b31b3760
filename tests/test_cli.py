"""The posecheck command: help everywhere, analyze end to end on a real clip, trace replay, JSON, models, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import typer
from typer.testing import CliRunner

from posecheck import __version__
from posecheck.cli import app as cli
from posecheck.cli import common
from posecheck.cli.app import app
from posecheck.errors import InputError, SpecError
from posecheck.specs import builtin_specs_dir

from conftest import REPO_ROOT, requires_shared_videos, shared_clip, trace_path

runner = CliRunner()
#: Hand counts of cat_cow_01 and cat_cow_03 (tests/data/labels.yaml, a copy of shared/videos/labels.yaml) that the cat-cow spec must reproduce.
CAT_COW_01_REPS = 2
CAT_COW_03_REPS = 1


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app (lazy ones included), as argument paths."""
    root = typer.main.get_command(app)
    paths = []

    def walk(command, path, ctx):
        paths.append(path)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), (*path, name), ctx)

    with root.make_context("posecheck", [], resilient_parsing=True) as ctx:
        walk(root, (), ctx)
    return paths


def _without_source(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "source"}


# ------------------------------------------------------------------------------------------------ plumbing


def test_every_command_has_help_with_an_example():
    paths = _command_paths()
    assert {("analyze",), ("models",), ("samples",), ("samples", "list"), ("samples", "fetch")} <= set(paths)
    for path in paths:
        for flag in ("--help", "-h"):
            result = runner.invoke(app, [*path, flag])
            assert result.exit_code == 0, (path, result.output)
            assert "Example:" in result.output, f"posecheck {' '.join(path)} --help has no Example: line"


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"posecheck {__version__}"


def test_no_arguments_shows_help():
    result = runner.invoke(app, [])
    assert "analyze" in result.output and "Usage" in result.output


def test_real_process_help_is_fast_to_import_and_complete():
    """The installed script and ``python -m posecheck`` both answer --help without cv2 or mediapipe."""
    script = Path(sys.executable).with_name("posecheck")
    for command in ([str(script), "--help"], [sys.executable, "-m", "posecheck", "--help"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
        assert done.returncode == 0, done.stderr
        assert "analyze" in done.stdout and "samples" in done.stdout and done.stderr == ""
    probe = (
        "import sys; from typer.testing import CliRunner; from posecheck.cli.app import app; "
        "CliRunner().invoke(app, ['--help']); print(sorted(m for m in ('cv2', 'mediapipe') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_an_error_listing_several_problems_prints_one_error_line_each(capsys):
    common.print_error(InputError("labels.yaml: a.mp4: reps: must be >= 0\nlabels.yaml: b.mp4: exercise missing"))
    assert capsys.readouterr().err.splitlines() == [
        "Error: labels.yaml: a.mp4: reps: must be >= 0",
        "Error: labels.yaml: b.mp4: exercise missing",
    ]
    common.print_error(SpecError(["a.yaml:3: phases: empty", "a.yaml:9: reps: unknown phase 'x'"]))
    assert capsys.readouterr().err == "Error: a.yaml:3: phases: empty\nError: a.yaml:9: reps: unknown phase 'x'\n"


def test_lazy_commands_are_listed_and_functions_become_commands(monkeypatch):
    def hello(name: str) -> None:
        """Say hello.

        Example: posecheck hello you
        """
        typer.echo(f"hello {name}")

    fake = type(sys)("posecheck_fake_cli")
    fake.hello = hello
    monkeypatch.setitem(sys.modules, "posecheck_fake_cli", fake)
    monkeypatch.setitem(cli.LAZY_COMMANDS, "hello", "posecheck_fake_cli:hello")
    cli._load_lazy_command.cache_clear()
    try:
        listing = runner.invoke(app, ["--help"]).output
        # The first word of each row of the Commands panel (a wrapped description's rows start with spaces).
        listed = re.findall(r"^\W (\w[\w-]*)\s", listing.split("Commands", 1)[1], re.MULTILINE)
        assert listed == [*cli.LAZY_COMMANDS], listing
        assert listed[:3] == ["analyze", "models", "samples"], listing
        assert runner.invoke(app, ["hello", "you"]).output == "hello you\n"
    finally:
        cli._load_lazy_command.cache_clear()


# ------------------------------------------------------------------------------------------------ analyze (video)


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    """``posecheck analyze cat_cow_01.mp4 --save-trace`` once for the tests below (about 5-15 s)."""
    out = tmp_path_factory.mktemp("analyze")
    clip = shared_clip("cat_cow_01.mp4")
    result = runner.invoke(
        app, ["analyze", str(clip), "--exercise", "cat-cow", "--out", str(out), "--save-trace", str(out / "trace.npz")]
    )
    return result, out


@requires_shared_videos
def test_analyze_video_writes_report_csv_video_and_trace(video_run):
    result, out = video_run
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 1 and report["exercise"] == "cat-cow"
    assert report["reps"] == CAT_COW_01_REPS
    assert report["frames"] == 387 and report["frames_with_pose"] >= 380 and report["fps"] == 30.0
    assert report["source"]["kind"] == "video" and report["source"]["model"]["origin"] == "packaged"
    assert report["gaps"] == [] and report["interrupted"] is False
    for rep in report["rep_list"]:
        assert rep["end"] > rep["start"] and rep["duration"] == pytest.approx(rep["end"] - rep["start"], abs=0.002)
        assert rep["rom"] > 0
    rows = (out / "reps.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + CAT_COW_01_REPS
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 387
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (720, 1280)
    cap.release()
    assert f"Reps: {CAT_COW_01_REPS}" in result.stdout and "report.json" in result.stdout


@requires_shared_videos
def test_saved_trace_replays_to_the_same_report(video_run, tmp_path):
    _, out = video_run
    replay = runner.invoke(app, ["analyze", str(out / "trace.npz"), "-e", "cat-cow", "--out", str(tmp_path), "--no-video"])
    assert replay.exit_code == 0, replay.output
    original = json.loads((out / "report.json").read_text())
    replayed = json.loads((tmp_path / "report.json").read_text())
    assert _without_source(replayed) == _without_source(original)
    assert replayed["source"]["kind"] == "trace"
    assert replayed["source"]["model"]["sha256"] == original["source"]["model"]["sha256"]
    assert not (tmp_path / "annotated.mp4").exists()


# ------------------------------------------------------------------------------------------------ analyze (trace)


def test_analyze_trace_prints_only_json_with_json_dash(tmp_path):
    result = runner.invoke(
        app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path), "--json", "-", "--no-video"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert report == json.loads((tmp_path / "report.json").read_text())
    assert report["reps"] == CAT_COW_01_REPS and report["source"]["kind"] == "trace"


def test_analyze_trace_json_to_a_file_and_default_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--json", "r.json", "--no-video"])
    assert result.exit_code == 0, result.output
    default_out = tmp_path / "posecheck-out" / "cat_cow_01"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report == json.loads((default_out / "report.json").read_text())
    assert report["reps"] == CAT_COW_01_REPS
    assert (default_out / "reps.csv").is_file()


def test_analyze_says_which_rep_was_counted_at_the_end(tmp_path):
    # push_up_01's last press is cut off by the end of the clip, 91 % of the way up (reps.cut_at_end).
    result = runner.invoke(app, ["analyze", str(trace_path("push_up_01")), "-e", "push-up", "--out", str(tmp_path), "--no-video"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert [rep["cut_by_end"] for rep in report["rep_list"]] == [False] * 6 + [True]
    assert result.stdout.count("counted at the end") == 1


def side_view_bridge(folder: Path) -> Path:
    """The built-in glute-bridge spec with a side-view gate put back (it reads 3D angles and takes any view, but
    a gate's reason is what these tests read): a --specs folder holding it, which replaces the built-in one."""
    text = (builtin_specs_dir() / "glute-bridge.yaml").read_text(encoding="utf-8")
    assert "\n  view: any" in text
    text = text.replace(
        "\n  view: any",
        "\n  view: side\n  view_ratio: 0.7   # a side-view gate, for the test\n"
        "  view_text: Place the camera at your side so it sees you from shoulders to knees.",
        1,
    )
    folder.mkdir()
    (folder / "glute-bridge.yaml").write_text(text, encoding="utf-8")
    return folder


def test_analyze_says_why_nothing_was_counted(tmp_path):
    # glute-bridge on supine_twist_01, filmed from the feet: front-on half of the time, and the hips never rise.
    specs = side_view_bridge(tmp_path / "specs")
    result = runner.invoke(app, ["analyze", str(trace_path("supine_twist_01")), "-e", "glute-bridge", "--specs", str(specs),
                                 "--out", str(tmp_path), "--no-video"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["reps"] == 0
    reasons = {r["kind"]: r for r in report["not_counted"]}
    view = reasons["view"]
    assert view["measure"] == "view_ratio" and view["value"] > 0.7 and view["required"] == "below 0.7"
    lines = result.stdout.splitlines()
    why = lines.index("Why no reps were counted:")
    assert lines[why - 1] == "Reps: 0 of 10"
    shown = "\n".join(lines[why + 1:why + 5])
    assert "The camera sees you too much from the front (view ratio 0.8" in shown
    assert "Glute Bridge needs a side view (view ratio below 0.7)" in shown
    assert "    Tip: " + view["advice"] in shown
    assert "hips above shoulders was" in shown  # the other reason: the refused lift, with its value


def test_analyze_says_which_rep_was_not_counted_and_stays_quiet_when_all_were(tmp_path):
    cut = runner.invoke(app, ["analyze", str(trace_path("glute_bridge_03")), "-e", "glute-bridge", "--out", str(tmp_path / "a"), "--no-video"])
    assert cut.exit_code == 0, cut.output
    lines = cut.stdout.splitlines()
    line = lines[lines.index("Not counted:") + 1]
    back = re.fullmatch(
        r"  The session ended during the last rep, (\d+)% of the way back, and Glute Bridge counts a cut-off rep from 80% of the way\.", line
    )
    assert back and int(back.group(1)) < 80, line
    clean = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "b"), "--no-video"])
    assert clean.exit_code == 0, clean.output
    assert "Not counted" not in clean.stdout and "Why no reps" not in clean.stdout


def test_analyze_trace_draws_the_skeleton_on_a_blank_video(tmp_path):
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_03")), "-e", "cat-cow", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cap = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 185
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (628, 864, 3) and frame.std() > 5  # a canvas with a drawing on it
    assert json.loads((tmp_path / "report.json").read_text())["reps"] == CAT_COW_03_REPS


def test_verbose_logs_go_to_stderr(tmp_path):
    result = runner.invoke(app, ["-v", "analyze", str(trace_path("cat_cow_03")), "-e", "cat-cow", "--out", str(tmp_path), "--json", "-", "--no-video"])
    assert result.exit_code == 0
    assert "session started" in result.stderr and "session started" not in result.stdout
    assert json.loads(result.stdout)["reps"] == CAT_COW_03_REPS


# ------------------------------------------------------------------------------------------------ models


def test_models_shows_the_model_in_use(tmp_path):
    from posecheck.estimators.model import resolve_model

    info = resolve_model()
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert info.sha256 in result.output and info.path.name in result.output and "mediapipe" in result.output
    official = tmp_path / "pose_landmarker_heavy.task"
    shutil.copyfile(info.path, official)
    result = runner.invoke(app, ["models", "--model", str(official), "--check"])
    assert result.exit_code == 0, result.output
    assert "given by you" in result.output and "loads and runs" in result.output
    missing = runner.invoke(app, ["models", "--model", str(tmp_path / "none.task")])
    assert missing.exit_code == 3 and missing.stderr.startswith("Error: model file")


# ------------------------------------------------------------------------------------------------ Ctrl-C


@requires_shared_videos
def test_ctrl_c_during_analyze_still_writes_the_partial_report(tmp_path):
    clip = shared_clip("cat_cow_01.mp4")
    command = [sys.executable, "-m", "posecheck", "-v", "analyze", str(clip), "-e", "cat-cow", "--out", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    started = False
    for line in process.stderr:  # wait until the loop runs (model loading takes a moment)
        if "session started" in line:
            started = True
            break
    assert started, "analyze never started its loop"
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["interrupted"] is True and 0 < report["frames"] < 387
    assert "Interrupted" in stderr and "Traceback" not in stderr
    cap = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))  # closed properly: readable up to the stop
    assert 0 < int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) <= report["frames"] + 4
    cap.release()


def test_save_trace_without_suffix_gets_npz_so_it_replays(tmp_path):
    """Replay knows traces by their .npz suffix, so a trace saved as plain ``copy`` must become ``copy.npz``."""
    first = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--out", str(tmp_path / "a"),
                                "--no-video", "--json", "-", "--save-trace", str(tmp_path / "copy")])
    assert first.exit_code == 0, first.output
    saved = tmp_path / "copy.npz"
    assert saved.is_file() and not (tmp_path / "copy").exists()
    again = runner.invoke(app, ["analyze", str(saved), "-e", "cat-cow", "--out", str(tmp_path / "b"), "--no-video", "--json", "-"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["reps"] == json.loads(first.stdout)["reps"] == 2
