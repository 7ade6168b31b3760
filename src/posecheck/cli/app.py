"""The ``posecheck`` command: a thin typer layer over the library.

Heavy packages (cv2, mediapipe, numpy-heavy modules) are imported inside the commands, so that
``posecheck --help`` starts instantly. Library errors (`PosecheckError`) become one ``Error: ...`` line on
stderr and the error's exit code. Anything else becomes one line too (an unexpected OSError, or a bug, with
its traceback only under ``-vv``): a user never gets a traceback.

Command groups owned by other modules are registered in `LAZY_COMMANDS` and imported only when used.
The options and steps several commands share (`SpecsOption`, `ModelOption`, `load_spec`, `save_report`,
`print_summary`...) are public here, for those modules to use.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import logging
import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from posecheck import __version__
from posecheck.runtime import stopping
from posecheck.errors import InputError, NoPersonError, PosecheckError, why_not_a_folder

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

log = logging.getLogger(__name__)

#: Commands that live in their own modules: name -> "module:attribute". The attribute is a typer.Typer
#: (several commands become a group: ``posecheck exercises list``; a single command without a callback
#: becomes that command) or a plain function (one command). Each is listed in ``--help``; its module is
#: imported only when the command runs.
LAZY_COMMANDS: dict[str, str] = {
    "exercises": "posecheck.cli.exercises:app",
    "live": "posecheck.cli.live:app",
    "bench": "posecheck.cli.bench:app",
    "eval": "posecheck.cli.evaluate:eval_command",
    # --- session history and progress reports (posecheck.cli.history) ---
    "history": "posecheck.cli.history:history_app",
    "progress": "posecheck.cli.history:progress_command",
    "report": "posecheck.cli.history:report_command",
}

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it; after SIGTERM 143 and after SIGHUP 129
#: (`posecheck.runtime.stopping.exit_code` gives the one that applies).
EXIT_INTERRUPTED = 130
#: An error nothing in posecheck expected: an OSError (a full disk while writing a report), or a bug.
EXIT_UNEXPECTED = 1
DEFAULT_OUT_ROOT = Path("posecheck-out")


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


def report_error(exc: Exception) -> int:
    """Prints ``exc`` for the user as one ``Error: ...`` line and returns the exit code.

    A `PosecheckError` says what to fix (a `SpecError` one line per problem). An OSError nothing expected
    (a full disk while writing a report) names its file. Anything else is a bug: one line saying so, and
    under ``-vv`` the exception is raised again, for its traceback.
    """
    if isinstance(exc, PosecheckError):
        print_error(exc)
        return exc.exit_code
    if isinstance(exc, OSError) and exc.errno in _PATH_ERRNOS:  # a path as typed that no system can use
        typer.echo(f"Error: {exc.strerror}: {exc.filename}", err=True)
        return InputError.exit_code
    if verbosity() >= 2:
        raise exc
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        typer.echo(f"Error: {exc.strerror or exc}{where}", err=True)
    else:
        typer.echo(f"Error: posecheck failed unexpectedly ({type(exc).__name__}: {exc}); this is a bug, "
                   "please report it with the output of the same command run with -vv", err=True)
    return EXIT_UNEXPECTED


#: OSErrors that say a path given on the command line cannot be a path at all: unusable input (exit 2), not an
#: unexpected problem. (pathlib's exists() and is_dir() raise these instead of answering False.)
_PATH_ERRNOS = (errno.ENAMETOOLONG, errno.ELOOP)


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
        single = typer.Typer()
        single.command(name=name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


def print_error(exc: PosecheckError) -> None:
    """One ``Error: ...`` line per problem on stderr: an error can list several, one per line (SpecError)."""
    for problem in str(exc).splitlines() or ["unknown problem"]:
        typer.echo(f"Error: {problem}", err=True)


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

_verbosity = 0


def verbosity() -> int:
    """How many -v were given (0 = warnings only)."""
    return _verbosity


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
    global _verbosity
    _verbosity = verbose
    setup_logging(verbose)
    if verbose < 2:
        # FFmpeg (inside OpenCV) prints decoder complaints for damaged files straight to stderr; posecheck
        # reports those files itself in one line.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def setup_logging(verbose: int) -> None:
    """Sends posecheck's log records to stderr through rich: warnings, -v info, -vv debug."""
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logger = logging.getLogger("posecheck")
    for handler in list(logger.handlers):
        if getattr(handler, "_posecheck_cli", False):
            logger.removeHandler(handler)
    handler = RichHandler(console=Console(stderr=True), show_time=False, show_path=verbose >= 2, markup=False)
    handler._posecheck_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


