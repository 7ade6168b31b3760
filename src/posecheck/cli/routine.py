"""``posecheck routine``: list, show, validate and run guided routines, and export their JSON Schema.

Registered lazily on the main app by `posecheck.cli.app` (LAZY_COMMANDS). The work is done by
`posecheck.routines` (files, runner, report); each exercise step is a live session through the one wiring.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli import common as cli
from posecheck.cli.common import (
    ModelOption,
    NoHistoryOption,
    SpecsOption,
    VoiceNameOption,
    VoiceOption,
    VoiceRateOption,
)
from posecheck.errors import InputError
from posecheck.routines.runner import DEFAULT_COUNTDOWN_S
from posecheck.runtime import stopping

app = typer.Typer(
    name="routine",
    help="Guided routines: several exercises in a row, each counted live, with guided steps between.\n\n"
    "Example: posecheck routine run desk-break --camera 0",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

RoutinesOption = Annotated[
    Path | None,
    typer.Option("--routines", help="Also use the routines in this folder (same ids replace the built-in ones).", show_default=False),
]
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")


def complete_routine_id(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of a routine id: the built-in ones and --routines's if given before."""
    from posecheck.errors import PosecheckError
    from posecheck.routines.registry import RoutineRegistry

    for folder in ((ctx.params or {}).get("routines"), None):  # a wrong --routines: complete the built-in ids
        try:
            return [name for name in RoutineRegistry.default(folder).ids() if name.startswith(incomplete.lower())]
        except (PosecheckError, OSError):
            continue
    return []


def _registry(routines: Path | None, specs: Path | None):
    from posecheck.routines.registry import RoutineRegistry
    from posecheck.specs.registry import SpecRegistry

    return RoutineRegistry.default(routines, SpecRegistry.default(specs))


@app.command("list")
def list_routines(routines: RoutinesOption = None, specs: SpecsOption = None) -> None:
    """List the routines: id, title, steps and minutes.

    Example: posecheck routine list
    """
    from posecheck.errors import PosecheckError
    from posecheck.routines.schema import ExerciseStep

    registry = _registry(routines, specs)
    broken = 0
    for routine_id in registry.ids():
        try:
            routine = registry.load(routine_id)
        except PosecheckError as exc:
            broken += 1
            typer.echo(f"{routine_id:22} BROKEN: {str(exc).splitlines()[0]}")
            continue
        steps = routine.steps()
        counted = sum(1 for _, step in steps if isinstance(step, ExerciseStep))
        minutes = f", {routine.minutes:g} min" if routine.minutes else ""
        typer.echo(f"{routine_id:22} {routine.title} ({len(steps)} steps, {counted} counted{minutes})")
    if broken:
        typer.echo(f"Warning: {broken} routine(s) are broken; run posecheck routine validate for every problem", err=True)


