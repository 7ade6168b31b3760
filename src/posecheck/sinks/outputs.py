"""The hook `analyze` and `live` call around a session: history, measures.csv and report.html.

    outputs = SessionOutputs(spec, mode="analyze", out_dir=out_dir, history=not no_history)
    sinks += outputs.sinks()
    ... run the session, build the report, save report.json ...
    written += outputs.finish(report, video=out_dir / "annotated.mp4")

The files hold health data: they are written readable by the user only (0600), and `finish` makes
report.json and reps.csv so as well.
"""

from __future__ import annotations

import logging
from pathlib import Path

from posecheck.errors import InputError
from posecheck.sinks.private_files import make_private

log = logging.getLogger(__name__)

#: Files of a session's output folder that hold health data (made 0600 by `finish`).
PRIVATE_OUTPUTS = ("report.json", "reps.csv", "measures.csv", "report.html", "annotated.mp4")


class SessionOutputs:
    """History recording, the per-frame measures, measures.csv and report.html for one session.

    Args:
        spec: the exercise spec.
        mode: "analyze", "live" or "routine" (as the history records it).
        out_dir: the session's output folder (report.json is there).
        history: record the session in the history database.
        html: write report.html; measures: write measures.csv.
    """

    def __init__(self, spec, *, mode: str, out_dir: Path, history: bool = True, html: bool = True,
                 measures: bool = True) -> None:
        from posecheck.sinks.measures import MeasuresRecorderSink

        self.spec = spec
        self.mode = mode
        self.out_dir = Path(out_dir)
        self.html = html
        self.measures = measures
        self.recorder = MeasuresRecorderSink() if (html or measures) else None
        self.history = self._history_sink() if history else None

    def _history_sink(self):
        from posecheck.history.store import HistoryStore
        from posecheck.sinks.history import HistorySink

        try:
            store = HistoryStore()
        except InputError as exc:
            # The history is secondary: say so, and count anyway.
            log.warning("%s; this session is not recorded in the history", exc)
            return None
        measure = self.spec.measures[self.spec.phases.measure]
        return HistorySink(store, exercise=self.spec.id, exercise_title=self.spec.title, mode=self.mode,
                           out_dir=str(self.out_dir.resolve()), rom_unit=measure.unit)

    def sinks(self) -> list:
        return [sink for sink in (self.recorder, self.history) if sink is not None]

    def finish(self, report: dict, *, video: Path | None = None) -> list[Path]:
        """Writes measures.csv and report.html, completes the history row; returns the files written.

        ``video``: the session's video, shown in report.html when it exists (a path relative to the report).
        """
        written: list[Path] = []
        try:
            frames = self.recorder.frames() if self.recorder is not None else None
            if self.measures and frames is not None:
                from posecheck.sinks.measures import write_measures_csv

                written.append(write_measures_csv(frames, self.out_dir / "measures.csv", self.spec))
            if self.html:
                from posecheck.sinks.html_report import write_session_report

                shown = video if video is not None and video.exists() else None
                written.append(write_session_report(self.out_dir / "report.html", report, self.spec, frames, video=shown))
            for name in PRIVATE_OUTPUTS:
                if (self.out_dir / name).exists():
                    make_private(self.out_dir / name)
        finally:
            if self.history is not None:
                self.history.complete(report)
        if self.history is not None and self.history.failure is not None:
            log.warning("the history holds this session only in part (%s)", self.history.failure)
        return written

    def abandon(self) -> None:
        """The session failed before it had a report: close the history (its row stays ``running`` until the
        next start marks it ``interrupted``, as after a crash)."""
        if self.history is not None:
            self.history.abandon()
