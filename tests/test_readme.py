"""README.md stays true: every command is documented, every documented command line is a real one, the quick
start is exactly two commands whose scripts exist, and CI runs the README's test command."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap

import pytest
import typer
from typer.testing import CliRunner

from posecheck.cli.app import app

from conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def _code_blocks(text: str, languages: tuple[str, ...] = ("sh", "bash", "console", "")) -> list[str]:
    """The bodies of the fenced code blocks in ``languages`` ("" = no language), indented ones too (in a list),
    dedented. Every fence is matched with its own closing one, whatever the language."""
    blocks = re.findall(r"^( *)```([\w-]*)\n(.*?)^ *```", text, flags=re.S | re.M)
    return [textwrap.dedent(body) if indent else body for indent, language, body in blocks if language in languages]


def _command_lines() -> list[list[str]]:
    """``posecheck ...`` command lines from the README's code blocks, as argument lists (comments cut)."""
    lines = []
    for block in _code_blocks(README):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("posecheck "):
                lines.append(shlex.split(line)[1:])
    return lines


def _root():
    return typer.main.get_command(app)


def _all_command_paths() -> list[tuple[str, ...]]:
    root = _root()
    paths = []
    with root.make_context("posecheck", [], resilient_parsing=True) as ctx:

        def walk(command, path):
            if path:
                paths.append(path)
            if hasattr(command, "list_commands"):
                for name in command.list_commands(ctx):
                    walk(command.get_command(ctx, name), (*path, name))

        walk(root, ())
    return paths


def _options_of(command) -> set[str]:
    names = set()
    for param in command.params:
        names.update(getattr(param, "opts", []))
        names.update(getattr(param, "secondary_opts", []))
    return names | {"--help", "-h"}


def test_every_command_is_documented():
    missing = [" ".join(path) for path in _all_command_paths() if f"posecheck {' '.join(path)}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"
    for path in _all_command_paths():
        if len(path) == 1:
            assert f"### posecheck {path[0]}" in README, f"README.md has no section for posecheck {path[0]}"


def test_documented_command_lines_exist_with_their_options():
    root = _root()
    lines = _command_lines()
    assert len(lines) >= 10
    with root.make_context("posecheck", [], resilient_parsing=True) as ctx:
        for args in lines:
            command, rest = root, list(args)
            global_options = _options_of(root)
            while rest and rest[0].startswith("-") and rest[0] in global_options:
                rest.pop(0)
            while rest and hasattr(command, "get_command"):
                sub = command.get_command(ctx, rest[0])
                assert sub is not None, f"README: 'posecheck {' '.join(args)}': no command {rest[0]!r}"
                command, rest = sub, rest[1:]
            known = _options_of(command)
            for token in rest:
                if token.startswith("-") and token != "-":
                    assert token.split("=")[0] in known, f"README: 'posecheck {' '.join(args)}': unknown option {token}"


#: README command lines that need nothing but the checkout: run for real from the repository root, as a
#: reader would paste them.
RUNNABLE_AS_WRITTEN = [
    ("posecheck exercises list", "cat-cow"),
    ("posecheck exercises show cat-cow", "How to do it:"),
    ("posecheck exercises validate exercise_specs/", "ok: exercise_specs/cat-cow.yaml"),
    ("posecheck samples list", "cat_cow_01"),
    # The clip's row: clip, exercise, truth 2, posecheck's count 2 (the hand count).
    ("posecheck eval tests/data/labels.yaml --traces tests/data/traces --only cat_cow_01.mp4",
     re.compile(r"cat_cow_01\.mp4\s*│\s*cat-cow\s*│\s*2\s*│\s*2\s*│")),
]


@pytest.mark.parametrize(("line", "expected"), RUNNABLE_AS_WRITTEN)
def test_self_contained_readme_commands_run_as_written(line, expected, monkeypatch):
    assert shlex.split(line)[1:] in _command_lines(), f"README no longer shows '{line}'"
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(app, shlex.split(line)[1:])
    assert result.exit_code == 0, (line, result.output)
    assert expected.search(result.stdout) if isinstance(expected, re.Pattern) else expected in result.stdout


def test_quick_start_is_exactly_two_commands_with_their_scripts():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = _code_blocks(section)[0]
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert commands == ["bash scripts/quickstart.sh", "bash scripts/test.sh"]
    for command in commands:
        assert (REPO_ROOT / command.split()[1]).is_file()
    quickstart = (REPO_ROOT / "scripts" / "quickstart.sh").read_text()
    assert "scripts/setup.sh" in quickstart and "samples fetch cat_cow_01" in quickstart
    assert "analyze" in quickstart and "--exercise cat-cow" in quickstart
    assert "scripts/setup.sh" in (REPO_ROOT / "scripts" / "test.sh").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci and "bash scripts/test.sh" in README
    assert "scripts/check_wheel.sh" in ci and (REPO_ROOT / "scripts" / "check_wheel.sh").is_file()


def test_readme_explains_the_dependency_choices_and_formats():
    for needle in ("opencv-contrib-python", "mediapipe>=1.2,<2", "numpy>=2", "posecheck-coach", "Not tested: 3.14",
                   "scripts/build_model.sh", "## Report format", "## Trace format", "schema_version"):
        assert needle in README, needle


def test_the_readme_says_where_to_put_the_camera_for_every_exercise():
    """Every built-in exercise has a row in the README's camera table and in docs/CAMERA.md."""
    from posecheck.specs import SpecRegistry, builtin_specs_dir

    ids = set(SpecRegistry([builtin_specs_dir()]).ids())
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Where to put the camera"):readme.index("## Commands")]
    camera_doc = (REPO_ROOT / "docs" / "CAMERA.md").read_text(encoding="utf-8")
    for exercise in sorted(ids):
        assert f"\n| {exercise} |" in section, f"README's camera table has no row for {exercise}"
        assert f"\n| {exercise} |" in camera_doc, f"docs/CAMERA.md has no row for {exercise}"


# ------------------------------------------------------------------------------------------------ library


def _python_section() -> str:
    return README.split("## Use posecheck from Python", 1)[1].split("\n## ", 1)[0]


def _run_python(code: str) -> str:
    """Runs README Python code in a new interpreter from the repository root, as a reader would; its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_library_example_prints_what_the_readme_says():
    """The first Python example of "Use posecheck from Python" runs on a trace of the tests and prints exactly
    the output the README shows below it (the hand count of cat_cow_01 is 2: tests/data/labels.yaml)."""
    section = _python_section()
    example = _code_blocks(section, ("python",))[0]
    shown = _code_blocks(section, ("text",))[0]
    assert "posecheck.analyze(" in example and "2 reps of 10" in shown
    assert _run_python(example) == shown


def test_the_readme_session_example_counts_the_reps_analyze_counts():
    """The Session example (poses pushed one by one) sees the same reps, at the same times, as analyze."""
    import posecheck

    section = _python_section()
    example = "import posecheck\n" + _code_blocks(section, ("python",))[1]
    assert "posecheck.Session(" in example
    lines = _run_python(example).splitlines()
    analysed = posecheck.analyze(REPO_ROOT / "tests" / "data" / "traces" / "cat_cow_01.npz", "cat-cow")
    expected = [f"{rep.counted_at:.1f} s: rep {rep.index}" for rep in analysed.rep_list]
    assert lines == [*expected, f"{analysed.reps} reps"] and analysed.reps == 2
