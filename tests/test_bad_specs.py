"""Malformed spec files: each gives ``file:line: field: problem`` lines and exit 4, never another exception.

The table holds the cases that once escaped the loader as RecursionError, UnicodeDecodeError, ReaderError,
TypeError, OverflowError or IndexError, or that validated although they could never count (``.nan`` bounds);
the fuzz test mutates the built-in specs at random (seeded, so CI sees the same cases every run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from posecheck.cli.app import app
from posecheck.errors import SpecError
from posecheck.specs import load_spec_file
from posecheck.specs.schema import ExerciseSpec

from test_specs import SPEC_DIR

runner = CliRunner()
PUSH_UP = (SPEC_DIR / "push-up.yaml").read_text(encoding="utf-8")
#: Every problem line: the file, a line number, then what is wrong (never a multi-line message).
PROBLEM_LINE = re.compile(r"^(?P<file>[^\n]+\.yaml):(?P<line>[1-9][0-9]*): [^\n]+$")


def _set(key: str, value: str, text: str = PUSH_UP) -> str:
    """``text`` with the first ``key:`` line's value replaced by ``value`` (its comment kept)."""
    pattern = re.compile(rf"^(\s*{re.escape(key)}:)[^#\n]*", re.MULTILINE)
    assert pattern.search(text), key
    return pattern.sub(lambda m: f"{m.group(1)} {value} ", text, count=1)


def _rename(key: str, new: str, text: str = PUSH_UP) -> str:
    pattern = re.compile(rf"^(\s*){re.escape(key)}:", re.MULTILINE)
    assert pattern.search(text), key
    return pattern.sub(lambda m: f"{m.group(1)}{new}:", text, count=1)


