"""What a spec needs of a recording before it can count anything at all.

A recording shorter than that (a still image, a one-frame video, a clip of a fraction of a second) would give
a silent "0 reps"; the CLI refuses it with one line instead. The bound is a floor, never a guess: a clip
this long may still hold no rep, but a shorter one cannot hold one.

Pure module.
"""

from __future__ import annotations

from posecheck.specs.schema import ExerciseSpec


def shortest_countable_seconds(spec: ExerciseSpec) -> float:
    """The shortest time span (first to last frame, seconds) in which ``spec`` can count a rep or a hold.

    A rep enters each phase of its sequence after the first, and the engine takes a phase only once it has
    lasted ``phases.min_dwell``: at least ``len(sequence) - 1`` dwells, one fewer with ``reps.cut_at_end``
    (the end of the recording may stand in for the return into the last phase). A hold is reported from
    ``hold.min_seconds``. With both, the shorter of the two.
    """
    floors: list[float] = []
    if spec.reps is not None:
        entries = len(spec.reps.sequence) - 1 - (1 if spec.reps.cut_at_end is not None else 0)
        floors.append(max(entries, 0) * spec.phases.min_dwell)
    if spec.hold is not None:
        floors.append(spec.hold.min_seconds)
    return min(floors) if floors else 0.0