@contextlib.contextmanager
def quiet_native_stderr():
    """Silences C/C++ libraries (mediapipe, TFLite, absl) that write to file descriptor 2 directly.

    Python's own stderr (log records, progress bars, error lines) is moved to a duplicate of the terminal,
    so only the native chatter goes to /dev/null. Nothing is changed with -vv, or when stderr is not the
    process's fd 2 (tests capturing output).
    """
    try:
        real_stderr = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real_stderr = False
    if _verbosity >= 2 or not real_stderr:
        yield
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding=python_stderr.encoding, errors="backslashreplace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved_fd, 2)
        os.close(saved_fd)


def _stderr_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


# ------------------------------------------------------------------------------------------------ shared
# Options and steps that analyze, live, bench, eval and exercises share, declared once.

SpecsOption = Annotated[
    Path | None,
    typer.Option(
        "--specs",
        metavar="DIR",
        help="Extra folder of exercise specs (YAML); same ids override the built-in ones. Also: $POSECHECK_SPECS.",
        show_default=False,
    ),
]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        metavar="FILE",
        help="Pose model: an official pose_landmarker_{lite,full,heavy}.task. Default: the one shipped with posecheck.",
        show_default=False,
    ),
]
NoHistoryOption = Annotated[
    bool,
    typer.Option("--no-history", help="Do not record this session in your history (history.sqlite3 in $POSECHECK_DATA_DIR or the user data folder)."),
]
ReportJsonOption = Annotated[
    str | None,
    typer.Option("--json", metavar="FILE|-", help="Also write the report JSON to FILE; '-' prints it to stdout and nothing else there."),
]


def complete_exercise_id(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of an exercise id: the built-in ones, $POSECHECK_SPECS's and --specs's if given before."""
    from posecheck.specs import SpecRegistry

    specs = (ctx.params or {}).get("specs")
    for folder in (specs, None):  # a wrong --specs or $POSECHECK_SPECS: complete the ids that can be found
        try:
            ids = SpecRegistry.default(folder).ids()
            break
        except (PosecheckError, OSError):
            ids = []
    return [spec_id for spec_id in ids if spec_id.startswith(incomplete.lower())]


def load_spec(exercise: str, specs: Path | None):
    """The spec ``exercise`` from the built-in specs, ``$POSECHECK_SPECS`` and ``--specs``."""
    from posecheck.specs import load_spec_by_id

    return load_spec_by_id(exercise, specs_dir=specs)


def prepare_output_folder(folder: Path) -> None:
    """Creates ``folder`` and proves it is writable before minutes of analysis, not after."""
    if not folder.is_dir() and (folder.exists() or any(p.exists() and not p.is_dir() for p in folder.parents)):
        raise InputError(why_not_a_folder(folder, "output folder"))  # a file is in the way
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".posecheck-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to output folder {folder}: {exc.strerror or exc}") from exc


def check_writable_file(path: Path) -> None:
    """Fails now, not after the analysis, if ``path`` cannot be created (its folder is missing or read-only)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder, not a file")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {why_not_a_folder(parent)}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {path}: folder {parent} is not writable")


