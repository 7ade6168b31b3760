"""The ``--headless`` view: the count, the phase and the cues of a live session on a terminal.

Words come from `posecheck.sinks.wording`, as the drawn overlays' do; nothing here draws or needs OpenCV.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from posecheck.core.pose import Pose
from posecheck.engine.events import (
    Cue,
    EngineState,
    Event,
    HoldFinished,
    HoldStarted,
    NotReady,
    Ready,
    RepCompleted,
    SessionSummary,
    TrackingLost,
    TrackingRegained,
)
from posecheck.runtime.controls import FrameRateMeter
from posecheck.runtime.protocols import SessionInfo
from posecheck.sinks.wording import counter_text, counts_seconds, state_message, target_text
from posecheck.specs.labels import phase_label

#: The terminal status line is rewritten at most this often (seconds): faster is unreadable flicker.
STATUS_INTERVAL_S = 0.2


@dataclass
class TerminalSink:
    """The ``--headless`` view: the count, phase and cues on a terminal (stderr by default).

    On a terminal one status line is rewritten in place and events (reps, cues, setup guidance) are
    printed above it; when the stream is not a terminal (a log file, a pipe) only the events are printed,
    one plain line each.

    Args:
        spec: the exercise being counted.
        stream: where to write; None (default) writes to whatever ``sys.stderr`` is at the time, so that
            ``--json -`` keeps stdout for the report and a redirected stderr is followed.
        interactive: rewrite a status line in place; default: whether ``stream`` is a terminal.
        clock: wall clock for rate-limiting the status line.
    """

    spec: Any
    stream: IO[str] | None = None
    interactive: bool | None = None
    clock: Callable[[], float] = time.perf_counter
    meter: FrameRateMeter | None = None
    _last_status_at: float = -1e9
    _status_shown: bool = False
    _last_paused: str | None = None

    def __post_init__(self) -> None:
        if self.meter is None:
            self.meter = FrameRateMeter(clock=self.clock)
        if self.interactive is None:
            isatty = getattr(self._out, "isatty", None)
            self.interactive = bool(isatty and isatty())

    @property
    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def on_start(self, info: SessionInfo) -> None:
        source = info.source
        self._line(f"posecheck live: {self.spec.title} from {source} (Ctrl-C to stop)")

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        self.meter.tick()
        printed = self._print_events(events, state)
        printed = self._print_paused(state) or printed
        # Redrawn at once under a new event line, else at most every STATUS_INTERVAL_S.
        if self.interactive and (printed or self.clock() - self._last_status_at >= STATUS_INTERVAL_S):
            self._last_status_at = self.clock()
            self._status(status_line(state, self.spec, self.meter.fps))

    def on_end(self, state: EngineState, events: list[Event]) -> None:
        """The session's end events: a hold still running when the session ended gets its "hold done" line."""
        self._print_events(events, state)

    def on_finish(self, summary: SessionSummary) -> None:
        self._clear_status()

    def _print_events(self, events: list[Event], state: EngineState) -> bool:
        """One line per event worth telling; True if any was printed."""
        printed = False
        for event in events:
            text = describe_event(event, state)
            if text:
                self._line(f"{_clock_text(event.t)}  {text}")
                printed = True
        return printed

    def _print_paused(self, state: EngineState) -> bool:
        """A line when reps stop being counted although the setup is right (state.paused_reason), once per reason."""
        reason = state.paused_reason if state.ready else None
        if reason == self._last_paused:
            return False
        self._last_paused = reason
        if reason is None:
            return False
        self._line(f"{_clock_text(state.t)}  {reason}")
        return True

    def _line(self, text: str) -> None:
        self._clear_status()
        self._out.write(text + "\n")
        self._out.flush()

    def _status(self, text: str) -> None:
        # \r and "erase to end of line": the line is rewritten in place, whatever its previous length.
        self._out.write("\r\x1b[K" + text)
        self._out.flush()
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self._out.write("\r\x1b[K")
            self._status_shown = False


def _clock_text(t: float) -> str:
    minutes, seconds = divmod(max(t, 0.0), 60.0)
    return f"{int(minutes):02d}:{seconds:04.1f}"


def describe_event(event: Event, state: EngineState) -> str | None:
    """One line for the events a person wants to hear about; None for the others (phase changes)."""
    if isinstance(event, RepCompleted):
        rep = event.rep
        side = f" ({rep.side})" if rep.side else ""
        total = f" / {state.target_reps}" if state.target_reps else ""
        if rep.cut_by_end:  # the session ended on the way back: the rep is done, its duration unknown
            return f"rep {rep.index}{total}{side}, counted as you finished"
        if rep.end_pending:  # reps.end_at: leave: counted now, its duration is known when the way back is done
            return f"rep {rep.index}{total}{side}"
        return f"rep {rep.index}{total}{side} in {rep.duration:.1f} s"
    if isinstance(event, Cue):
        return f"cue: {event.text}"
    if isinstance(event, NotReady):
        return f"setup: {event.reason}"
    if isinstance(event, Ready):
        return "you're set - counting now"
    if isinstance(event, HoldStarted):
        return "hold started" + (f" ({event.side})" if event.side else "")
    if isinstance(event, HoldFinished):
        hold = event.hold
        target = f" of {hold.target_seconds:.0f}" if hold.target_seconds else ""
        return f"hold done: {hold.seconds:.1f}{target} s"
    if isinstance(event, TrackingLost):
        return "lost sight of you - please step into view"
    if isinstance(event, TrackingRegained):
        return "found you again"
    return None


def status_line(state: EngineState, spec, fps: float | None) -> str:
    """The headless status line: count, target, phase, hold, frame rate, and the setup or cue text."""
    parts = [f"{spec.title}: {counter_text(state, spec)}"]
    target = target_text(spec)
    if target:
        parts[0] += f" {target}"
    if state.phase:
        parts.append(f"phase {phase_label(spec, state.phase)}")  # the spec's words for people
    if state.hold_seconds is not None and not counts_seconds(spec):
        hold_target = f"/{state.hold_target:.0f}" if state.hold_target else ""
        parts.append(f"hold {state.hold_seconds:.1f}{hold_target} s")
    if fps is not None:
        parts.append(f"{fps:.0f} fps")
    message = state_message(state)
    if message is not None:
        kind, text = message
        parts.append("looking for you" if kind == "lost" else f"setup: {text}" if kind == "setup" else text)
    return " | ".join(parts)
