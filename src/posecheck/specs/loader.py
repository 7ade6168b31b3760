"""Reading exercise specs: YAML -> validated `ExerciseSpec`, or every problem as ``file:line: field: problem``.

Pure module (PyYAML + pydantic; reads files).
"""

from __future__ import annotations

import functools
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from posecheck.errors import InputError, SpecError
from posecheck.specs.checks import Path as FieldPath
from posecheck.specs.checks import check_references
from posecheck.specs.schema import ExerciseSpec, MeasureLibrary
from posecheck.specs.sharing import (
    LIBRARY_FILE,
    MAX_EXTENDS_DEPTH,
    FindParent,
    Location,
    Where,
    default_find_parent,
    merge,
    resolve_uses,
)
from posecheck.specs.builtin import builtin_specs_dir


#: How deeply a spec may nest mappings and lists. The deepest built-in spec nests 5 levels; the limit keeps a
#: runaway nesting (or a mutation of one) from exhausting Python's recursion in the parser or the checks.
MAX_NESTING = 40
#: How many values a spec may expand to once its aliases are resolved (the largest built-in spec has about
#: 400): aliases of aliases can otherwise expand exponentially ("billion laughs").
MAX_VALUES = 20_000

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


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


def _structure_problem(root: yaml.Node) -> tuple[int, str] | None:
    """(line, problem) if the node graph is recursive, too deep or too large; else None.

    Also makes every plain scalar mapping key text: every key of a spec is a name, and a key that YAML would
    read as a number, a boolean or null (``1:``, ``true:``, ``null:``) is then reported as an unknown key or
    a bad name with the text the user wrote, rather than as a key of another type.
    """
    sizes: dict[int, int] = {}

    def walk(node: yaml.Node, depth: int, ancestors: set[int]) -> int:
        if id(node) in ancestors:
            raise _Refused(node, "an alias refers to the value that contains it (a recursive alias)")
        if depth > MAX_NESTING:
            raise _Refused(node, f"nested more than {MAX_NESTING} levels deep")
        if id(node) in sizes:
            return sizes[id(node)]
        size = 1
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            ancestors.add(id(node))
            children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
            if isinstance(node, yaml.MappingNode):
                for key_node, _ in node.value:
                    if not isinstance(key_node, yaml.ScalarNode):
                        raise _Refused(key_node, "a key must be a name, not a list or a mapping")
                    if key_node.tag not in (_STR_TAG, _MERGE_TAG):
                        key_node.tag = _STR_TAG
            for child in children:
                size += walk(child, depth + 1, ancestors)
                if size > MAX_VALUES:
                    raise _Refused(node, f"expands to more than {MAX_VALUES} values (aliases of aliases?)")
            ancestors.discard(id(node))
        sizes[id(node)] = size
        return size

    try:
        walk(root, 0, set())
    except _Refused as refused:
        return refused.node.start_mark.line + 1, refused.problem
    return None


class _Refused(Exception):
    def __init__(self, node: yaml.Node, problem: str):
        self.node, self.problem = node, problem


def _first_line_nested_too_deep(text: str) -> int | None:
    """The line where ``text`` nests more than MAX_NESTING levels deep, or None."""
    depth = 0
    # libyaml's parser, where PyYAML was built with it, is ten times faster than the pure-Python one.
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_NESTING:
                    return event.start_mark.line + 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1000 levels)
            mark = getattr(exc, "problem_mark", None)
            return mark.line + 1 if mark else 1
        return None  # a syntax error: the loader reports it in its own words
    return None


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """(line or 0, one-line problem) for a YAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return line, f"character #x{ord(character):04x} is not allowed in YAML ({exc.reason})"
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return (mark.line + 1 if mark else 0), " ".join(str(problem).split())


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


def _model_at(path: FieldPath, root: type[BaseModel] = ExerciseSpec) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``path`` of a spec (or of ``root``), if there is one."""
    current: list[Any] = [root]
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