def describe_model(info) -> dict[str, str]:
    """The report's ``source.model`` for a `ModelInfo`: file name, sha256 and origin."""
    return {"name": info.path.name, "sha256": info.sha256, "origin": info.origin}


def build_spec_report(spec, summary, stats, source) -> dict:
    """`report.build_report` for a session of ``spec``: its title, its rep target and its phase measure's unit."""
    from posecheck.sinks import report as rpt

    return rpt.build_report(
        summary,
        stats,
        source,
        rom_unit=spec.measures[spec.phases.measure].unit,
        target_reps=spec.target.reps,
        exercise_title=spec.title,
    )


def save_report(report: dict, out_dir: Path, json_out: str | None, media: list[Path]) -> list[Path]:
    """Writes report.json and reps.csv into ``out_dir``, and the report to ``--json FILE`` (not for ``-``).

    Returns:
        The files written, as the summary lists them: report.json, reps.csv, those of ``media`` (videos the
        session wrote) that exist, the --json file.
    """
    from posecheck.sinks import report as rpt

    written = [rpt.write_json(report, out_dir / "report.json"), rpt.write_reps_csv(report, out_dir / "reps.csv")]
    written += [path for path in media if path.exists()]
    if json_out and json_out != "-":
        written.append(rpt.write_json(report, Path(json_out)))
    return written


def print_summary(report: dict, written: list[Path], result, console: "Console") -> None:
    """The human summary of a report: counts, holds, gaps, the table of reps, the cues, the files written."""
    from rich.table import Table

    seen = report["frames_with_pose"] / report["frames"] * 100 if report["frames"] else 0.0
    console.print(f"[bold]{report['exercise_title'] or report['exercise']}[/] - {report['source']['path']}")
    console.print(
        f"{report['frames']} frames ({report['duration']:.1f} s at {report['fps']:g} fps), person found in {seen:.0f} %"
        f" - analysed at {result.processing_fps:.0f} fps"
    )
    reps = f"Reps: [bold]{report['reps']}[/]" + (f" of {report['target_reps']}" if report["target_reps"] else "")
    if report["reps_by_side"]:
        reps += " (" + ", ".join(f"{side} {n}" for side, n in sorted(report["reps_by_side"].items())) + ")"
    console.print(reps)
    for hold in report["holds"]:
        side = f" {hold['side']}" if hold["side"] else ""
        target = f" of {hold['target_seconds']:g} s" if hold["target_seconds"] else ""
        console.print(f"Hold{side}: [bold]{hold['seconds']:.1f} s[/]{target} ({hold['start']:.1f}-{hold['end']:.1f} s)")
    for gap in report["gaps"]:
        console.print(f"Tracking lost: {gap['start']:.1f}-{gap['end']:.1f} s")
    people = report["source"].get("people")
    if people and people["most_in_view"] > 1:
        console.print(f"[bold]Note:[/] {people['most_in_view']} people were in view ({people['checks_with_several']} of "
                      f"{people['checks']} checks, one a second); posecheck followed one of them, the one the pose model "
                      "found first, and counted for that person only. Film one person at a time for a reliable count.")
    print_why_not_counted(report, console)
    if report["rep_list"]:
        table = Table(title="Reps", title_justify="left")
        for column, justify in (("#", "right"), ("side", "left"), ("start s", "right"), ("duration s", "right"), ("ROM", "right"), ("notes", "left")):
            table.add_column(column, justify=justify)
        for rep in report["rep_list"]:
            rom = "-" if rep["rom"] is None else f"{rep['rom']:.0f} deg" if rep["rom_unit"] == "deg" else f"{rep['rom']:.2f} {rep['rom_unit'] or ''}"
            # A rep whose return the end cut off (reps.cut_at_end): its duration is too short, say why.
            notes = (["counted at the end"] if rep["cut_by_end"] else []) + rep["cues"]
            table.add_row(str(rep["index"]), rep["side"] or "", f"{rep['start']:.1f}", f"{rep['duration']:.1f}", rom, "; ".join(notes))
        console.print(table)
    if report["cues"]:
        console.print("Cues:")
        for cue in report["cues"]:
            console.print(f"  {cue['t']:6.1f} s  {cue['text']}", markup=False)
    else:
        console.print("Cues: none")
    for path in written:
        console.print(f"Wrote {path}", markup=False, highlight=False)


