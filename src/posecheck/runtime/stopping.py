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
"""

from __future__ import annotations

import signal
import threading

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
