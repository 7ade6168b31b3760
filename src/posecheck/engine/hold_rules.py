"""The spec's ``hold`` rules over the phase machines' hold timers.

`Holds` decides on each frame whether each machine's `HoldTimer` is in the hold position (its phases,
``hold.when``), paused (a form fault of ``hold.pause_on``'s severity) and how deep (``hold.release``). It sits
apart from the timer because the machines own the timers (`posecheck.engine.machine` imports
`posecheck.engine.holds`), and these rules read the machines.

Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence

from posecheck.engine.conditions import check_all, compile_conditions
from posecheck.engine.events import Event, HoldRecord
from posecheck.engine.machine import PhaseMachine
from posecheck.specs.schema import Hold


class Holds:
    """The spec's ``hold``, compiled, over the machines' timers.

    Args:
        hold: the spec's hold.
        per_side: the per-side measures.
        machines: the engine's phase machines (each has a `HoldTimer`).
    """

    def __init__(self, hold: Hold, per_side: set[str], machines: Sequence[PhaseMachine]):
        self.machines = [m for m in machines if m.hold is not None]
        self.phases = frozenset(hold.phases) if hold.phases else None
        self.when = compile_conditions(hold.when, per_side)
        # hold.release: the sign that makes larger values deeper into the held position (its measure's key on
        # each side is the machine's release_key)
        self.release_sign = -1.0 if hold.release and hold.release.deepest == "min" else 1.0

    def step(
        self, t: float, values: dict[str, float], paused: bool, evidence: tuple[float, float] | None, events: list[Event]
    ) -> None:
        """One counting frame: each timer in position or not, ``paused`` by a form fault."""
        for machine in self.machines:
            in_phase = self.phases is None or machine.tracker.phase in self.phases
            # An unknown condition is not holding: the timer runs only on evidence.
            in_position = in_phase and (not self.when or check_all(self.when, values, machine.side) is True)
            depth = None
            if machine.release_key is not None:
                value = values[machine.release_key]
                depth = None if value != value else self.release_sign * value  # NaN: unknown
            events += machine.hold.step(t, in_position, paused, evidence, depth)  # type: ignore[union-attr]

    def lapse(self, t: float, events: list[Event]) -> None:
        """A frame with no usable pose (tracking lost or setup not ready): out of position."""
        for machine in self.machines:
            events += machine.hold.lapse(t)  # type: ignore[union-attr]

    def finish(self, events: list[Event]) -> None:
        """The session ends: a hold still running ends, dated to its last frame in position."""
        for machine in self.machines:
            events += machine.hold.finish()  # type: ignore[union-attr]

    @property
    def running_seconds(self) -> float | None:
        """Counted seconds of the first running, reported hold (None when there is none)."""
        return next((m.hold.seconds for m in self.machines if m.hold.seconds is not None), None)  # type: ignore[union-attr]

    @property
    def records(self) -> list[HoldRecord]:
        """Every hold reported, by start time."""
        return sorted((r for m in self.machines for r in m.hold.records), key=lambda r: r.start)  # type: ignore[union-attr]
