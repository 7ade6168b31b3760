"""The voice: what a session says (as text, from real traces through the live session), the speaker's engine
(espeak-ng: a WAV it renders is not silent; a missing engine or audio device only warns; say() never blocks and
stale lines are dropped).

The speaker's behaviour is tested with stand-in ``espeak-ng`` scripts put first on the PATH, so it is the real
subprocess path that runs, and the tests decide what the "engine" does (hang, fail, log what it was asked to say).
The real espeak-ng is needed only for the WAV and the voice name: missing locally, those tests are skipped with the
reason; under CI (``CI=true``) .ci/run installs it and a missing engine fails them.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import stat
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from posecheck.engine.engine import Engine
from posecheck.engine.events import (
    Cue,
    EngineState,
    HoldFinished,
    HoldRecord,
    HoldStarted,
    NotReady,
    Ready,
    RepCompleted,
    RepRecord,
    SessionSummary,
)
from posecheck.errors import InputError
from posecheck.runtime import wiring
from posecheck.runtime.live import run_live
from posecheck.sinks import speech, voice
from posecheck.sinks.speech import SpeechSink, number_words
from posecheck.sinks.terminal import TerminalSink
from posecheck.sinks.voice import Speaker, render_wav
from posecheck.specs import load_spec_by_id

from conftest import trace_path

_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class RecordingSpeaker:
    """Keeps every line it is asked to say."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)


def spoken_in_live_session(spec_id: str, trace: str) -> list[str]:
    """The lines a live session says over a committed trace: run_live (headless) with the voice's sink."""
    spec = load_spec_by_id(spec_id)
    speaker = RecordingSpeaker()
    with wiring.open_trace(trace_path(trace)) as opened:
        run_live(spec, opened.source, opened.estimator, lambda: Engine(spec), window=False,
                 terminal=TerminalSink(spec, stream=io.StringIO()), speaker=speaker)
    return speaker.lines


# ------------------------------------------------------------------------------------------------ what is said


@pytest.mark.parametrize(
    ("spec_id", "trace", "expected"),
    [
        # Two cycles counted (tests/test_engine_traces.py): the name and "begin" together, the counts, the end.
        ("cat-cow", "cat_cow_01", ["Cat-Cow. begin", "one", "two", "well done"]),
        # Each side has its own count, as on the screen.
        ("bird-dog", "bird_dog_01", ["Bird-Dog. begin", "one, right", "one, left", "well done"]),
        # A 20 s hold held to its target: "hold", the form cue, the last three seconds, "rest" (not again when the
        # hold ends).
        ("plank", "plank_31", ["Plank. begin", "hold",
                               "Let your hips find the line between shoulders and heels; lower your knees for a rest "
                               "if you need one", "three", "two", "one", "rest", "well done"]),
        # A hold let go before its 30 s: no countdown, "rest" when it ends.
        ("childs-pose", "childs_pose_01", ["Child's Pose. begin", "hold", "rest", "well done"]),
    ],
)
def test_a_live_session_says_the_name_begin_the_counts_holds_cues_and_well_done(spec_id, trace, expected):
    assert spoken_in_live_session(spec_id, trace) == expected


def test_a_cue_in_the_same_frame_as_a_count_is_one_line():
    """bicycle_crunch_01's tempo cue comes with a count: one line, so a speaker keeping only the newest loses neither."""
    lines = spoken_in_live_session("bicycle-crunch", "bicycle_crunch_01")
    assert lines[1:3] == ["one, right", "one, left. Good rhythm. Now slow the pedalling right down, a slow count of "
                                        "two each side"]


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "zero"), (3, "three"), (13, "thirteen"), (20, "twenty"), (21, "twenty-one"), (99, "ninety-nine"),
     (100, "one hundred"), (105, "one hundred and five"), (342, "three hundred and forty-two"), (1000, "1000")],
)
def test_counts_are_said_in_words(n, words):
    assert number_words(n) == words


def _state(t: float, hold_seconds: float | None = None, hold_target: float | None = None) -> EngineState:
    return EngineState(t=t, tracking=True, ready=True, not_ready_reason=None, phase=None, side=None, reps=0,
                       reps_by_side={}, target_reps=None, hold_seconds=hold_seconds, hold_target=hold_target,
                       measures={}, cue=None)


