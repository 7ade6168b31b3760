"""Specs that share: ``extends:`` (merge rules, errors with file:line) and ``use:`` (the measure library)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.errors import SpecError
from posecheck.specs import SpecRegistry, check_spec_text, load_spec_file
from posecheck.specs.loader import measure_library
from posecheck.specs.schema import Measure, authoring_json_schema
from posecheck.specs.sharing import LIBRARY_FILE, MAX_EXTENDS_DEPTH

from test_specs import SPEC_DIR

runner = CliRunner()
PROBLEM_LINE = re.compile(r"^[^\n]+\.yaml:[1-9][0-9]*: [^\n]+$")

#: A small complete spec to extend (numbers commented as the built-in specs must be).
BASE = """\
id: base
title: Base
description: A lift.
instructions: [Lift.]
target: {reps: 5}     # five
setup:
  view: any
  visible_text: Step in.
  grace: 1.0          # s
measures:
  lift:
    kind: height
    points: [wrist, shoulder]
  head:
    use: nose_above_mid_ear
    label: head
phases:
  measure: lift
  ranges:
    down: {max: 0.1}  # low
    top: {min: 0.5}   # high
  hysteresis: 0.05    # jitter
  min_dwell: 0.1      # s
reps:
  sequence: [down, top, down]
  peaks: {lift: max}
tempo:
  rep: {min: 1}       # s
  too_fast: Slower.
  cooldown: 10        # s
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    for problem in caught.value.problems:
        assert PROBLEM_LINE.match(problem), problem
    return caught.value.problems


# ------------------------------------------------------------------------------------------ extends: merging
def test_extends_merges_mappings_replaces_lists_and_null_removes(tmp_path):
    write(tmp_path, "base", BASE)
    child = write(tmp_path, "child", """\
id: child
extends: base
title: Child
instructions: [Lift slowly.]
target: {reps: 3}     # three
phases:
  ranges:
    top: {min: 0.6}   # higher
    middle: {min: 0.2, max: 0.3}   # between
reps:
  peaks: null
tempo: null
""")
    spec = load_spec_file(child)
    base = load_spec_file(tmp_path / "base.yaml")
    assert (spec.id, spec.extends, spec.title) == ("child", "base", "Child")
    assert spec.description == base.description  # inherited
    assert spec.instructions == ["Lift slowly."]  # a list is replaced, not appended to
    assert spec.target.reps == 3
    # Mappings merge key by key at any depth; keys keep the parent's order, new ones follow.
    assert list(spec.phases.ranges) == ["down", "top", "middle"]
    assert spec.phases.ranges["down"] == base.phases.ranges["down"]
    assert spec.phases.ranges["top"].min == 0.6 and spec.phases.hysteresis == base.phases.hysteresis
    assert spec.reps.sequence == base.reps.sequence
    assert spec.reps.peaks == {} and spec.tempo is None  # null removed them: the defaults apply
    assert spec.measures == base.measures
    assert base.extends is None


def test_the_builtin_pelvic_curl_is_the_glute_bridge_with_its_own_words_pace_and_phase():
    registry = SpecRegistry([SPEC_DIR])
    bridge, curl = registry.load("glute-bridge"), registry.load("pelvic-curl")
    assert curl.extends == "glute-bridge"
    assert curl.measures == bridge.measures and curl.form == bridge.form and curl.adaptive == bridge.adaptive
    assert curl.hold is None and curl.target.seconds is None and bridge.hold is not None
    assert list(curl.phases.ranges) == ["down", "up", "middle"]
    assert curl.tempo.rep.min > bridge.tempo.rep.min and curl.tempo.skip_first_rep == bridge.tempo.skip_first_rep


def test_a_user_spec_may_extend_the_builtin_spec_of_its_own_id(tmp_path):
    write(tmp_path, "glute-bridge", "id: glute-bridge\nextends: glute-bridge\ntitle: My bridge\n")
    registry = SpecRegistry([SPEC_DIR, tmp_path])
    mine, builtin = registry.load("glute-bridge"), SpecRegistry([SPEC_DIR]).load("glute-bridge")
    assert mine.title == "My bridge" and mine.phases == builtin.phases
    # The same outside a registry: the file itself is skipped, so the built-in one is found.
    assert load_spec_file(tmp_path / "glute-bridge.yaml").title == "My bridge"


