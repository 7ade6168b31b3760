"""The ``posecheck`` command: the root typer app, its lazily loaded commands, and errors as exit codes.

Heavy packages (cv2, mediapipe, numpy-heavy modules) are imported inside the commands, so that
``posecheck --help`` starts instantly. Library errors (`PosecheckError`) become one ``Error: ...`` line on
stderr and the error's exit code (`posecheck.cli.common.report_error`). Anything else becomes one line too (an
unexpected OSError, or a bug, with its traceback only under ``-vv``): a user never gets a traceback.

Every command lives in its own module, listed in `LAZY_COMMANDS` and imported only when used (or listed in
``--help``). Those modules import `posecheck.cli.common` for what they share, never this module.
"""

from __future__ import annotations

import importlib
import logging
import os
from functools import cache
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from posecheck.version import __version__
from posecheck.cli.common import EXIT_INTERRUPTED, EXIT_UNEXPECTED, report_error, set_verbosity, setup_logging
from posecheck.runtime import stopping

__all__ = ["EXIT_INTERRUPTED", "EXIT_UNEXPECTED", "LAZY_COMMANDS", "app", "main"]

log = logging.getLogger(__name__)

#: The commands: name -> "module:attribute". The attribute is a typer.Typer (several commands become a group:
#: ``posecheck exercises list``; a single command without a callback becomes that command) or a plain function
#: (one command). Each is listed in ``--help``, in this order; its module is imported only when needed.
LAZY_COMMANDS: dict[str, str] = {
    "analyze": "posecheck.cli.analyze:analyze",
    "models": "posecheck.cli.models:models",
    "samples": "posecheck.cli.samples:app",
    "exercises": "posecheck.cli.exercises:app",
    "live": "posecheck.cli.live:app",
    "routine": "posecheck.cli.routine:app",
    "bench": "posecheck.cli.bench:app",
    "eval": "posecheck.cli.evaluate:eval_command",
    # --- session history and progress reports (posecheck.cli.history) ---
    "history": "posecheck.cli.history:history_app",
    "progress": "posecheck.cli.history:progress_command",
    "report": "posecheck.cli.history:report_command",
}


