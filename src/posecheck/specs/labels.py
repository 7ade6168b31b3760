"""Words for people: the names of measures, units and phases that reports, the overlay and CSV headers show.

A spec may give each measure a ``label`` and a ``unit`` text, and each phase a ``label``. Where it does
not, the words come from what the spec already says: a measure's ``description`` up to its first ";"
without a trailing "(unit)", else its name with spaces; a phase's name with spaces ("cow_or_flat" ->
"cow or flat"). Internal names stay in report.json, where programs read them.

Pure module.
"""

from __future__ import annotations

import re

#: How a measure kind's unit reads for people (the spec's own ``unit`` text wins).
UNIT_WORDS: dict[str, str] = {"deg": "deg", "torso": "torso lengths"}
SIDE_WORDS = {"left": "left", "right": "right"}

_TRAILING_UNIT = re.compile(r"\s*\([^()]*\)\s*$")


def split_side(key: str) -> tuple[str, str | None]:
    """A frame-value key -> (measure name, side): per-side measures appear as ``name.left`` (engine) or
    ``name_left``."""
    for separator in (".", "_"):
        base, sep, side = key.rpartition(separator)
        if sep and side in SIDE_WORDS:
            return base, side
    return key, None


def _measure(spec, key: str):
    name, side = split_side(key)
    measure = spec.measures.get(key) if spec is not None else None
    if measure is not None:
        return key, None, measure
    if spec is not None and side is not None and name in spec.measures:
        return name, side, spec.measures[name]
    return name, side, None


def measure_label(spec, key: str) -> str:
    """The measure's name for people, e.g. "head height above the shoulders" (with "(left)" for one side)."""
    name, side, measure = _measure(spec, key)
    text = None
    if measure is not None:
        text = measure.label
        if not text and measure.description:
            text = _TRAILING_UNIT.sub("", measure.description.split(";", 1)[0]).strip() or None
    text = text or name.replace("_", " ")
    return f"{text} ({side})" if side else text


def unit_label(spec, key: str) -> str | None:
    """The measure's unit for people ("deg", "torso lengths"), or None when the key is no measure of ``spec``."""
    _, _, measure = _measure(spec, key)
    if measure is None:
        return None
    return measure.unit_label or UNIT_WORDS.get(measure.unit, measure.unit)


def measure_heading(spec, key: str) -> str:
    """Label and unit together, for table and CSV headers: "head height above the shoulders (torso lengths)"."""
    unit = unit_label(spec, key)
    return f"{measure_label(spec, key)} ({unit})" if unit else measure_label(spec, key)


def phase_label(spec, phase: str | None) -> str | None:
    """The phase's name for people ("back rounded"), falling back to its name with spaces."""
    if phase is None:
        return None
    ranges = spec.phases.ranges if spec is not None else {}
    found = ranges.get(phase)
    if found is not None and found.label:
        return found.label
    return phase.replace("_", " ")
