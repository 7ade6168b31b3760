"""Why not: every reason counting paused or a rep was refused, kept as the engine runs, told in plain words.

A silent zero is the worst answer posecheck can give. The engine decides not to count in a few places: the
setup is not right (camera view, body out of the picture, not in the start position), the rep's position
was left (``reps.require``), a phase's ``also`` conditions refused a phase the main measure had reached,
a rep moved too little (``min_excursion``) or took too long (``max_seconds``), the adaptive range never
grew past ``min_range``, the end cut off the last rep. At each of those places it calls a hook here; the
recorder adds up how long (from the pose timestamps), how often, what the measure read (a median) and what
the spec asks, and at the end words each reason as a `Diagnostic` (``SessionSummary.diagnostics``).

Reporting only: the hooks read the engine's values and never change them, so the events are the same with
the recorder as without it (`NullRecorder`, ``Engine(spec, diagnostics=False)``; the tests compare the two
on every spec and trace). Cheap per frame: a counting frame costs a few comparisons; the work of finding
which condition failed is done only on frames where something failed, and medians keep a bounded sample.

Pure module.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from posecheck.engine.conditions import Condition, check_all
from posecheck.engine.diagnostic_words import (
    Wording,
    how_often,
    landmark_words,
    plain,
    share_words,
    side_prefix,
    times,
)
from posecheck.engine.events import Diagnostic, Side
from posecheck.engine.measures import SIDES, FrameMeasures, point_indices
from posecheck.engine.phases import PhaseRangeC, PhaseTracker, RangeLearner
from posecheck.engine.reps import RepDraft
from posecheck.core.pose import VISIBILITY
from posecheck.specs.schema import ExerciseSpec

# Values kept per median. A bound on memory for hour-long live sessions (past it every other value is
# dropped and only every other new one kept, deterministically); it decides nothing but a reported median.
_SAMPLE_CAP = 2048

class _Median:
    """A deterministic, bounded sample of a value, for its median."""

    __slots__ = ("values", "stride", "_skipped")

    def __init__(self) -> None:
        self.values: list[float] = []
        self.stride = 1
        self._skipped = 0

    def add(self, value: float) -> None:
        if value != value:
            return
        self._skipped += 1
        if self._skipped < self.stride:
            return
        self._skipped = 0
        self.values.append(value)
        if len(self.values) >= _SAMPLE_CAP:
            del self.values[1::2]
            self.stride *= 2

    def extend(self, values: list[float]) -> None:
        for value in values:
            self.add(value)

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None


class _Tally:
    """Time spent on one reason, how often it refused a rep, and what its measure read meanwhile."""

    __slots__ = ("seconds", "unknown_seconds", "count", "episodes", "sample")

    def __init__(self) -> None:
        self.seconds = 0.0  # while the measure was known and failed
        self.unknown_seconds = 0.0  # while the measure could not be read (its landmarks hidden)
        self.count = 0  # reps refused
        self.episodes = 0
        self.sample = _Median()


def _failing(conditions: list[Condition] | tuple[Condition, ...], values: dict[str, float], side: str | None) -> tuple[int, float]:
    """The first condition that fails (index, the value that failed it), else the first unknown one (index, NaN),
    else (-1, NaN)."""
    unknown = -1
    for i, condition in enumerate(conditions):
        result = condition.check(values, side)
        if result is False:
            return i, _value_failing(condition, values, side)
        if result is None and unknown < 0:
            unknown = i
    return unknown, math.nan


def _value_failing(condition: Condition, values: dict[str, float], side: str | None) -> float:
    """The value that fails ``condition``: its own, or for a per-side measure read on both sides, the failing side's."""
    if not condition.per_side:
        return values[condition.name]
    if side is not None:
        return values[f"{condition.name}.{side}"]
    for s in SIDES:
        value = values[f"{condition.name}.{s}"]
        if value == value and not condition.low <= value <= condition.high:
            return value
    return math.nan


