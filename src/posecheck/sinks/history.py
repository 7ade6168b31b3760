"""Records a session in the history database as it happens (a session sink).

The session's row is written when the first frame comes (status ``running``); each rep, hold and cue is
stored the moment the engine reports it, so a crash or a kill loses nothing counted so far; `complete`
stores the final report. A database that fails mid-session (a full disk) stops the recording, never the
session: the failure is kept in ``failure`` and said once the report is saved.
"""

from __future__ import annotations

import logging

from posecheck.engine.events import Cue, HoldFinished, RepCompleted
from posecheck.history.store import HistoryStore

log = logging.getLogger(__name__)


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None or value != value else round(float(value), digits)


class HistorySink:
    """Writes the session into ``store`` (one row, then its reps, holds and cues as they happen).

    Args:
        store: an open `HistoryStore`; closed by `complete` (or `close`).
        exercise, exercise_title: the spec's id and title.
        mode: "analyze", "live" or "routine".
        out_dir: the folder the session's report goes to.
        rom_unit: the unit of the reps' range of motion (the spec's phase measure).
    """

    #: Runs in the loop: events are rare and the database has its own lock.
    background_safe = False

    def __init__(self, store: HistoryStore, *, exercise: str, exercise_title: str | None, mode: str,
                 out_dir: str | None, rom_unit: str | None) -> None:
        self.store = store
        self.exercise = exercise
        self.exercise_title = exercise_title
        self.mode = mode
        self.out_dir = out_dir
        self.rom_unit = rom_unit
        self.session_id: int | None = None
        self.failure: str | None = None
        self._holds = 0

    def on_start(self, info) -> None:
        self._guarded(lambda: self._begin(info))

    def _begin(self, info) -> None:
        self.session_id = self.store.begin_session(
            self.exercise, mode=self.mode, exercise_title=self.exercise_title, source_path=info.source,
            out_dir=self.out_dir)

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        if events and self.session_id is not None and self.failure is None:
            self._guarded(lambda: self._store_events(events))

    def on_end(self, state, events) -> None:
        self.on_frame(None, None, state, events)

    def on_finish(self, summary) -> None:
        """The final report comes through `complete`, once the caller has built it."""

    def _store_events(self, events) -> None:
        for event in events:
            if isinstance(event, RepCompleted):
                rep = event.rep
                self.store.add_rep(self.session_id, {
                    "index": rep.index, "side": rep.side, "start": _r(rep.start, 3), "end": _r(rep.end, 3),
                    "duration": _r(rep.duration, 3), "rom": _r(rep.rom_deg, 2), "rom_unit": self.rom_unit,
                    "peaks": {k: _r(v, 2) for k, v in rep.peaks.items()}, "tempo_ok": rep.tempo_ok,
                    "cut_by_end": rep.cut_by_end, "cues": list(rep.cues)})
            elif isinstance(event, HoldFinished):
                self._holds += 1
                hold = event.hold
                self.store.add_hold(self.session_id, self._holds, {
                    "side": hold.side, "start": _r(hold.start, 3), "end": _r(hold.end, 3),
                    "seconds": _r(hold.seconds, 2), "target_seconds": hold.target_seconds,
                    "target_met": hold.target_met})
            elif isinstance(event, Cue):
                self.store.add_cue(self.session_id, {"t": _r(event.t, 3), "rule": event.rule, "text": event.text,
                                                     "severity": event.severity})

    def complete(self, report: dict) -> None:
        """Stores the session's final report (status completed, or interrupted when the report says so)."""
        try:
            if self.session_id is not None and self.failure is None:
                self._guarded(lambda: self.store.complete_session(self.session_id, report, out_dir=self.out_dir))
        finally:
            self.close()

    def abandon(self) -> None:
        """The session failed before its report: its row is marked interrupted (what it counted stays)."""
        try:
            if self.session_id is not None and self.failure is None:
                self._guarded(lambda: self.store.mark_interrupted(self.session_id))
        finally:
            self.close()

    def close(self) -> None:
        self.store.close()

    def _guarded(self, action) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the history is secondary: the session goes on without it
            self.failure = f"{type(exc).__name__}: {exc}"
            log.warning("the session history stopped recording (%s); the report is still written", self.failure)
