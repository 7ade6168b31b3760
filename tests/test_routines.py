"""Routines without video: the shipped routine files, their validation (file:line problems), the commands, the
key script, and the runner on committed landmark traces (keys, pain, back, repeat, time box, target, the report
and the spoken lines)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.errors import InputError
from posecheck.routines.keys import KeyScript, parse_key_script
from posecheck.routines.loader import check_routine_text
from posecheck.routines.registry import RoutineRegistry
from posecheck.routines.report import build_routine_report, write_routine_report
from posecheck.routines.runner import BEGIN_LINE, WELL_DONE_LINE, RoutineRunner
from posecheck.routines.schema import DEFAULT_PAIN_LINE, ExerciseStep
from posecheck.runtime import wiring
from posecheck.specs.registry import SpecRegistry

from conftest import REPO_ROOT, trace_path

ROUTINES = REPO_ROOT / "routines"
SEED_000 = REPO_ROOT.parent / "shared" / "seeds" / "000_dc3d30306a1aca56.txt"


@pytest.fixture(autouse=True)
def _private_history(tmp_path, monkeypatch):
    monkeypatch.setenv("POSECHECK_DATA_DIR", str(tmp_path / "data"))


# ------------------------------------------------------------------------------------------------ files


def test_every_shipped_routine_validates_and_names_existing_specs():
    registry = RoutineRegistry.default()
    assert {"back-care-15", "desk-break", "back-stretches", "home-back-programme", "back-pain-relief"} <= set(registry.ids())
    specs = SpecRegistry.default()
    for routine_id in registry.ids():
        routine = registry.load(routine_id)
        for _, step in routine.steps():
            if isinstance(step, ExerciseStep):
                assert step.exercise in specs


def test_back_care_15_follows_seed_000():
    routine = RoutineRegistry.default().load("back-care-15")
    assert [(s.name, s.minutes) for s in routine.sections] == [
        ("Gentle Warm-Up", 3), ("Spinal Mobility", 5), ("Gentle Strengthening", 5), ("Cool-Down", 2)]
    steps = [step for _, step in routine.steps()]
    names = [getattr(step, "name", None) or getattr(step, "guided") for step in steps]
    assert names == ["Constructive Rest", "Pelvic Rocks", "Knee Drops", "Cat-Cow", "Thread the Needle",
                     "Child's Pose, side stretch to the right", "Child's Pose, side stretch to the left",
                     "Pelvic Curls", "Dead Bug Prep", "Swimming Prep", "Happy Baby", "Supine Twist", "Final Rest"]
    # The seed's times: each step's time box, adding up to its 15 minutes and to each section's minutes.
    boxes = [step.time_box if isinstance(step, ExerciseStep) else step.seconds for step in steps]
    assert boxes == [60, 60, 60, 120, 90, 45, 45, 90, 90, 120, 45, 60, 15]
    assert sum(boxes) == 15 * 60
    by_name = dict(zip(names, steps))
    assert by_name["Cat-Cow"].reps == 10 and by_name["Pelvic Curls"].reps == 6
    assert (by_name["Dead Bug Prep"].reps, by_name["Dead Bug Prep"].per_side) == (4, True)
    assert (by_name["Swimming Prep"].reps, by_name["Swimming Prep"].per_side) == (10, True)
    assert by_name["Happy Baby"].hold_seconds == 45 and by_name["Supine Twist"].hold_seconds == 30
    if SEED_000.is_file():
        seed = SEED_000.read_text(encoding="utf-8")
        for phrase in ("10 very slow cycles", "6 slow reps", "4 each side", "10 each side", "Happy Baby (45 sec)",
                       "30 seconds each side", "Final Rest (15 sec)", "Stop if painful"):
            assert phrase in seed


ROUTINE = """\
id: mine
title: Mine
description: test
sections:
  - name: One
    steps:
      - exercise: cat-cow
        reps: 3
        colour: red
      - exercise: catcow
      - exercise: cat-cow
        per_side: true
      - exercise: childs-pose
        reps: 2
      - guided: Rest
        seconds: 0
        instructions: [breathe]
      - {}
