"""`posecheck eval` through typer's CliRunner: tables, --json, --only, skipped clips and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SHARED_VIDEOS, requires_shared_videos
from typer.testing import CliRunner

from posecheck.cli.app import app

DATA = Path(__file__).parent / "data"
LABELS = DATA / "labels.yaml"
TRACES = DATA / "traces"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["eval", *map(str, args)])


@pytest.fixture
def labels_file(tmp_path: Path) -> Path:
    """Two clips: one with the built-in cat-cow spec, one whose exercise has no spec."""
    path = tmp_path / "labels.yaml"
    path.write_text(
        "cat_cow_01.mp4:\n  exercise: cat-cow\n  reps: 2\n  rep_times: [[0.0, 6.5], [6.5, 12.9]]\n"
        "squat_01.mp4:\n  exercise: no-such-exercise\n  reps: 4\n",
        encoding="utf-8",
    )
    return path


def test_json_report_for_one_clip_is_the_only_output():
    result = invoke(LABELS, "--traces", TRACES, "--only", "cat_cow_01.mp4", "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["clip"] for c in data["clips"]] == ["cat_cow_01.mp4"]
    clip = data["clips"][0]
    assert clip["truth_reps"] == 2
    assert clip["posecheck"]["counted_reps"] == 2
    assert isinstance(clip["baseline"]["counted_reps"], int)
    assert data["totals"]["posecheck"]["scored"] == 1


def test_table_output_lists_the_clip_and_totals_and_skipped_clips(labels_file):
    result = invoke(labels_file, "--traces", TRACES)
    assert result.exit_code == 0, result.output
    out = result.stdout
    row = next(line for line in out.splitlines() if "cat_cow_01.mp4" in line)
    # clip, exercise, truth, posecheck's count
    assert [cell.strip() for cell in row.split("│")[1:5]] == ["cat_cow_01.mp4", "cat-cow", "2", "2"]
    assert "no spec 'no-such-exercise'" in out
    assert "baseline (same clips)" in out and "MAE" in out


def test_only_accepts_the_stem_and_variants_add_columns(labels_file):
    result = invoke(labels_file, "--traces", TRACES, "--only", "cat_cow_01", "--variants", "--json", "-")
    assert result.exit_code == 0, result.output
    clip = json.loads(result.stdout)["clips"][0]
    variants = clip["variants"]
    assert sorted(variants) == ["mirrored", "noise", "roll_+8", "roll_-8", "speed_0.75", "speed_1.5"]
    # A variant should not change the count (see evaluate.Variant).
    assert {name: v["counted_reps"] for name, v in variants.items()} == dict.fromkeys(variants, clip["posecheck"]["counted_reps"])


def test_eval_says_why_a_clip_counted_too_few(tmp_path):
    # glute_bridge_03 ends during its third bridge, short of the way down: 2 of 3, and eval says why.
    labels = tmp_path / "labels.yaml"
    labels.write_text(
        "glute_bridge_03.mp4:\n  exercise: glute-bridge\n  reps: 3\n"
        "cat_cow_01.mp4:\n  exercise: cat-cow\n  reps: 2\n",
        encoding="utf-8",
    )
    table = invoke(labels, "--traces", TRACES)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    first = lines.index("Not counted (clips whose count is off or zero; posecheck's top reasons):")
    assert lines[first + 1] == "  glute_bridge_03.mp4"
    assert lines[first + 2].startswith("    cut_at_end: The session ended during the last rep, ")
    assert "% of the way back" in lines[first + 2]
    assert not any("cat_cow_01" in line for line in lines[first:])  # counted right: nothing to explain

    data = json.loads(invoke(labels, "--traces", TRACES, "--json", "-").stdout)
    bridge, cat_cow = data["clips"]
    assert any(reason.startswith("cut_at_end: ") for reason in bridge["posecheck"]["not_counted"])
    assert cat_cow["posecheck"]["not_counted"] == []


def test_json_to_a_file_also_prints_the_tables(labels_file, tmp_path):
    out = tmp_path / "report.json"
    result = invoke(labels_file, "--traces", TRACES, "--only", "cat_cow_01", "--json", out)
    assert result.exit_code == 0, result.output
    clip = json.loads(out.read_text())["clips"][0]
    assert clip["clip"] == "cat_cow_01.mp4" and clip["posecheck"]["counted_reps"] == 2
    assert "cat_cow_01.mp4" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{labels}", "--traces", str(TRACES), "--only", "nope.mp4"], "Error: not in the labels: nope.mp4"),
        (["{labels}", "--traces", str(TRACES), "--videos", str(TRACES)], "Error: give either --videos or --traces"),
        (["{tmp}/missing.yaml", "--traces", str(TRACES)], "cannot read labels"),
        (["{labels}", "--traces", "{tmp}/no-traces"], "/no-traces does not exist"),
        (["{labels}", "--traces", str(TRACES), "--specs", "{tmp}/no-specs"], "/no-specs does not exist"),
        (["{bad}", "--traces", str(TRACES)], "bad.yaml: a.mp4: reps"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args, message, labels_file, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a.mp4: {exercise: x, reps: -2}\n", encoding="utf-8")
    args = [a.format(labels=labels_file, tmp=tmp_path, bad=bad) for a in args]
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_a_clip_without_a_trace_is_skipped_with_the_reason(tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("nowhere_01.mp4: {exercise: cat-cow, reps: 1}\n", encoding="utf-8")
    result = invoke(labels, "--traces", TRACES, "--json", "-")
    assert result.exit_code == 0, result.output
    clip = json.loads(result.stdout)["clips"][0]
    assert clip["posecheck"] is None and "no such trace file" in clip["skipped"]


@requires_shared_videos
def test_videos_path_runs_the_session_loop_and_agrees_with_the_trace():
    """--videos decodes the clip and runs MediaPipe + the engine through session.run_session (one short clip)."""
    from posecheck.evaluation.labels import load_labels
    from posecheck.evaluation.runner import analyze_video, replay_trace, spec_loader

    label = next(lb for lb in load_labels(LABELS) if lb.clip == "cat_cow_03.mp4")
    spec = spec_loader(None)(label.exercise)
    from_video = analyze_video(SHARED_VIDEOS, label, spec)
    from_trace = replay_trace(TRACES, label, spec)
    assert len(from_video.poses) == len(from_trace.poses)
    assert from_video.result is not None and from_trace.result is not None
    assert from_video.result.reps == from_trace.result.reps == label.reps


def test_as_exercise_checks_a_spec_on_other_exercises_clips(labels_file):
    result = invoke(labels_file, "--traces", TRACES, "--as-exercise", "cat-cow", "--only", "squat_01", "--json", "-")
    assert result.exit_code == 0, result.output
    clip = json.loads(result.stdout)["clips"][0]
    assert clip["exercise"] == "cat-cow" and clip["truth_reps"] == 0
    assert clip["posecheck"]["counted_reps"] == clip["posecheck"]["phantoms"]
    # scored for holds although squat_01 labels none: every second timed on a near miss is an extra second
    assert clip["posecheck"]["hold"]["truth_s"] == 0
    assert clip["posecheck"]["hold"]["extra_s"] == clip["posecheck"]["hold"]["counted_s"]


def test_as_exercise_unknown_is_one_error_line(labels_file):
    result = invoke(labels_file, "--traces", TRACES, "--as-exercise", "nope")
    assert result.exit_code == 4
    assert result.stderr.strip() == "Error: no spec 'nope'"


def test_margins_as_json_name_every_line_with_its_bound_and_worst_clip():
    result = invoke(LABELS, "--traces", TRACES, "--only", "push_up_01", "--only", "push_up_02", "--margins", "--views", "--json", "-")
    assert result.exit_code == 0, result.output
    rows = {row["line"]["what"]: row for row in json.loads(result.stdout)}
    reach = rows["phases.up"]
    assert reach["exercise"] == "push-up" and reach["line"]["bound"] == "min 120" and reach["line"]["high"] is None
    assert reach["clips"] == 2 and reach["worst_clip"] in ("push_up_01.mp4", "push_up_02.mp4")
    # the views turn the camera: the worst variant is one of them, and it is no better than the clips as filmed
    assert reach["worst_variant_case"].split()[0] in ("yaw-30", "yaw+30", "yaw-60", "yaw+60", "elev20", "elev40")
    assert reach["worst_variant"] <= reach["worst"]


def test_margins_table_names_each_line_of_the_spec():
    result = invoke(LABELS, "--traces", TRACES, "--only", "glute_bridge_01", "--margins")
    assert result.exit_code == 0, result.output
    assert "Margins" in result.stdout
    for what in ("phases.up", "phases.down", "setup.start.hip_angle"):
        assert what in result.stdout
