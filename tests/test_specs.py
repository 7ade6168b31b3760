"""Exercise specs: every spec in exercise_specs/ validates; broken specs give exact file:line messages; registry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from posecheck.errors import InputError, SpecError, UnknownExerciseError
from posecheck.specs import (
    SpecRegistry,
    builtin_specs_dir,
    check_spec_text,
    load_spec_by_id,
    load_spec_file,
    uncommented_numbers,
)
from posecheck.specs.names import all_point_names, check_point_name, resolve_point
from posecheck.specs.schema import ExerciseSpec
from posecheck.core.pose import Landmark

REPO = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO / "exercise_specs"
SPEC_FILES = sorted(p for p in SPEC_DIR.glob("*.yaml") if not p.name.startswith("_"))


# ---------------------------------------------------------------------------------------- the spec folder
def test_the_folder_has_specs():
    assert SPEC_FILES, "exercise_specs/ is empty"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_spec_validates(path):
    spec, problems = check_spec_text(path.read_text(encoding="utf-8"), str(path))
    assert problems == []
    assert spec is not None and spec.id == path.stem


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_number_in_a_spec_says_where_it_came_from(path):
    missing = uncommented_numbers(path.read_text(encoding="utf-8"))
    assert missing == [], f"{path.name}: numbers without a comment (line, value): {missing}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_spec_has_text_for_users(path):
    spec = load_spec_file(path)
    assert spec.title.strip() and spec.description.strip() and all(s.strip() for s in spec.instructions)
    assert spec.setup.visible_text.strip()


def test_the_registry_lists_exactly_the_folder():
    assert SpecRegistry([SPEC_DIR]).ids() == sorted(p.stem for p in SPEC_DIR.glob("*.yaml") if not p.name.startswith("_"))


# ---------------------------------------------------------------------------------------- broken specs
VALID = textwrap.dedent(
    """\
    id: lift
    title: Lift
    description: Lift the arm.
    instructions: [Lift the arm.]
    target: {reps: 5}
    setup: {view: any, visible_text: Show your arm., grace: 0.5}
    measures:
      lift: {kind: height, points: [wrist, shoulder]}
      head: {kind: angle, points: [ear, shoulder, hip]}
    phases:
      measure: lift
      ranges:
        down: {max: 0.2}
        top: {min: 0.5}
      hysteresis: 0.05
      min_dwell: 0.2
    reps:
      sequence: [down, top, down]
    """
)


def _problems(text: str, name: str = "lift.yaml") -> list[str]:
    return check_spec_text(text, f"exercise_specs/{name}")[1]


def test_the_valid_base_is_valid():
    assert _problems(VALID) == []


BROKEN = [
    pytest.param(
        VALID.replace("title: Lift\n", "title: Lift\ncolour: blue\n"),
        [
            "exercise_specs/lift.yaml:3: colour: unknown key 'colour' (allowed: id, extends, title, description, instructions, "
            "tips, routine, target, setup, smoothing, tracking, measures, phases, reps, sides, hold, tempo, form, adaptive)"
        ],
        id="unknown-top-level-key",
    ),
    pytest.param(
        VALID.replace("points: [wrist, shoulder]", "points: [wristt, shoulder]"),
        [
            "exercise_specs/lift.yaml:8: measures.lift.points: unknown landmark name 'wristt' (use a side-relative "
            "name: ankle, ear, elbow, eye, eye_inner, eye_outer, foot_index, heel, hip, index, knee, pinky, shoulder, "
            "thumb, wrist; or other_<name>, mid_<name>, or an absolute name such as nose, left_hip)"
        ],
        id="unknown-landmark",
    ),
    pytest.param(
        VALID.replace("top: {min: 0.5}", "top: {min: 0.1}"),
        ["exercise_specs/lift.yaml:13: phases.ranges.down.max: 0.2 overlaps phase 'top' (min 0.1)"],
        id="overlapping-phases",
    ),
    pytest.param(
        VALID.replace("sequence: [down, top, down]", "sequence: [down, peak, down]"),
        ["exercise_specs/lift.yaml:18: reps.sequence[1]: unknown phase 'peak' (phases: down, top)"],
        id="sequence-names-missing-phase",
    ),
    pytest.param(
        VALID.replace("top: {min: 0.5}", "top: {min: 0.9, max: 0.6}"),
        ["exercise_specs/lift.yaml:14: phases.ranges.top: min (0.9) must be less than max (0.6)"],
        id="min-not-below-max",
    ),
    pytest.param(
        VALID.replace("measure: lift", "measure: lifft"),
        ["exercise_specs/lift.yaml:11: phases.measure: unknown measure 'lifft' (measures: head, lift)"],
        id="unknown-phase-measure",
    ),
    pytest.param(
        VALID.replace("target: {reps: 5}\n", ""),
        ["exercise_specs/lift.yaml:1: target: missing (required)"],
        id="missing-required-section",
    ),
    pytest.param(
        VALID.replace("id: lift", "id: lifting"),
        ["exercise_specs/lift.yaml:1: id: 'lifting' does not match the file name 'lift' (the registry finds specs by file name)"],
        id="id-differs-from-file-name",
    ),
    pytest.param(
        VALID.replace("head: {kind: angle, points: [ear, shoulder, hip]}", "head: {kind: angle, points: [ear, shoulder]}"),
        ["exercise_specs/lift.yaml:9: measures.head: a angle measure takes 3 points, got 2"],
        id="wrong-number-of-points",
    ),
    pytest.param(
        VALID.replace("title: Lift\n", "title: Lift\ntitle: Lift again\n"),
        ["exercise_specs/lift.yaml:3: title: written twice (YAML would silently keep only the last value)"],
        id="duplicate-key",
    ),
    pytest.param("id: [unclosed\n", ["exercise_specs/lift.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"], id="not-yaml"),
    pytest.param("- a list\n", ["exercise_specs/lift.yaml:1: a spec is a YAML mapping (id: ..., title: ..., ...), got list"], id="not-a-mapping"),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_specs_give_exact_messages(text, expected):
    assert _problems(text) == expected


def test_all_problems_are_reported_at_once_in_file_order():
    text = (
        VALID.replace("title: Lift\n", "title: Lift\ncolour: blue\n")
        .replace("points: [wrist, shoulder]", "points: [wristt, shoulder]")
        .replace("top: {min: 0.5}", "top: {min: 0.1}")
        .replace("sequence: [down, top, down]", "sequence: [down, peak, down]")
    )
    problems = _problems(text)
    assert [p.split(": ")[1] for p in problems] == [
        "colour",
        "measures.lift.points",
        "phases.ranges.down.max",
        "reps.sequence[1]",
    ]
    lines = [int(re.match(r"[^:]+:(\d+):", p).group(1)) for p in problems]
    assert lines == sorted(lines)


SEMANTIC = [
    pytest.param({"form": [{"id": "slow_down", "require": {"head": {"min": 1}}, "after": 1, "cue": "x", "cooldown": 1}]},
                 "form[0].id: 'slow_down' is reserved for the engine's own cues (slow_down, tempo_slow, setup)", id="reserved-rule-id"),
    pytest.param({"form": [{"id": "a", "require": {"nope": {"min": 1}}, "after": 1, "cue": "x", "cooldown": 1}]},
                 "form[0].require.nope: unknown measure 'nope' (measures: head, lift)", id="rule-unknown-measure"),
    pytest.param({"form": [{"id": "a", "require": {"head": {"min": 1}}, "after": 1, "cue": "x", "cooldown": 1},
                           {"id": "a", "require": {"head": {"min": 1}}, "after": 1, "cue": "y", "cooldown": 1}]},
                 "form[1].id: rule id 'a' already used by form[0]", id="duplicate-rule-id"),
    pytest.param({"hold": {"phases": ["peak"], "min_seconds": 1, "exit_grace": 1}},
                 "hold.phases[0]: unknown phase 'peak' (phases: down, top)", id="hold-unknown-phase"),
    pytest.param({"hold": {"min_seconds": 1, "exit_grace": 1}}, "hold: a hold needs phases, when, or both", id="hold-without-position"),
    pytest.param({"tempo": {"transitions": [{"from": "top", "to": "bottom", "seconds": {"min": 1}}], "too_fast": "x", "cooldown": 5}},
                 "tempo.transitions[0].to: unknown phase 'bottom' (phases: down, top)", id="transition-unknown-phase"),
    pytest.param({"sides": {"decide_by": "lift", "rule": "larger"}},
                 "sides.decide_by: rule larger compares the two sides: measure 'lift' needs side: both", id="sides-needs-both"),
    pytest.param({"sides": {"decide_by": "lift", "rule": "sign"}}, "sides: rule: sign needs positive: left or right", id="sign-needs-positive"),
    pytest.param({"target": {"reps": 5, "per_side": True}},
                 "target.per_side: per-side targets need a sides section or a phase measure with reduce: per_side", id="per-side-target"),
    pytest.param({"measures": {"lift": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both"}, "head": {"kind": "distance", "points": ["nose", "hip"]}}},
                 "measures.lift: side: both needs reduce: min, max, mean or per_side", id="both-needs-reduce"),
    pytest.param({"measures": {"lift": {"kind": "inclination", "points": ["wrist", "shoulder"]}, "head": {"kind": "distance", "points": ["nose", "hip"]}}},
                 "measures.lift: an inclination measure needs reference: horizontal or vertical", id="inclination-needs-reference"),
    pytest.param({"setup": {"view": "side", "visible_text": "x", "grace": 1}},
                 "setup: view: side needs view_ratio and view_text", id="side-view-needs-ratio"),
    pytest.param({"reps": None}, "(top level): a spec needs reps, hold, or both", id="counts-nothing"),
    pytest.param({"reps": {"sequence": ["down", "top"], "require": {"nope": {"min": 0}}, "abandon_after": 1}},
                 "reps.require.nope: unknown measure 'nope' (measures: head, lift)", id="reps-require-unknown-measure"),
    pytest.param({"reps": {"sequence": ["down", "top"], "require": {"head": {"min": 0}}}},
                 "reps: require needs abandon_after (seconds the position may be lost before the rep is abandoned)",
                 id="reps-require-needs-abandon-after"),
    pytest.param({"reps": {"sequence": ["down", "top"], "abandon_after": 1}},
                 "reps: abandon_after applies to require only", id="abandon-after-without-require"),
    pytest.param({"reps": {"sequence": ["down", "top"], "max_seconds_from": "movement"}},
                 "reps: max_seconds_from applies to max_seconds only", id="max-seconds-from-without-max-seconds"),
    pytest.param({"measures": {"lift": {"kind": "height", "points": ["wrist", "shoulder"]},
                               "head": {"kind": "angle", "points": ["ear", "shoulder", "hip"]},
                               "reach": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "per_side"}},
                  "hold": {"phases": ["top"], "min_seconds": 1, "exit_grace": 1, "release": {"measure": "reach", "deepest": "max", "by": 0.1}}},
                 "hold.release.measure: measure 'reach' has reduce: per_side, but the hold has one timer for both sides",
                 id="hold-release-per-side-measure-on-one-timer"),
    pytest.param({"measures": {"lift": {"kind": "height", "points": ["wrist", "shoulder"]},
                               "head": {"kind": "angle", "points": ["ear", "shoulder", "hip"]},
                               "reach": {"kind": "height", "points": ["wrist", "shoulder"], "side": "both", "reduce": "per_side"}},
                  "reps": {"sequence": ["down", "top", "down"], "peaks": {"reach": "max"}}},
                 "reps.peaks.reach: measure 'reach' has reduce: per_side, but a rep records one peak for both sides",
                 id="peak-of-a-per-side-measure-on-one-machine"),
]


@pytest.mark.parametrize(("change", "expected"), SEMANTIC)
def test_cross_section_problems(change, expected):
    data = yaml.safe_load(VALID)
    for key, value in change.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    problems = _problems(yaml.safe_dump(data, sort_keys=False))
    assert any(expected in p for p in problems), problems


def test_adaptive_ranges_must_be_fractions():
    data = yaml.safe_load(VALID)
    data["adaptive"] = {"learn_reps": 2, "min_range": 0.1}
    data["phases"]["ranges"] = {"down": {"max": 0.3}, "top": {"min": 1.5}}
    problems = _problems(yaml.safe_dump(data, sort_keys=False))
    assert len(problems) == 1
    assert re.fullmatch(
        r"exercise_specs/lift\.yaml:\d+: phases\.ranges\.top\.min: 1\.5 is not a fraction: "
        r"with adaptive, phase ranges are 0-1 of the learned range",
        problems[0],
    )


def test_adaptive_anchor_is_one_of_three_words():
    data = yaml.safe_load(VALID)
    data["adaptive"] = {"learn_reps": 2, "min_range": 0.1, "anchor": "middle"}
    data["phases"]["ranges"] = {"down": {"max": 0.3}, "top": {"min": 0.7}}
    problems = _problems(yaml.safe_dump(data, sort_keys=False))
    assert [p.split(": ", 1)[1] for p in problems] == ["adaptive.anchor: Input should be 'first_phase', 'low' or 'high' (got 'middle')"]


def test_load_spec_file_raises_spec_error_with_all_problems(tmp_path):
    path = tmp_path / "lift.yaml"
    path.write_text(VALID.replace("measure: lift", "measure: lifft").replace("[down, top, down]", "[down, peak, down]"))
    with pytest.raises(SpecError) as info:
        load_spec_file(path)
    assert len(info.value.problems) == 2
    assert info.value.exit_code == 4


def test_load_spec_file_missing_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read spec"):
        load_spec_file(tmp_path / "nope.yaml")


# ---------------------------------------------------------------------------------------- numbers need comments
def test_uncommented_numbers_are_found():
    text = "a: 1  # from the seed\n# explains the next line\nb: 2\nc: 3\nd: {min: 4, max: 5}  # both\ne: [6, 7]\nf: text 8\n"
    assert uncommented_numbers(text) == [(4, "3"), (6, "6"), (6, "7")]


# ---------------------------------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("name", "side", "expected"),
    [
        ("knee", "left", (Landmark.LEFT_KNEE, Landmark.LEFT_KNEE)),
        ("knee", "right", (Landmark.RIGHT_KNEE, Landmark.RIGHT_KNEE)),
        ("other_wrist", "left", (Landmark.RIGHT_WRIST, Landmark.RIGHT_WRIST)),
        ("mid_hip", "right", (Landmark.LEFT_HIP, Landmark.RIGHT_HIP)),
        ("nose", "right", (Landmark.NOSE, Landmark.NOSE)),
        ("left_heel", "right", (Landmark.LEFT_HEEL, Landmark.LEFT_HEEL)),
        ("foot_index", "left", (Landmark.LEFT_FOOT_INDEX, Landmark.LEFT_FOOT_INDEX)),
    ],
)
def test_point_names_resolve_by_side(name, side, expected):
    assert resolve_point(name, side) == expected


def test_every_listed_name_is_valid_and_typos_are_not():
    assert all(check_point_name(n) is None for n in all_point_names())
    for bad in ("Knee", "left_kneee", "mid_nose", "other_left_hip", ""):
        assert check_point_name(bad) is not None


# ---------------------------------------------------------------------------------------- registry
def _write_spec(folder: Path, spec_id: str, title: str = "Lift") -> Path:
    path = folder / f"{spec_id}.yaml"
    path.write_text(VALID.replace("id: lift", f"id: {spec_id}").replace("title: Lift", f"title: {title}"))
    return path


def test_builtin_specs_are_found_from_the_source_tree():
    # The editable install (and a checkout) reads <repo>/exercise_specs directly.
    assert builtin_specs_dir() == SPEC_DIR


def test_unknown_id_lists_the_known_ids(tmp_path):
    _write_spec(tmp_path, "lift")
    _write_spec(tmp_path, "press")
    with pytest.raises(UnknownExerciseError, match=r"unknown exercise 'squat' \(known: lift, press\)"):
        SpecRegistry([tmp_path]).load("squat")


def test_a_user_folder_adds_and_overrides_specs(tmp_path, monkeypatch):
    monkeypatch.delenv("POSECHECK_SPECS", raising=False)
    _write_spec(tmp_path, "my-lift")
    _write_spec(tmp_path, "cat-cow", title="My own cat-cow")
    registry = SpecRegistry.default(tmp_path)
    assert "my-lift" in registry.ids() and "cat-cow" in registry.ids()
    assert registry.load("cat-cow").title == "My own cat-cow"
    assert load_spec_by_id("my-lift", specs_dir=tmp_path).id == "my-lift"


def test_the_environment_variable_adds_folders(tmp_path, monkeypatch):
    _write_spec(tmp_path, "env-lift")
    monkeypatch.setenv("POSECHECK_SPECS", str(tmp_path))
    assert load_spec_by_id("env-lift").title == "Lift"


def test_files_starting_with_underscore_are_not_specs(tmp_path):
    _write_spec(tmp_path, "lift")
    (tmp_path / "_notes.yaml").write_text("not: a spec\n")
    assert SpecRegistry([tmp_path]).ids() == ["lift"]


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        SpecRegistry([tmp_path / "nope"])


def test_a_regular_install_ships_the_specs_inside_the_package(tmp_path):
    # setup.py's build step copies exercise_specs/ into the built package, where the registry finds it.
    build_lib = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build_lib)],
        cwd=REPO, check=True, capture_output=True,
    )
    shipped = sorted(p.name for p in (build_lib / "posecheck" / "exercise_specs").iterdir())
    assert shipped == sorted(p.name for p in SPEC_DIR.glob("*.yaml"))
    # The sample manifest and the model ship the same way (posecheck samples / analyze without a checkout).
    manifest = REPO / "sample_videos" / "manifest.yaml"
    assert (build_lib / "posecheck" / "sample_videos" / "manifest.yaml").read_bytes() == manifest.read_bytes()
    assert (build_lib / "posecheck" / "models" / "pose_landmarker_full_posecheck.task").is_file()
    probe = (
        f"import sys; sys.path.insert(0, {str(build_lib)!r})\n"
        "import posecheck.specs as s\n"
        "print(s.builtin_specs_dir()); print(s.load_spec_by_id('cat-cow').id)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert out == [str(build_lib / "posecheck" / "exercise_specs"), "cat-cow"]


# ---------------------------------------------------------------------------------------- docs and schema
def test_the_example_in_spec_format_md_validates():
    doc = (REPO / "docs" / "SPEC_FORMAT.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    spec, problems = check_spec_text(example, "cat-cow.yaml")
    assert problems == [] and spec is not None
    assert uncommented_numbers(example) == []


def test_the_json_schema_exports_and_forbids_unknown_keys():
    schema = ExerciseSpec.model_json_schema(by_alias=True)
    json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert "from" in schema["$defs"]["Transition"]["properties"]
