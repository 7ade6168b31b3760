"""Ground truth for the accuracy evaluation: labels.yaml parsed and validated into :class:`ClipLabel`.

A clip's label gives its exercise, its rep count (``reps: null`` when it could not be told), the (start, end)
seconds of each rep and of each hold (``hold``, ``holds`` or ``hold_times``: the last is how labels.yaml spells
the holds inside reps, e.g. the held stretch of each side bend). Pure: pydantic and yaml only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from posecheck.errors import InputError

#: (start, end) in seconds.
Interval = tuple[float, float]


def _check_interval(interval: Sequence[float], where: str) -> None:
    start, end = interval
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start or start < 0:
        raise ValueError(f"{where}: expected 0 <= start < end, got [{start}, {end}]")


class _LabelEntry(BaseModel):
    """One clip's entry in labels.yaml (fields this module does not use are allowed and ignored)."""

    model_config = ConfigDict(extra="allow")

    exercise: str = Field(min_length=1)
    reps: NonNegativeInt | None
    rep_times: list[tuple[float, float]] = Field(default_factory=list)
    hold: tuple[float, float] | None = None
    holds: list[tuple[float, float]] = Field(default_factory=list)
    # The held part of each rep (seated_side_bend_01: the stretch held on each side): holds by another name.
    hold_times: list[tuple[float, float]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> _LabelEntry:
        for i, interval in enumerate(self.rep_times):
            _check_interval(interval, f"rep_times[{i}]")
        given = [name for name in ("hold", "holds", "hold_times") if getattr(self, name)]
        if len(given) > 1:
            raise ValueError(f"give one of hold, holds or hold_times, not {' and '.join(given)}")
        if self.hold is not None:
            _check_interval(self.hold, "hold")
        for name in ("holds", "hold_times"):
            for i, interval in enumerate(getattr(self, name)):
                _check_interval(interval, f"{name}[{i}]")
        if self.reps is not None and self.rep_times and len(self.rep_times) != self.reps:
            raise ValueError(f"reps is {self.reps} but rep_times has {len(self.rep_times)} intervals")
        return self


@dataclass(frozen=True)
class ClipLabel:
    """Ground truth for one clip.

    Attributes:
        clip: file name of the clip as written in labels.yaml, e.g. ``"cat_cow_01.mp4"``.
        exercise: the spec id the clip shows.
        reps: true rep count, or None when it could not be told (not scored for counts).
        rep_times: (start, end) seconds of every labelled rep, in time order (may be empty).
        holds: (start, end) seconds of every labelled hold (from ``hold``, ``holds`` or ``hold_times``).
        near_miss_of: set when another exercise's spec is run on this clip (:meth:`as_near_miss`): the
            exercise the clip really shows. Such a spec should count nothing and time no hold here.
    """

    clip: str
    exercise: str
    reps: int | None
    rep_times: tuple[Interval, ...] = ()
    holds: tuple[Interval, ...] = ()
    near_miss_of: str | None = None

    @property
    def stem(self) -> str:
        """The clip's file name without extension (the name of its trace)."""
        return Path(self.clip).stem

    @property
    def hold_seconds(self) -> float:
        """Total labelled hold time in seconds."""
        return sum(end - start for start, end in self.holds)

    def as_near_miss(self, exercise: str) -> ClipLabel:
        """The label for running ``exercise``'s spec on this clip: its own label if it shows that
        exercise, else a near miss that should count no rep and time no hold."""
        if exercise == self.exercise:
            return self
        return ClipLabel(self.clip, exercise, 0, (), (), near_miss_of=self.exercise)

    def at_speed(self, speed: float) -> ClipLabel:
        """The label of the clip played ``speed`` times as fast (every time divided by ``speed``)."""
        if speed == 1.0:
            return self

        def scaled(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
            return tuple((s / speed, e / speed) for s, e in intervals)

        return ClipLabel(
            self.clip, self.exercise, self.reps, scaled(self.rep_times), scaled(self.holds), self.near_miss_of
        )


def parse_labels(data: Any, source: str = "labels") -> list[ClipLabel]:
    """Validates parsed labels.yaml data.

    Args:
        data: the YAML document: a mapping clip file name -> label fields.
        source: name used in error messages (the file path).

    Returns:
        One ClipLabel per clip, in file order.

    Raises:
        InputError: one line per problem, ``source: clip: field: problem``.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of clip file name -> label, got {type(data).__name__}")
    labels: list[ClipLabel] = []
    problems: list[str] = []
    for clip, fields in data.items():
        try:
            entry = _LabelEntry.model_validate(fields)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{source}: {clip}: {where + ': ' if where else ''}{message}")
            continue
        holds = ([entry.hold] if entry.hold is not None else []) + list(entry.holds) + list(entry.hold_times)
        labels.append(
            ClipLabel(
                clip=str(clip),
                exercise=entry.exercise,
                reps=entry.reps,
                rep_times=tuple((float(s), float(e)) for s, e in entry.rep_times),
                holds=tuple((float(s), float(e)) for s, e in holds),
            )
        )
    if problems:
        raise InputError("\n".join(problems))
    return labels


def load_labels(path: str | Path) -> list[ClipLabel]:
    """Reads and validates a labels.yaml file (see :func:`parse_labels`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read labels ({exc.strerror or exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from exc
    return parse_labels(data, str(path))


def select_clips(labels: Sequence[ClipLabel], only: Sequence[str] | None) -> list[ClipLabel]:
    """The labels named in ``only`` (file name or stem), all of them when ``only`` is empty.

    Raises:
        InputError: a name in ``only`` that is not in the labels.
    """
    if not only:
        return list(labels)
    by_name = {label.clip: label for label in labels} | {label.stem: label for label in labels}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise InputError(f"not in the labels: {', '.join(unknown)}")
    wanted = {by_name[name].clip for name in only}
    return [label for label in labels if label.clip in wanted]
