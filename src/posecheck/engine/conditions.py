"""Spec conditions (``measure: {min, max}``) compiled to plain tuples, evaluated on one frame's values.

A frame's values are a dict of floats, NaN where unknown; per-side measures appear as ``name.left`` and
``name.right``. Three-valued results: True, False, or None when a measure is unknown, so an unknown value
never triggers a cue and never counts as holding a position.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from posecheck.engine.measures import side_key
from posecheck.specs.schema import Conditions


class Condition:
    """One ``measure: {min, max}`` entry."""

    __slots__ = ("name", "low", "high", "per_side", "_side_keys")

    def __init__(self, name: str, low: float | None, high: float | None, per_side: bool):
        self.name = name
        self.low = -math.inf if low is None else low
        self.high = math.inf if high is None else high
        self.per_side = per_side
        # The frame-value keys of each side, built once rather than on every frame.
        self._side_keys = {side: side_key(name, side) for side in ("left", "right")}

    def check(self, values: dict[str, float], side: str | None) -> bool | None:
        """True/False, or None if unknown.

        A per-side measure is read on ``side``; without a side both sides must pass (a hidden side is
        ignored, as side-on the far side is often hidden).
        """
        if not self.per_side:
            return self._in(values[self.name])
        if side is not None:
            return self._in(values[self._side_keys[side]])
        keys = self._side_keys
        results = [r for r in (self._in(values[keys["left"]]), self._in(values[keys["right"]])) if r is not None]
        return all(results) if results else None

    def _in(self, value: float) -> bool | None:
        if value != value:  # NaN: unknown
            return None
        return self.low <= value <= self.high


def compile_conditions(conditions: Conditions | None, per_side: set[str]) -> list[Condition]:
    """Plain Condition objects for a spec's condition mapping (empty when None)."""
    return [Condition(name, r.min, r.max, name in per_side) for name, r in (conditions or {}).items()]


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
