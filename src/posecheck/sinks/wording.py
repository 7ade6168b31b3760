"""What the views say: the texts made from the engine's state, shared by every view that shows them.

The drawn overlays (`posecheck.sinks.render`, `posecheck.sinks.live_render`) and the terminal view
(`posecheck.sinks.terminal`) word the same count, target, values and messages the same way from here. Nothing
here draws, so the terminal view does not need OpenCV; nothing here decides either: the texts come from the
engine's state and the spec's labels.
"""

from __future__ import annotations

from posecheck.engine.events import EngineState
from posecheck.specs.labels import measure_label, phase_label, split_side, unit_label


def panel_lines(state: EngineState, spec) -> list[str]:
    """The panel's lines: exercise, count, phase, hold timer, every measure with its name for people."""
    lines = [spec.title if spec is not None else "posecheck"]
    if state.reps_by_side:
        lines.append(f"Reps {state.reps}  ({per_side_text(state.reps_by_side)})")
    else:
        target = f" / {state.target_reps}" if state.target_reps else ""
        lines.append(f"Reps {state.reps}{target}")
    if state.phase:
        lines.append(f"Phase: {phase_label(spec, state.phase)}" + (f" ({state.side})" if state.side else ""))
    if state.hold_seconds is not None:
        target = f" / {state.hold_target:.0f}" if state.hold_target else ""
        lines.append(f"Hold {state.hold_seconds:.1f}{target} s")
    for name, value in state.measures.items():
        if value is not None:
            # Words for people (the spec's labels), not internal names such as head_lift.
            lines.append(f"{measure_label(spec, name)}: {format_value(value, _unit_of(spec, name), unit_label(spec, name))}")
    return lines


def per_side_text(reps_by_side: dict[str, int]) -> str:
    """Reps per side as "L 3  R 2" (the panel, the live view's big counter)."""
    return "  ".join(f"{side[0].upper()} {count}" for side, count in sorted(reps_by_side.items()))


def format_value(value: float, unit: str | None, unit_words: str | None = None) -> str:
    """``unit`` (the kind's: "deg", "torso") picks the precision; ``unit_words`` ("torso lengths") is shown."""
    if unit == "deg":
        return f"{value:.0f} {unit_words or 'deg'}"
    shown = unit_words or unit
    return f"{value:.2f}" + (f" {shown}" if shown else "")


def _unit_of(spec, key: str) -> str | None:
    if spec is None:
        return None
    measure = spec.measures.get(key)
    if measure is None:
        # Per-side values are reported as <measure>.left / <measure>.right.
        base, side = split_side(key)
        measure = spec.measures.get(base) if side is not None else None
    return measure.unit if measure is not None else None


def state_message(state: EngineState) -> tuple[str, str | None] | None:
    """The one message the state asks to show, most urgent first (the drawn banner, the terminal's status line).

    Returns:
        ``("lost", None)`` while nobody is tracked, else ``("setup", reason)`` while the setup is not right,
        else ``("paused", reason)`` while reps are not counted although the setup is right (the rep's position
        left, a phase refused: `EngineState.paused_reason`), else ``("cue", text)`` for the latest cue; None
        when there is nothing to say. Each view words it.
    """
    if not state.tracking:
        return "lost", None
    if not state.ready and state.not_ready_reason:
        return "setup", state.not_ready_reason
    if state.paused_reason:
        return "paused", state.paused_reason
    if state.cue:
        return "cue", state.cue
    return None


def counts_seconds(spec) -> bool:
    """True for hold exercises (a plank): the big number is the seconds held, not a rep count."""
    return spec.reps is None and spec.hold is not None


def target_text(spec) -> str | None:
    """The goal under the big number: "of 10 slow reps", "10 each side", "of 20 s", or None."""
    target = spec.target
    if target.reps:
        slow = " slow" if spec.tempo is not None and spec.tempo.rep is not None and spec.tempo.rep.min else ""
        return f"{target.reps} each side" if target.per_side else f"of {target.reps}{slow} reps"
    if target.seconds:
        return f"of {target.seconds:.0f} s" + (" each side" if target.per_side else "")
    return None


def counter_text(state: EngineState, spec, last_hold_seconds: float | None = None) -> str:
    """The big number: the count, "L 3  R 2" for exercises counted per side, or the seconds held ("12s")
    for hold exercises (the running hold, else the last one)."""
    if counts_seconds(spec):
        held = state.hold_seconds if state.hold_seconds is not None else (last_hold_seconds or 0.0)
        return f"{held:.0f}s"
    if state.reps_by_side:
        return per_side_text(state.reps_by_side)
    return str(state.reps)