class MachineRecorder:
    """What one phase machine (one side, or the only one) was refused."""

    def __init__(
        self, owner: DiagnosticsRecorder, side: Side | None, tracker: PhaseTracker, learner: RangeLearner | None,
        sequence: list[str],
    ):
        self.owner = owner
        self.side = side
        self.tracker = tracker
        self.learner = learner
        # phases with `also` conditions: the ones an absolute gate can refuse although the main measure is there
        self._gated = [r for r in tracker.ranges if r.also]
        self.counting_seconds = 0.0  # time this machine was stepped (setup right)
        self.entered: set[str] = set()
        self._last_phase: str | None = None
        self.low, self.high = math.inf, -math.inf  # extremes of the phase value (phase units) while counting
        # phase_blocked: (phase, condition index) -> tally; the episode in progress per gated phase
        self.blocked: dict[tuple[str, int], _Tally] = {}
        self._episode: dict[str, _Episode] = {}
        self.out: dict[int, _Tally] = {}  # require: condition index -> tally
        self._out_condition = -1  # the require condition failing most recently
        self.too_small = _Tally()
        self.too_small_largest = -math.inf
        self.timed_out = _Tally()
        self.cut: Diagnostic | None = None
        # fell_short: movements out of a rep phase that came back without reaching the next one
        self._sequence = frozenset(sequence)
        self._excursion: _Excursion | None = None
        self.short: dict[str, _Tally] = {}  # the phase not reached -> tally (sample: the nearest raw values)
        self.short_bound: dict[str, tuple[float, bool]] = {}  # -> (its edge in raw units, approached from below)

    # -------------------------------------------------------------------------------- hooks (per frame)
    def step(self, value: float, raw: float, values: dict[str, float], out_of_position: bool) -> None:
        """A frame in which the machine was stepped: ``value`` is the phase value (fraction when adaptive),
        ``raw`` the phase measure's own value."""
        dt = self.owner.dt
        self.counting_seconds += dt
        phase = self.tracker.phase
        if phase != self._last_phase:
            self._last_phase = phase
            if phase is not None:
                self.entered.add(phase)
        if value != value:
            return
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        current = self.tracker.ranges_by_name.get(phase) if phase is not None else None
        hysteresis = self.tracker.hysteresis
        held = current is not None and current.low - hysteresis <= value <= current.high + hysteresis
        if self._sequence and not out_of_position:
            self._follow_excursion(phase, current, held, value, raw)
        for r in self._gated:
            blocked = False
            if not held and not out_of_position and r.name != phase and r.low <= value <= r.high:
                blocked = check_all(r.also, values, self.side) is not True
            episode = self._episode.get(r.name)
            if blocked:
                index, failed = _failing(r.also, values, self.side)
                if episode is None:
                    episode = self._episode[r.name] = _Episode(self.owner.t)
                episode.add(index, dt, failed)
                if self._excursion is not None:
                    self._excursion.blocked = True  # told as phase_blocked, not as falling short
            elif episode is not None:
                self._close(r.name, episode)

    def _follow_excursion(self, phase: str | None, current: PhaseRangeC | None, held: bool, value: float, raw: float) -> None:
        """Movements out of a rep phase that came back to it without reaching the next phase (fell_short).

        The phase tracker keeps a phase while the value is in a gap between ranges, so a movement that stops
        short of the next phase changes nothing: no event tells it. Here it is an excursion beyond the
        phase's range (and hysteresis) that returns into it; one shorter than the phase's dwell is jitter.
        """
        excursion = self._excursion
        if excursion is not None and excursion.phase != phase:
            self._excursion = None  # another phase was reached: not a movement that fell short
            excursion = None
        if current is None or phase not in self._sequence:
            self._excursion = None
            return
        if held:
            if excursion is not None:
                self._excursion = None
                if not excursion.blocked and self.owner.t - excursion.start >= self.tracker.min_dwell:
                    self._fell_short(excursion)
            return
        if excursion is None:
            excursion = self._excursion = _Excursion(phase, self.owner.t, value > current.high)
        if excursion.upward and value > excursion.nearest or not excursion.upward and value < excursion.nearest:
            excursion.nearest, excursion.nearest_raw = value, raw

    def _fell_short(self, excursion: _Excursion) -> None:
        current = self.tracker.ranges_by_name[excursion.phase]
        if excursion.upward:
            targets = [r for r in self.tracker.ranges if r.name in self._sequence and r.low >= current.high and r.name != current.name]
            target = min(targets, key=lambda r: r.low, default=None)
        else:
            targets = [r for r in self.tracker.ranges if r.name in self._sequence and r.high <= current.low and r.name != current.name]
            target = max(targets, key=lambda r: r.high, default=None)
        if target is None:
            return  # moving away from every phase of the rep
        bound = target.low if excursion.upward else target.high
        if self.learner is not None:
            # Adaptive: the phase's edge in the measure's own units, from the range learned so far.
            bounds = self.learner.bounds
            if bounds is None:
                return
            bound = bounds[0] + bound * (bounds[1] - bounds[0])
        tally = self.short.setdefault(target.name, _Tally())
        tally.count += 1
        tally.seconds += self.owner.t - excursion.start
        tally.sample.add(excursion.nearest_raw)
        self.short_bound[target.name] = (bound, excursion.upward)

    def out_of_position(self, conditions: list[Condition], values: dict[str, float]) -> None:
        """A frame in which reps are not started because the rep's position (reps.require) was left."""
        index, failed = _failing(conditions, values, self.side)
        if index < 0:
            index = max(self._out_condition, 0)
        self._out_condition = index
        tally = self.out.setdefault(index, _Tally())
        if failed == failed:
            tally.seconds += self.owner.dt
            tally.sample.add(failed)
        else:
            tally.unknown_seconds += self.owner.dt

    def abandoned(self, conditions: list[Condition], values: dict[str, float], draft: RepDraft | None) -> None:
        """reps.require abandoned the machine's rep (``draft``: the rep in progress, None when there was none)."""
        index, _ = _failing(conditions, values, self.side)
        self._out_condition = max(index, 0)
        if draft is not None:
            self.out.setdefault(self._out_condition, _Tally()).count += 1

    def rep_too_small(self, draft: RepDraft, end: float) -> None:
        """A rep completed at ``end`` but moved less than reps.min_excursion."""
        self.too_small.count += 1
        self.too_small.seconds += end - draft.start
        rom = draft.rom
        if rom is not None:
            self.too_small_largest = max(self.too_small_largest, rom)

    def rep_timed_out(self, draft: RepDraft, t: float) -> None:
        self.timed_out.count += 1
        self.timed_out.seconds += t - draft.start

    def cut_refused(self, why: str, draft: RepDraft | None, t_end: float, achieved: float | None = None) -> None:
        """The session ended during this machine's rep's return and the rep was not counted, because ``why``."""
        self.cut = self.owner.cut_diagnostic(self.side, why, draft, t_end, achieved)
        return None

    # -------------------------------------------------------------------------------- summary
    def _close(self, phase: str, episode: _Episode) -> None:
        del self._episode[phase]
        # Shorter than the phase's dwell it would not have been entered anyway: not a refusal.
        if self.owner.t - episode.start < self.tracker.min_dwell and episode.seconds < self.tracker.min_dwell:
            return
        if not episode.by_condition:
            return
        for index, (seconds, unknown, sample) in episode.by_condition.items():
            tally = self.blocked.setdefault((phase, index), _Tally())
            tally.seconds += seconds
            tally.unknown_seconds += unknown
            tally.sample.extend(sample.values)
            tally.episodes += 1  # episodes in which this condition refused the phase

    def close(self) -> None:
        for phase, episode in list(self._episode.items()):
            self._close(phase, episode)

    def open_block(self) -> tuple[str, int] | None:
        """(phase, condition index) of a refusal going on now that has lasted the phase's dwell, else None."""
        for phase, episode in self._episode.items():
            if self.owner.t - episode.start >= self.tracker.min_dwell and episode.by_condition:
                return phase, max(episode.by_condition, key=lambda i: episode.by_condition[i][0])
        return None


