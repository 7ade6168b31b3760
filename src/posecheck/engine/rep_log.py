"""Counting and closing reps: the session's rep records, and the tempo verdict on each rep.

A rep is counted (``RepCompleted``) when its phase sequence completes. With ``reps.end_at: leave`` its end comes
later, when the person leaves the last phase (the way back from the far position), and its final record is
told then (``RepClosed``), with the cues given meanwhile and its tempo verdict over the whole cycle. A rep cut
off by the end of the session (``reps.cut_at_end``) is counted with no tempo verdict: its duration is not known.

Pure module.
"""

from __future__ import annotations

from dataclasses import replace

from posecheck.engine.events import Event, RepClosed, RepCompleted, RepRecord
from posecheck.engine.machine import PhaseMachine
from posecheck.engine.reps import OpenRep, RepDraft
from posecheck.engine.tempo import TempoJudge


class RepLog:
    """Every rep of the session, in the order counted.

    Args:
        tempo: judges each rep's duration and gives the tempo cue.
    """

    def __init__(self, tempo: TempoJudge):
        self.tempo = tempo
        self.records: list[RepRecord] = []

    def count(
        self, machine: PhaseMachine, done: RepDraft, end: float, t: float, events: list[Event], cut_by_end: bool = False
    ) -> None:
        """Counts rep ``done`` of ``machine``, ending at ``end``, in the frame at ``t``."""
        side = machine.side
        if side is None and done.votes is not None:
            side = done.votes.side
        index = len(self.records) + 1
        # reps.end_at: leave: the rep's end, and so its tempo verdict, comes when it is closed (`close`). A rep
        # cut off by the end has no true end: its duration would be too short for a tempo verdict.
        end_pending = machine.closer is not None and not cut_by_end
        verdict = None
        if not cut_by_end and not end_pending:
            verdict = self.tempo.rep_verdict(end - done.start, index)
            if verdict is not None:
                done.tempo_ok = False
        machine.count += 1
        if machine.learner is not None:
            machine.learner.reps_counted(machine.count)
        record = RepRecord(
            index=index,
            side=side,
            start=done.start,
            end=end,
            rom_deg=done.rom,
            peaks=dict(done.peaks),
            cues=tuple(done.cues),
            tempo_ok=done.tempo_ok,
            cut_by_end=cut_by_end,
            counted_at=end,
            end_pending=end_pending,
        )
        self.records.append(record)
        if end_pending and machine.closer is not None:
            machine.closer.hold(record.index, end)
        events.append(RepCompleted(end, record))
        if verdict is not None:
            self.tempo.cue(t, verdict, events)

    def close(self, left: OpenRep, end: float, t: float, events: list[Event], judge_tempo: bool) -> None:
        """``reps.end_at: leave``: the final record of rep ``left.index``, ending at ``end`` (``RepClosed``), and
        its tempo verdict over the whole cycle when ``judge_tempo``."""
        record = self.records[left.index - 1]
        verdict = self.tempo.rep_verdict(end - record.start, left.index) if judge_tempo else None
        final = replace(
            record,
            end=end,
            cues=record.cues + tuple(left.cues),
            tempo_ok=record.tempo_ok and verdict is None,
            end_pending=False,
        )
        self.records[left.index - 1] = final
        events.append(RepClosed(end, final))
        if verdict is not None:
            self.tempo.cue(t, verdict, events)

    def close_open(self, machines: list[PhaseMachine], t: float, events: list[Event]) -> None:
        """Closes every rep still open at the last frame seen in its last phase, with no tempo verdict: the
        person had not come back yet (session end, progress reset), so its true duration is unknown."""
        for machine in machines:
            if machine.closer is not None:
                left = machine.closer.take()
                if left is not None:
                    self.close(left, left.last_seen, t, events, judge_tempo=False)

    def by_side(self) -> dict[str, int]:
        """Reps counted on each side (reps whose side is unknown count on neither)."""
        counts = {"left": 0, "right": 0}
        for rep in self.records:
            if rep.side is not None:
                counts[rep.side] += 1
        return counts
