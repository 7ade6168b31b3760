"""``posecheck exercises``: list, show and validate exercise specs, and export their JSON Schema.

Registered lazily on the main app by `posecheck.cli` (LAZY_COMMANDS). Library errors (SpecError,
UnknownExerciseError...) propagate to the main app, which prints one ``Error: ...`` line per problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli import SpecsOption
from posecheck.errors import InputError, SpecError

app = typer.Typer(
    name="exercises",
    help="List, show and validate exercise specs (YAML).\n\nExample: posecheck exercises show cat-cow",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _target_text(spec) -> str:
    parts = []
    if spec.target.reps is not None:
        parts.append(f"{spec.target.reps} reps" + (" per side" if spec.target.per_side else ""))
    if spec.target.seconds is not None:
        parts.append(f"{spec.target.seconds:g} s hold" + (" per side" if spec.target.per_side and spec.target.reps is None else ""))
    return ", ".join(parts)


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
    name: Annotated[str, typer.Argument(help="Exercise id, e.g. cat-cow.", show_default=False)],
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
    echo(f"  file: {registry.path(name)}")
    if spec.routine:
        echo(f"  routine: {spec.routine}")
    echo(f"  target: {_target_text(spec)}")
    echo("")
    echo("How to do it:")
    for i, step in enumerate(spec.instructions, 1):
        echo(f"  {i}. {step}")
    if spec.tips:
        echo("Tips:")
        for tip in spec.tips:
            echo(f"  - {tip}")
    echo("")
    echo(f"Camera: {spec.setup.view} view" + (f" ({spec.setup.view_text})" if spec.setup.view_text else ""))
    if spec.setup.start:
        echo(f"Start: {spec.setup.start.text}")
    echo("Measures:")
    for measure_name, measure in spec.measures.items():
        side = measure.side + (f" ({measure.reduce})" if measure.reduce else "")
        about = f": {measure.description}" if measure.description else ""
        echo(f"  {measure_name}: {measure.kind} of {', '.join(measure.points)} [{measure.unit}, {side}]{about}")
    scale = " (fractions of your own range)" if spec.adaptive else ""
    echo(f"Phases of {spec.phases.measure}{scale}:")
    for phase, r in spec.phases.ranges.items():
        low = "" if r.min is None else f"{r.min:g}"
        high = "" if r.max is None else f"{r.max:g}"
        echo(f"  {phase}: {low}..{high}")
    if spec.reps:
        echo(f"A rep: {' -> '.join(spec.reps.sequence)}")
    if spec.sides:
        echo(f"Working side: {spec.sides.rule} {spec.sides.decide_by}")
    if spec.hold:
        where = ", ".join(spec.hold.phases or []) or "conditions"
        echo(f"Hold: in {where}" + (f", target {spec.target.seconds:g} s" if spec.target.seconds else ""))
    if spec.tempo:
        echo(f"Tempo cue: {spec.tempo.too_fast}")
    if spec.form:
        echo("Form cues:")
        for rule in spec.form:
            echo(f"  {rule.id} ({rule.severity}): {rule.cue}")


@app.command("validate")
def validate(
    files: Annotated[
        list[Path], typer.Argument(help="Spec files, or folders of them.", show_default=False)
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Also fail on numbers without a comment saying where they came from.")
    ] = False,
) -> None:
    """Check spec files: every problem is printed as file:line: field: problem.

    Exits 0 when all are valid, 4 otherwise. Numbers without a comment are warnings (errors with --strict).

    Example: posecheck exercises validate exercise_specs/
    """
    from posecheck.specs import check_spec_text, uncommented_numbers
    from posecheck.specs.loader import read_spec_text

    paths: list[Path] = []
    for item in files:
        if item.is_dir():
            paths += sorted(p for p in item.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith(("_", ".")))
        else:
            paths.append(item)
    if not paths:
        raise InputError("no spec files given (folders were empty)")
    problems: list[str] = []
    for path in paths:
        try:
            text = read_spec_text(path)
        except SpecError as exc:  # not UTF-8: that file's problem; the other files are still checked
            problems += exc.problems
            continue
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
    from posecheck.specs.schema import ExerciseSpec

    document = ExerciseSpec.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "posecheck exercise spec"
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {output}")