@app.command("show")
def show_routine(
    name: Annotated[str, typer.Argument(metavar="ROUTINE", autocompletion=complete_routine_id, help="Routine id (see: posecheck routine list) or a .yaml file.", show_default=False)],
    routines: RoutinesOption = None,
    specs: SpecsOption = None,
) -> None:
    """Show a routine: its sections and numbered steps with their targets (the numbers --keys uses).

    Example: posecheck routine show back-care-15
    """
    from posecheck.routines.runner import describe_target, step_spec
    from posecheck.routines.schema import ExerciseStep

    registry = _registry(routines, specs)
    routine = registry.load(name)
    typer.echo(f"{routine.title}" + (f" ({routine.minutes:g} min)" if routine.minutes else ""))
    typer.echo(routine.description)
    if routine.source:
        typer.echo(f"From: {routine.source}")
    number = 0
    for section in routine.sections:
        typer.echo("")
        typer.echo(section.name + (f" ({section.minutes:g} min)" if section.minutes else ""))
        for step in section.steps:
            number += 1
            if isinstance(step, ExerciseStep):
                spec = step_spec(registry.specs.load(step.exercise), step)
                typer.echo(f"  {number:2}. {step.name or spec.title} [{step.exercise}]: {describe_target(step, spec)}")
            else:
                why = f" ({step.why_guided})" if step.why_guided else ""
                typer.echo(f"  {number:2}. {step.guided} [guided{why}]: {describe_target(step)}")


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE|DIR", help="Routine files, or folders of them.", show_default=False)],
    specs: SpecsOption = None,
) -> None:
    """Check routine files: every problem is printed as file:line: field: problem (exit 4).

    Every exercise step's spec id must exist (built-in specs, $POSECHECK_SPECS, --specs).

    Example: posecheck routine validate routines/
    """
    from posecheck.errors import SpecError
    from posecheck.routines.loader import check_routine_text, read_routine_text
    from posecheck.specs.registry import SpecRegistry

    specs_registry = SpecRegistry.default(specs)
    paths = cli.yaml_files(files)
    if not paths:
        raise InputError("no routine files given (folders were empty)")
    problems: list[str] = []
    for path in paths:
        try:
            _, found = check_routine_text(read_routine_text(path), str(path), specs_registry)
        except SpecError as exc:
            found = exc.problems
        if found:
            problems += found
        else:
            typer.echo(f"ok: {path}")
    if problems:
        from posecheck.routines.loader import RoutineError

        raise RoutineError(problems)


@app.command("schema")
def schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False)] = None,
) -> None:
    """Print the JSON Schema of routine files (for editor completion and checks).

    Example: posecheck routine schema -o routine.schema.json
    """
    from posecheck.routines.schema import routine_json_schema

    text = json.dumps(routine_json_schema(), indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {output}")


def _clips(sources: list[Path]) -> list[Path]:
    """The clips of ``--source``, folders replaced by their videos (sorted by name), in order."""
    clips: list[Path] = []
    for path in sources:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"folder {path} holds no video files ({', '.join(VIDEO_SUFFIXES)})")
            clips += found
        elif not path.is_file():
            raise InputError(f"cannot open video {path}: no such file")
        else:
            if path.suffix.lower() == ".npz":
                raise InputError(f"{path} is a landmark trace; routine run plays videos like a camera")
            clips.append(path)
    return clips


