"""The evaluation flow (clip runner -> scores -> report), its tables and JSON, and the robustness variants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posecheck.errors import InputError
from posecheck.evaluation.baseline import BaselineRule
from posecheck.evaluation.evaluate import evaluate
from posecheck.evaluation.labels import ClipLabel
from posecheck.evaluation.runner import ClipRun
from posecheck.evaluation.scoring import CountedHold, CountResult
from posecheck.evaluation.tables import clip_table, markdown_table, totals_table
from posecheck.evaluation.variants import VARIANTS, mirrored, noisy, tilted, time_scaled
from posecheck.core.pose import MIRROR, Landmark, Pose


def make_pose(t: float, seed: int = 0, frame_size: tuple[int, int] = (640, 480)) -> Pose:
    rng = np.random.default_rng(seed)
    lms = np.zeros((33, 5), dtype=np.float32)
    lms[:, :2] = rng.uniform(0.2, 0.8, size=(33, 2))
    lms[:, 2] = rng.uniform(-0.1, 0.1, size=33)
    lms[:, 3:] = rng.uniform(0.5, 1.0, size=(33, 2))
    world = rng.uniform(-0.8, 0.8, size=(33, 3)).astype(np.float32)
    return Pose(t, lms, world, frame_size)


STREAM = [(i / 10, None if i == 3 else make_pose(i / 10, i)) for i in range(20)]


# --- variants --------------------------------------------------------------------------------------


def test_mirrored_swaps_sides_and_flips_x_and_is_its_own_inverse():
    out = mirrored(STREAM)
    assert [t for t, _ in out] == [t for t, _ in STREAM]
    assert out[3][1] is None
    original, flipped = STREAM[0][1], out[0][1]
    assert flipped.landmarks[Landmark.LEFT_WRIST, 0] == pytest.approx(1 - original.landmarks[Landmark.RIGHT_WRIST, 0])
    assert flipped.landmarks[Landmark.LEFT_WRIST, 1] == pytest.approx(original.landmarks[Landmark.RIGHT_WRIST, 1])
    assert np.allclose(flipped.world[:, 0], -original.world[MIRROR, 0])
    twice = mirrored(out)
    assert np.allclose(twice[5][1].landmarks, STREAM[5][1].landmarks)


@pytest.mark.parametrize("speed", [0.75, 1.5])
def test_time_scaled_divides_every_timestamp_and_keeps_the_landmarks(speed):
    out = time_scaled(STREAM, speed)
    assert [t for t, _ in out] == pytest.approx([t / speed for t, _ in STREAM])
    assert all(p is None or p.t == pytest.approx(t) for t, p in out)
    assert np.array_equal(out[7][1].landmarks, STREAM[7][1].landmarks)
    assert out[3][1] is None


def test_noisy_has_the_asked_sigma_in_pixels_is_repeatable_and_touches_only_positions():
    frames = [(i / 30, make_pose(i / 30, 1)) for i in range(300)]  # the same pose, 300 times
    out = noisy(frames, 0.005, seed=7)
    w, h = frames[0][1].frame_size
    dx_px = np.array([(p.landmarks[:, 0] - q.landmarks[:, 0]) * w for (_, p), (_, q) in zip(out, frames)])
    dy_px = np.array([(p.landmarks[:, 1] - q.landmarks[:, 1]) * h for (_, p), (_, q) in zip(out, frames)])
    expected = 0.005 * max(w, h)  # 3.2 px for 640x480
    assert dx_px.std() == pytest.approx(expected, rel=0.05)
    assert dy_px.std() == pytest.approx(expected, rel=0.05)
    assert abs(dx_px.mean()) < 0.1
    # visibility, presence and z untouched; world jittered a little
    assert np.array_equal(out[5][1].landmarks[:, 2:], frames[5][1].landmarks[:, 2:])
    assert not np.array_equal(out[5][1].world, frames[5][1].world)
    again = noisy(frames, 0.005, seed=7)
    assert np.array_equal(again[9][1].landmarks, out[9][1].landmarks)
    assert not np.array_equal(noisy(frames, 0.005, seed=8)[9][1].landmarks, out[9][1].landmarks)


def test_noisy_keeps_missing_frames_missing():
    assert noisy(STREAM, 0.005, seed=1)[3] == (STREAM[3][0], None)


def test_tilted_rolls_the_picture_about_its_centre_and_the_world_about_the_camera_axis():
    pose = STREAM[0][1]
    (_, rolled), = tilted([STREAM[0]], 8.0)
    w, h = pose.frame_size

    def pixel_angle(p: Pose, a: Landmark, b: Landmark) -> float:
        dx, dy = (p.landmarks[b, :2] - p.landmarks[a, :2]) * (w, h)
        return float(np.degrees(np.arctan2(dy, dx)))

    def pixel_length(p: Pose, a: Landmark, b: Landmark) -> float:
        return float(np.hypot(*((p.landmarks[b, :2] - p.landmarks[a, :2]) * (w, h))))

    segment = (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP)
    # every line turns by the roll (clockwise on screen, y down), in pixels, and keeps its length
    assert (pixel_angle(rolled, *segment) - pixel_angle(pose, *segment)) % 360 == pytest.approx(8.0)
    assert pixel_length(rolled, *segment) == pytest.approx(pixel_length(pose, *segment), rel=1e-5)
    # the centre of the frame stays put; z, visibility and presence are untouched
    (_, centre), = tilted([(0.0, Pose(0.0, np.full((33, 5), 0.5, np.float32), None, (w, h)))], 8.0)
    assert np.allclose(centre.landmarks[:, :2], 0.5)
    assert np.array_equal(rolled.landmarks[:, 2:], pose.landmarks[:, 2:])
    # world: the same turn about z, lengths and depth kept
    assert np.allclose(np.linalg.norm(rolled.world[:, :2], axis=1), np.linalg.norm(pose.world[:, :2], axis=1), atol=1e-6)
    assert np.array_equal(rolled.world[:, 2], pose.world[:, 2])
    # rolling back undoes it; missing frames stay missing
    back = tilted(tilted(STREAM, 8.0), -8.0)
    assert np.allclose(back[5][1].landmarks, STREAM[5][1].landmarks, atol=1e-6)
    assert np.allclose(back[5][1].world, STREAM[5][1].world, atol=1e-6)
    assert back[3][1] is None


def test_the_brief_variants_are_all_there():
    # the brief's mirrored, x0.75 / x1.5 and noise, and a camera rolled either way ("a slightly different angle")
    assert [v.name for v in VARIANTS] == ["mirrored", "speed_0.75", "speed_1.5", "noise", "roll_-8", "roll_+8"]


# --- the evaluation flow with a canned runner -------------------------------------------------------

SQUAT = ClipLabel("squat_01.mp4", "squat", 2, ((0.0, 1.0), (1.0, 1.9)))
PLANK = ClipLabel("plank_01.mp4", "plank", 0, (), ((0.2, 1.9),))
NEW = ClipLabel("new_01.mp4", "brand-new", 3, ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0)))
MISSING = ClipLabel("gone_01.mp4", "squat", 1, ((0.0, 1.0),))

CANNED = {
    "squat_01.mp4": CountResult(2, ((0.1, 0.9), (1.1, 1.8))),
    "plank_01.mp4": CountResult(1, ((0.5, 0.6),), (CountedHold(0.3, 1.9, 1.5),)),
}


def canned_runner(label: ClipLabel, spec: object) -> ClipRun:
    if label.clip == "gone_01.mp4":
        raise InputError("gone_01.npz: no such trace file")
    return ClipRun(STREAM, None if spec is None else CANNED[label.clip])


@pytest.fixture
def report(monkeypatch):
    import posecheck.evaluation.evaluate as ev

    # Specs exist for squat and plank only; the engine itself is not under test here.
    monkeypatch.setattr(ev, "spec_loader", lambda specs_dir: lambda exercise: object() if exercise in {"squat", "plank"} else None)
    rules = {
        ex: BaselineRule(ex, "hip", (Landmark.LEFT_SHOULDER, Landmark.LEFT_HIP, Landmark.LEFT_KNEE), 145.0, 90.0)
        for ex in ("squat", "plank", "brand-new")
    }
    seen = []
    result = evaluate([SQUAT, PLANK, NEW, MISSING], canned_runner, source="traces", baseline=rules, on_clip=seen.append)
    assert [c.label.clip for c in seen] == ["squat_01.mp4", "plank_01.mp4", "new_01.mp4", "gone_01.mp4"]
    return result


def test_report_scores_clips_with_a_spec_and_skips_the_rest(report):
    by_clip = {c.label.clip: c for c in report.clips}
    assert by_clip["squat_01.mp4"].posecheck.exact
    assert by_clip["plank_01.mp4"].posecheck.phantoms == 1
    assert by_clip["plank_01.mp4"].posecheck.hold.error_s == pytest.approx(0.2)
    assert by_clip["new_01.mp4"].posecheck is None
    assert by_clip["new_01.mp4"].skipped == "no spec 'brand-new'"
    assert by_clip["new_01.mp4"].baseline is not None  # the baseline still runs where it has a rule
    assert by_clip["gone_01.mp4"].skipped == "gone_01.npz: no such trace file"
    assert by_clip["gone_01.mp4"].baseline is None


def test_report_totals_compare_posecheck_and_baseline_on_the_same_clips(report):
    p, b, b_all = report.posecheck_totals, report.baseline_totals, report.baseline_totals_all
    assert (p.clips, p.scored, p.exact, p.obo, p.phantoms) == (2, 2, 0.5, 1.0, 1)
    assert b.clips == 2 and b_all.clips == 3


def test_report_json_is_serialisable_and_complete(report):
    data = json.loads(json.dumps(report.to_dict()))
    assert data["source"] == "traces"
    assert [c["clip"] for c in data["clips"]] == ["squat_01.mp4", "plank_01.mp4", "new_01.mp4", "gone_01.mp4"]
    plank = data["clips"][1]
    assert plank["posecheck"]["counted_reps"] == 1 and plank["posecheck"]["phantom_times"] == [[0.5, 0.6]]
    assert plank["posecheck"]["hold"]["error_s"] == pytest.approx(0.2)
    assert plank["truth_hold_s"] == pytest.approx(1.7)
    assert data["totals"]["posecheck"]["exact"] == 0.5
    assert set(data["totals"]) == {"posecheck", "baseline", "baseline_all_clips", "variants"}


def test_tables_have_one_row_per_clip_and_per_counter(report):
    headers, rows = clip_table(report)
    assert len(rows) == 4 and all(len(r) == len(headers) for r in rows)
    squat = dict(zip(headers, rows[0]))
    assert (squat["truth"], squat["posecheck"], squat["phantom"], squat["timing"]) == ("2", "2", "0", "2/2 +0.1/-0.1")
    assert squat["timing err s"] == "0.1/0.1"  # mean |start| / |end| offset
    plank = dict(zip(headers, rows[1]))
    assert plank["hold s"] == "1.5/1.7 (0.2)"
    t_headers, t_rows = totals_table(report)
    assert [r[0] for r in t_rows] == ["posecheck", "baseline (same clips)", "baseline (all clips)"]
    md = markdown_table(t_headers, t_rows)
    assert md.splitlines()[0].startswith("| counter |") and md.count("\n") == 4


def test_markdown_table_escapes_pipes():
    assert markdown_table(["a"], [["x|y"]]).splitlines()[2] == "| x\\|y |"


def test_evaluate_is_pure_and_replays_traces_without_cv2_mediapipe_or_typer():
    """Scoring, the baseline and trace replay must run where cv2, mediapipe and typer cannot be imported."""
    import subprocess
    import sys
    from pathlib import Path

    data = Path(__file__).parent / "data"
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('cv2', 'mediapipe', 'typer'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
from functools import partial
from posecheck.evaluation.baseline import load_baseline_table
from posecheck.evaluation.evaluate import evaluate
from posecheck.evaluation.labels import load_labels, select_clips
from posecheck.evaluation.runner import replay_trace
labels = select_clips(load_labels({str(data / 'labels.yaml')!r}), ['cat_cow_01'])
report = evaluate(labels, partial(replay_trace, {str(data / 'traces')!r}), source='traces',
                  baseline=load_baseline_table())
print(report.clips[0].posecheck.counted_reps, report.clips[0].baseline.counted_reps)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    counted, baseline = (int(x) for x in result.stdout.split())
    assert counted == 2 and baseline >= 0


def test_as_exercise_runs_one_spec_on_every_clip_as_near_misses(monkeypatch):
    import posecheck.evaluation.evaluate as ev

    monkeypatch.setattr(ev, "spec_loader", lambda specs_dir: lambda exercise: object() if exercise == "squat" else None)
    seen_exercises = []

    def runner(label, spec):
        seen_exercises.append(label.exercise)
        return ClipRun(STREAM, CountResult(1, ((0.5, 0.9),)))

    report = evaluate([SQUAT, PLANK, NEW], runner, source="traces", as_exercise="squat")
    assert seen_exercises == ["squat", "squat", "squat"]
    squat, plank, new = report.clips
    assert squat.label is SQUAT and squat.posecheck.count_error == -1  # its own label, unchanged
    assert plank.label.near_miss_of == "plank" and plank.posecheck.phantoms == 1
    assert new.label.near_miss_of == "brand-new" and new.posecheck.count_error == 1
    headers, rows = clip_table(report)
    assert dict(zip(headers, rows[1]))["note"] == "shows plank: should count nothing"


def test_as_exercise_without_a_spec_is_a_user_error(monkeypatch):
    import posecheck.evaluation.evaluate as ev
    from posecheck.errors import UnknownExerciseError

    monkeypatch.setattr(ev, "spec_loader", lambda specs_dir: lambda exercise: None)
    with pytest.raises(UnknownExerciseError, match="no spec 'nope'"):
        evaluate([SQUAT], canned_runner, source="traces", as_exercise="nope")


def test_not_counted_notes_explain_clips_counted_wrong_or_zero():
    from posecheck.evaluation.evaluate import ClipReport, Report
    from posecheck.evaluation.scoring import score_clip
    from posecheck.evaluation.tables import not_counted_notes

    def clip(label: ClipLabel, reps: int, reasons: tuple[str, ...]) -> ClipReport:
        times = tuple((float(i), i + 0.9) for i in range(reps))
        return ClipReport(label, score_clip(label, CountResult(reps, times, not_counted=reasons)), None)

    reasons = ("view: The camera looks front-on.", "start: Not in the start position.", "visible: Hidden.")
    report = Report("traces", [
        clip(SQUAT, 2, reasons),  # right: nothing to explain, whatever was refused on the way
        clip(MISSING, 0, reasons),  # labelled 1, counted 0: the top two reasons
        clip(NEW, 2, ("cut_at_end: The session ended during the last rep.",)),  # one short
        clip(PLANK, 0, reasons),  # nothing to count and nothing counted: the reasons are the intended ones
        clip(ClipLabel("odd_01.mp4", "squat", 2), 0, ()),  # off, but no reason recorded: nothing to print
    ])
    assert not_counted_notes(report) == [
        ("gone_01.mp4", list(reasons[:2])),
        ("new_01.mp4", ["cut_at_end: The session ended during the last rep."]),
    ]
    assert report.to_dict()["clips"][1]["posecheck"]["not_counted"] == list(reasons)
