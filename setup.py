"""Build hook: ship the built-in exercise specs inside the package.

The specs live at the repository root (``exercise_specs/``) where people edit them. A regular (non-editable)
install copies them into ``posecheck/exercise_specs/``, where `posecheck.specs.registry.builtin_specs_dir`
finds them with importlib.resources. Editable installs need no copy: the registry walks up from the source
tree to the repository's folder. All other settings are in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SPECS = Path(__file__).resolve().parent / "exercise_specs"


class BuildPyWithSpecs(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "posecheck" / "exercise_specs"
        target.mkdir(parents=True, exist_ok=True)
        for spec in sorted(SPECS.glob("*.yaml")):
            shutil.copy2(spec, target / spec.name)


setup(cmdclass={"build_py": BuildPyWithSpecs})
