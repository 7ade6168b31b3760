"""Shell completion (typer's, through --install-completion) for every command, exercise ids completed; help
that names values as people type them (TEXT, PATH, INTEGER), not Python types (<bool>, <list[Path]>)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from posecheck.cli import app

from test_specs import SPEC_DIR

runner = CliRunner()
SPEC_IDS = sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


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
