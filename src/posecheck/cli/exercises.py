"""``posecheck exercises``: list, show and validate exercise specs, and export their JSON Schema.

Registered lazily on the main app by `posecheck.cli.app` (LAZY_COMMANDS). Library errors (SpecError,
UnknownExerciseError...) propagate to the main app, which prints one ``Error: ...`` line per problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli.common import SpecsOption, complete_exercise_id, verbosity, yaml_files
from posecheck.errors import InputError, SpecError

app = typer.Typer(
    name="exercises",
    help="List, show and validate exercise specs (YAML).\n\nExample: posecheck exercises show cat-cow",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _count(n: float, unit: str) -> str:
    """``1 rep``, ``10 reps``, ``30-second hold``... for people, not ``1 reps``."""
    return f"{n if isinstance(n, int) else format(n, 'g')} {unit}" + ("" if n == 1 else "s")


def _target_text(spec) -> str:
    parts = []
    per_side = " per side" if spec.target.per_side else ""
    if spec.target.reps is not None:
        parts.append(_count(spec.target.reps, "rep") + per_side)
    if spec.target.seconds is not None:
        parts.append(f"a {spec.target.seconds:g}-second hold" + (per_side if spec.target.reps is None else ""))
    return ", ".join(parts)


def _words(name: str) -> str:
    """A spec name for people: ``cow_or_flat`` -> ``cow or flat``."""
    return name.replace("_", " ")


@app.command("list")
def list_exercises(specs: SpecsOption = None) -> None:
    """List the known exercises: id, what is counted, target and title.

    Example: posecheck exercises list --specs my_specs/
    """
    from posecheck.specs import SpecRegistry

    registry = SpecRegistry.default(specs)
    rows = []
    broken = 0
    for spec_id in registry.ids():
        try:
            spec = registry.load(spec_id)
        except (SpecError, InputError) as exc:  # a broken or unreadable spec is listed as such; the rest go on
            broken += 1
            first_problem = str(exc).splitlines()[0] if str(exc) else "unreadable"
            rows.append((spec_id, "-", "-", f"(broken: {first_problem})"))
            continue
        rows.append((spec_id, spec.kind, _target_text(spec), spec.title))
    if not rows:
        typer.echo("No exercise specs found.")
        return
    widths = [max(len(row[i]) for row in rows + [("id", "counts", "target", "title")]) for i in range(3)]
    typer.echo(f"{'id':<{widths[0]}}  {'counts':<{widths[1]}}  {'target':<{widths[2]}}  title")
    for row in rows:
        typer.echo(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}")
    if broken:
        typer.echo(f"Warning: {broken} spec(s) broken (see above; details: posecheck exercises validate FILE)", err=True)


@app.command("show")
def show_exercise(
    name: Annotated[str, typer.Argument(metavar="EXERCISE", autocompletion=complete_exercise_id, help="Exercise id, e.g. cat-cow.", show_default=False)],
    specs: SpecsOption = None,
) -> None:
    """Show one exercise: how to do it, what posecheck measures, counts and cues.

    Example: posecheck exercises show cat-cow
    """
    from posecheck.specs import SpecRegistry

    registry = SpecRegistry.default(specs)
    spec = registry.load(name)
    echo = typer.echo
    echo(f"{spec.title} ({spec.id})")
    echo(f"  {spec.description}")
    echo(f"  Target: {_target_text(spec)}")
    echo("")
    echo("How to do it:")
    for i, step in enumerate(spec.instructions, 1):
        echo(f"  {i}. {step}")
    if spec.tips:
        echo("Tips:")
        for tip in spec.tips:
            echo(f"  - {tip}")
    echo("")
    view = {"side": "from the side", "front": "from the front", "any": "from any side"}[spec.setup.view]
    echo(f"Camera: {view}." + (f" {spec.setup.view_text}" if spec.setup.view_text else ""))
    if spec.setup.start:
        echo(f"To start: {spec.setup.start.text}")
    if spec.reps:
        side = ", one side at a time" if spec.sides or spec.target.per_side else ""
        echo(f"One rep: {' -> '.join(_words(phase) for phase in spec.reps.sequence)}{side}.")
    if spec.hold:
        where = " or ".join(_words(phase) for phase in spec.hold.phases or []) or "the position"
        target = f", aiming for {spec.target.seconds:g} seconds" if spec.target.seconds else ""
        echo(f"Hold: the timer runs while you stay in {where}{target}.")
    watched = [m.description for m in spec.measures.values() if m.description]
    if watched:
        echo("What posecheck watches:")
        for description in watched:
            echo(f"  - {description}")
    cues = [rule.cue for rule in spec.form] + ([spec.tempo.too_fast] if spec.tempo else [])
    if cues:
        echo("What it may tell you:")
        for cue in cues:
            echo(f"  - {cue}")
    if verbosity() >= 1:  # for spec authors: where the spec comes from and its phase ranges
        echo("")
        echo(f"Spec file: {registry.path(name)}" + (f" (extends {spec.extends})" if spec.extends else ""))
        scale = " (fractions of your own range)" if spec.adaptive else f" ({spec.measures[spec.phases.measure].unit})"
        echo(f"Phases of {spec.phases.measure}{scale}:")
        for phase, r in spec.phases.ranges.items():
            low = "" if r.min is None else f"{r.min:g}"
            high = "" if r.max is None else f"{r.max:g}"
            echo(f"  {phase}: {low}..{high}")


@app.command("validate")
def validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE|DIR", help="Spec files, or folders of them.", show_default=False)
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Also fail on numbers without a comment saying where they came from.")
    ] = False,
) -> None:
    """Check spec files: every problem is printed as file:line: field: problem.

    Exits 0 when all are valid, 4 otherwise. Numbers without a comment are warnings (errors with --strict).
    Folders are checked without their files starting with _; the measure library (exercise_specs/_measures.yaml)
    is checked as a library when named.

    Example: posecheck exercises validate exercise_specs/
    """
    from posecheck.specs import check_spec_text, uncommented_numbers
    from posecheck.specs.loader import measure_library, read_spec_text
    from posecheck.specs.sharing import LIBRARY_FILE

    paths = yaml_files(files)
    if not paths:
        raise InputError("no spec files given (folders were empty)")
    problems: list[str] = []
    for path in paths:
        try:
            text = read_spec_text(path)
        except SpecError as exc:  # not UTF-8: that file's problem; the other files are still checked
            problems += exc.problems
            continue
        if path.name == LIBRARY_FILE:  # the measure library, given by name: checked as a library, not a spec
            found = measure_library(path)[2]
        else:
            _, found = check_spec_text(text, str(path))
        lint = [f"{path}:{line}: number {value} has no comment saying where it came from" for line, value in uncommented_numbers(text)]
        if strict:
            found += lint
        else:
            for warning in lint:
                typer.echo(f"Warning: {warning}", err=True)
        if found:
            problems += found
        else:
            typer.echo(f"ok: {path}")
    if problems:
        raise SpecError(problems)


@app.command("schema")
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False)
    ] = None,
) -> None:
    """Print the JSON Schema of exercise specs (for editor completion and checks).

    Example: posecheck exercises schema -o exercise-spec.schema.json
    """
    from posecheck.specs.schema import authoring_json_schema

    document = authoring_json_schema()
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {output}")