def _sink(**options) -> tuple[SpeechSink, RecordingSpeaker]:
    speaker = RecordingSpeaker()
    sink = SpeechSink(speaker, load_spec_by_id("plank"), **options)
    sink.on_start(None)
    return sink, speaker


def test_the_hold_countdown_says_each_of_the_last_seconds_once_then_rest():
    sink, speaker = _sink(say_name=False)
    sink.on_frame(None, None, _state(0.0, 0.0, 10.0), [HoldStarted(0.0)])
    for i in range(1, 120):  # 0.1 s frames up to 11.9 s held
        sink.on_frame(None, None, _state(i / 10, i / 10, 10.0), [])
    sink.on_frame(None, None, _state(12.0), [HoldFinished(12.0, HoldRecord(None, 0.0, 12.0, 12.0, 10.0))])
    assert speaker.lines == ["hold", "three", "two", "one", "rest"]


def test_countdown_steps_skipped_by_a_frame_gap_are_not_said_late():
    sink, speaker = _sink(say_name=False)
    sink.on_frame(None, None, _state(0.0, 0.0, 10.0), [HoldStarted(0.0)])
    sink.on_frame(None, None, _state(7.5, 7.5, 10.0), [])  # 2.5 s left: "three" is due
    sink.on_frame(None, None, _state(9.5, 9.5, 10.0), [])  # 0.5 s left: "one", not "two" then "one"
    sink.on_frame(None, None, _state(9.8, 9.8, 10.0), [])
    assert speaker.lines == ["hold", "three", "one"]


def test_reminders_are_spaced_and_the_same_words_are_not_repeated_soon():
    gap, same = speech.REMINDER_GAP_S, speech.SAME_WORDS_GAP_S
    sink, speaker = _sink(say_name=False)
    moments = [
        (0.0, Cue(0.0, "a", "Slow down")),  # said
        (gap / 2, Cue(gap / 2, "b", "Breathe out")),  # too soon after the last reminder: left to the screen
        (gap + 1, Cue(gap + 1, "a", "Slow down")),  # the same words again too soon
        (gap + 2, NotReady(gap + 2, "Turn sideways")),  # said
        (same + 1, Cue(same + 1, "a", "Slow down")),  # said again: long enough since
    ]
    for t, event in moments:
        sink.on_frame(None, None, _state(t), [event])
    assert speaker.lines == ["Slow down", "Turn sideways", "Slow down"]


def test_counts_are_never_held_back_by_the_reminders_gap():
    sink, speaker = _sink(say_name=False)
    rep = RepRecord(index=1, side=None, start=0.0, end=1.0, rom_deg=None)
    sink.on_frame(None, None, _state(1.0), [Ready(1.0), Cue(1.0, "a", "Slow down")])
    sink.on_frame(None, None, _state(1.5), [RepCompleted(1.5, rep), Cue(1.5, "b", "Breathe")])
    assert speaker.lines == ["begin. Slow down", "one"]


def test_counting_again_after_the_setup_was_lost_is_carry_on_not_begin():
    sink, speaker = _sink(say_name=False)
    sink.on_frame(None, None, _state(0.0), [Ready(0.0)])
    sink.on_frame(None, None, _state(5.0), [Ready(5.0)])
    assert speaker.lines == ["begin", "carry on"]


def test_well_done_only_when_something_was_done():
    sink, speaker = _sink(say_name=False)
    sink.on_finish(SessionSummary("plank", 0, {}, [], [], [], []))
    assert speaker.lines == []


# ------------------------------------------------------------------------------------------------ the engine


def _real_espeak() -> str:
    path = shutil.which(voice.ENGINE)
    if path is None:
        if _IN_CI:
            pytest.fail("espeak-ng is missing in CI (.ci/run installs it)")
        pytest.skip("espeak-ng not installed (apt-get install espeak-ng)")
    return path