def _data_path(data: Any, loc: tuple) -> FieldPath:
    """The path of the spec value a pydantic error location points at.

    pydantic puts the tags of union members (``function-after[...]``) and ``[key]`` into locations; only
    the parts that are keys or indices of the spec itself are kept (a key may itself contain ``[``).
    """
    path: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif isinstance(part, str) and "[" in part:
            continue  # a union member's tag, or "[key]"
        else:
            current = None  # a key that is missing from the spec
        path.append(part)
    return tuple(path)


#: Integers beyond this are refused wherever they are written: no count or time in a spec comes near, and
#: past 2**53 an integer no longer converts to a float exactly (past about 1e308, not at all).
MAX_INTEGER = 2**53


def _huge_integers(value: Any, path: FieldPath = ()) -> list[tuple[FieldPath, str]]:
    """Every integer in the raw spec too large to be a number the engine can use."""
    if isinstance(value, dict):
        return [problem for key, item in value.items() for problem in _huge_integers(item, (*path, key))]
    if isinstance(value, list):
        return [problem for i, item in enumerate(value) for problem in _huge_integers(item, (*path, i))]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INTEGER:
        return [(path, f"{_short(value)} is too large for a number")]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pydantic_problems(exc: ValidationError, data: dict, root: type[BaseModel] = ExerciseSpec) -> list[tuple[FieldPath, str]]:
    problems = []
    for error in exc.errors():
        path = _data_path(data, tuple(error["loc"]))
        kind = error["type"]
        value = error.get("input")
        if kind == "extra_forbidden" and path:
            model = _model_at(path[:-1], root)
            allowed = f" (allowed: {', '.join(_allowed_keys(model))})" if model else ""
            message = f"unknown key '{path[-1]}'{allowed}"
        elif kind == "missing":
            message = "missing (required)"
        elif kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
            message = f"{_short(value)} is too large for a number"
        else:
            message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
            if kind not in ("value_error", "assertion_error") and "input" in error and not isinstance(value, (dict, list)):
                message += f" (got {_short(value)})"
        problems.append((path, message))
    return problems


@dataclass
class _Document:
    """A spec file read into plain data, with the file and line of every key and list item."""

    filename: str
    data: Any
    where: Where
    top: Location


def _read_document(text: str, filename: str) -> tuple[_Document | None, list[tuple[Location, str]]]:
    """Parses YAML text safely: (document, problems as ((file, line), text)); the document is None when the
    text cannot be read as a mapping."""
    def refuse(line: int, problem: str) -> tuple[None, list[tuple[Location, str]]]:
        return None, [((filename, line), f"{filename}:{line}: {problem}")]

    try:
        loader = _UniqueKeyLoader(text)  # the reader refuses control characters here
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        return refuse(line, f"not valid YAML: {problem}")
    try:
        # The composer recurses once per nesting level (a RecursionError, slowly, past some hundreds of
        # levels); the parser's events tell the depth without recursing.
        too_deep = _first_line_nested_too_deep(text)
        if too_deep:
            return refuse(too_deep, f"nested more than {MAX_NESTING} levels deep")
        root = loader.get_single_node()
        refused = _structure_problem(root) if root is not None else None
        if refused:
            return refuse(*refused)
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        return refuse(line or loader.get_mark().line + 1, f"not valid YAML: {problem}")
    except RecursionError:  # a safety net: the depth check above comes first
        return refuse(loader.get_mark().line + 1, f"nested more than {MAX_NESTING} levels deep")
    finally:
        loader.dispose()
    top_line = root.start_mark.line + 1 if root is not None else 1
    if data is None:
        return refuse(top_line, "the file holds no spec (a YAML mapping: id: ..., title: ..., ...)")
    if not isinstance(data, dict):
        return refuse(top_line, f"a spec is a YAML mapping (id: ..., title: ..., ...), got {type(data).__name__}")
    where = {path: (filename, line) for path, line in _line_map(root).items()}
    # A duplicate key has no path of its own (the line map keeps the last one): report it at its line.
    duplicates = [
        ((filename, line), f"{filename}:{line}: {key}: written twice (YAML would silently keep only the last value)")
        for line, key in loader.duplicates
    ]
    return _Document(filename, data, where, (filename, top_line)), duplicates