def print_why_not_counted(report: dict, console: "Console") -> None:
    """When nothing was counted or reps were refused, the top reasons in plain words (report ``not_counted``)."""
    from posecheck.sinks.report import why_not_counted

    why = why_not_counted(report)
    if why is None:
        return
    heading, entries = why
    console.print(heading, markup=False, highlight=False)
    if not entries:
        # Never a silent zero: say that the engine saw nothing it could name.
        console.print("  posecheck saw no rep begin, and recorded no reason it could name.", markup=False, highlight=False)
    for entry in entries:
        console.print(f"  {entry['reason']}", markup=False, highlight=False)
        if entry["advice"]:
            console.print(f"    Tip: {entry['advice']}", markup=False, highlight=False)


# ------------------------------------------------------------------------------------------------ analyze


@app.command()
def analyze(
    videos: Annotated[
        list[Path],
        typer.Argument(
            help="A video file, or a landmark trace (.npz) saved earlier with --save-trace. Several, or a folder, "
            "are analysed in parallel, each into <out>/<clip name>/.",
            show_default=False,
            metavar="VIDEO",
        ),
    ],
    exercise: Annotated[
        str, typer.Option("--exercise", "-e", metavar="ID", autocompletion=complete_exercise_id, help="Exercise id, e.g. cat-cow (see: posecheck exercises list).", show_default=False)
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder. Default: ./posecheck-out/<video name>/", show_default=False)
    ] = None,
    json_out: ReportJsonOption = None,
    specs: SpecsOption = None,
    model: ModelOption = None,
    save_trace: Annotated[
        Path | None, typer.Option("--save-trace", metavar="FILE.npz", help="Save every frame's landmarks to this .npz trace (replay it later with analyze).")
    ] = None,
    write_video: Annotated[
        bool, typer.Option("--video/--no-video", help="Write annotated.mp4 (for a trace: the skeleton on a blank canvas).")
    ] = True,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, metavar="N", help="With several clips: how many are analysed at once. Default: one per core.")
    ] = None,
    no_history: NoHistoryOption = False,
) -> None:
    """Analyse a recorded exercise: count reps, time holds, collect cues; write a report and an annotated video.

    Writes report.json, report.html, reps.csv, measures.csv and annotated.mp4 into the output folder, records
    the session in your history (--no-history: not) and prints a summary.
    Ctrl-C stops early and still writes the report for the frames seen so far.

    Several clips, or a folder of them, are analysed one per process, as many at once as there are cores.

    Example: posecheck analyze cat_cow_01.mp4 --exercise cat-cow --out results/
    """
    from posecheck.runtime.clips import expand_clips
    from posecheck.core.trace import is_trace_path

    clips = expand_clips(videos)
    if len(clips) > 1 or videos[0].is_dir():
        _analyze_many(clips, exercise, out, json_out, specs, model, save_trace, write_video, jobs, no_history)
        return
    (video,) = clips
    print_json_only = json_out == "-"
    spec = load_spec(exercise, specs)
    out_dir = out if out is not None else DEFAULT_OUT_ROOT / video.stem
    prepare_output_folder(out_dir)
    if save_trace is not None:
        # Replay recognises traces by their .npz suffix: give the file one, as numpy's own savez would.
        if not is_trace_path(save_trace):
            save_trace = save_trace.with_name(save_trace.name + ".npz")
        check_writable_file(save_trace)
    if json_out and not print_json_only:
        check_writable_file(Path(json_out))

    sinks = _sinks(spec, out_dir, save_trace, write_video, _show_progress())
    # --- history, measures.csv and report.html (posecheck.sinks.outputs) ---
    from posecheck.sinks.outputs import SessionOutputs

    outputs = SessionOutputs(spec, mode="analyze", out_dir=out_dir, history=not no_history)
    sinks += outputs.sinks()
    try:
        if is_trace_path(video):
            if model is not None:
                log.warning("--model is ignored when replaying a trace (its landmarks were computed already)")
            result, source_desc = _analyze_trace(video, spec, sinks)
        else:
            result, source_desc = _analyze_video(video, spec, model, sinks)
    except BaseException:
        outputs.abandon()
        raise

    _refuse_too_short(video, spec, result)

    from posecheck.sinks import report as rpt

    stats = rpt.FrameStats(
        frames=result.frames,
        frames_with_pose=result.frames_with_pose,
        fps=result.info.fps,
        duration=result.frames / result.info.fps if result.info.fps else 0.0,
        interrupted=result.interrupted,
    )
    report = build_spec_report(spec, result.summary, stats, source_desc)
    written = save_report(report, out_dir, json_out, media=[out_dir / "annotated.mp4"] if write_video else [])
    written += outputs.finish(report, video=out_dir / "annotated.mp4" if write_video else None)
    if save_trace is not None:
        written.append(save_trace)

    if print_json_only:
        sys.stdout.write(rpt.to_json(report))
        sys.stdout.flush()
    else:
        from rich.console import Console

        # soft_wrap: long paths stay whole, for copy and paste.
        print_summary(report, written, result, Console(soft_wrap=True))

    if result.interrupted:
        typer.echo(f"Interrupted ({stopping.describe()}): the report covers the first {stats.duration:.1f} s "
                   f"({out_dir / 'report.json'}).", err=True)
        raise typer.Exit(stopping.exit_code())
    if result.frames > 0 and result.frames_with_pose == 0:
        raise NoPersonError(
            f"{video}: no person found in any of the {result.frames} frames "
            "(is the whole body in view and lit?); report written anyway"
        )
    if result.ended_early:
        raise InputError(
            f"{video}: decoding stopped after {result.frames} of {result.info.frame_count} frames "
            f"(truncated or corrupt file); partial report in {out_dir}"
        )
    for sink in sinks:
        if getattr(sink, "failure", None) is not None:
            raise InputError(f"{video}: writing {sink.path} stopped early ({sink.failure}) and it holds only the "
                             f"frames before; the report in {out_dir} is complete")


