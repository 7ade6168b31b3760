"""Checks that need the whole spec: names that refer to other sections, overlapping phases, adaptive ranges.

They read the raw YAML mapping (not the pydantic model) and skip anything malformed, so they run even when
pydantic has rejected other parts of the file, and the user gets every problem in one go.

Pure module.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (pydantic reports what is wrong with it)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def check_references(data: dict) -> list[Problem]:
    """Every cross-section problem of a raw spec mapping, in file order."""
    problems: list[Problem] = []
    measures = _mapping(data.get("measures"))
    phases_section = _mapping(data.get("phases"))
    ranges = _mapping(phases_section.get("ranges"))
    measure_names = set(measures)
    phase_names = set(ranges)

    def need_measure(path: Path, name: Any) -> None:
        if isinstance(name, str) and name not in measure_names:
            known = ", ".join(sorted(measure_names)) or "none"
            problems.append((path, f"unknown measure '{name}' (measures: {known})"))

    def need_phase(path: Path, name: Any) -> None:
        if isinstance(name, str) and name not in phase_names:
            known = ", ".join(sorted(phase_names)) or "none"
            problems.append((path, f"unknown phase '{name}' (phases: {known})"))

    def need_conditions(path: Path, conditions: Any) -> None:
        for measure in _mapping(conditions):
            need_measure((*path, measure), measure)

    # setup
    start = _mapping(_mapping(data.get("setup")).get("start"))
    need_conditions(("setup", "start", "when"), start.get("when"))

    # phases
    phase_measure = phases_section.get("measure")
    need_measure(("phases", "measure"), phase_measure)
    for name, phase in ranges.items():
        need_conditions(("phases", "ranges", name, "also"), _mapping(phase).get("also"))
    problems += _overlaps(ranges)
    if "adaptive" in data:
        problems += _relative_ranges(phases_section)

    per_side = _mapping(measures.get(phase_measure)).get("reduce") == "per_side" if isinstance(phase_measure, str) else False

    def need_one_value(path: Path, name: Any, why: str) -> None:
        """A measure read as one value per phase machine: a per_side one has none unless the machines are per side."""
        if isinstance(name, str) and not per_side and _mapping(measures.get(name)).get("reduce") == "per_side":
            problems.append(
                (path, f"measure '{name}' has reduce: per_side, but {why} (only a per_side phase measure gives one "
                 "per side): use min, max or mean")
            )

    # reps
    reps = _mapping(data.get("reps"))
    sequence = _sequence(reps.get("sequence"))
    for i, name in enumerate(sequence):
        need_phase(("reps", "sequence", i), name)
        if i > 0 and name == sequence[i - 1]:
            problems.append((("reps", "sequence", i), f"phase '{name}' twice in a row (a phase cannot follow itself)"))
    for name in _mapping(reps.get("peaks")):
        need_measure(("reps", "peaks", name), name)
        need_one_value(("reps", "peaks", name), name, "a rep records one peak for both sides")
    need_conditions(("reps", "require"), reps.get("require"))

    # sides
    sides = _mapping(data.get("sides"))
    if sides:
        decide_by = sides.get("decide_by")
        need_measure(("sides", "decide_by"), decide_by)
        decider = _mapping(measures.get(decide_by)) if isinstance(decide_by, str) else {}
        if sides.get("rule") in ("larger", "smaller", "moved") and decider and decider.get("side") != "both":
            problems.append(
                (("sides", "decide_by"), f"rule {sides.get('rule')} compares the two sides: measure '{decide_by}' needs side: both")
            )
        if per_side:
            problems.append(
                (("sides",), f"not used: the phase measure '{phase_measure}' has reduce: per_side, so each side has its own phases and reps")
            )
    target = _mapping(data.get("target"))
    if target.get("per_side") is True and not sides and not per_side:
        problems.append(
            (("target", "per_side"), "per-side targets need a sides section or a phase measure with reduce: per_side")
        )

    # hold
    hold = _mapping(data.get("hold"))
    for i, name in enumerate(_sequence(hold.get("phases"))):
        need_phase(("hold", "phases", i), name)
    need_conditions(("hold", "when"), hold.get("when"))
    release_measure = _mapping(hold.get("release")).get("measure")
    need_measure(("hold", "release", "measure"), release_measure)
    need_one_value(("hold", "release", "measure"), release_measure, "the hold has one timer for both sides")

    # tempo
    tempo = _mapping(data.get("tempo"))
    for name in _mapping(tempo.get("phases")):
        need_phase(("tempo", "phases", name), name)
    for i, transition in enumerate(_sequence(tempo.get("transitions"))):
        for key in ("from", "to"):
            need_phase(("tempo", "transitions", i, key), _mapping(transition).get(key))
    if tempo.get("rep") is not None and not reps:
        problems.append((("tempo", "rep"), "rep tempo needs a reps section"))

    # form
    seen: dict[str, int] = {}
    for i, rule in enumerate(_sequence(data.get("form"))):
        rule = _mapping(rule)
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in seen:
                problems.append((("form", i, "id"), f"rule id '{rule_id}' already used by form[{seen[rule_id]}]"))
            seen.setdefault(rule_id, i)
        need_conditions(("form", i, "require"), rule.get("require"))
        for j, name in enumerate(_sequence(rule.get("phases"))):
            need_phase(("form", i, "phases", j), name)
    return problems


def _overlaps(ranges: dict) -> list[Problem]:
    """Phase ranges that share more than an end point: the phase would be ambiguous."""
    bounds: dict[str, tuple[float, float]] = {}
    for name, phase in ranges.items():
        phase = _mapping(phase)
        low, high = _number(phase.get("min")), _number(phase.get("max"))
        if (low is None and "min" in phase) or (high is None and "max" in phase):
            continue  # not numbers: pydantic reports it
        if low is not None and high is not None and low >= high:
            continue  # reported by the Range validator
        bounds[name] = (float("-inf") if low is None else low, float("inf") if high is None else high)
    problems: list[Problem] = []
    for (a, a_bounds), (b, b_bounds) in combinations(bounds.items(), 2):
        if not (a_bounds[0] < b_bounds[1] and b_bounds[0] < a_bounds[1]):
            continue
        # Report the lower phase's max against the upper phase's min: one of those two numbers must change.
        (lower, (_, lower_high)), (upper, (upper_low, _)) = sorted(((a, a_bounds), (b, b_bounds)), key=lambda p: p[1][0])
        high_text = "no max" if lower_high == float("inf") else f"{lower_high:g}"
        low_text = "open" if upper_low == float("-inf") else f"{upper_low:g}"
        problems.append((("phases", "ranges", lower, "max"), f"{high_text} overlaps phase '{upper}' (min {low_text})"))
    return problems


def _relative_ranges(phases: dict) -> list[Problem]:
    """With adaptive ranges, phase bounds and hysteresis are fractions of the learned range."""
    problems: list[Problem] = []
    for name, phase in _mapping(phases.get("ranges")).items():
        for key in ("min", "max"):
            value = _number(_mapping(phase).get(key))
            if value is not None and not 0.0 <= value <= 1.0:
                problems.append(
                    (("phases", "ranges", name, key), f"{value:g} is not a fraction: with adaptive, phase ranges are 0-1 of the learned range")
                )
    hysteresis = _number(phases.get("hysteresis"))
    if hysteresis is not None and hysteresis >= 0.5:
        problems.append((("phases", "hysteresis"), f"{hysteresis:g} is too wide: with adaptive it is a fraction of the learned range (< 0.5)"))
    return problems
