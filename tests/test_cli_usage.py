"""The command line: a mistake is one Error line (exit 2); typer's shell completion works for every command,
exercise ids included; help names values as people type them (TEXT, PATH, INTEGER), not as Python types
(<bool>, <list[Path]>)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from posecheck.cli.app import app

from test_specs import SPEC_DIR

runner = CliRunner()
SPEC_IDS = sorted(p.stem for p in SPEC_DIR.glob("[!_]*.yaml"))


def _complete(line: str, shell: str = "bash") -> list[str]:
    """What the shell would offer for ``line`` (the word being completed is the last, maybe empty)."""
    words = line.split(" ")
    env = {"_POSECHECK_COMPLETE": f"complete_{shell}", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1),
           "_TYPER_COMPLETE_ARGS": line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    result = runner.invoke(app, [], env=env, prog_name="posecheck")
    assert result.exit_code == 0, result.output
    return [item for item in result.stdout.splitlines() if item]


def _command_paths(command=None, path=()) -> list[tuple[str, ...]]:
    import typer

    command = command or typer.main.get_command(app)
    paths = [path]
    ctx = typer.Context(command, info_name="posecheck")
    for name in getattr(command, "list_commands", lambda ctx: [])(ctx):
        paths += _command_paths(command.get_command(ctx, name), (*path, name))
    return paths


COMMANDS = [path for path in _command_paths() if path]


def test_every_command_is_in_the_list():
    assert {" ".join(p) for p in COMMANDS} >= {"analyze", "models", "samples list", "samples fetch", "exercises list",
                                               "exercises show", "exercises validate", "exercises schema", "live", "bench", "eval"}


def test_commands_complete():
    assert _complete("posecheck ex") == ["exercises"]
    assert set(_complete("posecheck ")) >= {"analyze", "live", "exercises", "eval", "bench", "models", "samples"}
    assert _complete("posecheck exercises ") == ["list", "show", "validate", "schema"]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_completes_its_options(path):
    offered = _complete("posecheck " + " ".join(path) + " --")
    assert "--help" in offered, offered


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("posecheck analyze clip.mp4 -e cat", ["cat-cow"]),
        ("posecheck analyze clip.mp4 --exercise b", ["bicycle-crunch", "bird-dog"]),
        ("posecheck exercises show ", SPEC_IDS),
        ("posecheck live seated", ["seated-cat-cow", "seated-side-bend"]),
        ("posecheck exercises show --specs /no/such/folder pl", ["plank"]),
    ],
)
def test_exercise_ids_complete(line, expected):
    assert _complete(line) == expected


def test_exercise_ids_from_a_specs_folder_complete(tmp_path):
    (tmp_path / "my-own-stretch.yaml").write_text("id: my-own-stretch\n")
    assert _complete(f"posecheck analyze clip.mp4 --specs {tmp_path} -e my") == ["my-own-stretch"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_complete_too(shell):
    assert any("cat-cow" in item for item in _complete("posecheck exercises show cat", shell))


def test_the_completion_script_can_be_shown():
    result = runner.invoke(app, ["--show-completion", "bash"], prog_name="posecheck")
    assert result.exit_code == 0
    assert "_POSECHECK_COMPLETE=complete_bash" in result.stdout


@pytest.mark.parametrize("path", [()] + COMMANDS, ids=["posecheck"] + [" ".join(p) for p in COMMANDS])
def test_help_names_values_as_people_type_them(path):
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}, prog_name="posecheck")
    assert result.exit_code == 0
    python_types = re.findall(r"<(?:bool|str|int|float|path|list\[[^\]]*\])>", result.stdout, flags=re.IGNORECASE)
    assert not python_types, python_types


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "x.npz", "-e", "cat-cow", "--jobs", "0"], "Error: Invalid value for '--jobs' / '-j': Input should be greater than or equal to 1 (see: posecheck analyze -h)"),
        (["analyze", "x.npz", "-e", "cat-cow", "--jobs", "two"], "Error: Invalid value for '--jobs' / '-j'"),
        (["analyze", "--bogus"], "Error: No such option: --bogus"),
        (["analyze"], "Error: Missing argument 'VIDEO'. (see: posecheck analyze -h)"),
        (["analyze", "x.npz"], "Error: Missing option '--exercise' / '-e'."),
        (["analyze", "x.npz", "-e"], "Error: Option '-e' requires an argument."),
        (["--bogus"], "Error: No such option: --bogus"),
        (["frobnicate"], "Error: No such command 'frobnicate'. (see: posecheck -h)"),
        (["exercises", "show"], "Error: Missing argument 'EXERCISE'. (see: posecheck exercises show -h)"),
        (["exercises", "list", "--x"], "Error: No such option: --x (see: posecheck exercises list -h)"),
        (["live", "cat-cow", "--camera", "front"], "Error: Invalid value for '--camera'"),
        (["samples", "fetch", "--nope"], "Error: No such option: --nope"),
    ],
)
def test_a_usage_error_is_one_error_line_and_exit_2(argv, message):
    """No usage box: the README promises one Error: line (and the help is one -h away)."""
    result = runner.invoke(app, argv, prog_name="posecheck")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize("argv", [[], ["exercises"], ["samples"]])
def test_a_group_without_its_command_shows_its_help(argv):
    result = runner.invoke(app, argv, prog_name="posecheck")
    assert result.exit_code == 2
    assert "Usage: posecheck" in result.stdout and "Error" not in result.output


def test_help_on_request_exits_0():
    for argv in (["-h"], ["analyze", "--help"], ["exercises", "show", "-h"]):
        result = runner.invoke(app, argv, prog_name="posecheck")
        assert result.exit_code == 0 and "Usage: posecheck" in result.stdout
