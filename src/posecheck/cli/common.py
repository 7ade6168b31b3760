"""What several commands share: their common options, the verbosity, logging, errors as one line, output
folders, and the printed summary of a report.

Command modules import this module, never `posecheck.cli.app` (which imports them, lazily): no import cycle.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posecheck.errors import InputError, PosecheckError, why_not_a_folder

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

log = logging.getLogger(__name__)

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it; after SIGTERM 143 and after SIGHUP 129
#: (`posecheck.runtime.stopping.exit_code` gives the one that applies).
EXIT_INTERRUPTED = 130
#: An error nothing in posecheck expected: an OSError (a full disk while writing a report), or a bug.
EXIT_UNEXPECTED = 1
DEFAULT_OUT_ROOT = Path("posecheck-out")


# ------------------------------------------------------------------------------------------------ errors


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


def print_error(exc: PosecheckError) -> None:
    """One ``Error: ...`` line per problem on stderr: an error can list several, one per line (SpecError)."""
    for problem in str(exc).splitlines() or ["unknown problem"]:
        typer.echo(f"Error: {problem}", err=True)


# ------------------------------------------------------------------------------------------------ verbosity

_verbosity = 0


def verbosity() -> int:
    """How many -v were given (0 = warnings only)."""
    return _verbosity


def set_verbosity(verbose: int) -> None:
    """Notes how many -v were given (the root command's callback; a worker process for its clip)."""
    global _verbosity
    _verbosity = verbose


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


def show_progress() -> bool:
    """A progress bar is drawn only on a terminal (never into a log file or a pipe)."""
    return sys.stderr.isatty()


def stderr_console() -> "Console":
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
# The voice (live, routine): espeak-ng's rate limits are repeated here rather than imported, so that --help does not
# import the voice; tests/test_voice.py checks they agree.
VoiceOption = Annotated[
    bool | None,
    typer.Option(
        "--voice/--no-voice",
        help="Speak the exercise's name, 'begin', the counts, hold countdowns, cues and 'well done' (espeak-ng, offline). "
        "Default: on with a camera and a window; off with --source or --headless (clips, scripts, CI).",
        show_default=False,
    ),
]
VoiceRateOption = Annotated[
    int | None,
    typer.Option("--voice-rate", metavar="WPM", min=80, max=450,
                 help="Speaking rate in words per minute (turns the voice on). Default: 150, calm.", show_default=False),
]
VoiceNameOption = Annotated[
    str | None,
    typer.Option("--voice-name", metavar="NAME",
                 help="espeak-ng voice, e.g. en-gb or en+f3 (list: espeak-ng --voices; turns the voice on). Default: espeak-ng's.",
                 show_default=False),
]


def open_speaker(voice: bool | None, rate: int | None, name: str | None, *, default: bool):
    """The session's `posecheck.sinks.voice.Speaker` from the voice options (`VoiceOption` and the two after it).

    ``voice`` None means the command's ``default``, unless a rate or a voice name was given: asking for a voice
    means wanting one. Missing espeak-ng or audio device: one warning and a silent speaker.

    Raises:
        InputError: espeak-ng has no voice ``name``.
    """
    from posecheck.sinks.voice import Speaker

    enabled = voice if voice is not None else (default or rate is not None or name is not None)
    return Speaker.open(enabled=enabled, rate=rate, voice=name)


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
    from posecheck.api import load_spec as load

    return load(exercise, specs)


def yaml_files(items: list[Path]) -> list[Path]:
    """The files given, with each folder replaced by its ``.yaml``/``.yml`` files (not those starting with _ or .:
    the measure library, editors' files), sorted."""
    paths: list[Path] = []
    for item in items:
        if item.is_dir():
            paths += sorted(p for p in item.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(("_", ".")))
        else:
            paths.append(item)
    return paths


def refuse_same_names(clips: list[Path]) -> None:
    """Clips are written to ``<out>/<clip name>/``: two clips of one name would overwrite each other's outputs."""
    names = [clip.stem for clip in clips]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InputError(f"several clips are named {', '.join(twice)}: their outputs would overwrite each other")


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


