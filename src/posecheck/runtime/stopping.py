"""Stop signals: Ctrl-C (SIGINT), SIGTERM and SIGHUP end a command the same way.

A command is stopped by Ctrl-C at a terminal, by SIGTERM from a service manager, ``kill`` or a container
runtime, and by SIGHUP when its terminal goes away. Killed by the default action of the last two, an
analysis would save no report and leave an annotated video without its index (an mp4 with no moov atom
does not play). So each of them becomes a KeyboardInterrupt in the main thread, the one stop the session
loop already ends cleanly on: the sinks close their files and the command saves the report of the frames
seen so far. The signal is remembered so that the exit code can say which it was: 128 + its number, as a
shell reports a process that the signal killed (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).

After the first stop signal, a repeated SIGTERM or SIGHUP is only noted, so that it cannot break the saving
that the first one started (a service manager may send SIGTERM more than once); a second Ctrl-C interrupts at
once, for a loop that is stuck. A signal that was ignored when the process started (``nohup``, a background
job of a non-interactive shell) stays ignored, as the one who started the process asked.

This module imports nothing heavy: ``posecheck`` installs the handlers before importing the rest, so that a
Ctrl-C in the first half second is handled too.

A live session stops differently (`stop_on_signals`): its first stop signal asks the source to stop, as
the "q" key does, instead of raising in the middle of a frame.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

#: The signals that stop a command. SIGHUP does not exist on Windows.
STOP_SIGNALS: tuple[int, ...] = tuple(
    sig for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig is not None
)

_NAMES = {signal.SIGINT: "Ctrl-C"}

_received: int | None = None


def install() -> None:
    """Makes every stop signal a KeyboardInterrupt (see the module docstring). Main thread only; elsewhere,
    or for a signal that is ignored, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: object) -> None:
    first = _received is None
    record(signum)
    if first or signum == signal.SIGINT:
        raise KeyboardInterrupt


def record(signum: int) -> None:
    """Notes that ``signum`` asked the command to stop (the first one decides the exit code). Handlers of
    their own (the live view's, which stop the source instead of raising) call this too."""
    global _received
    if _received is None:
        _received = signum


def received() -> int | None:
    """The first stop signal received, or None."""
    return _received


def exit_code() -> int:
    """128 + the stop signal's number (130 when none was recorded: a KeyboardInterrupt raised otherwise,
    e.g. by Python's own handler in a process that did not call `install`)."""
    return 128 + (_received if _received is not None else signal.SIGINT)


def describe(signum: int | None = None) -> str:
    """``"Ctrl-C"``, ``"SIGTERM"``, ``"SIGHUP"`` for ``signum`` (default: the one received)."""
    signum = _received if signum is None else signum
    if signum is None:
        return "Ctrl-C"
    return _NAMES.get(signum) or signal.Signals(signum).name


def forget() -> None:
    """Forgets the signal received (for tests, and for a process that runs several commands)."""
    global _received
    _received = None


class Stoppable(Protocol):
    """What :func:`stop_on_signals` stops (`posecheck.runtime.controls.LiveControls`)."""

    ended_by: str | None

    def stop(self, reason: str) -> None: ...


@contextmanager
def stop_on_signals(controls: Stoppable) -> Iterator[None]:
    """While in the block, Ctrl-C (SIGINT), SIGTERM and SIGHUP end a live session like its "q" key: the loop
    finishes, the report is saved, and the command exits with the signal's code (the signal is recorded here).

    Unlike `install`, the handler raises nothing on the first signal: it only asks ``controls`` to stop (the
    source stops), so the frame in hand is finished cleanly (no exception in the middle of an engine update).
    The rest of the policy is `install`'s: a second Ctrl-C interrupts at once (KeyboardInterrupt), for a loop
    that is stuck; a signal ignored when the session starts (``nohup``) stays ignored. Handlers are restored
    on exit. Only the main thread may install handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(signum: int, frame: object) -> None:
        if controls.ended_by is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        record(signum)
        controls.stop(describe(signum))

    try:
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, handle)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
