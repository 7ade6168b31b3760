"""Tempo: how long a rep, a phase or a passage from one phase to another took, against the spec's ``tempo``.

Back-care exercises are done slowly; rushing is the commonest fault, so a rep, phase or transition that is too
fast (or too slow) gives a kind cue (``tempo.too_fast`` / ``too_slow``), at most once per ``tempo.cooldown``,
and marks the rep in progress as off tempo. With ``tempo.skip_first_rep`` the session's first rep gets no rep
verdict: it is timed from when counting began, not from when the person started moving.

Pure module.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from posecheck.engine.cues import SLOW_DOWN, TEMPO_SLOW, Cooldown, CueLog, tempo_verdict
from posecheck.engine.events import Cue, Event
from posecheck.engine.machine import PhaseClock
from posecheck.specs.schema import Tempo


class Span(NamedTuple):
    """Seconds allowed (None: no limit)."""

    low: float | None
    high: float | None


class TransitionTempo(NamedTuple):
    """``tempo.transitions``: seconds allowed from leaving ``origin`` to entering ``target``."""

    origin: str
    target: str
    span: Span


class TempoJudge:
    """The spec's ``tempo``, compiled, and the cues its verdicts give.

    Args:
        tempo: the spec's tempo (None: no tempo checks).
        cues: where tempo cues are given.
    """

    def __init__(self, tempo: Tempo | None, cues: CueLog):
        self.tempo = tempo
        self.cues = cues
        self._cooldown = Cooldown(tempo.cooldown) if tempo else None
        self._rep = Span(tempo.rep.min, tempo.rep.max) if tempo and tempo.rep else None
        self._skips_first_rep = bool(tempo and tempo.skip_first_rep)
        self._phases = {name: Span(r.min, r.max) for name, r in tempo.phases.items()} if tempo else {}
        self._transitions = [TransitionTempo(tr.from_, tr.to, Span(tr.seconds.min, tr.seconds.max)) for tr in tempo.transitions] if tempo else []

    def on_phase(self, clock: PhaseClock, previous: str | None, phase: str, since: float) -> list[str]:
        """A machine's phase changed from ``previous`` to ``phase`` at ``since``: the verdicts on the phase it
        left and on the transitions that end here (none when all were on tempo)."""
        verdicts = []
        if previous is not None:
            if previous in self._phases and previous in clock.entered:
                verdicts.append(tempo_verdict(since - clock.entered[previous], *self._phases[previous]))
            clock.left[previous] = since
        for origin, target, span in self._transitions:
            if target != phase or origin not in clock.left:
                continue
            # Only the most recent passage from origin to here: origin was left after we were last here.
            if clock.left[origin] >= clock.entered.get(phase, -math.inf):
                verdicts.append(tempo_verdict(since - clock.left[origin], *span))
        clock.entered[phase] = since
        return [verdict for verdict in verdicts if verdict is not None]

    def rep_verdict(self, seconds: float, index: int) -> str | None:
        """The verdict on rep ``index`` (1 for the session's first), which took ``seconds``; None when on tempo,
        without ``tempo.rep``, or for the first rep with ``tempo.skip_first_rep``."""
        if self._rep is None or (index == 1 and self._skips_first_rep):
            return None
        return tempo_verdict(seconds, *self._rep)

    def cue(self, t: float, verdict: str, events: list[Event]) -> None:
        """Gives the cue for ``verdict`` at ``t``, if the spec has words for it and the cooldown allows."""
        tempo = self.tempo
        if tempo is None or self._cooldown is None:
            return
        text = tempo.too_fast if verdict == SLOW_DOWN else tempo.too_slow
        if text is None or not self._cooldown.ready(t):
            return
        self._cooldown.fire(t)
        self.cues.emit(Cue(t, SLOW_DOWN if verdict == SLOW_DOWN else TEMPO_SLOW, text, "info"), events)
