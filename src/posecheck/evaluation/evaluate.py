"""Counting accuracy on labelled clips: :func:`evaluate` runs posecheck and the baseline on every clip and
scores them into a :class:`Report`; :func:`margin_report` measures how close the clips come to each spec's lines.

Data flows one way: labelled clips (:mod:`~posecheck.evaluation.labels`) -> poses, from replayed traces or
decoded video (:mod:`~posecheck.evaluation.runner`) -> the engine, the baseline counter
(:mod:`~posecheck.evaluation.baseline`) and the robustness variants (:mod:`~posecheck.evaluation.variants`)
-> counted reps and holds -> scores against the labels (:mod:`~posecheck.evaluation.scoring`, which defines
MAE, OBO, timing, phantoms and hold error) -> a report (:mod:`~posecheck.evaluation.tables` prints it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from posecheck.errors import InputError, UnknownExerciseError
from posecheck.evaluation.baseline import BaselineRule, run_baseline
from posecheck.evaluation.labels import ClipLabel
from posecheck.evaluation.margins import MarginCase, MarginRow, margin_rows
from posecheck.evaluation.runner import ClipRunner, run_engine, spec_loader
from posecheck.evaluation.scoring import ClipScore, Totals, score_clip, summarise
from posecheck.evaluation.variants import Variant

logger = logging.getLogger(__name__)


@dataclass
class ClipReport:
    """Everything the evaluation found on one clip."""

    label: ClipLabel
    posecheck: ClipScore | None  # None when the clip was skipped for posecheck
    baseline: ClipScore | None  # None when the baseline table has no rule for the exercise
    skipped: str | None = None  # why posecheck did not run on the clip
    variants: dict[str, ClipScore] = field(default_factory=dict)


@dataclass
class Report:
    """The whole evaluation."""

    source: str  # "traces" or "videos"
    clips: list[ClipReport]

    @property
    def posecheck_totals(self) -> Totals:
        return summarise([c.posecheck for c in self.clips if c.posecheck is not None])

    @property
    def baseline_totals(self) -> Totals:
        """The baseline on the same clips posecheck ran on, so the two are comparable."""
        return summarise([c.baseline for c in self.clips if c.posecheck is not None and c.baseline is not None])

    @property
    def baseline_totals_all(self) -> Totals:
        """The baseline on every clip it has a rule for."""
        return summarise([c.baseline for c in self.clips if c.baseline is not None])

    def variant_names(self) -> list[str]:
        """Names of the variants that were run, in the order they were run."""
        return list(dict.fromkeys(name for c in self.clips for name in c.variants))

    def variant_totals(self) -> dict[str, Totals]:
        names = self.variant_names()
        return {name: summarise([c.variants[name] for c in self.clips if name in c.variants]) for name in names}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``--json``)."""

        def score(s: ClipScore | None) -> dict[str, Any] | None:
            if s is None:
                return None
            d = asdict(s)
            d["phantom_times"] = [list(iv) for iv in s.phantom_times]
            if s.hold is not None:
                d["hold"]["error_s"] = s.hold.error_s
            return d

        return _rounded({
            "source": self.source,
            "clips": [
                {
                    "clip": c.label.clip,
                    "exercise": c.label.exercise,
                    "truth_reps": c.label.reps,
                    "truth_hold_s": c.label.hold_seconds if c.label.holds else None,
                    "skipped": c.skipped,
                    "posecheck": score(c.posecheck),
                    "baseline": score(c.baseline),
                    "variants": {name: score(s) for name, s in c.variants.items()},
                }
                for c in self.clips
            ],
            "totals": {
                "posecheck": asdict(self.posecheck_totals),
                "baseline": asdict(self.baseline_totals),
                "baseline_all_clips": asdict(self.baseline_totals_all),
                "variants": {name: asdict(t) for name, t in self.variant_totals().items()},
            },
        })


