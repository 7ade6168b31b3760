"""Scoring one counter's reps and holds on a clip against its label, and totals over clips.

Definitions (the same in the CLI, the benchmark and the tests):

* A clip is *scored for counts* when its label gives ``reps`` (``reps: null`` means the count could not
  be told). ``count error = counted - truth``.
* **MAE** is the mean of ``|counted - truth| / truth`` over scored clips with ``truth > 0`` (a relative
  error, as in the rep-counting literature); **OBO** (off-by-one) is the share of scored clips with
  ``|counted - truth| <= 1``; **exact** is the share with ``counted == truth``.
* **Rep timing**: counted reps are matched one-to-one to labelled rep intervals, largest overlap first.
  ``matched / counted`` is the timing agreement; the start and end offsets are ``counted - labelled`` in
  seconds, averaged over the matched pairs. The **timing error** is the mean of ``|start offset|`` and of
  ``|end offset|`` over the matched pairs (per clip; over all clips, pooled over every matched pair), so that
  early and late reps do not cancel out.
* A **phantom rep** is a counted rep whose interval overlaps no labelled rep interval at all (counted
  while walking in, setting up, resting or holding). On a ``reps: 0`` clip every counted rep is a phantom.
* **Hold time**: each counted hold is given to the labelled hold it overlaps most; per labelled hold the
  error is ``|sum of the counted seconds given to it - its labelled duration|``. Counted hold seconds that
  overlap no labelled hold are *extra* seconds. The clip's hold error is the larger of the worst per-hold
  error and the extra seconds. Only clips whose label has ``hold``, ``holds`` or ``hold_times`` are scored
  for holds (``hold_times`` is how labels.yaml spells the holds inside reps, e.g. the held stretch of each
  side bend: it means the same as ``holds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posecheck.evaluation.labels import ClipLabel, Interval


def overlap(a: Interval, b: Interval) -> float:
    """Seconds that two intervals share (0 when they only touch or are apart)."""
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def match_intervals(counted: Sequence[Interval], truth: Sequence[Interval]) -> list[tuple[int, int]]:
    """One-to-one matching of counted to labelled intervals, largest overlap first.

    Greedy on overlap seconds (ties broken by time order) is enough here: reps are short, ordered and
    rarely overlap more than one neighbour.

    Returns:
        (counted index, truth index) pairs with positive overlap, sorted by counted index.
    """
    candidates = [
        (overlap(c, t), ci, ti) for ci, c in enumerate(counted) for ti, t in enumerate(truth) if overlap(c, t) > 0
    ]
    candidates.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_counted: set[int] = set()
    used_truth: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, ci, ti in candidates:
        if ci in used_counted or ti in used_truth:
            continue
        used_counted.add(ci)
        used_truth.add(ti)
        pairs.append((ci, ti))
    return sorted(pairs)


def phantom_indices(counted: Sequence[Interval], truth: Sequence[Interval]) -> list[int]:
    """Indices of counted intervals that overlap no labelled interval at all."""
    return [i for i, c in enumerate(counted) if not any(overlap(c, t) > 0 for t in truth)]


@dataclass(frozen=True)
class CountedHold:
    """A hold as counted by posecheck: where it was, and the seconds its timer ran."""

    start: float
    end: float
    seconds: float


@dataclass(frozen=True)
class HoldScore:
    """Hold time of one clip against its labels (seconds)."""

    truth_s: float
    counted_s: float  # all counted hold seconds in the clip
    per_hold_error_s: tuple[float, ...]  # one per labelled hold
    extra_s: float  # counted seconds overlapping no labelled hold

    @property
    def error_s(self) -> float:
        """The clip's hold error: the worst labelled hold's error, or the extra seconds if larger."""
        return max((*self.per_hold_error_s, self.extra_s), default=0.0)


def score_holds(counted: Sequence[CountedHold], truth: Sequence[Interval]) -> HoldScore:
    """Scores counted holds against labelled hold intervals (see the module docstring)."""
    given = [0.0] * len(truth)
    extra = 0.0
    for hold in counted:
        overlaps = [overlap((hold.start, hold.end), t) for t in truth]
        if overlaps and max(overlaps) > 0:
            given[int(np.argmax(overlaps))] += hold.seconds
        else:
            extra += hold.seconds
    errors = tuple(abs(g - (e - s)) for g, (s, e) in zip(given, truth))
    return HoldScore(
        truth_s=sum(e - s for s, e in truth),
        counted_s=sum(h.seconds for h in counted),
        per_hold_error_s=errors,
        extra_s=extra,
    )


@dataclass(frozen=True)
class CountResult:
    """What one counter (posecheck or the baseline) did on one clip.

    ``holds`` is None for a counter that does not time holds at all (the baseline): it is then not scored
    for holds, rather than scored as timing none.
    """

    reps: int
    rep_times: tuple[Interval, ...]
    holds: tuple[CountedHold, ...] | None = ()
    # posecheck's reasons for what it did not count (report.json's not_counted: "kind: reason"), most time first
    not_counted: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClipScore:
    """One counter's result on one clip, scored against the label.

    Fields that cannot be scored on this clip are None (e.g. ``count_error`` for ``reps: null``,
    ``hold`` when the label has no hold, ``phantoms`` when a clip with reps has no rep_times).
    """

    clip: str
    exercise: str
    truth_reps: int | None
    counted_reps: int
    count_error: int | None
    matched: int | None  # counted reps matched one-to-one to a labelled rep
    timing_agreement: float | None  # matched / counted (None when nothing was counted)
    mean_start_offset_s: float | None  # counted - labelled, over matched reps
    mean_end_offset_s: float | None
    phantoms: int | None
    phantom_times: tuple[Interval, ...]
    hold: HoldScore | None
    mean_abs_start_error_s: float | None = None  # mean |counted - labelled| start, over matched reps
    mean_abs_end_error_s: float | None = None
    not_counted: tuple[str, ...] = ()  # CountResult.not_counted

    @property
    def exact(self) -> bool | None:
        return None if self.count_error is None else self.count_error == 0

    @property
    def within_one(self) -> bool | None:
        return None if self.count_error is None else abs(self.count_error) <= 1


def score_clip(label: ClipLabel, result: CountResult) -> ClipScore:
    """Scores one counter's result on one clip against its label."""
    counted = list(result.rep_times)
    scored = label.reps is not None
    count_error = result.reps - label.reps if scored else None

    # Timing and phantoms need labelled intervals; a reps: 0 clip has none and needs none.
    timing_known = scored and (label.reps == 0 or len(label.rep_times) > 0)
    matched = start_offset = end_offset = agreement = None
    abs_start_error = abs_end_error = None
    phantoms: int | None = None
    phantom_times: tuple[Interval, ...] = ()
    if timing_known:
        pairs = match_intervals(counted, label.rep_times)
        matched = len(pairs)
        agreement = matched / len(counted) if counted else None
        if pairs:
            start_offset = float(np.mean([counted[c][0] - label.rep_times[t][0] for c, t in pairs]))
            end_offset = float(np.mean([counted[c][1] - label.rep_times[t][1] for c, t in pairs]))
        abs_start_error, abs_end_error = timing_errors(counted, label.rep_times, pairs)
        phantom_idx = phantom_indices(counted, label.rep_times)
        phantoms = len(phantom_idx)
        phantom_times = tuple(counted[i] for i in phantom_idx)

    # A near miss is scored for holds too: every second timed there is an extra second.
    hold_scored = (label.holds or label.near_miss_of is not None) and result.holds is not None
    hold = score_holds(result.holds, label.holds) if hold_scored else None
    return ClipScore(
        clip=label.clip,
        exercise=label.exercise,
        truth_reps=label.reps,
        counted_reps=result.reps,
        count_error=count_error,
        matched=matched,
        timing_agreement=agreement,
        mean_start_offset_s=start_offset,
        mean_end_offset_s=end_offset,
        phantoms=phantoms,
        phantom_times=phantom_times,
        hold=hold,
        mean_abs_start_error_s=abs_start_error,
        mean_abs_end_error_s=abs_end_error,
        not_counted=result.not_counted,
    )


