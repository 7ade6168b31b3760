"""How the diagnostics (`posecheck.engine.diagnostics`) say things to people: measures, bounds, phases,
shares of time and counts in plain words.

Pure module.
"""

from __future__ import annotations

import math
import re

from posecheck.core.pose import Landmark
from posecheck.engine.events import Side
from posecheck.specs.schema import ExerciseSpec

_UNIT_WORDS = {"deg": "deg", "torso": "torso lengths", "ratio": "", "s": "s"}


class Wording:
    """How a spec's measures, bounds and phases are said to people."""

    def __init__(self, spec: ExerciseSpec):
        self.spec = spec
        self.title = spec.title

    def measure(self, name: str) -> str:
        """The measure's spec description up to its first ';' without the unit in brackets, else its name in words."""
        measure = self.spec.measures.get(name)
        text = measure.description if measure is not None and measure.description else name.replace("_", " ")
        text = text.split(";")[0].strip()
        if text.endswith(")") and "(" in text:
            text = text[: text.rindex("(")].strip()
        return text

    def unit(self, name: str) -> str | None:
        measure = self.spec.measures.get(name)
        return measure.unit if measure is not None else None

    @staticmethod
    def number(value: float | None, unit: str | None) -> str:
        if value is None or value != value:
            return "unknown"
        words = _UNIT_WORDS.get(unit or "", unit or "")
        text = f"{value:.0f}" if unit in ("deg", "s") else f"{value:.2f}"
        return f"{text} {words}".strip()

    def bound(self, low: float, high: float, unit: str | None) -> str:
        """"at least 0.2 torso lengths", "at most 130 deg", "between 100 and 160 deg"."""
        words = _UNIT_WORDS.get(unit or "", unit or "")
        # Three significant digits: a spec's own bound (0.2, 1.3) reads as written, and one converted from a
        # learned range (0.837764) does not read like a measurement to the micrometre.
        fmt = (lambda v: f"{v:.0f}") if unit in ("deg", "s") else (lambda v: f"{v:.3g}")
        if math.isfinite(low) and math.isfinite(high):
            return f"between {fmt(low)} and {fmt(high)} {words}".strip()
        if math.isfinite(low):
            return f"at least {fmt(low)} {words}".strip()
        return f"at most {fmt(high)} {words}".strip()

    def phase(self, name: str) -> str:
        """"'up' (hips lifted in a bridge)": the phase's name and its spec description without asides in brackets."""
        phase = self.spec.phases.ranges.get(name)
        description = re.sub(r"\s*\([^()]*\)", "", phase.description).strip() if phase is not None and phase.description else ""
        return f"'{name}' ({description})" if description else f"'{name}'"


def share_words(share: float | None) -> str:
    if share is None:
        return ""
    return "for under 1% of the time you were in view" if share < 0.005 else f"for {share:.0%} of the time you were in view"


def plain(measure_words: str) -> str:
    """A measure's words after "the" (descriptions may begin with "the" already)."""
    return measure_words[4:] if measure_words.lower().startswith("the ") else measure_words


def how_often(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def times(n: int, what: str = "time") -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def side_prefix(side: Side | None) -> str:
    return "" if side is None else f"{side.capitalize()} side: "


def landmark_words(index: int) -> str:
    return Landmark(index).name.lower().replace("_", " ")
