"""The voice: spoken lines through espeak-ng, offline, without ever holding up the frame loop.

espeak-ng comes from the system's packages (``apt-get install espeak-ng``, ``brew install espeak-ng``) and needs no
model download. It is run as a subprocess, one per line, rather than through pyttsx3: a subprocess can be given a
timeout and killed when an audio server hangs, its crash cannot take the session down, and its stderr says when the
audio device could not be opened; pyttsx3's ``runAndWait`` blocks its caller, its engine is not safe to share
between threads, and it would add a dependency for what one command line does.

What the voice says is decided elsewhere (`posecheck.sinks.speech`); this module only speaks. A `Speaker` speaks
on its own worker thread: `Speaker.say` returns at once, and a new line never queues behind old ones (see `say`).
When espeak-ng is missing or the audio device cannot be opened, `Speaker.open` logs one warning and returns a
speaker that stays silent, so a session carries on without its voice.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path

from posecheck.errors import InputError, PosecheckError

log = logging.getLogger(__name__)

#: The speech engine's command (looked up on the PATH).
ENGINE = "espeak-ng"
#: Words per minute when none is asked for. espeak-ng's own default, 175, sounds hurried over exercises that
#: move with the breath; 150 is calm and still clear.
DEFAULT_RATE_WPM = 150
#: The rates espeak-ng accepts (its -s option: espeakRATE_MINIMUM and espeakRATE_MAXIMUM).
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450
#: How long opening the audio device may take before it counts as absent: an unreachable PulseAudio server makes
#: espeak-ng wait, and a session must not.
PROBE_TIMEOUT_S = 5.0
#: The longest one line may take. Lines are a few words (2-3 s at the slowest rate); one still playing after this
#: means the audio output hangs, and the voice is turned off rather than left stuck.
LINE_TIMEOUT_S = 20.0
#: How long `Speaker.close` waits by default for the line being spoken and the one waiting (the last "well done").
CLOSE_TIMEOUT_S = 4.0


class SpeechUnavailable(PosecheckError):
    """The speech engine is missing or could not speak (`render_wav`; `Speaker.open` warns instead)."""


def engine_path() -> str | None:
    """Where espeak-ng is on the PATH, or None when it is not installed."""
    return shutil.which(ENGINE)


def speech_command(rate: int | None = None, voice: str | None = None, *, engine: str | None = None) -> list[str]:
    """The espeak-ng command line (without output options) that reads the text from stdin.

    Args:
        rate: words per minute (`MIN_RATE_WPM`-`MAX_RATE_WPM`); None = `DEFAULT_RATE_WPM`.
        voice: an espeak-ng voice (``en-gb``, ``en+f3``: see ``espeak-ng --voices``); None = espeak-ng's default.
        engine: the program; None = espeak-ng found on the PATH.

    Raises:
        InputError: the rate is outside what espeak-ng accepts.
        SpeechUnavailable: espeak-ng is not installed.
    """
    rate = DEFAULT_RATE_WPM if rate is None else int(rate)
    if not MIN_RATE_WPM <= rate <= MAX_RATE_WPM:
        raise InputError(f"the voice's rate must be {MIN_RATE_WPM}-{MAX_RATE_WPM} words per minute, not {rate}")
    program = engine or engine_path()
    if program is None:
        raise SpeechUnavailable(f"{ENGINE} is not installed (on Debian/Ubuntu: apt-get install {ENGINE})")
    command = [program, "-s", str(rate)]
    if voice:
        command += ["-v", voice]
    return command


def render_wav(text: str, path: str | Path, *, rate: int | None = None, voice: str | None = None) -> Path:
    """Speaks ``text`` into a WAV file with the engine the voice uses (``espeak-ng -w``), without a sound device.

    Returns:
        ``path``.

    Raises:
        SpeechUnavailable: espeak-ng is missing, or wrote no audio (it exits 0 even when it cannot write).
        InputError: the rate is out of range or the voice does not exist.
    """
    path = Path(path)
    command = speech_command(rate, voice) + ["-w", str(path)]
    result = _run(command, text, timeout=LINE_TIMEOUT_S)
    problem = _problem(result)
    if problem is not None:
        raise _voice_error(voice, problem) if voice and "voice" in problem.lower() else SpeechUnavailable(
            f"{ENGINE} could not write {path}: {problem}")
    if not path.is_file() or path.stat().st_size <= 44:  # 44 bytes: a WAV header with no sound after it
        raise SpeechUnavailable(f"{ENGINE} wrote no audio to {path}")
    return path


class Speaker:
    """Says short lines aloud, one at a time, on a worker thread.

    Make one with `Speaker.open`; `Speaker.silent()` is a speaker that says nothing (the voice turned off). Use it
    as a context manager, or call `close` when done. ``say`` may be called from any thread.

    Attributes:
        active: True while lines are spoken (False when silent, closed, or after the engine failed).
        spoken: every line handed to the engine so far, oldest first (what was said, for logs and tests).
    """

    def __init__(self, command: list[str] | None, *, line_timeout_s: float = LINE_TIMEOUT_S) -> None:
        """``command``: the engine's command line reading text from stdin (`speech_command`); None = silent.
        Prefer `Speaker.open`, which checks the engine and the audio device first."""
        self._command = command
        self._line_timeout_s = line_timeout_s
        self._condition = threading.Condition()
        self._waiting: str | None = None  # the one line not yet started: a newer one replaces it
        self._closing = False
        self._process: subprocess.Popen | None = None
        self._worker: threading.Thread | None = None
        self.spoken: list[str] = []
        if command is not None:
            self._worker = threading.Thread(target=self._speak_lines, name="posecheck-voice", daemon=True)
            self._worker.start()

    @classmethod
    def silent(cls) -> "Speaker":
        """A speaker that says nothing (no thread, no process)."""
        return cls(None)

    @classmethod
    def open(cls, enabled: bool = True, rate: int | None = None, voice: str | None = None) -> "Speaker":
        """A speaker for a session: espeak-ng at ``rate`` words per minute with ``voice``, or a silent one.

        Silent when ``enabled`` is False. When espeak-ng is missing, or the audio device cannot be opened (no sound
        card, no audio server, or one that does not answer within `PROBE_TIMEOUT_S`), it logs ONE warning saying
        why and returns a silent speaker: the session goes on without its voice.

        Raises:
            InputError: ``rate`` is out of range, or espeak-ng has no voice ``voice`` (a mistake to fix, not a
                missing device).
        """
        if not enabled:
            return cls.silent()
        # The warnings are short: one line on an 80-column terminal, "WARNING" and all.
        try:
            command = speech_command(rate, voice)
        except SpeechUnavailable:
            log.warning("voice off: %s not installed (apt-get install %s)", ENGINE, ENGINE)
            return cls.silent()
        if voice:
            # -q speaks to no device: only the voice is checked.
            problem = _problem(_run(command + ["-q"], "", timeout=PROBE_TIMEOUT_S))
            if problem is not None:
                raise _voice_error(voice, problem)
        # Opening the device is what fails without sound (espeak-ng then prints its error and still exits 0), so
        # the probe plays an empty text at amplitude 0: nothing is heard when it works.
        problem = _problem(_run(command + ["-a", "0"], "", timeout=PROBE_TIMEOUT_S))
        if problem is not None:
            log.warning("voice off: no audio device (%s)", problem)
            return cls.silent()
        return cls(command)

    @property
    def active(self) -> bool:
        return self._worker is not None and self._worker.is_alive() and not self._closing

    def say(self, text: str) -> None:
        """Speaks ``text`` soon, without waiting for it (safe to call on every frame).

        Latest wins: a line given while another is being spoken waits, and a newer line replaces it, so nothing
        piles up and what is heard next is always the newest. The line being spoken is not cut off: lines are a
        few words long, and a count or a cue broken mid-word is harder to follow than one heard a second late.
        """
        text = " ".join(text.split())
        if not text or self._command is None:
            return
        with self._condition:
            if self._closing:
                return
            self._waiting = text
            self._condition.notify()

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Lets the line being spoken and the one waiting finish, for up to ``timeout`` seconds, then stops.

        Whatever is still playing after that is cut off. Safe to call more than once.
        """
        with self._condition:
            self._closing = True
            self._condition.notify()
        if self._worker is None:
            return
        self._worker.join(max(timeout, 0.0))
        if self._worker.is_alive():
            with self._condition:
                self._waiting = None
                process = self._process
            if process is not None:
                _kill(process)
            self._worker.join(1.0)

    def __enter__(self) -> "Speaker":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- the worker

    def _speak_lines(self) -> None:
        while True:
            with self._condition:
                while self._waiting is None and not self._closing:
                    self._condition.wait()
                if self._waiting is None:  # closing, and nothing left to say
                    return
                text, self._waiting = self._waiting, None
            if not self._speak(text):
                return

    def _speak(self, text: str) -> bool:
        """Speaks one line; False (after one warning) when the engine failed and the voice is off from now on."""
        try:
            # Its own session: Ctrl-C in the terminal stops posecheck's session, which then says its last line,
            # rather than killing the line being spoken (and reading as an engine failure).
            process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        except OSError as exc:  # uninstalled while running
            return self._give_up(f"{ENGINE} could not be started ({exc.strerror or exc})")
        with self._condition:
            self._process = process
        self.spoken.append(text)
        try:
            _, stderr = process.communicate(text, timeout=self._line_timeout_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            return self._give_up(f"{ENGINE} did not finish a line in {self._line_timeout_s:.0f} s")
        finally:
            with self._condition:
                self._process = None
        problem = _problem(subprocess.CompletedProcess(self._command, process.returncode, "", stderr))
        if problem is not None and not self._closing:  # a line cut off by close() is not a failure
            return self._give_up(f"{ENGINE} could not speak ({problem})")
        return True

    def _give_up(self, why: str) -> bool:
        log.warning("voice off: %s", why)
        with self._condition:
            self._closing = True
            self._waiting = None
        return False


def _run(command: list[str], text: str, *, timeout: float) -> subprocess.CompletedProcess:
    """Runs the engine on ``text``; a run that times out is reported as a failed one (returncode None)."""
    try:
        return subprocess.run(command, input=text, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, None, "", f"no answer within {timeout:g} s")
    except OSError as exc:
        return subprocess.CompletedProcess(command, None, "", str(exc.strerror or exc))


def _problem(result: subprocess.CompletedProcess) -> str | None:
    """What went wrong in an engine run, in its own last words, or None when it worked.

    espeak-ng exits 0 when the audio device cannot be opened (its audio library prints ``error: ...``) and when
    it cannot write a WAV file, so stderr is read as well as the exit code.
    """
    lines = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
    said_error = [line for line in lines if line.lower().startswith(("error", "can't", "failed"))]
    if result.returncode == 0 and not said_error:
        return None
    if said_error:
        return said_error[-1]
    if lines:
        return lines[-1]
    return f"exit code {result.returncode}"


def _voice_error(voice: str, problem: str) -> InputError:
    log.debug("%s on voice %r: %s", ENGINE, voice, problem)
    return InputError(f"{ENGINE} has no voice {voice!r}; list the voices with: {ENGINE} --voices")


def _kill(process: subprocess.Popen) -> None:
    try:
        process.kill()
    except OSError:  # already gone
        pass
