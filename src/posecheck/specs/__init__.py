"""Exercise specs: the YAML schema, the loader with file:line error messages, and the registry of specs.

Pure package (pydantic + PyYAML; reads files).
"""

from posecheck.errors import SpecError, UnknownExerciseError
from posecheck.specs.loader import check_spec_text, load_spec_file, uncommented_numbers
from posecheck.specs.registry import SpecRegistry, builtin_specs_dir, load_spec_by_id
from posecheck.specs.schema import ExerciseSpec

__all__ = [
    "ExerciseSpec",
    "SpecError",
    "SpecRegistry",
    "UnknownExerciseError",
    "builtin_specs_dir",
    "check_spec_text",
    "load_spec_by_id",
    "load_spec_file",
    "uncommented_numbers",
]