def test_speech_rendered_to_a_wav_with_espeak_ng_is_not_silent(tmp_path):
    _real_espeak()
    path = render_wav("three. hold. well done", tmp_path / "said.wav")
    with wave.open(str(path)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        seconds = wav.getnframes() / wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    rms = math.sqrt(float(np.mean(samples**2)))
    # Speech at espeak-ng's default amplitude is in the thousands (of 32767); silence or a header alone is 0.
    assert seconds > 0.5 and rms > 300, (seconds, rms)


def test_render_wav_says_when_it_wrote_nothing(tmp_path):
    _real_espeak()
    with pytest.raises(voice.SpeechUnavailable, match="could not write|wrote no audio"):
        render_wav("three", tmp_path / "no-such-folder" / "said.wav")


def test_an_unknown_voice_name_is_an_input_error_not_a_warning():
    _real_espeak()
    with pytest.raises(InputError, match="no voice 'zzqq'.*espeak-ng --voices"):
        Speaker.open(voice="zzqq")


@pytest.fixture
def null_audio_device(monkeypatch, tmp_path):
    """A working audio device that plays to nowhere: ALSA's null plugin as the default device (~/.asoundrc), and
    no PulseAudio server, so that espeak-ng really plays (silently, on any machine) rather than failing."""
    (tmp_path / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-pulseaudio-here'}")


def test_with_an_audio_device_espeak_ng_speaks_a_live_session_without_a_warning(null_audio_device, caplog):
    """The real engine on a real (null) device: no warning, and what it spoke is the session's lines in order, the
    last one included; the replay runs faster than speech, so lines overtaken while one was spoken were dropped."""
    _real_espeak()
    spec = load_spec_by_id("cat-cow")
    with caplog.at_level(logging.WARNING, logger="posecheck"):
        speaker = Speaker.open(rate=300)
        assert speaker.active
        with wiring.open_trace(trace_path("cat_cow_01")) as opened:
            run_live(spec, opened.source, opened.estimator, lambda: Engine(spec), window=False,
                     terminal=TerminalSink(spec, stream=io.StringIO()), speaker=speaker)
        speaker.close(timeout=60.0)  # the default few seconds could cut "well done" off on a loaded machine
    assert caplog.records == []
    all_lines = ["Cat-Cow. begin", "one", "two", "well done"]
    assert speaker.spoken[-1] == "well done"  # the newest line is never dropped
    assert speaker.spoken == [line for line in all_lines if line in speaker.spoken]


def _fake_engine(folder: Path, script: str) -> Path:
    """An ``espeak-ng`` stand-in in ``folder``: a shell script reading the text from stdin, as espeak-ng does."""
    folder.mkdir(exist_ok=True)
    path = folder / voice.ENGINE
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _only(folder: Path) -> str:
    """A PATH of ``folder`` alone, with links to the few tools the stand-ins use: never the real espeak-ng."""
    for tool in ("cat", "sleep", "touch", "rm"):
        link = folder / tool
        if not link.exists():
            link.symlink_to(shutil.which(tool))
    return str(folder)


def test_a_missing_speech_engine_only_warns(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng anywhere
    with caplog.at_level(logging.WARNING, logger="posecheck"):
        speaker = Speaker.open(rate=120)
        speaker.say("three")
        speaker.close()
    assert not speaker.active and speaker.spoken == []
    (record,) = caplog.records
    assert record.getMessage() == "voice off: espeak-ng not installed (apt-get install espeak-ng)"


def test_no_audio_device_only_warns(monkeypatch, tmp_path, caplog):
    """espeak-ng without a sound card: its audio library prints an error and it still exits 0."""
    _fake_engine(tmp_path, 'cat >/dev/null\necho "ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default" >&2\n'
                           'echo "error: No such file or directory" >&2\nexit 0\n')
    monkeypatch.setenv("PATH", _only(tmp_path))
    with caplog.at_level(logging.WARNING, logger="posecheck"):
        speaker = Speaker.open()
        speaker.say("three")
        speaker.close()
    assert not speaker.active
    assert [r.getMessage() for r in caplog.records] == ["voice off: no audio device (error: No such file or directory)"]


def test_an_audio_device_that_never_answers_only_warns(monkeypatch, tmp_path, caplog):
    _fake_engine(tmp_path, "exec sleep 60\n")
    monkeypatch.setenv("PATH", _only(tmp_path))
    monkeypatch.setattr(voice, "PROBE_TIMEOUT_S", 0.5)
    with caplog.at_level(logging.WARNING, logger="posecheck"):
        speaker = Speaker.open()
    assert not speaker.active
    assert [r.getMessage() for r in caplog.records] == ["voice off: no audio device (no answer within 0.5 s)"]


def test_say_never_blocks_and_stale_lines_are_dropped(monkeypatch, tmp_path):
    """The engine is stuck on the first line: say() still returns, and of the lines given meanwhile only the newest
    is spoken after it."""
    said, started, release = tmp_path / "said.log", tmp_path / "started", tmp_path / "release"
    _fake_engine(tmp_path / "bin", f"""text=$(cat)
[ -z "$text" ] && exit 0
touch {started}
while [ ! -e {release} ]; do sleep 0.02; done
rm -f {started}
echo "$text" >> {said}
""")
    monkeypatch.setenv("PATH", _only(tmp_path / "bin"))
    speaker = Speaker.open()
    assert speaker.active
    speaker.say("one")
    _wait_for(started.exists)  # the engine is speaking "one", and stays busy until released
    sayer = threading.Thread(target=lambda: [speaker.say(word) for word in ("two", "three", "four")])
    sayer.start()
    sayer.join(10.0)
    assert not sayer.is_alive(), "say() waited for the engine"
    release.touch()
    speaker.close(timeout=10.0)
    assert said.read_text().split() == ["one", "four"]
    assert speaker.spoken == ["one", "four"]


def test_close_cuts_off_a_line_that_does_not_finish(monkeypatch, tmp_path):
    _fake_engine(tmp_path, 'text=$(cat)\n[ -z "$text" ] && exit 0\nexec sleep 60\n')
    monkeypatch.setenv("PATH", _only(tmp_path))
    speaker = Speaker.open()
    speaker.say("one")
    _wait_for(lambda: speaker.spoken == ["one"])
    speaker.close(timeout=0.2)
    assert not speaker.active
    speaker.say("two")  # after close: ignored, not an error
    assert speaker.spoken == ["one"]


def test_an_engine_that_fails_mid_session_warns_once_and_goes_silent(monkeypatch, tmp_path, caplog):
    _fake_engine(tmp_path, 'text=$(cat)\n[ -z "$text" ] && exit 0\necho "error: Connection refused" >&2\n')
    monkeypatch.setenv("PATH", _only(tmp_path))
    with caplog.at_level(logging.WARNING, logger="posecheck"):
        speaker = Speaker.open()
        speaker.say("one")
        _wait_for(lambda: not speaker.active)
        speaker.say("two")
        speaker.close()
    assert speaker.spoken == ["one"]
    assert [r.getMessage() for r in caplog.records] == ["voice off: espeak-ng could not speak (error: Connection refused)"]


def test_ctrl_c_in_the_terminal_does_not_reach_the_line_being_spoken(monkeypatch, tmp_path):
    """The engine runs in its own process group: the terminal's Ctrl-C (sent to posecheck's group) ends the session,
    which still says its last line, instead of killing the engine mid-line."""
    groups = tmp_path / "groups"
    engine = tmp_path / voice.ENGINE
    engine.write_text(f"#!{sys.executable}\nimport os, sys\ntext = sys.stdin.read()\n"
                      f"if text: open({str(groups)!r}, 'a').write(f'{{os.getpgid(0)}}\\n')\n")
    engine.chmod(engine.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    speaker = Speaker.open()
    speaker.say("one")
    speaker.close(timeout=30.0)
    assert speaker.spoken == ["one"]
    assert int(groups.read_text()) != os.getpgid(0)


def test_a_disabled_speaker_is_silent_without_a_thread():
    speaker = Speaker.open(enabled=False)
    speaker.say("one")
    speaker.close()
    assert not speaker.active and speaker.spoken == []


@pytest.mark.parametrize("rate", [voice.MIN_RATE_WPM - 1, voice.MAX_RATE_WPM + 1])
def test_rates_espeak_ng_refuses_are_refused_by_the_cli_and_the_library(rate, tmp_path):
    from typer.testing import CliRunner

    from posecheck.cli.app import app

    result = CliRunner().invoke(app, ["live", "cat-cow", "--headless", "--source", str(tmp_path / "x.mp4"),
                                      "--voice-rate", str(rate)])
    assert result.exit_code == 2 and "--voice-rate" in result.output
    with pytest.raises(InputError, match="words per minute"):
        voice.speech_command(rate, engine="espeak-ng")
    for accepted in (voice.MIN_RATE_WPM, voice.MAX_RATE_WPM):
        assert voice.speech_command(accepted, engine="espeak-ng")[1:] == ["-s", str(accepted)]


def _wait_for(condition, timeout: float = 10.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        event.wait(0.02)
    raise AssertionError("timed out waiting")
