"""The pure core imports without cv2, mediapipe or typer: a fresh interpreter with those packages blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ENGINE_DIR = Path(__file__).resolve().parents[1] / "src" / "posecheck" / "engine"

PURE_MODULES = [
    "posecheck.core.pose",
    "posecheck.core.trace",
    "posecheck.core.geometry",
    "posecheck.core.smoothing",
    "posecheck.specs",
    "posecheck.specs.schema",
    "posecheck.specs.loader",
    "posecheck.specs.registry",
    "posecheck.engine",
    # every module of the engine, found on disk, so that a new part is covered without being listed here
    *sorted(f"posecheck.engine.{path.stem}" for path in ENGINE_DIR.glob("*.py") if path.stem != "__init__"),
]

PROBE = textwrap.dedent(
    """
    import importlib, sys

    BLOCKED = ("cv2", "mediapipe", "typer")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    for module in sys.argv[1:]:
        importlib.import_module(module)
    from posecheck.engine.engine import Engine
    from posecheck.specs import load_spec_by_id
    Engine(load_spec_by_id("cat-cow"))
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print("leaked:", leaked)
    """
)


def test_pure_modules_import_and_run_without_cv2_mediapipe_typer():
    result = subprocess.run([sys.executable, "-c", PROBE, *PURE_MODULES], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "leaked: []"


def test_the_engine_modules_are_found():
    # The glob must find the engine's parts, or the purity test above would prove nothing about them.
    assert {"posecheck.engine.engine", "posecheck.engine.setup", "posecheck.engine.measures"} <= set(PURE_MODULES)


def test_the_blocker_works():
    # The probe must be able to fail: importing cv2 through it is an error.
    result = subprocess.run([sys.executable, "-c", PROBE, "cv2"], capture_output=True, text=True)
    assert result.returncode != 0 and "blocked import of cv2" in result.stderr