"""


def test_a_broken_routine_lists_every_problem_at_its_line():
    _, problems = check_routine_text(ROUTINE, "routines/mine.yaml")
    text = "\n".join(problems)
    assert "routines/mine.yaml:9: sections[0].steps[0].colour: unknown key 'colour'" in text
    assert "routines/mine.yaml:16: sections[0].steps[4].seconds: Input should be greater than 0 (got 0)" in text
    assert "routines/mine.yaml:18: sections[0].steps[5]: a step names an exercise (exercise: cat-cow) or is a guided step" in text
    # The registry checks run once the schema is satisfied.
    fixed = ROUTINE.replace("        colour: red\n", "").replace("        seconds: 0\n", "        seconds: 5\n").replace("      - {}\n", "")
    _, problems = check_routine_text(fixed, "routines/mine.yaml")
    assert problems == [
        "routines/mine.yaml:9: sections[0].steps[1].exercise: unknown exercise 'catcow'; did you mean cat-cow?",
        "routines/mine.yaml:11: sections[0].steps[2].per_side: 'cat-cow' does not tell sides apart: give the total "
        "reps without per_side",
        "routines/mine.yaml:13: sections[0].steps[3].reps: 'childs-pose' counts no reps (it times a hold): use "
        "hold_seconds",
    ]


@pytest.mark.parametrize("text, expected", [
    ("", "routines/mine.yaml:1: a routine is a YAML mapping"),
    ("id: [", "routines/mine.yaml:1: not valid YAML"),
    ("id: a\nid: b\n", "routines/mine.yaml:2: id: written twice"),
    ("id: other\ntitle: t\ndescription: d\nsections: []\n", "routines/mine.yaml:1: id: 'other' does not match the file name"),
])
def test_unreadable_routines_are_one_line_each(text, expected):
    routine, problems = check_routine_text(text, "routines/mine.yaml")
    assert routine is None and any(problem.startswith(expected) for problem in problems), problems


def test_cli_validate_show_list_schema(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["routine", "validate", str(ROUTINES)])
    assert result.exit_code == 0 and result.output.count("ok: ") == len(list(ROUTINES.glob("*.yaml")))
    bad = tmp_path / "mine.yaml"
    bad.write_text(ROUTINE, encoding="utf-8")
    result = runner.invoke(app, ["routine", "validate", str(bad)])
    assert result.exit_code == 4
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 3 and all(f"{bad}:" in line for line in errors) and "Traceback" not in result.output
    result = runner.invoke(app, ["routine", "show", "back-care-15"])
    assert result.exit_code == 0 and " 4. Cat-Cow [cat-cow]: 10 reps, within 120 s" in result.output
    assert "13. Final Rest [guided" in result.output
    result = runner.invoke(app, ["routine", "list"])
    assert result.exit_code == 0 and "back-care-15" in result.output and "desk-break" in result.output
    result = runner.invoke(app, ["routine", "show", "desk-brake"])
    assert result.exit_code == 4 and "unknown routine 'desk-brake'; did you mean desk-break?" in result.output
    result = runner.invoke(app, ["routine", "schema", "-o", str(tmp_path / "s.json")])
    schema = json.loads((tmp_path / "s.json").read_text())
    assert result.exit_code == 0 and schema["title"] == "posecheck routine" and "ExerciseStep" in schema["$defs"]


def test_run_refuses_a_wrong_number_of_clips_and_bad_keys(tmp_path):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"")
    runner = CliRunner()
    result = runner.invoke(app, ["routine", "run", "desk-break", "--source", str(clip), "--headless", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "desk-break has 2 exercise steps and 1 clips were given" in result.output
    result = runner.invoke(app, ["routine", "run", "desk-break", "--source", str(clip), "--source", str(clip),
                                 "--headless", "--keys", "3:n@1", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and "step 3 in '3:n@1' is not in the routine (steps 1-2)" in result.output


def test_key_script_parsing():
    assert [(k.step, k.key, k.seconds) for k in parse_key_script("2:h@5.2, 1:n@3,1:space@1", 3)] == [
        (1, "space", 1.0), (1, "n", 3.0), (2, "h", 5.2)]
    for bad, message in (("1:x@1", "unknown key 'x'"), ("n@3", "is not STEP:KEY@SECONDS"), ("0:n@1", "step 0")):
        with pytest.raises(InputError, match=message):
            parse_key_script(bad, 3)
    script = KeyScript(parse_key_script("1:n@3,1:b@5", 2))
    assert script.next_time(1) == 3 and [k.key for k in script.due(1, 4.0)] == ["n"] and script.due(1, 4.0) == []


# ------------------------------------------------------------------------------------------------ the runner


class _Stoppable:
    """A trace's frames with the live controls' stop/pause/resume (replayed as fast as the loop goes)."""

    def __init__(self, inner) -> None:
        self.inner, self.info, self._stopped = inner, inner.info, False

    def __iter__(self):
        for item in self.inner:
            if self._stopped:
                return
            yield item

    def stop(self) -> None:
        self._stopped = True

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def close(self) -> None:
        self.inner.close()


def _trace_inputs(*stems):
    @contextlib.contextmanager
    def open_input(step_number: int, ordinal: int):
        with wiring.open_trace(trace_path(stems[ordinal])) as opened:
            opened.source = _Stoppable(opened.source)
            yield opened
    return open_input


class _Speaker:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)


def _run(tmp_path, name, stems, keys="", **options):
    registry = RoutineRegistry.default()
    routine = registry.load(name) if isinstance(name, str) else name
    speaker = _Speaker()
    script = KeyScript(parse_key_script(keys, len(routine.steps()))) if keys else None
    runner = RoutineRunner(routine, SpecRegistry.default(), _trace_inputs(*stems), tmp_path / "out", speaker=speaker,
                           keys=script, countdown=0, sleep=lambda s: None, stream=io.StringIO(), **options)
    runner.run()
    report = build_routine_report(runner)
    write_routine_report(report, tmp_path / "out")
    return report, speaker


def test_desk_break_on_traces_counts_like_analyze_and_says_its_lines(tmp_path):
    import posecheck

    report, speaker = _run(tmp_path, "desk-break", ["seated_cat_cow_01", "seated_side_bend_01"])
    expected = [posecheck.analyze(trace_path(stem), exercise)
                for stem, exercise in (("seated_cat_cow_01", "seated-cat-cow"), ("seated_side_bend_01", "seated-side-bend"))]
    assert [step["reps"] for step in report["steps"]] == [min(e.reps, t) for e, t in zip(expected, (6, 6))]
    assert [step["reps"] for step in report["steps"]] == [2, 2]
    assert report["steps"][1]["reps_by_side"] == {"left": 1, "right": 1}
    assert [step["status"] for step in report["steps"]] == ["source_ended", "source_ended"]
    assert report["completed"] and report["ended_by"] == "completed" and report["totals"]["reps"] == 4
    # Each step's own report is the exercise report (report.json) with the routine's target in it.
    assert report["steps"][0]["reports"][0]["target_reps"] == 6 and report["steps"][0]["reports"][0]["exercise"] == "seated-cat-cow"
    assert (tmp_path / "out" / "steps" / "01-seated-cat-cow" / "report.json").is_file()
    assert (tmp_path / "out" / "report.html").read_text().count("<tr>") == 3
    said = [entry["text"] for entry in report["log"] if entry["kind"] == "say"]
    assert said == speaker.said
    # The routine's own lines, and within each exercise step the counts and holds its speech sink says.
    assert said == ["Seated Cat-Cow.", "Sit toward the front of your chair, side-on to the camera, hands on your knees.",
                    BEGIN_LINE, "one", "two",
                    "Seated Side Bend.", "Turn your chair to face the camera and sit tall.", BEGIN_LINE,
                    "one, left", "hold", "rest", "one, right", "hold", "rest",
                    WELL_DONE_LINE]


def test_pain_key_stops_the_step_says_the_line_and_is_recorded(tmp_path):
    from posecheck.history.store import HistoryStore

    report, speaker = _run(tmp_path, "desk-break", ["seated_cat_cow_01", "seated_side_bend_01"], keys="1:h@4")
    first, second = report["steps"]
    assert first["status"] == "pain" and first["pain"] and first["reps"] == 0  # the first rep ends at 6.8 s
    assert first["reports"][0]["duration"] < 5
    assert report["pain_flags"] == [{"step": 1, "t": pytest.approx(4.0, abs=0.2)}]
    assert DEFAULT_PAIN_LINE in speaker.said and second["status"] == "source_ended" and second["reps"] == 2
    with HistoryStore() as store:
        sessions = store.sessions()
        assert sorted(s.mode for s in sessions) == ["routine", "routine"]
        flagged = [flag for s in sessions for flag in store.pain_flags(s.id)]
        assert len(flagged) == 1 and "step 1" in flagged[0]["note"]


def test_next_back_and_repeat(tmp_path):
    # Step 1: n at 2 s (skipped); step 2: b at 1 s (back to step 1, whose used key is not pressed again), then
    # step 2 again to its end.
    report, _ = _run(tmp_path, "desk-break", ["seated_cat_cow_01", "seated_side_bend_01"], keys="1:n@2,2:b@1")
    first, second = report["steps"]
    assert first["attempts"] == 2 and second["attempts"] == 2
    assert first["status"] == "source_ended" and first["reps"] == 2
    assert second["status"] == "source_ended" and second["reps"] == 2
    keys = [entry["text"] for entry in report["log"] if entry["kind"] == "key"]
    assert keys == ["n at 2.0 s", "b at 1.0 s"]
    report, _ = _run(tmp_path / "r", "desk-break", ["seated_cat_cow_01", "seated_side_bend_01"], keys="2:r@1,1:n@1")
    assert [step["attempts"] for step in report["steps"]] == [1, 2]
    assert report["steps"][0]["status"] == "skipped" and report["steps"][0]["skipped"]
    assert report["totals"]["skipped"] == 1


def test_quit_ends_the_routine_and_marks_the_rest_not_reached(tmp_path):
    report, speaker = _run(tmp_path, "desk-break", ["seated_cat_cow_01", "seated_side_bend_01"], keys="1:q@3")
    assert report["ended_by"] == "q key" and not report["completed"]
    assert [step["status"] for step in report["steps"]] == ["stopped", "not_reached"]
    assert speaker.said[-1] == WELL_DONE_LINE


def test_target_and_time_box_end_a_step_and_guided_steps_are_timed(tmp_path):
    from posecheck.routines.schema import Routine

    routine = Routine.model_validate({
        "id": "mix", "title": "Mix", "description": "d", "sections": [{"name": "S", "steps": [
            {"exercise": "seated-cat-cow", "reps": 1, "transition": "Sit."},
            {"guided": "Breathe", "seconds": 0.2, "instructions": ["In.", "Out."]},
            {"exercise": "seated-side-bend", "time_box": 5},
            {"exercise": "seated-cat-cow", "reps": 1, "sets": 2, "rest_seconds": 0.1},
        ]}]})
    report, speaker = _run(tmp_path, routine, ["seated_cat_cow_01", "seated_side_bend_01", "seated_cat_cow_01"])
    cat, guided, bend, sets = report["steps"]
    assert cat["status"] == "done" and cat["reps"] == 1 and cat["reports"][0]["duration"] < 8
    assert guided["status"] == "done" and guided["kind"] == "guided" and guided["seconds"] >= 0.2
    assert bend["status"] == "time_up" and bend["reports"][0]["duration"] == pytest.approx(5, abs=0.3)
    assert sets["status"] == "done" and len(sets["reports"]) == 2 and sets["reps"] == 2
    assert sets["folders"] == ["steps/04-seated-cat-cow-set1", "steps/04-seated-cat-cow-set2"]
    assert "In." in speaker.said and "Out." in speaker.said and "Rest. Then set 2 of 2." in speaker.said


def test_sets_without_a_rest_go_straight_on(tmp_path):
    """rest_seconds is optional with sets: the next set starts at once (it used to fail formatting None)."""
    from posecheck.routines.schema import Routine

    routine = Routine.model_validate({
        "id": "sets", "title": "Sets", "description": "d", "sections": [{"name": "S", "steps": [
            {"exercise": "seated-cat-cow", "reps": 1, "sets": 2},
        ]}]})
    report, speaker = _run(tmp_path, routine, ["seated_cat_cow_01"])
    (sets,) = report["steps"]
    assert sets["status"] == "done" and len(sets["reports"]) == 2 and sets["reps"] == 2
    assert "Rest. Then set 2 of 2." in speaker.said


def test_a_failing_speaker_only_warns(tmp_path, caplog):
    class Broken:
        def say(self, text):
            raise RuntimeError("no audio device")

    routine = RoutineRegistry.default().load("desk-break")
    runner = RoutineRunner(routine, SpecRegistry.default(), _trace_inputs("seated_cat_cow_01", "seated_side_bend_01"),
                           tmp_path / "out", speaker=Broken(), countdown=0, sleep=lambda s: None,
                           stream=io.StringIO())
    runner.run()
    report = build_routine_report(runner)
    assert report["completed"] and WELL_DONE_LINE in [e["text"] for e in report["log"]]
    assert sum("speech failed" in r.message for r in caplog.records) == 1


def test_only_the_chosen_steps_run_each_with_the_next_clip(tmp_path):
    import posecheck

    report, speaker = _run(tmp_path, "back-care-15", ["cat_cow_01", "supine_twist_01"], only={4, 12, 13})
    statuses = [step["status"] for step in report["steps"]]
    assert statuses[3] == "source_ended" and statuses[11] == "source_ended" and statuses[12] == "done"
    assert [n for n, status in enumerate(statuses, start=1) if status == "not_selected"] == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert report["selected"] == [4, 12, 13] and report["completed"]
    assert report["steps"][3]["sources"][0].endswith("cat_cow_01.npz")
    assert report["steps"][3]["reps"] == posecheck.analyze(trace_path("cat_cow_01"), "cat-cow").reps == 2
    assert report["steps"][11]["sources"][0].endswith("supine_twist_01.npz")
    assert "Take three deep breaths." in speaker.said  # the guided Final Rest, said


def test_cli_steps_option_checks_its_numbers(tmp_path):
    result = CliRunner().invoke(app, ["routine", "run", "desk-break", "--steps", "2-5", "--headless", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "--steps: '2-5' is not within the routine's steps 1-2" in result.output


def test_routine_ids_complete():
    env = {"_POSECHECK_COMPLETE": "complete_bash", "COMP_WORDS": "posecheck routine run desk", "COMP_CWORD": "3",
           "_TYPER_COMPLETE_ARGS": "posecheck routine run desk"}
    result = CliRunner().invoke(app, [], env=env, prog_name="posecheck")
    assert result.exit_code == 0 and result.stdout.split() == ["desk-break"]