def _refuse_too_short(video: Path, spec, result) -> None:
    """A still image, a one-frame video or a clip too short for one rep or hold is one error line, not a report
    of 0 reps (see `posecheck.specs.limits`). A session stopped early (Ctrl-C, a damaged file) says that instead."""
    from posecheck.specs.limits import shortest_countable_seconds

    if result.interrupted or result.ended_early or result.frames == 0:
        return
    if result.frames == 1:
        raise InputError(f"{video}: a single frame (a still image?); posecheck needs a video of the exercise")
    span = result.last_t - result.first_t
    needed = shortest_countable_seconds(spec)
    if span < needed:
        what = {"reps": "one rep", "hold": "a hold", "reps+hold": "a rep or a hold"}[spec.kind]
        raise InputError(f"{video}: only {span:.2f} s long ({result.frames} frames); {what} of {spec.id} takes at "
                         f"least {needed:g} s")


def _analyze_many(clips: list[Path], exercise: str, out: Path | None, json_out: str | None, specs: Path | None,
                  model: Path | None, save_trace: Path | None, write_video: bool, jobs: int | None,
                  no_history: bool = False) -> None:
    """Several clips: each analysed as `analyze` does one, one clip per worker process, into <out>/<clip name>/.

    Each clip's summary (or error line) is printed in the order given; ``--json`` gets a list of the
    reports; ``--save-trace`` is a folder that receives <clip name>.npz. The exit code is the first
    failing clip's (the other clips are still analysed).
    """
    import json
    import shutil
    import time

    from posecheck.runtime.clips import default_jobs, run_clips

    load_spec(exercise, specs)  # an unknown exercise fails once, before any worker starts
    names = [clip.stem for clip in clips]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"several clips are named {', '.join(twice)}: their outputs would overwrite each other")
    print_json_only = json_out == "-"
    root = out if out is not None else DEFAULT_OUT_ROOT
    prepare_output_folder(root)
    if save_trace is not None:
        prepare_output_folder(save_trace)
    if json_out and not print_json_only:
        check_writable_file(Path(json_out))
    workers = min(jobs or default_jobs(), len(clips))
    environ = {"COLUMNS": str(shutil.get_terminal_size().columns)}
    if "OPENCV_FFMPEG_LOGLEVEL" in os.environ:
        environ["OPENCV_FFMPEG_LOGLEVEL"] = os.environ["OPENCV_FFMPEG_LOGLEVEL"]
    summaries = sys.stderr if print_json_only else sys.stdout
    first_failure, reports = 0, []
    started = time.perf_counter()
    try:
        args = (exercise, specs, model, root, save_trace, write_video, verbosity(), no_history)
        for outcome in run_clips(_analyze_clip_in_worker, clips, args, jobs=workers, silence_native_stderr=verbosity() < 2,
                                 environ=environ):
            code, report = outcome.value
            summaries.write(outcome.stdout)
            sys.stderr.write(outcome.stderr)
            first_failure = first_failure or code
            if report is not None:
                reports.append(report)
    except KeyboardInterrupt:
        typer.echo(f"Interrupted ({stopping.describe()}): reports of the clips done so far are in {root}.", err=True)
        raise typer.Exit(stopping.exit_code()) from None
    typer.echo(f"Analysed {len(clips)} clips in {time.perf_counter() - started:.1f} s, {workers} at a time.",
               err=print_json_only)
    text = json.dumps(reports, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if print_json_only:
        sys.stdout.write(text)
        sys.stdout.flush()
    elif json_out:
        Path(json_out).write_text(text, encoding="utf-8")
    if first_failure:
        raise typer.Exit(first_failure)


def _analyze_clip_in_worker(clip: Path, exercise: str, specs: Path | None, model: Path | None, root: Path,
                            save_trace: Path | None, write_video: bool, verbose: int,
                            no_history: bool = False) -> tuple[int, dict | None]:
    """One clip of `_analyze_many`, in a worker process: (exit code, the report or None)."""
    import json

    global _verbosity
    _verbosity = verbose
    setup_logging(verbose)
    report_path = root / clip.stem / "report.json"
    report_path.unlink(missing_ok=True)  # an old report must not pass for this run's
    trace = save_trace / f"{clip.stem}.npz" if save_trace is not None else None
    try:
        analyze(videos=[clip], exercise=exercise, out=root / clip.stem, json_out=None, specs=specs, model=model,
                save_trace=trace, write_video=write_video, jobs=1, no_history=no_history)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        code = stopping.exit_code()
    except Exception as exc:  # noqa: BLE001 - this clip's error line; the other clips go on
        code = report_error(exc)
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
    return code, report


def _sinks(spec, out_dir: Path, save_trace: Path | None, write_video: bool, show_progress: bool) -> list:
    """The analysis's sinks. A trace recorder's metadata is filled in once the source is open."""
    from functools import partial

    from posecheck.sinks.render import annotate
    from posecheck.sinks.trace import TraceRecorderSink

    sinks: list = []
    if write_video:
        # Each frame comes fresh from the source and no later sink looks at its pixels: draw on it directly.
        from posecheck.sinks.h264 import annotated_video_sink  # H.264, which browsers play

        sinks.append(annotated_video_sink(out_dir / "annotated.mp4", partial(annotate, spec=spec, copy=False)))
    if save_trace is not None:
        sinks.append(TraceRecorderSink(save_trace))
    if show_progress:
        sinks.append(_ProgressSink(_stderr_console()))
    return sinks


def _show_progress() -> bool:
    return sys.stderr.isatty()


def _record_trace_meta(sinks: list, meta: dict) -> None:
    from posecheck.sinks.trace import TraceRecorderSink

    for sink in sinks:
        if isinstance(sink, TraceRecorderSink):
            sink.meta.update(meta)


def _analyze_video(video: Path, spec, model: Path | None, sinks: list):
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator, running_mode_for
    from posecheck.estimators.model import resolve_model
    from posecheck.sinks.report import SourceDescription
    from posecheck.runtime.session import run_session

    with VideoFileSource(video) as source:
        model_info = resolve_model(model)
        _record_trace_meta(sinks, {"source": video.name, "model": model_info.path.name,
                                   "model_sha256": model_info.sha256, "posecheck": __version__})
        mode = running_mode_for(source.info.fps)
        with quiet_native_stderr(), MediaPipeEstimator(model_info.path, running_mode=mode) as estimator:
            result = run_session(source, estimator, Engine(spec), sinks, exercise=spec.id)
        desc = SourceDescription(str(video), "video", (source.info.width, source.info.height), describe_model(model_info),
                                 people=estimator.people)
    return result, desc


def _analyze_trace(trace_path: Path, spec, sinks: list):
    from posecheck.engine.engine import Engine
    from posecheck.estimators.replay import ReplayEstimator
    from posecheck.sources.replay import TraceFrameSource
    from posecheck.sinks.report import SourceDescription
    from posecheck.runtime.session import run_session
    from posecheck.sinks.video import VideoWriterSink

    blank_frames = any(isinstance(sink, VideoWriterSink) for sink in sinks)  # a canvas to draw the skeleton on
    with TraceFrameSource.open(trace_path, blank_frames=blank_frames) as source:
        trace = source.trace
        recorded_model = {k: str(trace.meta[m]) for k, m in (("name", "model"), ("sha256", "model_sha256")) if m in trace.meta}
        model_desc = {**recorded_model, "origin": "trace"} if recorded_model else None
        _record_trace_meta(sinks, dict(trace.meta))
        with ReplayEstimator(trace) as estimator:
            result = run_session(source, estimator, Engine(spec), sinks, exercise=spec.id)
        desc = SourceDescription(str(trace_path), "trace", trace.frame_size, model_desc)
    return result, desc


class _ProgressSink:
    """A progress bar on stderr, advanced once per frame (a session sink)."""

    def __init__(self, console: "Console") -> None:
        self.console = console
        self._progress = None
        self._task = None

    def on_start(self, info) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("Analysing"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"), TimeRemainingColumn(),
            console=self.console, transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("analyse", total=info.frame_count or None)

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        self._progress.advance(self._task)

    def on_finish(self, summary) -> None:
        if self._progress is not None:
            self._progress.stop()


# ------------------------------------------------------------------------------------------------ models


@app.command()
def models(
    model: Annotated[Path | None, typer.Option("--model", help="Describe this .task file instead of the default model.")] = None,
    check: Annotated[bool, typer.Option("--check", help="Also load the model and run it once on a blank frame.")] = False,
) -> None:
    """Show which pose model is used: file, sha256, size and where it came from. Nothing is downloaded.

    Without --model (or $POSECHECK_MODEL), posecheck uses the BlazePose model shipped inside it (built from
    the mediapipe 0.10.21 wheel's tflite files, Apache-2.0) after checking its sha256.

    Example: posecheck models --check
    """
    from importlib.metadata import version

    from posecheck.estimators.model import MODEL_ENV_VAR, resolve_model

    info = resolve_model(model)
    origins = {
        "user": f"given by you (--model or ${MODEL_ENV_VAR})",
        "packaged": "shipped with posecheck, checksum verified (BlazePose full, Apache-2.0; see NOTICE.md beside it)",
    }
    rows = [
        ("model", str(info.path)),
        ("origin", origins.get(info.origin, info.origin)),
        ("sha256", info.sha256),
        ("size", f"{info.size_bytes / 1e6:.1f} MB"),
        ("mediapipe", version("mediapipe")),
    ]
    if check:
        rows.append(("check", _check_model(info.path)))
    # Plain lines, never wrapped or cut: paths and checksums must stay whole to be copied.
    for key, value in rows:
        typer.echo(f"{key + ':':<14}{value}")


def _check_model(path: Path) -> str:
    import numpy as np

    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator

    with quiet_native_stderr(), MediaPipeEstimator(path) as estimator:
        estimator.estimate(np.zeros((256, 256, 3), dtype=np.uint8), 0.0)
    return "loads and runs"


# ------------------------------------------------------------------------------------------------ samples

samples_app = typer.Typer(
    help="Sample clips (MIT, HonzaCzSk/polybag): list them, fetch them with checksum checks.\n\n"
    "Example: posecheck samples fetch cat_cow_01",
    no_args_is_help=True,
)
app.add_typer(samples_app, name="samples")


@samples_app.command("list")
def samples_list(
    dest: Annotated[Path | None, typer.Option("--dest", help="Folder to look for fetched clips. Default: posecheck's cache.")] = None,
) -> None:
    """List the sample clips, their exercise and expected count, and whether they were fetched.

    Example: posecheck samples list
    """
    from rich.console import Console
    from rich.table import Table

    from posecheck.samples import default_dest, load_manifest

    folder = dest or default_dest()
    table = Table()
    for column in ("name", "exercise", "expected reps", "fetched"):
        table.add_column(column)
    for sample in load_manifest().samples:
        path = folder / sample.filename
        expected = "?" if sample.expected_reps is None else str(sample.expected_reps)
        if sample.expected_hold:
            expected += f" + hold {sample.expected_hold[1] - sample.expected_hold[0]:.0f} s"
        table.add_row(sample.name, sample.exercise, expected, str(path) if path.is_file() else "no")
    Console().print(table)


@samples_app.command("fetch")
def samples_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Samples to fetch (default: all).", show_default=False)] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to put the clips. Default: posecheck's cache folder.")] = None,
    mirror: Annotated[
        Path | None,
        typer.Option("--mirror", help="Copy from this folder of <name>.mp4 files instead of downloading. Default: ../shared/videos beside the checkout, if present."),
    ] = None,
    no_mirror: Annotated[bool, typer.Option("--no-mirror", help="Always download, even if a mirror folder is found.")] = False,
) -> None:
    """Fetch sample clips (download or copy from a local mirror), verifying each sha256.

    Example: posecheck samples fetch cat_cow_01 --dest clips/
    """
    from posecheck.samples import default_dest, fetch, find_mirror, load_manifest

    chosen = load_manifest().select(names)
    folder = dest or default_dest()
    if mirror is not None and not mirror.is_dir():
        raise InputError(why_not_a_folder(mirror, "mirror folder"))
    found = None if (mirror is not None or no_mirror) else find_mirror()
    if found is not None:
        log.info("using the mirror folder %s where it has the clips", found)
    results = fetch(chosen, folder, mirror=mirror or found, mirror_optional=found is not None)
    for result in results:
        how = {"present": "already there", "mirror": "copied from the mirror", "download": "downloaded"}[result.how]
        typer.echo(f"{result.sample.name}: {result.path} ({how}, checksum ok)")


def main() -> None:
    """Runs the command line (`posecheck.__main__.main`, the ``posecheck`` script, handles the stop signals from
    the very start; here they are handled again for callers that come straight here)."""
    stopping.install()
    app(prog_name="posecheck")
