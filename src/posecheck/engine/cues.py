"""Form rules and tempo checks -> kind cues, each rate-limited by its cooldown.

Pure module.
"""

from __future__ import annotations

from posecheck.engine.conditions import Condition
from posecheck.engine.events import Cue, Severity

SLOW_DOWN = "slow_down"
TEMPO_SLOW = "tempo_slow"


class Cooldown:
    """Lets a cue through at most once per ``seconds``."""

    __slots__ = ("seconds", "_last")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._last: float | None = None

    def ready(self, t: float) -> bool:
        return self._last is None or t - self._last >= self.seconds

    def fire(self, t: float) -> None:
        self._last = t


class FormRuleState:
    """A compiled form rule with its timing state.

    The rule is *faulty* once its conditions have failed continuously for ``after`` seconds; a faulty rule
    gives its cue when the cooldown allows (again every ``cooldown`` seconds while the fault lasts).
    """

    def __init__(
        self,
        rule_id: str,
        conditions: list[Condition],
        phases: frozenset[str] | None,
        after: float,
        text: str,
        severity: Severity,
        cooldown: float,
    ):
        self.id = rule_id
        self.conditions = conditions
        self.phases = phases
        self.after = after
        self.text = text
        self.severity = severity
        self.cooldown = Cooldown(cooldown)
        self._failing_since: float | None = None
        self.faulty = False

    def step(self, t: float, failing: bool) -> Cue | None:
        """Feeds whether the rule fails in this frame; returns a cue when one is due."""
        if not failing:
            self._failing_since = None
            self.faulty = False
            return None
        if self._failing_since is None:
            self._failing_since = t
        self.faulty = t - self._failing_since >= self.after
        if self.faulty and self.cooldown.ready(t):
            self.cooldown.fire(t)
            return Cue(t, self.id, self.text, self.severity)
        return None

    def clear(self) -> None:
        """Not checked in this frame (wrong phase, not counting): any fault in progress is forgotten."""
        self._failing_since = None
        self.faulty = False


def tempo_verdict(seconds: float, low: float | None, high: float | None) -> str | None:
    """SLOW_DOWN if ``seconds`` is under ``low``, TEMPO_SLOW if over ``high``, else None."""
    if low is not None and seconds < low:
        return SLOW_DOWN
    if high is not None and seconds > high:
        return TEMPO_SLOW
    return None
