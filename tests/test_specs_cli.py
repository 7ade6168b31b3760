"""``posecheck exercises list/show/validate/schema`` through the real app (CliRunner)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app

from test_specs import SPEC_DIR, VALID, _write_spec

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["exercises", *args])


def test_list_shows_the_builtin_specs(monkeypatch):
    monkeypatch.delenv("POSECHECK_SPECS", raising=False)
    result = invoke("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "counts", "target", "title"]
    ids = [line.split()[0] for line in lines[1:]]
    assert ids == sorted(p.stem for p in SPEC_DIR.glob("[!_]*.yaml"))
    assert any(line.startswith("cat-cow ") and "Cat-Cow" in line for line in lines)


def test_list_includes_a_user_folder_and_flags_invalid_specs(tmp_path):
    _write_spec(tmp_path, "my-lift")
    (tmp_path / "broken.yaml").write_text("id: broken\n")
    result = invoke("list", "--specs", str(tmp_path))
    assert result.exit_code == 0
    assert any(line.startswith("my-lift ") for line in result.stdout.splitlines())
    assert "(broken: " in result.stdout
    assert "Warning: 1 spec(s) broken" in result.stderr


def test_show_describes_an_exercise():
    result = invoke("show", "cat-cow")
    assert result.exit_code == 0
    assert result.stdout.startswith("Cat-Cow (cat-cow)")
    for expected in ("How to do it:", "Target: 10 reps", "One rep: cat -> cow or flat.", "What posecheck watches:"):
        assert expected in result.stdout


@pytest.mark.parametrize("spec_id", sorted(p.stem for p in SPEC_DIR.glob("[!_]*.yaml")))
def test_show_speaks_to_people(spec_id):
    """No internal file names (the spec's path, the seed routine's file), no "1 reps", no snake_case names."""
    text = invoke("show", spec_id).stdout
    assert f"({spec_id})" in text.splitlines()[0]
    for internal in (".yaml", ".txt", "file:", "routine:", "1 reps", "1 seconds"):
        assert internal not in text, (spec_id, internal)
    for line in text.splitlines():
        if line.startswith(("One rep:", "Hold:")):
            assert "_" not in line, line


def test_show_with_verbose_adds_the_spec_file_and_its_phase_ranges():
    result = runner.invoke(app, ["-v", "exercises", "show", "cat-cow"])
    assert result.exit_code == 0
    assert f"Spec file: {SPEC_DIR / 'cat-cow.yaml'}" in result.stdout
    assert "Phases of head_lift (fractions of your own range):" in result.stdout


def test_a_target_of_one_rep_is_one_rep(tmp_path):
    _write_spec(tmp_path, "my-lift")
    path = tmp_path / "my-lift.yaml"
    path.write_text(path.read_text().replace("target: {reps: 5}", "target: {reps: 1, seconds: 1}"))
    result = invoke("show", "my-lift", "--specs", str(tmp_path))
    assert "Target: 1 rep, a 1-second hold" in result.stdout, result.output


@pytest.mark.parametrize(("typed", "meant"), [("catcow", "cat-cow"), ("Cat-Cow", "cat-cow"), ("CAT_COW", "cat-cow"), ("cat-cwo", "cat-cow"), ("birddog", "bird-dog")])
def test_a_misspelt_exercise_gets_did_you_mean(typed, meant):
    for args in (["exercises", "show", typed], ["analyze", "missing.npz", "-e", typed]):
        result = runner.invoke(app, args)
        assert result.exit_code == 4
        assert result.stderr.startswith(f"Error: unknown exercise '{typed}'; did you mean {meant}? (known: "), result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_no_suggestion_for_a_name_that_is_nothing_like_an_exercise():
    result = invoke("show", "xyzzy")
    assert "did you mean" not in result.stderr and result.exit_code == 4


def test_show_an_unknown_exercise_is_one_error_line():
    result = invoke("show", "nope")
    assert result.exit_code == 4
    assert result.stderr.startswith("Error: unknown exercise 'nope' (known: ")
    assert len(result.stderr.splitlines()) == 1


def test_validate_accepts_the_builtin_folder():
    result = invoke("validate", str(SPEC_DIR), "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("ok: ") == len(list(SPEC_DIR.glob("[!_]*.yaml")))


def test_validate_prints_every_problem_and_exits_4(tmp_path):
    bad = tmp_path / "lift.yaml"
    bad.write_text(VALID.replace("measure: lift", "measure: lifft").replace("[down, top, down]", "[down, peak, down]"))
    result = invoke("validate", str(bad))
    assert result.exit_code == 4
    assert [line for line in result.stderr.splitlines() if line.startswith("Error: ")] == [
        f"Error: {bad}:11: phases.measure: unknown measure 'lifft' (measures: head, lift)",
        f"Error: {bad}:18: reps.sequence[1]: unknown phase 'peak' (phases: down, top)",
    ]


def test_validate_warns_about_uncommented_numbers_and_fails_with_strict(tmp_path):
    path = tmp_path / "lift.yaml"
    path.write_text(VALID)  # VALID has no comments on its numbers
    relaxed = invoke("validate", str(path))
    assert relaxed.exit_code == 0
    assert f"Warning: {path}:5: number 5 has no comment saying where it came from" in relaxed.stderr
    strict = invoke("validate", str(path), "--strict")
    assert strict.exit_code == 4


def test_schema_is_json_with_the_spec_sections(tmp_path):
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"measures", "phases", "reps", "hold", "form"} <= set(schema["$defs"]["ExerciseSpec"]["properties"])
    assert schema["then"] == {"$ref": "#/$defs/PartialExerciseSpec"}  # a spec with extends: only what differs
    out = tmp_path / "spec.schema.json"
    assert invoke("schema", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text()) == schema


@pytest.mark.parametrize("command", ["list", "show", "validate", "schema"])
def test_every_command_has_help_with_an_example(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example: posecheck exercises" in result.stdout
