"""What a session says aloud: the exercise's name, "begin", the counts, hold countdowns, cues and "well done".

`SpeechSink` follows the engine's events (as the terminal view does) and hands one line per frame at most to a
speaker (`posecheck.sinks.voice.Speaker`, or anything with ``say(text)``): the phrases of the same frame are joined,
so that a speaker that keeps only the newest line loses none of them. Nothing here makes a sound or needs
espeak-ng, so the lines can be tested as text.

It stays calm. The count, the hold countdown and the start and end are always said: they are what a person lying on
the floor cannot read. Cues and setup guidance are extra: the engine already spaces each cue rule by the spec's
``cooldown``, and here a spoken reminder also waits `REMINDER_GAP_S` after the previous one, and the same words are
not said again within `SAME_WORDS_GAP_S`; a reminder held back is still on the screen. Times are the session's (the
pose timestamps), so a replayed trace says exactly what the live session said.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

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
)
from posecheck.runtime.protocols import SessionInfo

#: The last seconds of a hold target that are counted down aloud ("three", "two", "one", then "rest"). Long enough
#: to prepare the release, short enough not to talk over the breath.
COUNTDOWN_SECONDS = 3
#: Seconds between two spoken reminders (cues, setup guidance, "please come back into view"): one at a time, a
#: slow exercise done with the breath leaves about this long between movements.
REMINDER_GAP_S = 6.0
#: The same reminder is not said again within this many seconds (the screen keeps showing it).
SAME_WORDS_GAP_S = 30.0

BEGIN = "begin"
CARRY_ON = "carry on"  # counting resumes after the setup was lost: "begin" again would sound like a restart
HOLD = "hold"
REST = "rest"
WELL_DONE = "well done"
COME_BACK = "please come back into view"


class SaysLines(Protocol):
    """What `SpeechSink` speaks through: `posecheck.sinks.voice.Speaker`, or a recorder in tests."""

    def say(self, text: str) -> None: ...


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """A count in words, as it is spoken: 3 -> "three", 21 -> "twenty-one", 105 -> "one hundred and five".

    Counts of a thousand or more stay digits (espeak-ng reads them aloud just as well).
    """
    if n < 0 or n >= 1000:
        return str(n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(n, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


@dataclass
class SpeechSink:
    """A session sink that speaks the session's moments through ``speaker``.

    Args:
        speaker: where the lines go (``say(text)``, which must not block); this sink never closes it, so one
            speaker can serve a whole routine.
        spec: the exercise (its title is the name said at the start).
        say_name: say the exercise's name at the start (a routine that already announced it passes False).
        say_begin: say "begin" when counting first starts (a routine that said "Begin." itself passes False;
            "carry on" after the setup was lost is said either way).
        say_well_done: say "well done" at the end when anything was done (a rep or a hold).
    """

    speaker: SaysLines
    spec: Any
    say_name: bool = True
    say_begin: bool = True
    say_well_done: bool = True
    _phrases: list[str] = field(default_factory=list)
    _started_counting: bool = False
    _hold_announced: set[int] = field(default_factory=set)  # the countdown's steps said for the running hold
    _reminder_at: float = -1e9
    _words_at: dict[str, float] = field(default_factory=dict)

    def on_start(self, info: SessionInfo) -> None:
        self._started_counting = False
        if self.say_name:
            # Said with the first frame's words: both in one line, so that a newer line cannot replace it.
            self._phrases.append(self.spec.title)

    def on_frame(self, frame_bgr: np.ndarray | None, pose: Pose | None, state: EngineState, events: list[Event]) -> None:
        for event in events:
            self._on_event(event, state)
        self._count_down(state)
        self._flush()

    def on_end(self, state: EngineState, events: list[Event]) -> None:
        for event in events:
            self._on_event(event, state)
        self._flush()

    def on_finish(self, summary: SessionSummary) -> None:
        if self.say_well_done and (summary.reps > 0 or summary.holds):
            self._phrases.append(WELL_DONE)
        self._flush()

    # ------------------------------------------------------------------------------------------------ events

    def _on_event(self, event: Event, state: EngineState) -> None:
        if isinstance(event, Ready):
            if self._started_counting or self.say_begin:
                self._phrases.append(CARRY_ON if self._started_counting else BEGIN)
            self._started_counting = True
        elif isinstance(event, RepCompleted):
            self._phrases.append(count_words(event, state))
        elif isinstance(event, HoldStarted):
            self._hold_announced = set()
            self._phrases.append(HOLD)
        elif isinstance(event, HoldFinished):
            if 0 not in self._hold_announced:  # "rest" was not said yet when the target was reached
                self._phrases.append(REST)
            self._hold_announced = set()
        elif isinstance(event, Cue):
            self._remind(event.t, event.text)
        elif isinstance(event, NotReady):
            self._remind(event.t, event.reason)
        elif isinstance(event, TrackingLost):
            self._remind(event.t, COME_BACK)

    def _count_down(self, state: EngineState) -> None:
        """The last `COUNTDOWN_SECONDS` of a hold's target in words, then "rest" when it is reached.

        Each step is said once per hold, when the seconds left first drop to it; the timer pauses while the form
        breaks, so a countdown can take longer than it says, never less.
        """
        if state.hold_seconds is None or not state.hold_target:
            return
        step = max(0, math.ceil(state.hold_target - state.hold_seconds))  # whole seconds left
        if step > COUNTDOWN_SECONDS or step in self._hold_announced:
            return
        # Steps skipped over (a frame gap, a pause) are not said late.
        self._hold_announced.update(range(step, COUNTDOWN_SECONDS + 1))
        if step < state.hold_target:  # a hold shorter than the countdown starts it part-way
            self._phrases.append(REST if step == 0 else number_words(step))

    def _remind(self, t: float, words: str) -> None:
        if t - self._reminder_at < REMINDER_GAP_S or t - self._words_at.get(words, -1e9) < SAME_WORDS_GAP_S:
            return
        self._reminder_at = t
        self._words_at[words] = t
        self._phrases.append(words)

    def _flush(self) -> None:
        if self._phrases:
            self.speaker.say(". ".join(phrase.rstrip(". ") for phrase in self._phrases))
            self._phrases.clear()


def count_words(event: RepCompleted, state: EngineState) -> str:
    """The words for a counted rep: "three"; for one side of an alternating exercise, that side's own count
    ("two, left"), which is what the screen shows."""
    rep = event.rep
    if rep.side is not None and state.reps_by_side.get(rep.side):
        return f"{number_words(state.reps_by_side[rep.side])}, {rep.side}"
    return number_words(rep.index)