def _rounded(value: Any, digits: int = 4) -> Any:
    """Floats rounded for the JSON report (the labels are good to about 0.25 s; more digits are noise)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def evaluate(
    labels: Sequence[ClipLabel],
    run: ClipRunner,
    *,
    source: str,
    specs_dir: Path | None = None,
    baseline: dict[str, BaselineRule] | None = None,
    variants: Sequence[Variant] = (),
    as_exercise: str | None = None,
    on_clip: Callable[[ClipReport], None] | None = None,
) -> Report:
    """Runs posecheck (and the baseline) on every labelled clip and scores them.

    Args:
        labels: the clips to run.
        run: gives a clip's poses and posecheck's result (:func:`replay_trace` or :func:`analyze_video`
            bound to a folder). Clips whose input cannot be had (InputError, e.g. no trace) are skipped.
        source: "traces" or "videos", for the report.
        specs_dir: where to find specs (None: the built-in ones, as ``analyze`` does).
        baseline: the baseline rules per exercise (None or empty: no baseline).
        variants: robustness variants to run posecheck on as well.
        as_exercise: run this exercise's spec on every clip instead of each clip's own; clips of other
            exercises become near misses (:meth:`ClipLabel.as_near_miss`) that should count nothing.
        on_clip: called after each clip (progress output).

    Raises:
        UnknownExerciseError: ``as_exercise`` has no spec. SpecError: a spec is invalid.
    """
    load_spec = spec_loader(specs_dir)
    if as_exercise is not None and load_spec(as_exercise) is None:
        raise UnknownExerciseError(f"no spec '{as_exercise}'")
    if as_exercise is not None:
        labels = [label.as_near_miss(as_exercise) for label in labels]
    reports: list[ClipReport] = []
    for label in labels:
        report = _evaluate_clip(label, run, load_spec(label.exercise), baseline or {}, variants)
        if report.posecheck is None:
            logger.info("%s: skipped (%s)", label.clip, report.skipped)
        else:
            logger.info("%s: counted %d, labelled %s", label.clip, report.posecheck.counted_reps, label.reps)
        reports.append(report)
        if on_clip is not None:
            on_clip(report)
    return Report(source=source, clips=reports)


def _evaluate_clip(
    label: ClipLabel,
    run: ClipRunner,
    spec: Any | None,
    baseline: dict[str, BaselineRule],
    variants: Sequence[Variant],
) -> ClipReport:
    rule = baseline.get(label.exercise)
    no_spec = None if spec is not None else f"no spec '{label.exercise}'"
    if spec is None and rule is None:
        return ClipReport(label, None, None, skipped=no_spec)
    try:
        clip = run(label, spec)
    except InputError as exc:
        return ClipReport(label, None, None, skipped=str(exc))
    baseline_score = score_clip(label, run_baseline(clip.poses, rule)) if rule is not None and clip.poses else None
    if clip.result is None:
        return ClipReport(label, None, baseline_score, skipped=no_spec)
    report = ClipReport(label, score_clip(label, clip.result), baseline_score)
    for variant in variants:
        result = run_engine(spec, variant.apply(clip.poses))
        report.variants[variant.name] = score_clip(label.at_speed(variant.speed), result)
    return report


def margin_report(
    labels: Sequence[ClipLabel],
    run: ClipRunner,
    *,
    specs_dir: Path | None = None,
    variants: Sequence[Variant] = (),
) -> list[MarginRow]:
    """How close each labelled clip, and each of its variants, comes to every line its spec draws
    (:mod:`posecheck.evaluation.margins`). Clips without a spec or without poses are left out."""
    load_spec = spec_loader(specs_dir)
    cases: list[MarginCase] = []
    for label in labels:
        spec = load_spec(label.exercise)
        if spec is None:
            continue
        try:
            poses = run(label, None).poses
        except InputError:
            continue
        reps, holds = label.rep_times, label.holds
        cases.append(MarginCase(label.exercise, label.clip, "", poses, reps, holds))
        for variant in variants:
            timed = label.at_speed(variant.speed)
            cases.append(MarginCase(label.exercise, label.clip, variant.name, variant.apply(poses), timed.rep_times, timed.holds))
    return margin_rows(cases, load_spec)
