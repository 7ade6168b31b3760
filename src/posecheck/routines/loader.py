"""Reading routine files: YAML -> validated `Routine`, or every problem as ``file:line: field: problem``.

The YAML is read by the exercise-spec loader's safe reader (duplicate keys, recursive or huge aliases and
runaway nesting refused, every key and list item located by line), so a routine file is checked exactly as
strictly as a spec. Beyond the schema, each exercise step's spec id must exist in the exercise registry, and
a per-side target needs an exercise that counts sides.

Pure module (PyYAML + pydantic; reads files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from posecheck.errors import InputError, SpecError
from posecheck.routines.schema import ExerciseStep, Routine
from posecheck.specs import loader as spec_loader

FieldPath = tuple[str | int, ...]


class RoutineError(SpecError):
    """A routine file is invalid; ``problems`` lists every problem (``file:line: field: problem``). Exit code 4,
    as for an invalid exercise spec."""


def _read(text: str, filename: str) -> tuple[Any, dict[FieldPath, int], int, list[str]]:
    """(data, field path -> line, top line, problems) of YAML text, read as safely as a spec."""
    loader = None
    try:
        loader = spec_loader._UniqueKeyLoader(text)
        too_deep = spec_loader._first_line_nested_too_deep(text)
        if too_deep:
            return None, {}, 1, [f"{filename}:{too_deep}: nested more than {spec_loader.MAX_NESTING} levels deep"]
        root = loader.get_single_node()
        refused = spec_loader._structure_problem(root) if root is not None else None
        if refused:
            return None, {}, 1, [f"{filename}:{refused[0]}: {refused[1]}"]
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        line, problem = spec_loader._yaml_problem(exc, text)
        return None, {}, 1, [f"{filename}:{line or 1}: not valid YAML: {problem}"]
    except RecursionError:
        return None, {}, 1, [f"{filename}:1: nested too deeply"]
    finally:
        if loader is not None:
            loader.dispose()
    top = root.start_mark.line + 1 if root is not None else 1
    if not isinstance(data, dict):
        return None, {}, top, [f"{filename}:{top}: a routine is a YAML mapping (id: ..., title: ..., sections: ...)"]
    problems = [f"{filename}:{line}: {key}: written twice (YAML would silently keep only the last value)"
                for line, key in loader.duplicates]
    return data, spec_loader._line_map(root), top, problems


def _schema_path(loc: tuple) -> FieldPath:
    """A pydantic error location as a path in the file: the step kind's tag after a step's index is dropped."""
    path: list[str | int] = []
    skip_tag = False
    for part in loc:
        if skip_tag:
            skip_tag = False
            if part in ("exercise", "guided"):
                continue
        path.append(part)
        if len(path) >= 2 and path[-2] == "steps" and isinstance(part, int):
            skip_tag = True
    return tuple(path)


def _schema_problems(exc: ValidationError) -> list[tuple[FieldPath, str]]:
    problems = []
    for error in exc.errors():
        path = _schema_path(tuple(error["loc"]))
        kind = error["type"]
        if kind == "extra_forbidden" and path:
            message = f"unknown key '{path[-1]}'"
        elif kind == "missing":
            message = "missing (required)"
        else:
            message = error["msg"].removeprefix("Value error, ")
            value = error.get("input")
            if kind not in ("value_error", "step_kind") and not isinstance(value, (dict, list)):
                message += f" (got {spec_loader._short(value)})"
        problems.append((path, message))
    return problems


def _registry_problems(routine: Routine, registry) -> list[tuple[FieldPath, str]]:
    """Exercise steps whose spec does not exist or cannot give what the step asks."""
    problems: list[tuple[FieldPath, str]] = []
    for s, section in enumerate(routine.sections):
        for i, step in enumerate(section.steps):
            if not isinstance(step, ExerciseStep):
                continue
            where: FieldPath = ("sections", s, "steps", i, "exercise")
            if step.exercise not in registry:
                close = registry.suggest(step.exercise)
                hint = f"; did you mean {' or '.join(close)}?" if close else " (see: posecheck exercises list)"
                problems.append((where, f"unknown exercise '{step.exercise}'{hint}"))
                continue
            try:
                spec = registry.load(step.exercise)
            except (SpecError, InputError) as exc:
                problems.append((where, f"the spec '{step.exercise}' is broken: {str(exc).splitlines()[0]}"))
                continue
            if step.per_side and spec.sides is None and not spec.target.per_side:
                problems.append((("sections", s, "steps", i, "per_side"),
                                 f"'{step.exercise}' does not tell sides apart: give the total reps without per_side"))
            if step.hold_seconds is not None and spec.hold is None:
                problems.append((("sections", s, "steps", i, "hold_seconds"),
                                 f"'{step.exercise}' times no hold (it counts reps): leave hold_seconds out"))
            if step.reps is not None and spec.reps is None:
                problems.append((("sections", s, "steps", i, "reps"),
                                 f"'{step.exercise}' counts no reps (it times a hold): use hold_seconds"))
    return problems


def check_routine_text(text: str, filename: str, registry=None) -> tuple[Routine | None, list[str]]:
    """Validates routine text. Returns (routine or None, problems as ``file:line: field: problem`` lines).

    Args:
        registry: the exercise registry the steps' spec ids are looked up in (default: the built-in specs and
            ``$POSECHECK_SPECS``).
    """
    data, lines, top, problems = _read(text, filename)
    if data is None:
        return None, problems

    def located(path: FieldPath, message: str) -> str:
        line = top
        for end in range(len(path), 0, -1):
            if path[:end] in lines:
                line = lines[path[:end]]
                break
        return f"{filename}:{line}: {spec_loader._dotted(path)}: {message}"

    found: list[tuple[FieldPath, str]] = []
    routine = None
    try:
        routine = Routine.model_validate(data)
    except ValidationError as exc:
        found += _schema_problems(exc)
    stem = Path(filename).stem
    if isinstance(data.get("id"), str) and data["id"] != stem:
        found.append((("id",), f"'{data['id']}' does not match the file name '{stem}' (routines are found by file name)"))
    if routine is not None:
        if registry is None:
            from posecheck.specs.registry import SpecRegistry

            registry = SpecRegistry.default()
        found += _registry_problems(routine, registry)
    found.sort(key=lambda problem: _line_for(lines, problem[0], top))
    problems += [located(path, message) for path, message in found]
    return (routine if not problems else None), problems


def _line_for(lines: dict[FieldPath, int], path: FieldPath, top: int) -> int:
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return top


def read_routine_text(path: Path) -> str:
    """The text of a routine file. Raises InputError (unreadable) or RoutineError (not UTF-8)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read routine {path}: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RoutineError([f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]) from None


def load_routine_file(path: str | Path, registry=None) -> Routine:
    """Reads and validates one routine file. Raises InputError or RoutineError (every problem listed)."""
    path = Path(path)
    routine, problems = check_routine_text(read_routine_text(path), str(path), registry)
    if problems or routine is None:
        raise RoutineError(problems)
    return routine