class _Excursion:
    """A movement out of a rep phase's range (see `MachineRecorder._follow_excursion`)."""

    __slots__ = ("phase", "start", "upward", "nearest", "nearest_raw", "blocked")

    def __init__(self, phase: str, start: float, upward: bool):
        self.phase, self.start, self.upward = phase, start, upward
        self.nearest = -math.inf if upward else math.inf  # phase units
        self.nearest_raw = math.nan
        self.blocked = False


class _Episode:
    """One stretch of frames in which a gated phase was reached but refused."""

    __slots__ = ("start", "seconds", "by_condition")

    def __init__(self, start: float):
        self.start = start
        self.seconds = 0.0
        self.by_condition: dict[int, list] = {}  # index -> [seconds known failing, seconds unknown, _Median]

    def add(self, index: int, dt: float, value: float) -> None:
        self.seconds += dt
        entry = self.by_condition.get(index)
        if entry is None:
            entry = self.by_condition[index] = [0.0, 0.0, _Median()]
        if value == value:
            entry[0] += dt
            entry[2].add(value)
        else:
            entry[1] += dt


class DiagnosticsRecorder:
    """Keeps the reasons of one engine (see the module docstring).

    Args:
        spec: the engine's spec.
        start: the compiled setup.start conditions.
        require: the compiled reps.require conditions.
        lost_after: tracking.lost_after: a longer stretch between two frames with a pose was a gap, whose time
            is not tracked time.
    """

    def __init__(self, spec: ExerciseSpec, start: list[Condition], require: list[Condition], lost_after: float):
        self.spec = spec
        self.words = Wording(spec)
        self.start = start
        self.require = require
        self.lost_after = lost_after
        self.t = 0.0
        self.dt = 0.0  # seconds since the previous frame with a pose (0 after a gap)
        self.tracked_seconds = 0.0
        self._last_pose_t: float | None = None
        self._landmarks: np.ndarray | None = None
        self.machines: list[MachineRecorder] = []
        self.view = _Tally()
        self.visible = _Tally()
        self.hidden: dict[int, float] = {}  # landmark -> seconds hidden while the setup waited for it
        self.start_tallies: dict[int, _Tally] = {}
        setup = spec.setup
        phase_measure = spec.measures.get(spec.phases.measure)
        required = setup.visible or (phase_measure.points if phase_measure else [])
        self._required = [np.unique(point_indices(required, side)) for side in SIDES]
        self._min_visibility = spec.tracking.min_visibility

    def machine(self, side: Side | None, tracker: PhaseTracker, learner: RangeLearner | None) -> MachineRecorder:
        recorder = MachineRecorder(self, side, tracker, learner, self.spec.reps.sequence if self.spec.reps else [])
        self.machines.append(recorder)
        return recorder

    # -------------------------------------------------------------------------------- hooks (per frame)
    def pose_frame(self, t: float, landmarks: np.ndarray) -> None:
        """Every frame with a pose, first: its time and landmarks ((33, 5), kept by reference for this frame)."""
        last = self._last_pose_t
        self.dt = t - last if last is not None and t - last < self.lost_after else 0.0
        self.tracked_seconds += self.dt
        self.t = self._last_pose_t = t
        self._landmarks = landmarks

    def not_ready(self, kind: str, frame: FrameMeasures, values: dict[str, float]) -> None:
        """A frame in which counting is paused by the setup: ``kind`` is view, visible or start."""
        dt = self.dt
        if kind == "view":
            self.view.seconds += dt
            self.view.sample.add(frame.view_ratio)
        elif kind == "visible":
            self.visible.seconds += dt
            if self._landmarks is not None:
                visibility = self._landmarks[:, VISIBILITY]
                hidden = min(
                    ([int(i) for i in lms if not visibility[i] >= self._min_visibility] for lms in self._required),
                    key=len,
                )
                for i in hidden:
                    self.hidden[i] = self.hidden.get(i, 0.0) + dt
        else:
            index, failed = _failing(self.start, values, None)
            tally = self.start_tallies.setdefault(max(index, 0), _Tally())
            if failed == failed:
                tally.seconds += dt
                tally.sample.add(failed)
            else:
                tally.unknown_seconds += dt

    # -------------------------------------------------------------------------------- live
    def paused_reason(self, out_of_position: list[bool]) -> str | None:
        """Why reps are not counted now although the setup is right (a machine out of position first)."""
        for recorder, out in zip(self.machines, out_of_position):
            if out and recorder._out_condition >= 0 and self.require:
                return self._require_live_text(recorder._out_condition)
        for recorder in self.machines:
            block = recorder.open_block()
            if block is not None:
                return self._blocked_live_text(*block)
        return None

    def _require_live_text(self, index: int) -> str:
        condition = self.require[index]
        words = self.words
        unit = words.unit(condition.name)
        return (f"Counting paused: {words.measure(condition.name)} needs to be "
                f"{words.bound(condition.low, condition.high, unit)}.")

    def _blocked_live_text(self, phase: str, index: int) -> str:
        words = self.words
        condition = self._phase_range(phase).also[index] if index >= 0 else None
        if condition is None:
            return f"Not counted yet: {words.phase(phase)} needs more of the body in view."
        unit = words.unit(condition.name)
        return (f"Not counted yet: {words.phase(phase)} also needs {words.measure(condition.name)} "
                f"{words.bound(condition.low, condition.high, unit)}.")

    def _phase_range(self, name: str) -> PhaseRangeC:
        return self.machines[0].tracker.ranges_by_name[name]

    # -------------------------------------------------------------------------------- the end
    def cut_diagnostic(self, side: Side | None, why: str, draft: RepDraft | None, t_end: float, achieved: float | None) -> Diagnostic | None:
        reps = self.spec.reps
        if reps is None:
            return None
        far, last = reps.sequence[-2], reps.sequence[-1]
        words = self.words
        start = draft.start if draft is not None else t_end
        rule = reps.cut_at_end
        texts = {
            "no_rule": f"The session ended during the last rep, after {words.phase(far)} and before it was back in "
            f"{words.phase(last)}: an unfinished rep is not counted.",
            "out_of_position": "The session ended during the last rep, after its position was left: it is not counted.",
            "not_ready": "The session ended during the last rep while counting was paused by the setup: it is not counted.",
            "lost": "The session ended during the last rep, after tracking was lost: what you did last was not seen.",
            "unknown": "The session ended during the last rep, and its main measure could not be read on the last frame.",
            "also": f"The session ended during the last rep's way back, before {words.phase(last)} could be recognised.",
            "small": "The session ended during the last rep, which moved too little to count.",
            "holding": f"The session ended while you were holding {words.phase(far)}: the rep counts once you are "
            f"back in {words.phase(last)}.",
            "short": "The session ended during the last rep, "
            + ("before the way back had started" if achieved is None or achieved < 0.005 else f"{achieved:.0%} of the way back")
            + f", and {words.title} counts a cut-off rep from {0 if rule is None else rule:.0%} of the way.",
        }
        return Diagnostic(
            kind="cut_at_end",
            reason=side_prefix(side) + texts.get(why, "The session ended during the last rep: it is not counted."),
            seconds=max(t_end - start, 0.0),
            # A hold still running is what the routine asks for (a final hold), not a refused rep.
            count=None if why == "holding" else 1,
            measure=self.spec.phases.measure if why == "short" else None,
            value=achieved if why == "short" else None,
            required=f"{rule:.0%} of the way back" if why == "short" and rule is not None else None,
            unit="share" if why == "short" else None,
            phase=last,
            side=side,
        )

    def diagnostics(self) -> list[Diagnostic]:
        """Every reason recorded, most time first (reps refused: the time of the reps)."""
        for recorder in self.machines:
            recorder.close()
        found: list[Diagnostic] = []
        found += self._setup_diagnostics()
        for recorder in self.machines:
            found += self._machine_diagnostics(recorder)
        found.sort(key=lambda d: -(d.seconds or 0.0))
        return found

    def _share(self, seconds: float) -> float | None:
        return seconds / self.tracked_seconds if self.tracked_seconds > 0 else None

    def _setup_diagnostics(self) -> list[Diagnostic]:
        setup, words, found = self.spec.setup, self.words, []
        if self.view.seconds > 0 and setup.view_ratio is not None:
            median = self.view.sample.median
            share = self._share(self.view.seconds)
            looks = "the front" if setup.view == "side" else "the side"
            needs = (f"a side view (view ratio below {setup.view_ratio:g})" if setup.view == "side"
                     else f"a front view (view ratio above {setup.view_ratio:g})")
            ratio = "" if median is None else f" (view ratio {median:.2f})"
            found.append(Diagnostic(
                kind="view",
                reason=f"The camera sees you too much from {looks}{ratio} {share_words(share)}; {words.title} needs {needs}.",
                advice=setup.view_text, seconds=self.view.seconds, share=share, measure="view_ratio", value=median,
                required=f"{'below' if setup.view == 'side' else 'above'} {setup.view_ratio:g}", unit="ratio",
            ))
        if self.visible.seconds > 0:
            share = self._share(self.visible.seconds)
            # The landmarks hidden for at least half of that time (else the one hidden longest).
            hidden = sorted(self.hidden.items(), key=lambda kv: -kv[1])
            names = [landmark_words(i) for i, s in hidden if s >= self.visible.seconds / 2] or [landmark_words(i) for i, _ in hidden[:1]]
            what = ", ".join(names) if names else "part of the body"
            found.append(Diagnostic(
                kind="visible",
                reason=f"Not in the picture or hidden: {what}, {share_words(share)}; {words.title} needs to see them to count.",
                advice=setup.visible_text, seconds=self.visible.seconds, share=share,
                required="visible: " + ", ".join(setup.visible or self.spec.measures[self.spec.phases.measure].points),
            ))
        for index, tally in sorted(self.start_tallies.items()):
            seconds = tally.seconds + tally.unknown_seconds
            if seconds <= 0 or not self.start:
                continue
            condition = self.start[index]
            unit = words.unit(condition.name)
            share = self._share(seconds)
            bound = words.bound(condition.low, condition.high, unit)
            median = tally.sample.median
            if median is None:
                what = f"{words.measure(condition.name)} could not be measured (part of the body hidden)"
            else:
                what = f"{words.measure(condition.name)} was {words.number(median, unit)}"
            found.append(Diagnostic(
                kind="start",
                reason=f"Not in the start position {share_words(share)}: {what}; to start, {words.title} needs it {bound}.",
                advice=setup.start.text if setup.start else None, seconds=seconds, share=share,
                measure=condition.name, value=median, required=bound, unit=unit,
            ))
        return found

    def _machine_diagnostics(self, m: MachineRecorder) -> list[Diagnostic]:
        spec, words, found = self.spec, self.words, []
        prefix = side_prefix(m.side)
        phase_measure = spec.phases.measure
        phase_unit = words.unit(phase_measure)
        for index, tally in sorted(m.out.items()):
            seconds = tally.seconds + tally.unknown_seconds
            if not self.require or (seconds <= 0 and tally.count == 0):
                continue
            condition = self.require[index]
            unit = words.unit(condition.name)
            bound = words.bound(condition.low, condition.high, unit)
            median = tally.sample.median
            was = "could not be measured" if median is None else f"was {words.number(median, unit)}"
            refused = f" ({times(tally.count, 'rep')} in progress dropped)" if tally.count else ""
            found.append(Diagnostic(
                kind="require", seconds=seconds, share=self._share(seconds), count=tally.count,
                reason=f"{prefix}Reps were paused for {seconds:.1f} s{refused} because you left the exercise's position: "
                f"{words.measure(condition.name)} {was}, and {words.title} needs {bound} during a rep.",
                measure=condition.name, value=median, required=bound, unit=unit, side=m.side,
            ))
        blocked_phases = set()
        for (phase, index), tally in sorted(m.blocked.items()):
            seconds = tally.seconds + tally.unknown_seconds
            if seconds <= 0:
                continue
            blocked_phases.add(phase)
            gate = self._phase_range(phase)
            condition = gate.also[index] if index >= 0 else None
            main = words.measure(phase_measure)
            if condition is None:
                found.append(Diagnostic(
                    kind="phase_blocked", seconds=seconds, share=self._share(seconds), count=tally.episodes,
                    reason=f"{prefix}The {plain(main)} reached {words.phase(phase)} {how_often(tally.episodes)} ({seconds:.1f} s{' in all' if tally.episodes > 1 else ''}) but "
                    "it was not counted: part of the body its other conditions look at was hidden.",
                    phase=phase, side=m.side,
                ))
                continue
            unit = words.unit(condition.name)
            bound = words.bound(condition.low, condition.high, unit)
            median = tally.sample.median
            was = ("could not be measured" if median is None
                   else f"was {words.number(median, unit)}")
            found.append(Diagnostic(
                kind="phase_blocked", seconds=seconds, share=self._share(seconds), count=tally.episodes,
                reason=f"{prefix}The {plain(main)} reached {words.phase(phase)} {how_often(tally.episodes)} ({seconds:.1f} s{' in all' if tally.episodes > 1 else ''}) but "
                f"it was not counted: {words.measure(condition.name)} {was}, and {words.title} needs {bound} there.",
                measure=condition.name, value=median, required=bound, unit=unit, phase=phase, side=m.side,
            ))
        if self._phases_to_reach and m.counting_seconds > 0:
            found += self._range_diagnostics(m, blocked_phases, prefix, phase_unit)
        # With the adaptive range too narrow (min_range), movements that fall short are its consequence.
        narrow = any(d.kind == "min_range" for d in found)
        for phase, tally in sorted(m.short.items()) if not narrow else ():
            bound_value, upward = m.short_bound[phase]
            bound = words.bound(bound_value, math.inf, phase_unit) if upward else words.bound(-math.inf, bound_value, phase_unit)
            median = tally.sample.median
            found.append(Diagnostic(
                kind="fell_short", seconds=tally.seconds, share=self._share(tally.seconds), count=tally.count,
                reason=f"{prefix}{how_often(tally.count).capitalize()}, the {plain(words.measure(phase_measure))} moved toward "
                f"{words.phase(phase)} and came back before reaching it: it got to {words.number(median, phase_unit)} "
                f"(median), and {words.title} needs {bound} there.",
                measure=phase_measure, value=median, required=bound, unit=phase_unit, phase=phase, side=m.side,
            ))
        if m.too_small.count:
            largest = m.too_small_largest if math.isfinite(m.too_small_largest) else None
            needed = spec.reps.min_excursion if spec.reps else None
            bound = words.bound(needed, math.inf, phase_unit) if needed is not None else None
            found.append(Diagnostic(
                kind="min_excursion", seconds=m.too_small.seconds, count=m.too_small.count,
                reason=f"{prefix}{times(m.too_small.count, 'rep')} moved too little to count: the "
                f"{plain(words.measure(phase_measure))} moved at most {words.number(largest, phase_unit)}; "
                f"{words.title} needs {bound}.",
                measure=phase_measure, value=largest, required=bound, unit=phase_unit, side=m.side,
            ))
        if m.timed_out.count and spec.reps is not None and spec.reps.max_seconds is not None:
            limit = spec.reps.max_seconds
            found.append(Diagnostic(
                kind="max_seconds", seconds=m.timed_out.seconds, count=m.timed_out.count,
                reason=f"{prefix}{times(m.timed_out.count, 'rep')} took longer than {limit:g} s and "
                f"{'was' if m.timed_out.count == 1 else 'were'} dropped as unfinished.",
                required=f"at most {limit:g} s", unit="s", side=m.side,
            ))
        if m.cut is not None:
            found.append(m.cut)
        return found

    @property
    def _phases_to_reach(self) -> tuple[str, ...]:
        """The phases counting needs: every phase of a rep's sequence; for a hold-only spec, its hold phases
        (one of them is enough). Empty when a hold is decided by ``when`` alone."""
        if self.spec.reps is not None:
            return tuple(dict.fromkeys(self.spec.reps.sequence))
        hold = self.spec.hold
        return tuple(hold.phases) if hold is not None and hold.phases else ()

    def _range_diagnostics(self, m: MachineRecorder, blocked: set[str], prefix: str, unit: str | None) -> list[Diagnostic]:
        """The adaptive range too narrow (min_range), or a phase counting needs never entered (phase_not_reached):
        of a rep's sequence, or every phase a hold-only spec holds in (a hold that never began is a silent zero
        otherwise)."""
        spec, words = self.spec, self.words
        needed = self._phases_to_reach
        if spec.reps is None and m.entered.intersection(needed):
            return []  # a hold phase was reached: the holds (or their refusals) tell the rest
        phase_measure = spec.phases.measure
        measure_words = plain(words.measure(phase_measure))
        learner = m.learner if spec.adaptive is not None else None
        if learner is not None and learner.low <= learner.high and learner.high - learner.low < spec.adaptive.min_range \
                and not m.entered.issuperset(needed):
            span = learner.high - learner.low
            bound = words.bound(spec.adaptive.min_range, math.inf, unit)
            return [Diagnostic(
                kind="min_range", seconds=m.counting_seconds, share=self._share(m.counting_seconds),
                reason=f"{prefix}The movement was too small to count: the {measure_words} moved "
                f"{words.number(span, unit)} in all; {words.title} needs {bound}.",
                measure=phase_measure, value=span, required=bound, unit=unit, side=m.side,
            )]
        if not math.isfinite(m.low):
            return []
        found = []
        for phase in needed:
            if phase in m.entered or phase in blocked or phase in m.short:
                continue  # reached, refused by its also (phase_blocked), or approached (fell_short: more to say)
            r = m.tracker.ranges_by_name[phase]
            nearest = m.high if r.low > m.high else m.low if r.high < m.low else None
            if nearest is None:
                # Its range was reached, but not for the phase's dwell (or not past the hysteresis of the phase
                # the person was in).
                told = (f"{words.phase(phase)} was only touched, never held for the {self.spec.phases.min_dwell:g} s "
                        f"a phase needs to count")
                value = required = None
            elif learner is not None:
                # Adaptive: phase edges are shares of the learned range; say them so.
                bound_share = r.low if r.low > m.high else r.high
                told = (f"{words.phase(phase)} was never reached: the {measure_words} came only to {nearest:.0%} of "
                        f"your own range, and {words.title} needs {'at least' if r.low > m.high else 'at most'} "
                        f"{bound_share:.0%} of it there")
                value, required = nearest, f"{'at least' if r.low > m.high else 'at most'} {bound_share:.0%} of the range"
            else:
                required = words.bound(r.low, r.high, unit)
                told = (f"{words.phase(phase)} was never reached: the {measure_words} came only to "
                        f"{words.number(nearest, unit)}; {words.title} needs {required} there")
                value = nearest
            found.append(Diagnostic(
                kind="phase_not_reached", seconds=m.counting_seconds, share=self._share(m.counting_seconds),
                reason=f"{prefix}{told}.", measure=phase_measure, value=value, required=required,
                unit=("share" if learner is not None and value is not None else unit) if value is not None else None,
                phase=phase, side=m.side,
            ))
        return found


class _NullMachineRecorder:
    """The hooks of `MachineRecorder`, doing nothing."""

    def step(self, value, raw, values, out_of_position) -> None:
        pass

    def out_of_position(self, conditions, values) -> None:
        pass

    def abandoned(self, conditions, values, draft) -> None:
        pass

    def rep_too_small(self, draft, end) -> None:
        pass

    def rep_timed_out(self, draft, t) -> None:
        pass

    def cut_refused(self, why, draft, t_end, achieved=None) -> None:
        return None


class NullRecorder:
    """A recorder that records nothing (``Engine(spec, diagnostics=False)``): the engine without its why-not
    bookkeeping, for comparing events and timing."""

    def machine(self, side, tracker, learner) -> _NullMachineRecorder:
        return _NullMachineRecorder()

    def pose_frame(self, t, landmarks) -> None:
        pass

    def not_ready(self, kind, frame, values) -> None:
        pass

    def paused_reason(self, out_of_position) -> str | None:
        return None

    def diagnostics(self) -> list[Diagnostic]:
        return []


__all__ = ["DiagnosticsRecorder", "MachineRecorder", "NullRecorder", "Wording"]
