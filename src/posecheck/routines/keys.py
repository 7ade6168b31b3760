"""Scripted keys (``--keys``): a routine driven without a keyboard, for tests and demonstrations.

A script is a comma-separated list of ``STEP:KEY@SECONDS`` entries, e.g. ``"1:n@3.0,2:h@5.2"``:

- ``STEP`` is the step's number as ``posecheck routine show`` lists it (1-based);
- ``KEY`` is one of the routine's keys: ``n`` next, ``b`` back, ``r`` repeat, ``h`` this hurts, ``q`` quit,
  ``space`` pause/resume, ``m`` mirror;
- ``SECONDS`` is the time into the step at which the key is pressed: the step's session time (the clip's own
  time with ``--source``) for an exercise step, the wall clock for a guided step or a rest. While paused, the
  script's clock goes on with the wall clock, so ``2:space@3,2:space@5`` pauses step 2 for two seconds.

Each entry is used once: a step visited again (after ``b`` or ``r``) runs without the keys already used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from posecheck.errors import InputError

#: Script key names -> the key code the window would deliver.
KEY_CODES = {"n": ord("n"), "b": ord("b"), "r": ord("r"), "h": ord("h"), "q": ord("q"), "m": ord("m"),
             "space": ord(" ")}

_ENTRY = re.compile(r"^\s*(\d+)\s*:\s*([a-z]+)\s*@\s*(\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class ScriptedKey:
    step: int
    key: str
    seconds: float

    @property
    def code(self) -> int:
        return KEY_CODES[self.key]


def parse_key_script(text: str, steps: int) -> list[ScriptedKey]:
    """The entries of a key script, in time order per step.

    Raises:
        InputError: an entry is malformed, names an unknown key or a step the routine does not have.
    """
    entries = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _ENTRY.match(part.lower())
        if match is None:
            raise InputError(f"--keys: '{part.strip()}' is not STEP:KEY@SECONDS (e.g. 2:n@3.5)")
        step, key, seconds = int(match[1]), match[2], float(match[3])
        if key not in KEY_CODES:
            raise InputError(f"--keys: unknown key '{key}' in '{part.strip()}' (keys: {', '.join(KEY_CODES)})")
        if not 1 <= step <= steps:
            raise InputError(f"--keys: step {step} in '{part.strip()}' is not in the routine (steps 1-{steps})")
        entries.append(ScriptedKey(step, key, seconds))
    return sorted(entries, key=lambda entry: (entry.step, entry.seconds))


class KeyScript:
    """The entries not used yet; `due` hands out those of a step whose time has come, once each."""

    def __init__(self, entries: list[ScriptedKey]) -> None:
        self._pending = list(entries)

    def next_time(self, step: int) -> float | None:
        """When the step's next key is due (seconds into the step), or None when it has none left."""
        times = [entry.seconds for entry in self._pending if entry.step == step]
        return min(times) if times else None

    def due(self, step: int, seconds: float) -> list[ScriptedKey]:
        """The step's keys due by ``seconds`` into it, removed from the script."""
        ready = [entry for entry in self._pending if entry.step == step and entry.seconds <= seconds]
        for entry in ready:
            self._pending.remove(entry)
        return ready