class LazyGroup(TyperGroup):
    """The top-level group: own commands plus `LAZY_COMMANDS`; maps PosecheckError to ``Error: ...``."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + [name for name in LAZY_COMMANDS if name not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = _load_lazy_command(cmd_name)
        return command

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except _usage_error() as exc:  # a wrong global option: posecheck --bogus
            raise typer.Exit(_report_usage_error(exc)) from None
        except KeyboardInterrupt:  # typer would exit 130 without a word, whichever signal it was
            typer.echo(f"Interrupted ({stopping.describe()}) while starting: nothing was done.", err=True)
            raise typer.Exit(stopping.exit_code()) from None

    def invoke(self, ctx: Any) -> Any:
        stopping.forget()  # a new command: a stop signal noted by an earlier one in this process is not its own
        try:
            return super().invoke(ctx)
        except _usage_error() as exc:  # a wrong command, option or value, at any depth
            raise typer.Exit(_report_usage_error(exc)) from None
        except _command_line_exceptions():
            raise  # typer's own exits and usage errors
        except KeyboardInterrupt:
            # The commands catch a stop during their work and save what they have; one that gets here came
            # before that (loading the model, opening the video) or cut the saving short.
            typer.echo(f"Interrupted ({stopping.describe()}) before any result was saved.", err=True)
            raise typer.Exit(stopping.exit_code()) from None
        except Exception as exc:  # noqa: BLE001 - every other error is one line (report_error)
            raise typer.Exit(report_error(exc)) from None


def _report_usage_error(exc: Exception) -> int:
    """One ``Error: ...`` line for a command-line mistake (typer would draw a box with the usage); exit code 2.

    A group called without a command (``no_args_is_help``) shows its help instead, and exits 2 as typer does.
    """
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError":
        help_text = exc.format_message()  # type: ignore[attr-defined] - empty when rich printed the help already
        if help_text.strip():
            typer.echo(help_text, err=True)
        return 2
    message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
    hint = f" (see: {ctx.command_path} -h)" if ctx is not None else ""
    typer.echo(f"Error: {message}{hint}", err=True)
    return int(getattr(exc, "exit_code", 2))


@cache
def _usage_error() -> type[Exception]:
    """The exception typer raises for a wrong command, option or value."""
    try:  # newer typer has its own command-line layer
        from typer._click.exceptions import UsageError
    except ImportError:  # older typer runs on click
        from click import UsageError
    return UsageError


@cache
def _command_line_exceptions() -> tuple[type[Exception], ...]:
    """The exceptions typer ends a command with on purpose (exits, aborts, usage errors)."""
    try:  # newer typer has its own command-line layer
        from typer.exceptions import TyperException as UsageProblem
    except ImportError:  # older typer runs on click
        from click import ClickException as UsageProblem
    return typer.Exit, typer.Abort, UsageProblem


@cache
def _load_lazy_command(name: str) -> Any:
    module_name, _, attribute = LAZY_COMMANDS[name].partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


# ------------------------------------------------------------------------------------------------ help

#: What typer 0.29 shows as a value's type in help (Python annotations) -> what a person types there.
_VALUE_NAMES = {"str": "TEXT", "path": "PATH", "int": "INTEGER", "float": "NUMBER", "int range": "INTEGER",
                "float range": "NUMBER"}


def _readable_value_name(shown: str | None) -> str | None:
    """``<list[Path]>`` -> ``PATH...``, ``<str>`` -> ``TEXT``, ``<int>`` -> ``INTEGER``; choices ``a|b`` stay."""
    if not shown or not (shown.startswith("<") and ">" in shown):
        return shown
    inner, _, rest = shown[1:].partition(">")
    many = inner.startswith("list[") and inner.endswith("]")
    if many:
        inner = inner[len("list["):-1]
    name = inner if "|" in inner else _VALUE_NAMES.get(inner.lower(), inner.upper())
    return name + ("..." if many else "") + rest


def _use_readable_value_names() -> None:
    """Help shows value names people understand (TEXT, PATH, INTEGER), and none for flags, not ``<bool>``.

    typer 0.29 prints the parameter's Python type; this wraps its two display methods once, for every
    command (the lazily loaded ones too). Older typer versions without them are left as they are.
    """
    from typer import core

    for cls in (getattr(core, "TyperOption", None), getattr(core, "TyperArgument", None)):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "_posecheck", False):
            continue

        def display_type_rich(self: Any, ctx: Any, _original: Any = original) -> str | None:
            if getattr(self, "is_flag", False) or getattr(self, "count", False):
                return None  # a flag takes no value
            if self.param_type_name == "argument" and self.metavar is not None:
                return None  # its name (VIDEO, EXERCISE) says what to give
            return _readable_value_name(_original(self, ctx))

        display_type_rich._posecheck = True  # type: ignore[attr-defined]
        cls.display_type_rich = display_type_rich


_use_readable_value_names()


# ------------------------------------------------------------------------------------------------ app

app = typer.Typer(
    cls=LazyGroup,
    name="posecheck",
    no_args_is_help=True,
    # --install-completion / --show-completion: typer's shell completion (bash, zsh, fish, PowerShell), with
    # exercise ids completed (complete_exercise_id).
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"posecheck {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More detail on stderr (-vv: debug).")] = 0,
) -> None:
    """Counts reps, times holds and gives gentle form cues for back-care exercises, from a video or a camera.

    Example: posecheck analyze my_cat_cow.mp4 --exercise cat-cow
    """
    set_verbosity(verbose)
    setup_logging(verbose)
    if verbose < 2:
        # FFmpeg (inside OpenCV) prints decoder complaints for damaged files straight to stderr; posecheck
        # reports those files itself in one line.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def main() -> None:
    """Runs the command line (`posecheck.__main__.main`, the ``posecheck`` script, handles the stop signals from
    the very start; here they are handled again for callers that come straight here)."""
    stopping.install()
    app(prog_name="posecheck")
