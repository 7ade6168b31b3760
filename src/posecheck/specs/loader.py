"""Reading exercise specs: YAML -> validated `ExerciseSpec`, or every problem as ``file:line: field: problem``.

Pure module (PyYAML + pydantic; reads files).
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from posecheck.errors import InputError, SpecError
from posecheck.specs.checks import Path as FieldPath
from posecheck.specs.checks import check_references
from posecheck.specs.schema import ExerciseSpec


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys (PyYAML silently keeps the last one)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, typing.Hashable) and key in seen:
                self.duplicates.append((key_node.start_mark.line + 1, str(key)))
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _line_map(node: yaml.Node | None, path: FieldPath = ()) -> dict[FieldPath, int]:
    """Field path -> 1-based line where it is written (keys for mappings, items for sequences)."""
    lines: dict[FieldPath, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            lines.update(_line_map(value_node, child))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            lines.update(_line_map(item, child))
    return lines


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _unwrap(annotation: Any) -> list[Any]:
    """The types a field annotation can hold (Optional, unions and Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(path: FieldPath) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``path`` of a spec, if there is one."""
    current: list[Any] = [ExerciseSpec]
    for part in path:
        following: list[Any] = []
        for candidate in current:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                for name, field in candidate.model_fields.items():
                    if part in (name, field.alias):
                        following += _unwrap(field.annotation)
            elif typing.get_origin(candidate) in (dict, list):
                following += _unwrap(typing.get_args(candidate)[-1])
        current = following
    models = [c for c in current if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _pydantic_problems(exc: ValidationError) -> list[tuple[FieldPath, str]]:
    problems = []
    for error in exc.errors():
        path = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
        kind = error["type"]
        if kind == "extra_forbidden":
            model = _model_at(path[:-1])
            allowed = f" (allowed: {', '.join(_allowed_keys(model))})" if model else ""
            message = f"unknown key '{path[-1]}'{allowed}"
        elif kind == "missing":
            message = "missing (required)"
        else:
            message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
            if kind not in ("value_error", "assertion_error") and "input" in error and not isinstance(error["input"], (dict, list)):
                message += f" (got {error['input']!r})"
        problems.append((path, message))
    return problems


def check_spec_text(text: str, filename: str) -> tuple[ExerciseSpec | None, list[str]]:
    """Validates spec text. Returns (spec or None, problems as ``file:line: field: problem`` lines)."""
    loader = _UniqueKeyLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [f"{where}: not valid YAML: {problem}"]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return None, [f"{filename}: a spec is a YAML mapping (id: ..., title: ..., ...), got {type(data).__name__}"]
    lines = _line_map(root)

    def line_of(path: FieldPath) -> int:
        """The line of ``path``, or of its nearest written ancestor (a missing key has no line); 0 if none."""
        for end in range(len(path), 0, -1):
            if path[:end] in lines:
                return lines[path[:end]]
        return 0

    def where(path: FieldPath) -> str:
        line = line_of(path)
        return f"{filename}:{line}" if line else filename

    found: list[tuple[FieldPath, str]] = []
    # A duplicate key has no path of its own (the line map keeps the last one): report it at its line.
    duplicates = [(line, f"{filename}:{line}: {key}: written twice (YAML would silently keep only the last value)") for line, key in loader.duplicates]
    spec = None
    try:
        spec = ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        found += _pydantic_problems(exc)
    found += check_references(data)
    stem = Path(filename).stem
    if isinstance(data.get("id"), str) and data["id"] != stem:
        found.append((("id",), f"'{data['id']}' does not match the file name '{stem}' (the registry finds specs by file name)"))

    located = [(line_of(path), f"{where(path)}: {_dotted(path)}: {message}") for path, message in found]
    located += duplicates
    located.sort(key=lambda problem: problem[0])  # stable: file order, then discovery order
    problems = [text for _, text in located]
    return (spec if not problems else None), problems


def load_spec_file(path: str | Path) -> ExerciseSpec:
    """Reads and validates one spec file.

    Raises:
        InputError: the file cannot be read.
        SpecError: the spec is invalid; ``problems`` lists every problem found.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read spec {path}: {exc.strerror or exc}") from exc
    spec, problems = check_spec_text(text, str(path))
    if problems or spec is None:
        raise SpecError(problems)
    return spec


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def uncommented_numbers(text: str) -> list[tuple[int, str]]:
    """(line, number) of every number in a spec that carries no ``#`` comment saying where it came from.

    The comment may be on the same line, after the number, or on the line(s) just above it (a comment block
    explaining a group such as a phase's min and max counts for the lines it directly precedes).
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    source = text.splitlines()
    found: list[tuple[int, str]] = []

    def explained(line: int, end_column: int) -> bool:
        if "#" in source[line][end_column:]:
            return True
        above = line - 1
        return above >= 0 and source[above].lstrip().startswith("#")

    def walk(node: yaml.Node | None) -> None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _NUMBER_TAGS and not explained(node.start_mark.line, node.end_mark.column):
                found.append((node.start_mark.line + 1, node.value))
        elif isinstance(node, yaml.MappingNode):
            for _, value in node.value:
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    walk(root)
    return found