BAD = [
    pytest.param(PUSH_UP.replace("title: ", "title: \x07", 1).encode(), "not allowed in YAML", id="control-character"),
    pytest.param(PUSH_UP.encode().replace(b"title: ", b"title: \xff\xfe", 1), "not UTF-8 text (byte 0xff)", id="invalid-utf8"),
    pytest.param((PUSH_UP + "\nx: " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested more than", id="deep-nesting"),
    pytest.param((PUSH_UP + "\nx: " + "[" * 60 + "]" * 60 + "\n").encode(), "nested more than 40 levels deep", id="nesting-past-the-limit"),
    pytest.param((PUSH_UP + "\nx: &loop [1, *loop]\n").encode(), "recursive alias", id="recursive-alias"),
    pytest.param((PUSH_UP + "\nx: &loop {a: *loop}\n").encode(), "recursive alias", id="recursive-alias-mapping"),
    pytest.param(
        (PUSH_UP + "\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
         "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n").encode(),
        "expands to more than", id="alias-bomb",
    ),
    pytest.param(_set("min_dwell", "9" * 400).encode(), "too large for a number", id="integer-too-large-for-a-float"),
    pytest.param(_set("reps", "9" * 400).encode(), "target.reps: 999", id="integer-too-large-for-a-count"),
    pytest.param(_set("reps", str(2**53 + 1)).encode(), "too large for a number", id="integer-past-2-to-the-53"),
    pytest.param(_set("min_dwell", "1.0e+999").encode(), "phases.min_dwell: Input should be a finite number", id="float-overflows-to-inf"),
    pytest.param(_rename("title", "1").encode(), "unknown key '1'", id="key-renamed-to-1"),
    pytest.param(_rename("title", "true").encode(), "unknown key 'true'", id="key-renamed-to-true"),
    pytest.param(_rename("title", "null").encode(), "unknown key 'null'", id="key-renamed-to-null"),
    pytest.param(_rename("title", "ti[tle").encode(), "unknown key 'ti[tle'", id="bracket-in-a-key"),
    pytest.param(_rename("torso_tilt", "torso[tilt").encode(), "torso[tilt", id="bracket-in-a-measure-name"),
    pytest.param(_rename("hysteresis", "1").encode(), "unknown key '1'", id="nested-key-renamed-to-1"),
    pytest.param(_set("min", ".nan").encode(), "Input should be a finite number (got nan)", id="nan-phase-bound"),
    pytest.param(_set("max", "-.inf").encode(), "Input should be a finite number (got -inf)", id="inf-phase-bound"),
    pytest.param((PUSH_UP + "\ntempo: {rep: {min: .nan}, too_fast: Slower, cooldown: 10}\n").encode(), "tempo.rep.min: Input should be a finite number", id="nan-tempo-bound"),
    pytest.param(_set("min_dwell", ".inf").encode(), "phases.min_dwell: Input should be a finite number", id="inf-seconds"),
    pytest.param(_set("grace", ".nan").encode(), "setup.grace: Input should be a finite number", id="nan-seconds"),
    pytest.param((PUSH_UP + "\nsmoothing: {beta: .inf}\n").encode(), "smoothing.beta: Input should be a finite number", id="inf-smoothing"),
    pytest.param(b"", "holds no spec", id="empty-file"),
    pytest.param(b"- a\n- b\n", "a spec is a YAML mapping", id="a-list"),
    pytest.param(b"id: [unclosed\n", "not valid YAML", id="not-yaml"),
]


@pytest.mark.parametrize(("content", "fragment"), BAD)
def test_a_malformed_spec_is_a_spec_error_with_file_and_line(tmp_path, content, fragment):
    path = tmp_path / "push-up.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    problems = caught.value.problems
    assert problems and any(fragment in problem for problem in problems), problems
    for problem in problems:
        assert PROBLEM_LINE.match(problem), problem
        assert problem.startswith(str(path)), problem


@pytest.mark.parametrize(("content", "fragment"), BAD)
def test_validate_and_analyze_exit_4_with_error_lines(tmp_path, content, fragment):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "push-up.yaml").write_bytes(content)
    result = runner.invoke(app, ["exercises", "validate", str(specs / "push-up.yaml")])
    assert result.exit_code == 4, result.output
    assert fragment in result.stderr
    assert all(line.startswith(("Error: ", "Warning: ")) for line in result.stderr.splitlines()), result.stderr

    result = runner.invoke(app, ["analyze", str(tmp_path / "absent.npz"), "-e", "push-up", "--specs", str(specs)])
    assert result.exit_code == 4, result.output
    assert fragment in result.stderr
    assert all(line.startswith("Error: ") for line in result.stderr.splitlines()), result.stderr


def test_exercises_list_shows_each_broken_spec_with_its_first_problem_and_goes_on(tmp_path):
    (tmp_path / "aaa-control.yaml").write_bytes(b"id: aaa-control\ntitle: \x07\n")
    (tmp_path / "bbb-utf8.yaml").write_bytes(b"id: bbb-utf8\ntitle: \xff\n")
    (tmp_path / "ccc-deep.yaml").write_bytes(b"x: " + b"[" * 3000 + b"]" * 3000 + b"\n")
    (tmp_path / "push-up.yaml").write_text(_set("min", ".nan"), encoding="utf-8")
    result = runner.invoke(app, ["exercises", "list", "--specs", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "not allowed in YAML" in rows["aaa-control"]
    assert "not UTF-8 text" in rows["bbb-utf8"]
    assert "nested more than" in rows["ccc-deep"]
    assert "finite number" in rows["push-up"]
    assert "(broken" not in rows["cat-cow"] and "Cat-Cow" in rows["cat-cow"]  # the specs after the broken ones
    assert result.stderr.strip() == "Warning: 4 spec(s) broken (see above; details: posecheck exercises validate FILE)"


def test_a_nan_bound_no_longer_validates_as_ok(tmp_path):
    """It used to say "ok", and the push-up then counted 0 of 7: NaN compares false both ways."""
    path = tmp_path / "push-up.yaml"
    path.write_text(_set("min", ".nan"), encoding="utf-8")
    result = runner.invoke(app, ["exercises", "validate", str(path)])
    assert result.exit_code == 4
    assert "ok:" not in result.stdout


# ------------------------------------------------------------------------------------------------ fuzzing

SPEC_TEXTS = {path.stem: path.read_text(encoding="utf-8") for path in sorted(SPEC_DIR.glob("[!_]*.yaml"))}
#: Replacement values and keys that have broken the loader, or might: YAML's special scalars, huge and
#: non-finite numbers, aliases, brackets, control characters, flow collections, tags.
NASTY = [
    ".nan", ".inf", "-.inf", "1.0e+999", "9" * 400, "-" + "9" * 400, "0", "-1", "1e3", "true", "null", "~", "''",
    "[", "]", "{", "}", "[1, [2, [3]]]", "{a: {b: {c: 1}}}", "&x [*x]", "*nope", "&y 1", "!!python/object:os.system",
    "!!binary aGk=", "!!timestamp 2001-12-14", "2001-12-14", "<<: {a: 1}", "? [a]", "\x00", "\x07", "\x1b[31m", "é",
    "\ufeff", "'unterminated", '"\\x"', "- x", ": x", "%YAML 1.1", "---", "...", "|", ">", "#", "@", "`", "a[b",
    "1:", "true:", "null:", "[x]:", "\t", "  ", "\n",
]


@st.composite
def mutated_spec(draw) -> bytes:
    text = SPEC_TEXTS[draw(st.sampled_from(sorted(SPEC_TEXTS)))]
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "key", "delete", "duplicate", "indent", "insert", "truncate"]))
        line = lines[i]
        if how == "value" and ":" in line:
            key, _, _ = line.partition(":")
            lines[i] = f"{key}: {draw(st.sampled_from(NASTY))}\n"
        elif how == "key" and ":" in line:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + draw(st.sampled_from(NASTY)) + ":" + line.partition(":")[2]
        elif how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, line)
        elif how == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + line.lstrip(" ")
        elif how == "insert":
            at = draw(st.integers(0, len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(NASTY)) + line[at:]
        elif how == "truncate":
            lines = lines[:i]
        if not lines:
            break
    data = "".join(lines).encode("utf-8")
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0 and data:  # now and then, bytes that are not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) + data[at:]
    return data


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(content=mutated_spec())
def test_any_mutation_of_a_spec_is_a_valid_spec_or_a_spec_error(tmp_path_factory, content):
    path = Path(tmp_path_factory.getbasetemp()) / "fuzz" / "spec.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    try:
        spec = load_spec_file(path)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert PROBLEM_LINE.match(problem), problem
    else:
        assert isinstance(spec, ExerciseSpec)
