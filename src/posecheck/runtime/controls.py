"""The live session's controls: what the keys do (quit, pause, reset, mirror), the count that a reset starts
afresh, and the status the live view shows beside the engine's state (frame rate, mirrored, paused).

The window (`posecheck.sinks.window`) reads the keys and hands them to :meth:`LiveControls.press` on the
loop's thread; the stop signals (`posecheck.runtime.stopping.stop_on_signals`) call :meth:`LiveControls.stop`.
Nothing here draws or opens anything.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from posecheck.core.pose import Pose
from posecheck.engine.events import EngineState, Event, SessionSummary

log = logging.getLogger(__name__)

QUIT_KEYS = frozenset({ord("q"), ord("Q"), 27})  # 27 = Esc
PAUSE_KEYS = frozenset({ord(" ")})
RESET_KEYS = frozenset({ord("r"), ord("R")})
MIRROR_KEYS = frozenset({ord("m"), ord("M")})
KEYS_HELP = "q quit, space pause, r reset, m mirror"

#: The frame-rate readout averages over roughly this many seconds.
FPS_WINDOW_S = 1.0


class ControllableSource(Protocol):
    """What the live controls need from a source (both live sources, `posecheck.sources.camera` and `posecheck.sources.paced_file`, have it)."""

    def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class ResettableEngine:
    """An engine the user can restart ("r"): the count starts again from zero, the session goes on.

    Wraps a fresh `Engine` made by ``make_engine``; the session loop sees one engine. The report covers
    what was counted since the last reset; ``discarded`` keeps the summaries of the sets before it, so
    the CLI can say what was left out.

    Args:
        make_engine: returns a new engine for the exercise (e.g. ``lambda: Engine(spec)``).
    """

    def __init__(self, make_engine: Callable[[], Any]) -> None:
        self._make_engine = make_engine
        self._engine = make_engine()
        self._last_t = 0.0
        self.discarded: list[SessionSummary] = []

    def update(self, t: float, pose: Pose | None) -> list[Event]:
        self._last_t = t
        return self._engine.update(t, pose)

    @property
    def state(self) -> EngineState:
        return self._engine.state

    def end(self, t_end: float) -> list[Event]:
        return self._engine.end(t_end)

    def finish(self, t_end: float) -> SessionSummary:
        return self._engine.finish(t_end)

    def reset(self) -> None:
        """Closes the current count (kept in ``discarded``) and starts a new engine."""
        self.discarded.append(self._engine.finish(self._last_t))
        self._engine = self._make_engine()
        log.info("count reset at %.1f s (%d reps set aside)", self._last_t, self.discarded[-1].reps)


@dataclass
class LiveControls:
    """What the keys act on, and how the session ended.

    Thread ownership: the loop's thread (the keys and the signals' requests are applied there).

    Attributes:
        source: paused, resumed and stopped by the keys and by Ctrl-C.
        engine: reset by "r" (None: reset unavailable).
        mirror: whether the view is shown mirrored (a selfie view for a camera); the estimator and the
            engine always get the unmirrored frame, so mirroring never changes a count.
        ended_by: why the session ended, for the summary ("q key", "window closed", "Ctrl-C", ...);
            None while running or when the source simply ended.
    """

    #: The keys these controls take, as the live view and the window's title show them.
    keys_help: ClassVar[str] = KEYS_HELP

    source: ControllableSource
    engine: ResettableEngine | None = None
    mirror: bool = False
    paused: bool = False
    ended_by: str | None = None

    def press(self, key: int) -> bool:
        """Acts on one key (0-255, see `KEYS_HELP`); True if the picture changes (pause, reset, mirror)."""
        if key in QUIT_KEYS:
            self.stop("Esc key" if key == 27 else "q key")
        elif key in PAUSE_KEYS:
            self.toggle_pause()
        elif key in RESET_KEYS:
            self.reset()
        elif key in MIRROR_KEYS:
            self.toggle_mirror()
        else:
            return False
        return key not in QUIT_KEYS

    def stop(self, reason: str) -> None:
        if self.ended_by is None:
            self.ended_by = reason
        self.source.stop()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self.source.pause()
        else:
            self.source.resume()

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()

    def toggle_mirror(self) -> None:
        self.mirror = not self.mirror


class FrameRateMeter:
    """Frames per second over a sliding window of about ``window_s`` seconds of wall-clock time."""

    def __init__(self, window_s: float = FPS_WINDOW_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self.window_s = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def tick(self) -> None:
        now = self._clock()
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window_s:
            self._times.popleft()

    @property
    def fps(self) -> float | None:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


@dataclass(frozen=True)
class LiveStatus:
    """What the live view shows beside the engine's state (`posecheck.sinks.live_view.LiveOverlay` keeps it).

    Attributes:
        fps: frames the loop processed per second, None until measured.
        mirror: draw the frame mirrored (left-right flipped).
        paused: draw the paused screen.
        counting_since: session time (s) at which the setup last became right, while the "counting"
            confirmation should show; None otherwise.
        last_hold_seconds: counted seconds of the last finished hold, None before the first.
        hint: the keys, as the controls in use take them (`LiveControls.keys_help`).
    """

    fps: float | None = None
    mirror: bool = False
    paused: bool = False
    counting_since: float | None = None
    last_hold_seconds: float | None = None
    hint: str = KEYS_HELP


# ------------------------------------------------------------------------------------------------ routines

#: A guided routine's own keys (`posecheck.routines.runner`), beside quit, pause and mirror.
NEXT_KEYS = frozenset({ord("n"), ord("N")})
BACK_KEYS = frozenset({ord("b"), ord("B")})
REPEAT_KEYS = frozenset({ord("r"), ord("R")})  # in a routine "r" repeats the step (its count starts again too)
HURT_KEYS = frozenset({ord("h"), ord("H")})
ROUTINE_KEYS_HELP = "n next, b back, r repeat, h this hurts, space pause, q quit"

#: What a routine key asks of the routine once the step's session has ended.
ROUTINE_ACTIONS = {**dict.fromkeys(NEXT_KEYS, "next"), **dict.fromkeys(BACK_KEYS, "back"),
                   **dict.fromkeys(REPEAT_KEYS, "repeat"), **dict.fromkeys(HURT_KEYS, "pain")}


@dataclass
class RoutineControls(LiveControls):
    """The controls of one exercise step of a routine: the live keys, plus next, back, repeat and "this hurts",
    each of which ends the step's session and leaves ``action`` for the routine to act on.

    Attributes:
        action: "next", "back", "repeat", "pain", "quit" (q, Esc, a signal, the window closed), or what ended
            the step by itself ("target", "time box"); None while the step runs or when its source ended.
        action_t: the session time of the key that set ``action`` (for the pain flag), or None.
    """

    keys_help: ClassVar[str] = ROUTINE_KEYS_HELP

    action: str | None = None
    action_t: float | None = None

    def press(self, key: int, t: float | None = None) -> bool:
        """Acts on one key; ``t`` is the session time it came at, when the caller knows it."""
        if key in ROUTINE_ACTIONS:
            self.end_step(ROUTINE_ACTIONS[key], f"{chr(key).lower()} key", t)
            return False
        return super().press(key)

    def end_step(self, action: str, reason: str, t: float | None = None) -> None:
        """Ends the step's session, remembering what the routine should do next (the first request wins)."""
        if self.ended_by is None:
            self.action, self.action_t = action, t
        self.stop(reason)

    def stop(self, reason: str) -> None:
        if self.ended_by is None and self.action is None:
            self.action = "quit"  # q, Esc, Ctrl-C, the window closed: the whole routine stops
        super().stop(reason)
