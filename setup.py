"""Build hook: ship the data people edit at the repository root inside the package.

The built-in exercise specs (``exercise_specs/*.yaml``), the built-in routines (``routines/*.yaml``) and the sample manifest
(``sample_videos/manifest.yaml``) live at the repository root, where people edit them. A regular
(non-editable) build copies them into ``posecheck/exercise_specs/``, ``posecheck/routines/builtin/`` and
``posecheck/sample_videos/``, where `posecheck.specs.registry.builtin_specs_dir`,
`posecheck.routines.registry.builtin_routines_dir` and `posecheck.samples` find them with importlib.resources, so
a wheel works without a checkout. Editable installs need no copy: both walk up from the source tree to the
repository's folders. The sdist carries the root folders (MANIFEST.in), so a wheel built from it gets them
too. All other settings are in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (files at the repository root, folder inside the package they are copied to)
ROOT_DATA = (
    ("exercise_specs/*.yaml", "exercise_specs"),
    ("sample_videos/manifest.yaml", "sample_videos"),
    ("routines/*.yaml", "routines/builtin"),  # posecheck.routines.registry.builtin_routines_dir
)


class BuildPyWithRootData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for pattern, folder in ROOT_DATA:
            files = sorted(ROOT.glob(pattern))
            if not files:
                raise SystemExit(f"setup.py: nothing matches {pattern}; the package would ship without it")
            target = Path(self.build_lib) / "posecheck" / folder
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithRootData})