def _step_numbers(text: str, count: int) -> set[int]:
    """The step numbers of ``--steps`` ("4,9-10"), each checked against the routine's ``count`` steps."""
    numbers: set[int] = set()
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise InputError(f"--steps: '{part.strip()}' is not a step number or a range such as 9-10") from None
        if not 1 <= low <= high <= count:
            raise InputError(f"--steps: '{part.strip()}' is not within the routine's steps 1-{count}")
        numbers.update(range(low, high + 1))
    return numbers


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(metavar="ROUTINE", autocompletion=complete_routine_id, help="Routine id (see: posecheck routine list) or a .yaml file.", show_default=False)],
    camera: Annotated[int, typer.Option("--camera", help="Camera index (0 = the default camera).")] = 0,
    source: Annotated[
        list[Path] | None,
        typer.Option("--source", help="Play videos as if they were the camera, one per exercise step in order: "
                     "repeat --source for each clip, or give a folder (its videos sorted by name).", show_default=False),
    ] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No window: follow the routine in the terminal.")] = False,
    keys: Annotated[
        str | None,
        typer.Option("--keys", help="Scripted keys STEP:KEY@SECONDS,... e.g. '2:n@3.5,4:h@10' (README: posecheck routine).", show_default=False),
    ] = None,
    steps_option: Annotated[
        str | None,
        typer.Option("--steps", help="Run only these steps, as routine show numbers them: e.g. 4,9-10.", show_default=False),
    ] = None,
    countdown: Annotated[int, typer.Option("--countdown", min=0, max=30, help="Seconds of countdown before each step.")] = DEFAULT_COUNTDOWN_S,
    mirror: Annotated[
        bool | None,
        typer.Option("--mirror/--no-mirror", help="Show the picture mirrored. Default: mirrored for a camera, not for --source.", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder. Default: ./posecheck-out/routine-<id>-<date-time>/", show_default=False),
    ] = None,
    routines: RoutinesOption = None,
    specs: SpecsOption = None,
    model: ModelOption = None,
    no_history: NoHistoryOption = False,
    voice: VoiceOption = None,
    voice_rate: VoiceRateOption = None,
    voice_name: VoiceNameOption = None,
) -> None:
    """Run a routine: each step announced with a countdown, each exercise counted live, guided steps timed.

    Keys in the window: n next step, b back, r repeat the step, h this hurts (stops the exercise and notes it),
    space pause, q quit. Each step moves on by itself when its target is reached, its time box is over or its
    clip ends. The routine's report (report.json, report.html) and each exercise's reports (steps/) are saved.

    Example: posecheck routine run desk-break --source seated_cat_cow.mp4 --source seated_side_bend.mp4 --headless
    """
    from posecheck.routines.keys import KeyScript, parse_key_script
    from posecheck.routines.report import build_routine_report, write_routine_report
    from posecheck.routines.runner import RoutineRunner
    from posecheck.routines.schema import ExerciseStep
    from posecheck.runtime import wiring

    registry = _registry(routines, specs)
    routine = registry.load(name)
    steps = routine.steps()
    only = _step_numbers(steps_option, len(steps)) if steps_option else None
    exercise_steps = sum(1 for number, (_, step) in enumerate(steps, start=1)
                         if isinstance(step, ExerciseStep) and (only is None or number in only))
    clips = _clips(source) if source else None
    if clips is not None and len(clips) != exercise_steps:
        chosen = " chosen" if only is not None else ""
        raise InputError(f"--source: {routine.id} has {exercise_steps}{chosen} exercise steps and {len(clips)} clips "
                         "were given; give one clip per exercise step, in order (posecheck routine show lists them)")
    script = KeyScript(parse_key_script(keys, len(steps))) if keys else None
    out_dir = out if out is not None else cli.DEFAULT_OUT_ROOT / f"routine-{routine.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not headless:
        from posecheck.runtime.live import require_display

        require_display()
    # As in live: spoken by default in front of a camera with a window (someone lying on a mat, away from the
    # screen), quiet with clips or --headless unless asked; an unknown voice is an error before anything ran.
    speaker = cli.open_speaker(voice, voice_rate, voice_name, default=clips is None and not headless)
    cli.prepare_output_folder(out_dir)

    def open_input(step_number: int, ordinal: int):
        if clips is not None:
            return wiring.open_video(clips[ordinal], model=model, paced=True)
        return wiring.open_camera(camera, model=model)

    runner = RoutineRunner(routine, registry.specs, open_input, out_dir, window=not headless, keys=script,
                           countdown=countdown, history=not no_history,
                           speaker=speaker if speaker.active else None,
                           mirror=(clips is None) if mirror is None else mirror, only=only)
    interrupted = False
    with cli.quiet_native_stderr(), speaker:
        try:
            runner.run()
        except KeyboardInterrupt:  # a second Ctrl-C: save what was done
            interrupted = True
            runner.ended_by = stopping.describe() if stopping.received() is not None else "Ctrl-C"
    report = build_routine_report(runner)
    written = write_routine_report(report, out_dir)
    totals = report["totals"]
    chosen = f"{len(report['selected'])} chosen" if only is not None else str(totals["steps"])
    typer.echo(f"\n{routine.title}: {totals['completed']} of {chosen} steps completed, "
               f"{totals['skipped']} skipped, {totals['pain']} with pain noted; {totals['reps']} reps, "
               f"{totals['hold_seconds']:.0f} s held. Ended: {report['ended_by']}.", err=True)
    for path in written:
        typer.echo(f"Saved {path}", err=True)
    if interrupted or stopping.received() is not None:
        raise typer.Exit(stopping.exit_code())