def _resolve_extends(
    document: _Document, find_parent: FindParent, chain: tuple[Path, ...] = ()
) -> tuple[_Document | None, list[tuple[Location, str]]]:
    """``document`` merged over the spec it extends (recursively), or the problems that prevent it."""
    data = document.data
    if "extends" not in data:
        return document, []
    parent_id = data["extends"]
    location = document.where.get(("extends",), document.top)

    def refuse(problem: str) -> tuple[None, list[tuple[Location, str]]]:
        return None, [(location, f"{location[0]}:{location[1]}: extends: {problem}")]

    if not isinstance(parent_id, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", parent_id):
        return refuse(f"takes the id of another spec, e.g. extends: glute-bridge (got {_short(parent_id)})")
    me = Path(document.filename)
    parent_path = find_parent(parent_id, me)
    if parent_path is None:
        return refuse(f"no spec '{parent_id}' to extend (it is looked up next to this file, then among the built-in specs)")
    names = [*chain, me.resolve()]
    if parent_path.resolve() in names:
        cycle = " -> ".join(path.stem for path in [*names, parent_path])
        return refuse(f"'{parent_id}' extends this spec again ({cycle}): a spec cannot extend itself")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        path = " -> ".join(p.stem for p in [*names, parent_path])
        return refuse(f"more than {MAX_EXTENDS_DEPTH} levels of extends ({path}); extend a spec nearer the top")
    try:
        parent_text = read_spec_text(parent_path)
    except (InputError, SpecError) as exc:
        return refuse(f"cannot read the spec it extends: {exc}")
    parent, problems = _read_document(parent_text, str(parent_path))
    if parent is not None:
        parent, more = _resolve_extends(parent, find_parent, (*chain, me.resolve()))
        problems += more
    if parent is None:
        return None, problems + [(location, f"{location[0]}:{location[1]}: extends: '{parent_id}' ({parent_path}) is broken (its problems are listed with its file name)")]
    inherited = {key: value for key, value in parent.data.items() if key not in ("id", "extends")}
    where: Where = {}
    merged = merge(inherited, data, (), parent.where, document.where, where)
    return _Document(document.filename, merged, where, document.top), problems


@functools.lru_cache(maxsize=8)
def _library_at(path: Path, mtime_ns: int) -> tuple[dict | None, Where, tuple[str, ...]]:
    """The measure library in ``path``: (name -> raw measure, locations, problems). Cached per file version."""
    try:
        text = read_spec_text(path)
    except (InputError, SpecError) as exc:
        return None, {}, (f"{path}:1: cannot read the measure library: {exc}",)
    document, problems = _read_document(text, str(path))
    if document is None:
        return None, {}, tuple(problem for _, problem in problems)
    found = list(_huge_integers(document.data))
    try:
        MeasureLibrary.model_validate(document.data)
    except ValidationError as exc:
        found += _pydantic_problems(exc, document.data, MeasureLibrary)
    texts = [problem for _, problem in problems]
    texts += [f"{_where_text(document, path)}: {_dotted(path)}: {message}" for path, message in found]
    if texts:
        return None, {}, tuple(texts)
    return document.data["measures"], document.where, ()


def measure_library(path: Path | None = None) -> tuple[dict | None, Where, list[str]]:
    """The measure library (default: the built-in one): (name -> raw measure or None, locations, problems)."""
    if path is None:
        folder = builtin_specs_dir()
        if folder is None or not (folder / LIBRARY_FILE).is_file():
            return None, {}, []
        path = folder / LIBRARY_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        return None, {}, [f"{path}:1: cannot read the measure library: {exc.strerror or exc}"]
    library, where, problems = _library_at(path, mtime)
    return library, where, list(problems)


def _line_of(where: Where, path: FieldPath, top: Location) -> Location:
    """Where ``path`` is written, or its nearest written ancestor (a missing key has none); else the top."""
    for end in range(len(path), 0, -1):
        if path[:end] in where:
            return where[path[:end]]
    return top


def _where_text(document: _Document, path: FieldPath) -> str:
    file, line = _line_of(document.where, path, document.top)
    return f"{file}:{line}"


def check_spec_text(
    text: str, filename: str, find_parent: FindParent | None = None, library: Path | None = None
) -> tuple[ExerciseSpec | None, list[str]]:
    """Validates spec text. Returns (spec or None, problems as ``file:line: field: problem`` lines).

    Args:
        find_parent: finds the file of the spec an ``extends:`` names (default: next to ``filename``, then the
            built-in specs).
        library: the measure library ``use:`` names refer to (default: the built-in ``_measures.yaml``).
    """
    def in_order(located: list[tuple[Location, str]]) -> list[str]:
        # Stable: this file's problems in file order, then those in the files it extends or uses.
        located.sort(key=lambda problem: (problem[0][0] != filename, problem[0][0], problem[0][1]))
        return [text for _, text in located]

    document, early = _read_document(text, filename)
    if document is None:
        return None, in_order(early)
    document, more = _resolve_extends(document, find_parent or default_find_parent)
    early += more
    if document is None:
        return None, in_order(early)
    data = document.data

    found: list[tuple[FieldPath, str]] = []
    failed_uses: set[FieldPath] = set()
    if isinstance(data.get("measures"), dict) and any(isinstance(m, dict) and "use" in m for m in data["measures"].values()):
        entries, library_where, library_problems = measure_library(library)
        if library_problems:
            return None, in_order(early) + library_problems
        library_name = str(library) if library is not None else LIBRARY_FILE
        data["measures"], use_problems, failed_uses = resolve_uses(data["measures"], document.where, entries, library_where, library_name)
        found += use_problems
    spec = None
    found += _huge_integers(data)
    try:
        spec = ExerciseSpec.model_validate(data)
    except ValidationError as exc:
        reported = {path for path, _ in found}
        found += [
            problem
            for problem in _pydantic_problems(exc, data)
            if problem[0] not in reported and not any(problem[0][: len(f)] == f for f in failed_uses)
        ]
    found += [problem for problem in check_references(data) if not any(problem[0][: len(f)] == f for f in failed_uses)]
    stem = Path(filename).stem
    if isinstance(data.get("id"), str) and data["id"] != stem:
        found.append((("id",), f"'{data['id']}' does not match the file name '{stem}' (the registry finds specs by file name)"))

    located = [(_line_of(document.where, path, document.top), f"{_where_text(document, path)}: {_dotted(path)}: {message}") for path, message in found]
    problems = in_order(located + early)
    return (spec if not problems else None), problems


def read_spec_text(path: str | Path) -> str:
    """The text of a spec file.

    Raises:
        InputError: the file cannot be read.
        SpecError: it is not UTF-8 text (``file:line: problem``).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read spec {path}: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError([f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]) from None


def load_spec_file(path: str | Path, find_parent: FindParent | None = None) -> ExerciseSpec:
    """Reads and validates one spec file.

    Raises:
        InputError: the file cannot be read.
        SpecError: the spec is invalid; ``problems`` lists every problem found.
    """
    path = Path(path)
    spec, problems = check_spec_text(read_spec_text(path), str(path), find_parent)
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
        if _first_line_nested_too_deep(text):
            return []
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):  # check_spec_text reports these
        return []
    source = text.splitlines()
    found: list[tuple[int, str]] = []

    def explained(line: int, end_column: int) -> bool:
        if "#" in source[line][end_column:]:
            return True
        above = line - 1
        return above >= 0 and source[above].lstrip().startswith("#")

    visited: set[int] = set()

    def walk(node: yaml.Node | None) -> None:
        if id(node) in visited:  # an alias: its numbers were seen at the anchor (and it may be recursive)
            return
        visited.add(id(node))
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
