"""The live coaching session: a camera (or a video played like one) through the session loop, shown as it happens.

`run_live` only puts the parts together and runs `posecheck.runtime.session.run_session`, the one frame loop:

- the sources are :class:`posecheck.sources.camera.CameraSource` and :class:`posecheck.sources.paced_file.PacedFileSource`
  (a reader thread hands over the newest frame, so the camera never waits for inference or drawing);
- the controls (`posecheck.runtime.controls`): the keys' actions (quit, pause, reset, mirror) and the count
  that "r" starts afresh (`ResettableEngine`); Ctrl-C, SIGTERM and SIGHUP stop the session like "q"
  (`posecheck.runtime.stopping.stop_on_signals`);
- the live view (`posecheck.sinks.live_view.LiveOverlay`) makes one immutable view per frame, drawn by
  `posecheck.sinks.live_render` (analyze's overlay from `posecheck.sinks.render` plus the live elements);
- the sinks: `posecheck.sinks.window.WindowSink` shows the view and reads the keys (closing it quits),
  `posecheck.sinks.terminal.TerminalSink` is the ``--headless`` view, `posecheck.sinks.recording.RecordingSink`
  saves the view as a video that keeps real time, `posecheck.sinks.speech.SpeechSink` speaks the name, the counts,
  the hold countdowns and the cues through a `posecheck.sinks.voice.Speaker` (its own worker thread).

Threads: the sinks are called on the loop's thread, which owns the engine, the controls and the overlay's
status, and applies every key there. What costs time per frame runs elsewhere on the immutable views: the
window is drawn and shown on the process's one GUI thread (`posecheck.sinks.gui`: OpenCV's windows must stay
on one thread), the recording is drawn and encoded on its own worker thread.

However the session ends (a key, the window closed, Ctrl-C, the video or the camera ending), the loop
finishes normally and the caller saves the report: nothing the user did is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.engine.events import SessionSummary
from posecheck.runtime.controls import KEYS_HELP, LiveControls, ResettableEngine
from posecheck.runtime.stopping import stop_on_signals
from posecheck.sinks.live_view import LiveOverlay
from posecheck.sinks.recording import RecordingSink
from posecheck.sinks.speech import SaysLines, SpeechSink
from posecheck.sinks.terminal import TerminalSink
from posecheck.sinks.window import WindowSink, require_display

# `posecheck.cli.live` imports these two from here: the keys' help and the display check before a window.
__all__ = ["KEYS_HELP", "LiveResult", "require_display", "run_live"]


@dataclass(frozen=True)
class LiveResult:
    """A finished live session.

    Attributes:
        session: what the loop returned (the summary of the count since the last reset, frame counts).
        ended_by: "q key", "Esc key", "window closed", "Ctrl-C", "SIGTERM", or for a source that ended by
            itself "end of video" / the camera's reason.
        source_ended: the source ran out (end of the video, camera gone) rather than the user stopping.
        source_failed: the source died part-way (a camera unplugged, a video file cut off) rather than reaching
            its end; ``ended_by`` says how.
        frames_dropped: frames the loop had no time for (see `posecheck.sources.latest_frame.LatestFrameSlot`).
        discarded: summaries of the counts the user reset ("r"), oldest first.
        recording_failure: why the ``record`` video stopped early (it holds the frames before), or None.
    """

    session: Any
    ended_by: str
    source_ended: bool
    frames_dropped: int
    discarded: list[SessionSummary]
    recording_failure: str | None = None
    source_failed: bool = False

    def report_section(self) -> dict[str, Any]:
        """The report's ``live`` entry: how the session ended, what was dropped, what a reset left out."""
        return {
            "ended_by": self.ended_by,
            "source_failed": self.source_failed,
            "frames_dropped": self.frames_dropped,
            "resets": len(self.discarded),
            "reps_before_resets": [discarded.reps for discarded in self.discarded],
        }


def run_live(
    spec,
    source,
    estimator,
    make_engine: Callable[[], Any],
    *,
    window: bool = True,
    record: Path | None = None,
    mirror: bool = False,
    terminal: TerminalSink | None = None,
    extra_sinks: Sequence = (),
    speaker: SaysLines | None = None,
    make_controls: Callable[..., LiveControls] = LiveControls,
) -> LiveResult:
    """Runs a live session through `posecheck.runtime.session.run_session` with the live sinks.

    Args:
        spec: the exercise spec.
        source: a `CameraSource` or `PacedFileSource` (anything with stop/pause/resume and ``info``);
            the caller opens and closes it.
        estimator: the pose estimator (opened by the caller).
        make_engine: returns a fresh engine; called again on each reset.
        window: show the window (call :func:`require_display` first); False = headless.
        record: save the annotated view to this video file.
        mirror: start with a mirrored view (a selfie view for a camera).
        terminal: the headless view; default: a `TerminalSink` on stderr when ``window`` is False.
        extra_sinks: more sinks (history, per-frame measures: `posecheck.sinks.outputs`), called before the view.
        speaker: speak the session through it (`posecheck.sinks.voice.Speaker`; the caller opens and closes it);
            None = no voice.
        make_controls: makes the session's controls from ``source=``, ``engine=`` and ``mirror=`` (a routine
            passes `posecheck.runtime.controls.RoutineControls`, which adds its keys).

    Returns:
        The session and how it ended; the caller writes the report.
    """
    from posecheck.runtime.session import run_session

    engine = ResettableEngine(make_engine)
    controls = make_controls(source=source, engine=engine, mirror=mirror)
    overlay = LiveOverlay(spec, controls)
    sinks: list = []
    recording = RecordingSink(record, overlay) if record is not None else None
    if recording is not None:
        sinks.append(recording)
    sinks.extend(extra_sinks)
    if speaker is not None:
        sinks.append(SpeechSink(speaker, spec))
    if window:
        # Last: nothing is opened after the window that could still fail (the session would finish the
        # window again at once).
        sinks.append(WindowSink(overlay, controls))
    else:
        sinks.append(terminal if terminal is not None else TerminalSink(spec))
    with stop_on_signals(controls):
        # Sinks are called on the loop's thread (background=0): they hand their slow work to their own threads
        # (the GUI thread, the recorder's worker) and keys must act on the loop's thread; the capture thread
        # already keeps the camera from waiting on us.
        session = run_session(source, estimator, engine, sinks, exercise=spec.id, background=0)
    if session.interrupted and controls.ended_by is None:
        controls.ended_by = "Ctrl-C"
    source_ended = controls.ended_by is None
    end_reason = getattr(source, "end_reason", None)
    ended_by = controls.ended_by or end_reason or "end of video"
    return LiveResult(
        session=session,
        ended_by=ended_by,
        source_ended=source_ended,
        source_failed=source_ended and end_reason is not None,
        frames_dropped=int(getattr(source, "frames_dropped", 0)),
        discarded=list(engine.discarded),
        recording_failure=recording.failure if recording is not None else None,
    )