def timing_errors(
    counted: Sequence[Interval], truth: Sequence[Interval], pairs: Sequence[tuple[int, int]]
) -> tuple[float | None, float | None]:
    """Mean ``|counted - labelled|`` start and end (seconds) over matched (counted, truth) index pairs."""
    if not pairs:
        return None, None
    starts = [abs(counted[c][0] - truth[t][0]) for c, t in pairs]
    ends = [abs(counted[c][1] - truth[t][1]) for c, t in pairs]
    return float(np.mean(starts)), float(np.mean(ends))


def pooled_timing_errors(scores: Sequence[ClipScore]) -> tuple[float | None, float | None]:
    """Mean |start| and |end| error over every matched rep of these clips (each clip weighted by its matches)."""
    timed = [s for s in scores if s.matched and s.mean_abs_start_error_s is not None]
    total = sum(s.matched or 0 for s in timed)
    if not total:
        return None, None
    start = sum((s.matched or 0) * (s.mean_abs_start_error_s or 0.0) for s in timed) / total
    end = sum((s.matched or 0) * (s.mean_abs_end_error_s or 0.0) for s in timed) / total
    return start, end


@dataclass(frozen=True)
class Totals:
    """Aggregate scores over clips (None where no clip could be scored)."""

    clips: int  # clips run
    scored: int  # clips with a known rep count
    mae: float | None  # mean |counted - truth| / truth over scored clips with truth > 0
    obo: float | None  # share of scored clips within one rep
    exact: float | None  # share of scored clips with the exact count
    hold_clips: int
    mean_hold_error_s: float | None
    max_hold_error_s: float | None
    phantoms: int  # phantom reps over all clips where phantoms could be scored
    timing_agreement: float | None  # matched / counted over all clips with rep intervals
    mean_abs_start_error_s: float | None = None  # |counted - labelled| rep start, over every matched rep
    mean_abs_end_error_s: float | None = None


def summarise(scores: Sequence[ClipScore]) -> Totals:
    """Aggregates clip scores (definitions in the module docstring)."""
    counted = [s for s in scores if s.count_error is not None]
    relative = [abs(s.count_error) / s.truth_reps for s in counted if s.truth_reps]
    holds = [s.hold.error_s for s in scores if s.hold is not None]
    timed = [s for s in scores if s.matched is not None]
    total_counted = sum(s.counted_reps for s in timed)
    abs_start_error, abs_end_error = pooled_timing_errors(scores)
    return Totals(
        clips=len(scores),
        scored=len(counted),
        mae=float(np.mean(relative)) if relative else None,
        obo=float(np.mean([s.within_one for s in counted])) if counted else None,
        exact=float(np.mean([s.exact for s in counted])) if counted else None,
        hold_clips=len(holds),
        mean_hold_error_s=float(np.mean(holds)) if holds else None,
        max_hold_error_s=float(np.max(holds)) if holds else None,
        phantoms=sum(s.phantoms or 0 for s in scores),
        timing_agreement=(sum(s.matched or 0 for s in timed) / total_counted) if total_counted else None,
        mean_abs_start_error_s=abs_start_error,
        mean_abs_end_error_s=abs_end_error,
    )
