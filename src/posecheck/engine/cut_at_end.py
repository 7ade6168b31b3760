"""Cut at end: the rep whose return the end of the session cut off (``reps.cut_at_end``).

A clip or a live session often stops as the person comes back from the last rep, before the return phase has
lasted ``min_dwell``: without this, a rep that was done would go uncounted. Such a rep counts when the person
had come back far enough (``cut_at_end`` of the way from the far extreme to the last phase's range) and was
seen doing it. Every refusal is told to the diagnostics, so a session that ended during a rep says why that rep
was not counted.

Pure module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from posecheck.engine.conditions import check_all
from posecheck.engine.machine import PhaseMachine
from posecheck.engine.phases import PhaseRangeC
from posecheck.engine.reps import RepDraft
from posecheck.specs.schema import ExerciseSpec


@dataclass(frozen=True)
class CutAtEnd:
    """reps.cut_at_end, compiled: how far back a cut-off return must have come, and toward which range."""

    share: float  # of the way from the far phase's extreme to ``boundary`` (0-1)
    last: PhaseRangeC  # the sequence's last phase (the return goes into it)
    upward: bool  # the last phase lies above the far phase
    boundary: float  # the last phase's near edge (phase units: fractions of the learned range when adaptive)

    @classmethod
    def of(cls, spec: ExerciseSpec, machine: PhaseMachine) -> CutAtEnd | None:
        """The spec's rule (None without ``reps.cut_at_end``), on the phase ranges of ``machine``."""
        if spec.reps is None or spec.reps.cut_at_end is None:
            return None
        far_name, last_name = spec.reps.sequence[-2], spec.reps.sequence[-1]
        by_name = machine.tracker.ranges_by_name
        far, last = by_name[far_name], by_name[last_name]
        # Phase ranges never overlap, so the last phase lies wholly above or wholly below the far phase.
        upward = last.low >= far.high
        return cls(spec.reps.cut_at_end, last, upward, last.low if upward else last.high)


def cut_rep(
    rule: CutAtEnd | None, machine: PhaseMachine, t_end: float, values: dict[str, float], seen: bool, lost: bool
) -> RepDraft | None:
    """The rep in progress on ``machine`` if the session ending at ``t_end`` cut off its return and it counts.

    It counts when, on the last frame, the person was tracked and counting was on, the rep was in its return
    (far phase entered, last phase not yet), the phase measure had come back from its extreme in the far
    phase by ``cut_at_end`` of the way to the last phase's range, the last phase's ``also`` conditions did
    not fail, and the rep moved at least ``min_excursion``. Someone still in the far position or holding it
    (a timed hold still running: the top of a bridge that settles after the lift reads as coming back), a
    session whose last frames had no pose, or a rep abandoned (``reps.require``) count nothing.

    Args:
        rule: the spec's rule (None: a cut-off rep never counts).
        values: the last frame's measures.
        seen: counting was on (setup ready) and a person had been seen.
        lost: tracking was lost before the end (what the person did last was not seen).
    """
    reps = machine.reps
    if reps is None or not reps.returning or reps.draft is None:
        return None
    draft = reps.draft
    # Each refusal below is also told (diagnostics): the session ended during a rep that is not counted.
    refused = machine.diag.cut_refused
    if rule is None:
        return refused("no_rule", draft, t_end)
    if machine.out_of_position:
        return refused("out_of_position", draft, t_end)
    if not seen:
        return refused("not_ready", draft, t_end)
    if lost:
        return refused("lost", draft, t_end)
    if machine.hold is not None and machine.hold.seconds is not None:
        return refused("holding", draft, t_end)  # the person is holding the position, not coming back
    raw = values.get(machine.value_key, math.nan)
    far_raw = draft.far_low if rule.upward else draft.far_high
    if raw != raw or not math.isfinite(far_raw):
        return refused("unknown", draft, t_end)  # the phase measure unknown on the last frame, or never known in the far phase
    if machine.learner is not None:
        value, far = machine.learner.fraction(raw), machine.learner.fraction(far_raw)
    else:
        value, far = raw, far_raw
    needed = far + rule.share * (rule.boundary - far)
    if not (value >= needed if rule.upward else value <= needed):
        span = rule.boundary - far
        return refused("short", draft, t_end, (value - far) / span if span else None)
    if rule.last.also and check_all(rule.last.also, values, machine.side) is False:
        return refused("also", draft, t_end)
    return draft if reps.counts(draft) else refused("small", draft, t_end)
