"""Running a routine: its steps in order, each exercise step as one live session, the guided steps timed.

For every step the runner announces it (name, how to get into position, what to do, the target), counts
down, then:

- an **exercise step** runs as a live session (`posecheck.runtime.live.run_live`, the one frame loop) with the
  step's spec, its targets the routine's own (`step_spec`), on the input `open_input` opens for it (a camera,
  or the step's clip played like one). `StepEnder` ends the session when the target is reached or the time box
  is over; the source ending (the clip's end) ends it too. `posecheck.runtime.controls.RoutineControls` adds the
  routine's keys: next, back, repeat, "this hurts" (pain: the step stops, the routine's pain line is said and
  the flag recorded), quit. Sets run one after another with a timed rest between;
- a **guided step** (and a rest between sets) is timed on the wall clock, its instructions shown and said.

Everything said goes through ``speaker`` (any object with ``say(text)``, e.g. `posecheck.sinks.voice`'s
Speaker; None = silent) and into the report's ``log`` as text. The report is built by
`posecheck.routines.report`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from posecheck.engine.events import HoldFinished
from posecheck.routines.keys import KeyScript
from posecheck.routines.schema import ExerciseStep, GuidedStep, Routine, Section
from posecheck.runtime.controls import QUIT_KEYS, ROUTINE_ACTIONS, ROUTINE_KEYS_HELP, RoutineControls

log = logging.getLogger(__name__)

#: Seconds of the countdown before each step (``--countdown``): long enough to get into position after the
#: announcement, short enough not to drag on fifteen times in a routine.
DEFAULT_COUNTDOWN_S = 3
#: Guided steps and rests check their keys this often (seconds).
GUIDED_TICK_S = 0.05

BEGIN_LINE = "Begin."
WELL_DONE_LINE = "Well done."


def step_spec(spec, step: ExerciseStep):
    """The exercise spec with the routine step's targets in place of the spec's own (reps, per side, hold
    seconds; an open-ended step keeps the spec's target for display and is ended by its time box)."""
    from posecheck.specs.schema import Target

    if step.reps is None and step.hold_seconds is None and step.per_side is None:
        return spec
    reps = step.reps if step.reps is not None else (spec.target.reps if step.hold_seconds is None else None)
    seconds = step.hold_seconds if step.hold_seconds is not None else (spec.target.seconds if step.reps is None else None)
    per_side = step.per_side if step.per_side is not None else spec.target.per_side
    return spec.model_copy(update={"target": Target(reps=reps, seconds=seconds, per_side=per_side)})


def step_goal(spec, step: ExerciseStep) -> tuple[int | None, float | None, int]:
    """(total reps, seconds a hold must last, holds needed) that end the step; (None, None, 0) when open-ended.

    Reps per side count both sides together (the engine's total); a per-side hold needs one hold per side.
    """
    if step.open_ended:
        return None, None, 0
    target = spec.target
    reps = target.reps * (2 if target.per_side and target.reps else 1) if target.reps else None
    holds_needed = (2 if target.per_side else 1) if target.seconds and spec.hold is not None else 0
    if reps is not None and spec.reps is None:
        reps = None  # a hold-only spec: its "reps" are holds
    return reps, (target.seconds if holds_needed else None), holds_needed


class StepEnder:
    """A session sink that ends an exercise step: its target reached (reps, and holds of the target's length) or
    its time box over (session time since the step's first frame)."""

    background_safe = False

    def __init__(self, controls: "Callable[[], RoutineControls | None]", reps: int | None, hold_seconds: float | None,
                 holds_needed: int, time_box: float | None) -> None:
        self._controls = controls
        self.reps, self.hold_seconds, self.holds_needed, self.time_box = reps, hold_seconds, holds_needed, time_box
        self.t0: float | None = None
        self.holds_met = 0

    def on_start(self, info) -> None:
        pass

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        controls = self._controls()
        if self.t0 is None:
            self.t0 = state.t
        self.holds_met += sum(1 for event in events if isinstance(event, HoldFinished) and event.hold.target_met)
        if controls is None or controls.ended_by is not None:
            return
        if self._target_reached(state):
            controls.end_step("target", "target reached", state.t)
        elif self.time_box is not None and state.t - self.t0 >= self.time_box:
            controls.end_step("time box", "time box over", state.t)

    def _target_reached(self, state) -> bool:
        if self.reps is None and not self.holds_needed:
            return False
        reps_done = self.reps is None or state.reps >= self.reps
        holding_done = state.hold_seconds is not None and self.hold_seconds is not None and state.hold_seconds >= self.hold_seconds
        holds_done = self.holds_met + (1 if holding_done else 0) >= self.holds_needed
        return reps_done and holds_done

    def on_end(self, state, events) -> None:
        pass

    def on_finish(self, summary) -> None:
        pass


class ScriptedKeysSink:
    """Presses the key script's keys for an exercise step at their time into the step (session time)."""

    background_safe = False

    def __init__(self, script: KeyScript, step: int, controls: "Callable[[], RoutineControls | None]",
                 on_key: Callable[[str, float], None]) -> None:
        self.script, self.step, self._controls, self.on_key = script, step, controls, on_key
        self.t0: float | None = None

    def on_start(self, info) -> None:
        pass

    def on_frame(self, frame_bgr, pose, state, events) -> None:
        if self.t0 is None:
            self.t0 = state.t
        self._press_due(state.t - self.t0, state.t)

    def _press_due(self, seconds: float, t: float) -> None:
        controls = self._controls()
        for entry in self.script.due(self.step, seconds):
            if controls is None or controls.ended_by is not None:
                return
            self.on_key(entry.key, seconds)
            controls.press(entry.code, t)
            if controls.paused:
                self._wait_paused(controls, entry.seconds, t)

    def _wait_paused(self, controls, paused_at_s: float, t: float) -> None:
        """While the script paused the session, its clock goes on with the wall clock until a key resumes it."""
        start = time.monotonic()
        while controls.paused and controls.ended_by is None:
            if self.script.next_time(self.step) is None:
                controls.toggle_pause()  # nothing left to resume with: never hang
                return
            now = paused_at_s + time.monotonic() - start
            for entry in self.script.due(self.step, now):
                self.on_key(entry.key, now)
                controls.press(entry.code, t)
            time.sleep(GUIDED_TICK_S)

    def on_end(self, state, events) -> None:
        pass

    def on_finish(self, summary) -> None:
        pass


@dataclass
class StepResult:
    """One run (one set) of a step."""

    status: str  # done, time_up, source_ended, next, back, repeat, pain, quit; guided: done
    seconds: float
    report: dict[str, Any] | None = None  # the exercise's report (report.json), exercise steps only
    out_dir: Path | None = None
    pain_t: float | None = None
    source: str | None = None


@dataclass
class StepRecord:
    """What happened to one step of the routine over all its visits."""

    number: int
    section: Section
    step: ExerciseStep | GuidedStep
    attempts: int = 0
    runs: list[StepResult] = field(default_factory=list)  # the sets of the last attempt
    seconds: float = 0.0  # all attempts
    pain: list[float | None] = field(default_factory=list)
    status: str = "not_reached"


#: Opens the input of an exercise step: (step number, exercise ordinal among the exercise steps) -> a context
#: manager giving a `posecheck.runtime.wiring.OpenedInput` (camera, or the step's clip paced like a camera).
OpenInput = Callable[[int, int], AbstractContextManager]


class RoutineRunner:
    """Runs a routine (see the module's doc). Call `run`; `posecheck.routines.report.build_routine_report` turns
    the result into the report.

    Args:
        routine: the validated routine.
        specs: the exercise registry (`posecheck.specs.registry.SpecRegistry`).
        open_input: opens an exercise step's input (see `OpenInput`).
        out_dir: the routine's output folder; each exercise run writes its report files into ``steps/NN-id/``.
        window: show the live window (call `posecheck.runtime.live.require_display` first); False = headless.
        speaker: anything with ``say(text)``; None = silent. What it is asked to say is in the log either way.
        keys: a key script (`posecheck.routines.keys`), or None.
        countdown: seconds of the countdown before each step.
        history: record each exercise run in the history (mode "routine").
        mirror: mirror the live view.
        stream: where the announcements go (default: stderr at the time).
        only: run only the steps with these numbers (1-based, as ``posecheck routine show`` numbers them); the
            others are reported as ``not_selected``.
    """

    def __init__(self, routine: Routine, specs, open_input: OpenInput, out_dir: Path, *, window: bool = False,
                 speaker: Any = None, keys: KeyScript | None = None, countdown: float = DEFAULT_COUNTDOWN_S,
                 history: bool = True, mirror: bool = False, stream: IO[str] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 only: "set[int] | None" = None) -> None:
        self.routine = routine
        self.specs = specs
        self.open_input = open_input
        self.out_dir = Path(out_dir)
        self.window = window
        self.speaker = speaker
        self.keys = keys or KeyScript([])
        self.countdown = countdown
        self.history = history
        self.mirror = mirror
        self.stream = stream
        self.sleep = sleep
        self.clock = clock
        self.log: list[dict[str, Any]] = []
        self.records = [StepRecord(number, section, step)
                        for number, (section, step) in enumerate(routine.steps(), start=1)]
        self.selected = [record for record in self.records if only is None or record.number in only]
        for record in self.records:
            if record not in self.selected:
                record.status = "not_selected"
        # The n-th exercise step run gets the n-th clip (with --source).
        ordinals = [record.number for record in self.selected if isinstance(record.step, ExerciseStep)]
        self._exercise_ordinal = {number: i for i, number in enumerate(ordinals)}
        self.ended_by = "completed"
        self._quit_reason: str | None = None  # what ended the routine from inside a step (q key, window closed...)
        self._t0 = clock()
        self._speaker_failed = False

    # ------------------------------------------------------------------ saying and showing

    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def show(self, text: str) -> None:
        self._out().write(text + "\n")
        self._out().flush()

    def say(self, text: str, step: int | None = None, *, show: bool = True) -> None:
        """Shows ``text`` (unless ``show`` is False), asks the speaker to say it, and keeps it in the log."""
        self.log.append({"t": round(self.clock() - self._t0, 2), "step": step, "kind": "say", "text": text})
        if show:
            self.show(f"  >> {text}")
        if self.speaker is not None and not self._speaker_failed:
            try:
                self.speaker.say(text)
            except Exception as exc:  # noqa: BLE001 - speech is secondary: the routine goes on silently
                self._speaker_failed = True
                log.warning("speech failed (%s); the routine goes on without it", exc)

    def _note(self, kind: str, text: str, step: int | None) -> None:
        self.log.append({"t": round(self.clock() - self._t0, 2), "step": step, "kind": kind, "text": text})

    # ------------------------------------------------------------------ the routine

    def run(self) -> list[StepRecord]:
        """Runs every step in order (keys may go back, repeat or quit); returns the steps' records."""
        total = len(self.selected)
        self.show(f"{self.routine.title}: {total} steps. Keys: {ROUTINE_KEYS_HELP}.")
        index = 0
        try:
            while index < total:
                record = self.selected[index]
                action = self._run_step(record)
                if action == "quit":
                    break
                if action == "back":
                    index = max(0, index - 1)
                elif action != "repeat":
                    index += 1
        except KeyboardInterrupt:
            from posecheck.runtime import stopping

            self.ended_by = stopping.describe() if stopping.received() is not None else "Ctrl-C"
        self.say(WELL_DONE_LINE)
        return self.records

    def _announce(self, record: StepRecord, spec=None) -> None:
        step = record.step
        name = _step_name(step, spec)
        self.show("")
        self.show(f"Step {record.number}/{len(self.records)} - {record.section.name}: {name}")
        self.say(name + ".", record.number)
        if step.transition:
            self.say(step.transition, record.number)
        instructions = step.instructions if step.instructions else (spec.instructions if spec is not None else [])
        for line in instructions:
            self.show(f"  - {line}")
        if isinstance(step, GuidedStep):
            for line in step.instructions:
                self.say(line, record.number)
        target = describe_target(step, spec)
        if target:
            self.show(f"  Target: {target}")

    def _countdown(self, record: StepRecord) -> None:
        remaining = int(round(self.countdown))
        while remaining > 0:
            self.show(f"  {remaining}...")
            self.sleep(1.0)
            remaining -= 1
        self.say(BEGIN_LINE, record.number)

    def _run_step(self, record: StepRecord) -> str:
        """Runs one visit of a step (all its sets); returns what the routine does next."""
        record.attempts += 1
        record.runs = []
        self._note("step", f"step {record.number} started (attempt {record.attempts})", record.number)
        step = record.step
        spec = step_spec(self.specs.load(step.exercise), step) if isinstance(step, ExerciseStep) else None
        self._announce(record, spec)
        self._countdown(record)
        sets = step.sets if isinstance(step, ExerciseStep) else 1
        action = "done"
        for set_no in range(1, sets + 1):
            if set_no > 1:
                rest_seconds = step.rest_seconds or 0.0  # sets without a rest_seconds: straight on
                self.show(f"  Rest {rest_seconds:g} s before set {set_no} of {sets}.")
                self.say(f"Rest. Then set {set_no} of {sets}.", record.number)
                rest = self._timed(record, rest_seconds)
                record.seconds += rest.seconds
                if rest.status != "done":
                    action = rest.status
                    break
                self.say(BEGIN_LINE, record.number)
            result = self._exercise(record, spec, set_no) if spec is not None else self._timed(record, step.seconds)
            record.runs.append(result)
            record.seconds += result.seconds
            if result.status == "pain":
                record.pain.append(result.pain_t)
                self.say(self.routine.pain_line, record.number)
            self.show(f"  {_result_line(result, spec)}")
            if result.status not in ("done", "time_up", "source_ended"):
                action = result.status
                break
        if action == "done":
            record.status = record.runs[-1].status if record.runs else "done"
        else:
            record.status = {"next": "skipped", "quit": "stopped", "back": "left", "repeat": "repeated"}.get(action, action)
        if action == "quit":
            self.ended_by = self._quit_reason or "q key"
        return "next" if action in ("pain", "done") else action

    # ------------------------------------------------------------------ guided steps and rests

    def _timed(self, record: StepRecord, seconds: float) -> StepResult:
        """A guided step or a rest: waits ``seconds`` on the wall clock, acting on the scripted keys."""
        start = self.clock()
        paused_since: float | None = None
        paused_total = 0.0
        while True:
            now = self.clock()
            elapsed = now - start - paused_total - ((now - paused_since) if paused_since is not None else 0.0)
            script_time = now - start - paused_total  # while paused, the script's clock goes on (see keys)
            if elapsed >= seconds:
                return StepResult("done", round(now - start, 2))
            for entry in self.keys.due(record.number, script_time):
                self._note("key", f"{entry.key} at {script_time:.1f} s", record.number)
                if entry.key == "space":
                    if paused_since is None:
                        paused_since = now
                    else:
                        paused_total += now - paused_since
                        paused_since = None
                    continue
                status = "quit" if entry.code in QUIT_KEYS else ROUTINE_ACTIONS.get(entry.code)
                if status is not None:
                    if status == "quit":
                        self._quit_reason = "q key"
                    return StepResult(status, round(now - start, 2), pain_t=elapsed if status == "pain" else None)
            self.sleep(GUIDED_TICK_S)

    # ------------------------------------------------------------------ exercise steps

    def _exercise(self, record: StepRecord, spec, set_no: int) -> StepResult:
        """One set of an exercise step as a live session; writes its report files and its history row."""
        from posecheck.engine.engine import Engine
        from posecheck.runtime.live import run_live
        from posecheck.sinks import report as rpt
        from posecheck.sinks.outputs import SessionOutputs

        step: ExerciseStep = record.step  # type: ignore[assignment]
        suffix = f"-set{set_no}" if step.sets > 1 else ""
        out_dir = self.out_dir / "steps" / f"{record.number:02d}-{spec.id}{suffix}"
        out_dir.mkdir(parents=True, exist_ok=True)
        holder: dict[str, RoutineControls] = {}

        def make_controls(**kwargs) -> RoutineControls:
            holder["controls"] = RoutineControls(**kwargs)
            return holder["controls"]

        def controls() -> RoutineControls | None:
            return holder.get("controls")

        reps, hold_seconds, holds_needed = step_goal(spec, step)
        ender = StepEnder(controls, reps, hold_seconds, holds_needed, step.time_box)
        sinks: list = [ender]
        sinks.append(ScriptedKeysSink(self.keys, record.number, controls,
                                      lambda key, t: self._note("key", f"{key} at {t:.1f} s", record.number)))
        if self.speaker is not None:
            from posecheck.sinks.speech import SpeechSink

            # The counts, hold countdowns and cues. The routine says the step's name, "Begin." and, at its end,
            # "Well done." itself. They go through `say` to be logged with the step, not shown: the live view shows
            # the count already.
            sinks.append(SpeechSink(_StepVoice(self, record.number), spec, say_name=False, say_begin=False,
                                    say_well_done=False))
        outputs = SessionOutputs(spec, mode="routine", out_dir=out_dir, history=self.history)
        sinks += outputs.sinks()
        started = self.clock()
        try:
            with self.open_input(record.number, self._exercise_ordinal[record.number]) as opened:
                result = run_live(spec, opened.source, opened.estimator, lambda: Engine(spec), window=self.window,
                                  mirror=self.mirror, extra_sinks=sinks, make_controls=make_controls)
                source_desc = opened.description()
        except BaseException:
            outputs.abandon()
            raise
        seconds = round(self.clock() - started, 2)
        session = result.session
        fps = session.info.fps
        control = controls()
        action = control.action if control is not None else None
        if session.interrupted and action is None:
            action = "quit"  # a second Ctrl-C stopped the loop itself: the routine stops too, its reports saved
        stats = rpt.FrameStats(
            frames=session.frames,
            frames_with_pose=session.frames_with_pose,
            fps=fps,
            duration=(session.last_t - session.first_t + 1.0 / fps) if session.frames and fps else 0.0,
            interrupted=session.interrupted or action in ("quit",),
        )
        report = rpt.build_spec_report(spec, session.summary, stats, source_desc)
        report["live"] = result.report_section()
        pain_t = control.action_t if control is not None and action == "pain" else None
        if action == "pain" and outputs.history is not None and outputs.history.session_id is not None:
            try:
                outputs.history.store.add_pain_flag(outputs.history.session_id,
                                                    f"'this hurts' key in routine {self.routine.id}, step {record.number}",
                                                    t=None if pain_t is None else round(pain_t, 2))
            except Exception as exc:  # noqa: BLE001 - the history is secondary
                log.warning("the pain flag could not be recorded in the history (%s)", exc)
        rpt.save_report(report, out_dir)
        outputs.finish(report)
        if action == "quit":
            self._quit_reason = result.ended_by
        status = {None: "source_ended", "target": "done", "time box": "time_up"}.get(action, action)
        if result.source_failed:
            status = "source_failed"
        return StepResult(status, seconds, report=report, out_dir=out_dir, pain_t=pain_t, source=source_desc.path)


def _step_name(step: ExerciseStep | GuidedStep, spec=None) -> str:
    if isinstance(step, GuidedStep):
        return step.guided
    return step.name or (spec.title if spec is not None else step.exercise)


def describe_target(step: ExerciseStep | GuidedStep, spec=None) -> str:
    """The step's target in words: "10 reps", "4 each side", "hold 30 s", "for 60 s", with its time box."""
    if isinstance(step, GuidedStep):
        return f"{step.seconds:g} s, guided"
    parts = []
    target = spec.target if spec is not None else None
    if step.open_ended:
        parts.append("as many as feel good")
    elif target is not None:
        side = " each side" if target.per_side else ""
        if target.reps and (spec.reps is not None):
            parts.append(f"{target.reps} reps{side}")
        if target.seconds and spec.hold is not None:
            parts.append(f"hold {target.seconds:g} s" + (side if not (target.reps and spec.reps is not None) else ""))
    if step.sets > 1:
        parts.append(f"{step.sets} sets" + (f", {step.rest_seconds:g} s rest" if step.rest_seconds else ""))
    if step.time_box:
        parts.append(f"within {step.time_box:g} s")
    return ", ".join(parts)


def _result_line(result: StepResult, spec) -> str:
    ending = {"done": "target reached", "time_up": "time box over", "source_ended": "clip ended",
              "next": "skipped (n)", "back": "back (b)", "repeat": "repeat (r)", "pain": "stopped: this hurts (h)",
              "quit": "routine stopped", "source_failed": "the input failed"}.get(result.status, result.status)
    if result.report is None:
        return f"{'done' if result.status == 'done' else ending} after {result.seconds:.0f} s"
    report = result.report
    side = report.get("reps_by_side") or {}
    counted = f"{report['reps']} rep{'' if report['reps'] == 1 else 's'}" + (f" (left {side.get('left', 0)}, right {side.get('right', 0)})" if side else "")
    holds = [hold for hold in report.get("holds", [])]
    if holds:
        counted += f", longest hold {max(hold['seconds'] for hold in holds):.0f} s"
    line = f"{counted}; {ending}"
    if report["reps"] == 0 and not holds and report.get("not_counted"):
        line += f". {report['not_counted'][0]['reason']}"
    return line


class _StepVoice:
    """An exercise step's speech (`posecheck.sinks.speech.SpeechSink`) through the runner: logged with the step."""

    def __init__(self, runner: RoutineRunner, step: int):
        self.runner = runner
        self.step = step

    def say(self, text: str) -> None:
        self.runner.say(text, self.step, show=False)