def test_a_registry_finds_the_parent_in_a_later_folder_first(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    write(first, "base", BASE)
    write(second, "base", BASE.replace("title: Base", "title: Base two"))
    write(first, "child", "id: child\nextends: base\n")
    assert SpecRegistry([first, second]).load("child").title == "Base two"


# ------------------------------------------------------------------------------------------ extends: errors
def test_an_unknown_parent_is_one_problem_at_the_extends_line(tmp_path):
    child = write(tmp_path, "child", "id: child\ntitle: x\nextends: nope\n")
    assert problems_of(child) == [
        f"{child}:3: extends: no spec 'nope' to extend (it is looked up next to this file, then among the built-in specs)"
    ]


def test_a_cycle_is_reported_not_followed(tmp_path):
    a = write(tmp_path, "a", "id: a\nextends: b\n")
    write(tmp_path, "b", "id: b\nextends: a\n")
    problems = problems_of(a)
    assert any("a -> b -> a" in p and "cannot extend itself" in p for p in problems), problems
    assert problems_of(write(tmp_path, "c", "id: c\nextends: c\n")) == [
        f"{tmp_path / 'c.yaml'}:2: extends: no spec 'c' to extend (it is looked up next to this file, then among the built-in specs)"
    ]


def test_extends_chains_stop_at_the_depth_limit(tmp_path):
    write(tmp_path, "level0", BASE.replace("id: base", "id: level0"))
    for level in range(1, MAX_EXTENDS_DEPTH + 2):
        write(tmp_path, f"level{level}", f"id: level{level}\nextends: level{level - 1}\n")
    assert load_spec_file(tmp_path / f"level{MAX_EXTENDS_DEPTH}.yaml").title == "Base"
    problems = problems_of(tmp_path / f"level{MAX_EXTENDS_DEPTH + 1}.yaml")
    assert any(f"more than {MAX_EXTENDS_DEPTH} levels of extends" in p for p in problems), problems


@pytest.mark.parametrize("value", ["[glute-bridge]", "Glute Bridge", "3", "null"])
def test_extends_takes_a_spec_id(tmp_path, value):
    problems = problems_of(write(tmp_path, "child", f"id: child\nextends: {value}\n"))
    assert problems[0].startswith(f"{tmp_path / 'child.yaml'}:2: extends: takes the id of another spec"), problems


def test_a_broken_parent_gives_its_own_problems_and_one_line_for_the_child(tmp_path):
    parent = write(tmp_path, "base", BASE.replace("title: Base", "title: [unclosed"))
    child = write(tmp_path, "child", "id: child\nextends: base\n")
    problems = problems_of(child)
    assert problems[0].startswith(f"{child}:2: extends: 'base' ({parent}) is broken")
    assert any(p.startswith(f"{parent}:") and "not valid YAML" in p for p in problems), problems


def test_a_problem_in_an_inherited_value_points_at_the_parents_line(tmp_path):
    parent = write(tmp_path, "base", BASE)
    # Removing the phase the inherited rep sequence names: the sequence is written in the parent.
    child = write(tmp_path, "child", "id: child\nextends: base\nphases:\n  ranges:\n    top: null\n")
    line = BASE.splitlines().index("  sequence: [down, top, down]") + 1
    assert problems_of(child) == [f"{parent}:{line}: reps.sequence[1]: unknown phase 'top' (phases: down)"]


def test_the_child_names_itself(tmp_path):
    write(tmp_path, "base", BASE)
    child = write(tmp_path, "child", "extends: base\ntitle: x\n")
    assert problems_of(child) == [f"{child}:1: id: missing (required)"]


# ------------------------------------------------------------------------------------------ use: the library
def test_use_takes_the_library_measure_and_keeps_the_local_name_and_keys(tmp_path):
    spec = load_spec_file(write(tmp_path, "base", BASE))
    library, _, problems = measure_library()
    assert problems == []
    head = spec.measures["head"]
    assert head.kind == library["nose_above_mid_ear"]["kind"] and head.points == library["nose_above_mid_ear"]["points"]
    assert head.label == "head" and head.space == "image"


def test_local_keys_override_the_library(tmp_path):
    text = BASE.replace("    use: nose_above_mid_ear\n", "    use: nose_above_mid_ear\n    points: [nose, mid_shoulder]\n")
    assert load_spec_file(write(tmp_path, "base", text)).measures["head"].points == ["nose", "mid_shoulder"]


def test_an_unknown_library_measure_is_one_problem_with_a_suggestion(tmp_path):
    path = write(tmp_path, "base", BASE.replace("use: nose_above_mid_ear", "use: nose_above_mid_eer"))
    line = BASE.splitlines().index("    use: nose_above_mid_ear") + 1
    assert problems_of(path) == [
        f"{path}:{line}: measures.head.use: unknown measure 'nose_above_mid_eer' in the measure library "
        f"({LIBRARY_FILE}); did you mean nose_above_mid_ear?"
    ]


def test_use_takes_a_name(tmp_path):
    path = write(tmp_path, "base", BASE.replace("use: nose_above_mid_ear", "use: [nose]"))
    problems = problems_of(path)
    assert len(problems) == 1 and "measures.head.use: use takes the name of a measure" in problems[0], problems


def test_a_problem_from_a_library_value_points_at_the_library(tmp_path):
    library = tmp_path / "lib" / LIBRARY_FILE
    library.parent.mkdir()
    library.write_text("measures:\n  bad:\n    kind: angle\n    points: [nose, ear]\n", encoding="utf-8")
    _, problems = check_spec_text(BASE.replace("use: nose_above_mid_ear", "use: bad"), "base.yaml", library=library)
    assert problems == [f"{library}:2: measures.bad: a angle measure takes 3 points, got 2"]


def test_the_library_validates_and_every_entry_is_shared():
    library, _, problems = measure_library()
    assert problems == [] and library
    for body in library.values():
        Measure.model_validate(body)
    uses: dict[str, set[str]] = {}
    for path in sorted(SPEC_DIR.glob("[!_]*.yaml")):
        for measure in (yaml.safe_load(path.read_text(encoding="utf-8")).get("measures") or {}).values():
            if isinstance(measure, dict) and "use" in measure:
                uses.setdefault(measure["use"], set()).add(path.stem)
    assert set(uses) == set(library), "library entries no spec uses, or uses of missing entries"


def test_validate_checks_the_library_when_named(tmp_path):
    result = runner.invoke(app, ["exercises", "validate", str(SPEC_DIR / LIBRARY_FILE)])
    assert result.exit_code == 0 and f"ok: {SPEC_DIR / LIBRARY_FILE}" in result.stdout, result.output
    broken = tmp_path / LIBRARY_FILE
    broken.write_text("measures:\n  tilt:\n    kind: inclination\n    points: [shoulder, hip]\n", encoding="utf-8")
    result = runner.invoke(app, ["exercises", "validate", str(broken)])
    assert result.exit_code == 4 and f"{broken}:2: measures.tilt: an inclination measure needs reference" in result.output, result.output


def test_the_library_is_not_an_exercise():
    assert (SPEC_DIR / LIBRARY_FILE).is_file()
    assert LIBRARY_FILE.removesuffix(".yaml") not in SpecRegistry([SPEC_DIR]).ids()


# ------------------------------------------------------------------------------------------ CLI and schema
def test_validate_and_show_handle_extends(tmp_path):
    result = runner.invoke(app, ["exercises", "validate", str(SPEC_DIR / "pelvic-curl.yaml")])
    assert result.exit_code == 0 and "ok: " in result.stdout, result.output
    result = runner.invoke(app, ["-v", "exercises", "show", "pelvic-curl"])
    assert result.exit_code == 0 and "(extends glute-bridge)" in result.stdout, result.output
    bad = write(tmp_path, "child", "id: child\nextends: nope\n")
    result = runner.invoke(app, ["exercises", "validate", str(bad)])
    assert result.exit_code == 4 and "extends: no spec 'nope'" in result.output and "Traceback" not in result.output


def test_the_json_schema_accepts_extends_and_use():
    schema = authoring_json_schema()
    assert schema["if"] == {"required": ["extends"]}
    assert schema["$defs"]["PartialExerciseSpec"]["required"] == ["id", "extends"]
    assert "required" not in schema["$defs"]["PartialPhases"]
    measure = schema["$defs"]["Measure"]
    assert "use" in measure["properties"] and {"required": ["use"]} in measure["anyOf"]
    assert schema["$defs"]["ExerciseSpec"]["additionalProperties"] is False


# ------------------------------------------------------------------------------------------ notes
def test_every_spec_points_to_its_section_of_the_accuracy_notes():
    notes = (SPEC_DIR.parent / "benchmarks" / "ACCURACY_NOTES.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^### Spec notes: ([a-z0-9-]+)$", notes, re.MULTILINE))
    for path in sorted(SPEC_DIR.glob("[!_]*.yaml")):
        header = path.read_text(encoding="utf-8").split("\nid:", 1)[0]
        pointed = set(re.findall(r'"Spec notes: ([a-z0-9-]+)"', header))
        assert path.stem in pointed and pointed <= sections, (path.name, pointed)
