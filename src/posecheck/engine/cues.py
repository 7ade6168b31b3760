"""Form rules and tempo checks -> kind cues, each rate-limited by its cooldown.

`FormRules` checks the spec's ``form`` rules on each counting frame; `CueLog` keeps every cue given, the latest
one (for the overlay), and adds each cue to the reps it was given during (a rep's record lists its cues).
Tempo verdicts are `posecheck.engine.tempo`'s; they are told through the same log.

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from posecheck.engine.conditions import Condition, check_all, compile_conditions
from posecheck.engine.events import Cue, Event, Severity
from posecheck.specs.schema import ExerciseSpec

if TYPE_CHECKING:
    from posecheck.engine.machine import PhaseMachine

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


class CueLog:
    """Every cue given in the session, in order, and the latest one.

    A cue is also added to each rep in progress and to each rep counted but not closed yet (``reps.end_at:
    leave``), since it was given during them.

    Args:
        machines: the engine's phase machines.
    """

    def __init__(self, machines: Sequence[PhaseMachine]):
        self.machines = machines
        self.cues: list[Cue] = []
        self.last: Cue | None = None

    def emit(self, cue: Cue, events: list[Event]) -> None:
        self.cues.append(cue)
        self.last = cue
        events.append(cue)
        for machine in self.machines:
            if machine.reps is not None and machine.reps.draft is not None:
                machine.reps.draft.cues.append(cue.text)
            if machine.closer is not None:
                machine.closer.add_cue(cue.text)


class FormRules:
    """The spec's ``form`` rules, compiled, and which of them pause a hold's timer.

    A rule limited to some ``phases`` is checked on each machine in one of them (on that machine's side), and
    forgotten while no machine is; a rule without phases is checked on every counting frame.

    Args:
        spec: the spec.
        per_side: the per-side measures.
    """

    def __init__(self, spec: ExerciseSpec, per_side: set[str]):
        self.rules = [
            FormRuleState(
                rule.id,
                compile_conditions(rule.require, per_side),
                frozenset(rule.phases) if rule.phases else None,
                rule.after,
                rule.cue,
                rule.severity,
                rule.cooldown,
            )
            for rule in spec.form
        ]
        # hold.pause_on: the rules whose fault pauses the hold timer, by severity
        pause_on = spec.hold.pause_on if spec.hold else "none"
        self._pausing = [r for r in self.rules if pause_on == "any" or (pause_on == "warning" and r.severity == "warning")]

    @property
    def pausing_fault(self) -> bool:
        """A rule that pauses the hold timer is faulty."""
        return any(r.faulty for r in self._pausing)

    def step(self, t: float, values: dict[str, float], machines: Sequence[PhaseMachine], cues: CueLog, events: list[Event]) -> None:
        """Checks every rule on one counting frame; gives the cues that are due."""
        for rule in self.rules:
            if rule.phases is None:
                failing = check_all(rule.conditions, values) is False
            else:
                checked = [m for m in machines if m.tracker.phase in rule.phases]
                if not checked:
                    rule.clear()
                    continue
                failing = any(check_all(rule.conditions, values, m.side) is False for m in checked)
            cue = rule.step(t, failing)
            if cue is not None:
                cues.emit(cue, events)

    def clear(self) -> None:
        """A frame that is not counted (no pose, setup paused): every fault in progress is forgotten."""
        for rule in self.rules:
            rule.clear()


def tempo_verdict(seconds: float, low: float | None, high: float | None) -> str | None:
    """SLOW_DOWN if ``seconds`` is under ``low``, TEMPO_SLOW if over ``high``, else None."""
    if low is not None and seconds < low:
        return SLOW_DOWN
    if high is not None and seconds > high:
        return TEMPO_SLOW
    return None
