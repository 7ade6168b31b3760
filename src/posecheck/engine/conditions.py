"""Spec conditions (``measure: {min, max}``) compiled to small frozen objects, evaluated on one frame's values.

A frame's values are a dict of floats, NaN where unknown; per-side measures appear as ``name.left`` and
``name.right``. Three-valued results: True, False, or None when a measure is unknown, so an unknown value
never triggers a cue and never counts as holding a position.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from posecheck.engine.measures import side_key
from posecheck.specs.schema import Conditions


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``measure: {min, max}`` entry, compiled (`of`).

    Attributes:
        name: the measure.
        low, high: the bounds, -inf/inf where the spec leaves them open.
        per_side: the measure is per side (reduce: per_side): it is read on each side.
        left_key, right_key: the measure's keys on each side in the frame values (built once rather than on
            every frame; unused when not per side).
    """

    name: str
    low: float
    high: float
    per_side: bool
    left_key: str
    right_key: str

    @classmethod
    def of(cls, name: str, low: float | None, high: float | None, per_side: bool) -> Condition:
        return cls(
            name,
            -math.inf if low is None else low,
            math.inf if high is None else high,
            per_side,
            side_key(name, "left"),
            side_key(name, "right"),
        )

    def check(self, values: dict[str, float], side: str | None) -> bool | None:
        """True/False, or None if unknown.

        A per-side measure is read on ``side``; without a side both sides must pass (a hidden side is
        ignored, as side-on the far side is often hidden).
        """
        if not self.per_side:
            return self._in(values[self.name])
        if side is not None:
            return self._in(values[self.left_key if side == "left" else self.right_key])
        results = [r for r in (self._in(values[self.left_key]), self._in(values[self.right_key])) if r is not None]
        return all(results) if results else None

    def _in(self, value: float) -> bool | None:
        if value != value:  # NaN: unknown
            return None
        return self.low <= value <= self.high


def compile_conditions(conditions: Conditions | None, per_side: set[str]) -> list[Condition]:
    """The Condition objects of a spec's condition mapping (empty when None)."""
    return [Condition.of(name, r.min, r.max, name in per_side) for name, r in (conditions or {}).items()]


def check_all(conditions: Iterable[Condition], values: dict[str, float], side: str | None = None) -> bool | None:
    """AND of the conditions: False if any fails, None if none fails but some is unknown, else True."""
    unknown = False
    for condition in conditions:
        result = condition.check(values, side)
        if result is False:
            return False
        if result is None:
            unknown = True
    return None if unknown else True
