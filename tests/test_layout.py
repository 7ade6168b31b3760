"""The package's modules import each other without cycles, so that the folders can follow the flow
(frames -> poses -> measures -> phases/reps/holds -> cues -> sinks) and any module can be read, tested and
imported after the ones it depends on.

The graph is built from the source text with `ast`, not by importing: every ``import`` and ``from ... import``
counts, at module level and inside functions alike. An import inside a function hides a cycle from Python's
import machinery, not from the design (and it breaks the day someone moves it to the top of the file). So does
a lazy reference in entry-point notation, ``"posecheck.cli.live:app"`` (what the CLI's lazy command group
imports by name): it counts as an import of that module.
"""

from __future__ import annotations

import ast
import re
import textwrap
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "posecheck"

def module_name(path: Path, package_dir: Path) -> str:
    """``src/posecheck/runtime/session.py`` -> ``posecheck.runtime.session`` (a package's ``__init__``
    is the package itself)."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_names(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute dotted names an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        # Relative: level 1 is the module's own package (a package's __init__ is its own package).
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    # `from a.b import c`: c is either the module a.b.c or a name defined in a.b (`_resolve` tells which).
    return [base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names]


#: ``"package.module:attribute"``, the entry-point notation for "import this module later, take this name".
_LAZY_REFERENCE = re.compile(r"([A-Za-z_][\w.]*):[A-Za-z_]\w*")


def _resolve(name: str, modules: set[str]) -> str | None:
    """The package module ``name`` refers to: itself, or its longest prefix that is a module (a name defined
    in a module); None for names outside the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """Module -> the package modules it imports (anywhere in its source), for every module of the package."""
    files = {module_name(path, package_dir): path for path in sorted(package_dir.rglob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str | None] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported_names(node, module, path.name == "__init__.py"):
                    targets.add(_resolve(name, modules))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                lazy = _LAZY_REFERENCE.fullmatch(node.value)
                if lazy and lazy.group(1) in modules:
                    targets.add(lazy.group(1))
        targets.discard(None)
        targets.discard(module)
        graph[module] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports (``[a, b, ..., a]``), or None."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(reversed(error.args[1]))  # graphlib lists it against the import direction
    return None


# ------------------------------------------------------------------------------------------------ the tests


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_graph_has_every_module_and_the_loop_s_imports():
    graph = import_graph()
    assert set(graph) == {module_name(path, PACKAGE_DIR) for path in PACKAGE_DIR.rglob("*.py")}
    assert {"posecheck.runtime.pipeline", "posecheck.runtime.protocols"} <= graph["posecheck.runtime.session"]
    # (Function-level imports and the other forms are checked on small made-up packages below.)


def _write_package(root: Path, files: dict[str, str]) -> Path:
    package_dir = root / "pkg"
    for name, text in files.items():
        path = package_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return package_dir


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    package_dir = _write_package(tmp_path, {
        "__init__.py": "",
        "loop/__init__.py": "",
        "loop/session.py": "from pkg.loop.pipeline import prefetch\n",
        "loop/pipeline.py": """
            def prefetch():
                from .session import StopSession  # hidden from Python, not from the layout
            """,
        "sinks/video.py": "from pkg.loop import session\n",
    })
    graph = import_graph(package_dir)
    assert graph["pkg.loop.pipeline"] == {"pkg.loop.session"}
    assert graph["pkg.sinks.video"] == {"pkg.loop.session"}
    cycle = find_cycle(graph)
    assert cycle is not None and set(cycle) == {"pkg.loop.session", "pkg.loop.pipeline"}


@pytest.mark.parametrize("statement", [
    "import pkg.a",
    "from pkg import a",
    "from pkg.a import thing",
    "from . import a",
    "from .a import thing",
    "LAZY = {'command': 'pkg.a:thing'}",
])
def test_every_import_form_makes_an_edge(tmp_path, statement):
    package_dir = _write_package(tmp_path, {"__init__.py": "", "a.py": "thing = 1\n", "b.py": statement + "\n"})
    assert import_graph(package_dir)["pkg.b"] == {"pkg.a"}


# ------------------------------------------------------------------------------------------------ the README


_MODULE_LIST = re.compile(r"([a-z0-9_]+(?:, [a-z0-9_]+)*)(,?)(?:\s{2,}pure)?")


def readme_tree() -> tuple[set[str], dict[str, set[str]]]:
    """The README's folder tree ("How it works"): the top-level files it names, and package -> its modules."""
    readme = (PACKAGE_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it works", 1)[1]
    lines = section.split("```", 2)[1].splitlines()
    files: set[str] = set()
    packages: dict[str, set[str]] = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        package = re.match(r"  ([a-z_]+)/ {2,}(.*)$", line)
        if package is None:
            if re.match(r"  \S", line):
                files.update(re.findall(r"[\w]+\.py", line.split("  ")[1]))
            continue
        listed, text = set(), package.group(2).strip()
        while (names := _MODULE_LIST.fullmatch(text)) is not None:
            listed.update(names.group(1).split(", "))
            if not names.group(2) or index >= len(lines):  # no trailing comma: the list is complete
                break
            text = lines[index].strip()
            index += 1
        packages[package.group(1)] = listed
    return files, packages


def test_the_readme_tree_names_every_module_where_it_is():
    files, packages = readme_tree()
    assert files == {path.name for path in PACKAGE_DIR.glob("*.py") if path.name != "__init__.py"}
    on_disk = {path.parent.name for path in PACKAGE_DIR.glob("*/__init__.py")}
    assert set(packages) == on_disk
    for package, listed in packages.items():
        modules = {path.stem for path in (PACKAGE_DIR / package).glob("*.py") if path.name != "__init__.py"}
        assert listed == modules, f"README tree, {package}/: missing {sorted(modules - listed)}, " \
                                  f"not there {sorted(listed - modules)}"
