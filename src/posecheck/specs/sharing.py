"""How specs share instead of copying: ``extends:`` (start from another spec) and ``use:`` (a named measure
from the measure library, ``exercise_specs/_measures.yaml``).

Both are resolved on the raw YAML mappings before validation, so the engine sees the same `ExerciseSpec` as
if every value had been written out. Every value keeps the file and line it was written at, so a problem in
an inherited value points at the parent's (or the library's) line.

Merging (the rules of JSON Merge Patch, RFC 7396, applied to YAML):
  - a mapping written in the child is merged key by key into the parent's mapping, at any depth;
  - any other value (a number, a text, a list) replaces the parent's value whole: lists are not merged;
  - ``key: null`` removes what the parent wrote under ``key`` (the field then takes its default, if any);
  - ``id`` is never inherited (a spec's id is its file name), nor is the parent's own ``extends``.

Pure module (reads files).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Callable

from posecheck.specs.builtin import builtin_specs_dir

FieldPath = tuple[str | int, ...]
#: (file, line) where a value was written.
Location = tuple[str, int]
Where = dict[FieldPath, Location]

#: The measure library's file name, in the built-in spec folder (a leading _ keeps it out of the registry).
LIBRARY_FILE = "_measures.yaml"
#: How many specs an ``extends`` chain may pass through (a -> b -> c is 2). The built-in families need 1; a
#: longer chain is hard to read, since every level may change any value.
MAX_EXTENDS_DEPTH = 3

#: parent id, the file that asks -> the parent's file, or None if there is no such spec.
FindParent = Callable[[str, Path], "Path | None"]


def copy_where(source: Where, prefix: FieldPath, target: Where, renamed: FieldPath | None = None) -> None:
    """Copies the locations of ``prefix`` and everything under it from ``source`` into ``target``
    (under ``renamed`` instead of ``prefix`` if given)."""
    size = len(prefix)
    for path, location in source.items():
        if path[:size] == prefix:
            target[(*(renamed if renamed is not None else prefix), *path[size:])] = location


def merge(parent: Any, child: Any, path: FieldPath, parent_where: Where, child_where: Where, where: Where) -> Any:
    """``child`` merged over ``parent`` (the rules in the module docstring); fills ``where`` for the result.

    The caller has already set ``where[path]``; keys keep the parent's order, new keys follow in the child's.
    """
    if not (isinstance(parent, dict) and isinstance(child, dict)):
        copy_where(child_where, path, where)
        return child
    merged: dict = {}
    for key in [*parent, *(k for k in child if k not in parent)]:
        sub = (*path, key)
        if key not in child:
            merged[key] = parent[key]
            copy_where(parent_where, sub, where)
        elif child[key] is None and key in parent:
            continue  # removed
        else:
            if sub in child_where:  # a key that came in through a YAML merge key (<<:) has no line of its own
                where[sub] = child_where[sub]
            merged[key] = merge(parent[key], child[key], sub, parent_where, child_where, where) if key in parent else child[key]
            if key not in parent:
                copy_where(child_where, sub, where)
    return merged


def default_find_parent(spec_id: str, asking: Path) -> Path | None:
    """The parent spec ``spec_id`` for a file read outside a registry: the file of that name next to the
    asking file, else the built-in one. A spec may extend the built-in spec of its own id (to adjust it):
    the asking file itself is skipped."""
    folders = [asking.parent] + ([builtin_specs_dir()] if builtin_specs_dir() is not None else [])
    candidates = [folder / f"{spec_id}{suffix}" for folder in folders for suffix in (".yaml", ".yml")]
    return next_after(asking, [c for c in candidates if c.is_file()])


def next_after(asking: Path, candidates: list[Path]) -> Path | None:
    """The first candidate, or the first after ``asking`` when ``asking`` is itself a candidate (in priority
    order): a spec that extends its own id means the spec of that id it replaces."""
    resolved = [c.resolve() for c in candidates]
    me = asking.resolve()
    if me in resolved:
        later = candidates[resolved.index(me) + 1 :]
        return later[0] if later else None
    return candidates[0] if candidates else None


def suggestion(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.8)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def resolve_uses(
    measures: Any, where: Where, library: dict[str, Any] | None, library_where: Where, library_name: str
) -> tuple[Any, list[tuple[FieldPath, str]], set[FieldPath]]:
    """``measures`` with every ``use: NAME`` replaced by the library's NAME merged under the local keys.

    Returns (measures, problems, paths of measures whose ``use`` failed: their other problems are noise).
    """
    if not isinstance(measures, dict):
        return measures, [], set()
    problems: list[tuple[FieldPath, str]] = []
    failed: set[FieldPath] = set()
    resolved: dict = {}
    for local, body in measures.items():
        path = ("measures", local)
        if not (isinstance(body, dict) and "use" in body):
            resolved[local] = body
            continue
        name = body["use"]
        if library is None:
            problems.append(((*path, "use"), f"there is no measure library ({library_name}) to take '{name}' from"))
            failed.add(path)
            resolved[local] = body
            continue
        if not isinstance(name, str) or name not in library:
            known = sorted(library)
            if isinstance(name, str):
                problem = f"unknown measure '{name}' in the measure library ({library_name}){suggestion(name, known)}"
            else:
                problem = f"use takes the name of a measure in the measure library ({library_name}), got {name!r}"
            problems.append(((*path, "use"), problem))
            failed.add(path)
            resolved[local] = body
            continue
        entry_where: Where = {}
        copy_where(library_where, ("measures", name), entry_where, renamed=path)
        local_fields = {key: value for key, value in body.items() if key != "use"}
        merged_where: Where = {}
        resolved[local] = merge(library[name], local_fields, path, entry_where, where, merged_where)
        for sub in [p for p in where if p[: len(path)] == path and len(p) > len(path)]:
            del where[sub]
        where.update(merged_where)
    return resolved, problems, failed
