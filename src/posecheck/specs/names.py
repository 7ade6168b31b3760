"""Landmark names as exercise specs write them, and how they resolve to `Landmark` indices.

A spec names points three ways:

* side-relative short names (``shoulder``, ``hip``, ``knee``, ``wrist``...): the landmark on the side the
  measure is taken on (``left``, ``right``, the side nearer the camera for ``auto``, each side for ``both``);
* ``other_<short>`` (``other_knee``): the same landmark on the opposite side, for cross-body measures such
  as bird-dog's arm with the opposite leg;
* ``mid_<short>`` (``mid_hip``): the midpoint of the left and right landmark, independent of the side;
* absolute names, the `Landmark` member in lower case (``nose``, ``left_hip``, ``right_heel``).

Pure module.
"""

from __future__ import annotations

from typing import Literal

from posecheck.core.pose import LEFT_RIGHT_PAIRS, Landmark

Side = Literal["left", "right"]

#: short name -> (left landmark, right landmark), derived from the one table of pairs in pose.py.
SIDE_PAIRS: dict[str, tuple[Landmark, Landmark]] = {
    left.name.removeprefix("LEFT_").lower(): (left, right) for left, right in LEFT_RIGHT_PAIRS
}

#: lower-case absolute names -> landmark (``nose``, ``left_hip``...).
ABSOLUTE: dict[str, Landmark] = {lm.name.lower(): lm for lm in Landmark}

OTHER_PREFIX = "other_"
MID_PREFIX = "mid_"


def all_point_names() -> list[str]:
    """Every name a spec may use for a point, sorted (for error messages and the JSON schema)."""
    names = set(SIDE_PAIRS) | set(ABSOLUTE)
    names |= {OTHER_PREFIX + short for short in SIDE_PAIRS}
    names |= {MID_PREFIX + short for short in SIDE_PAIRS}
    return sorted(names)


def check_point_name(name: str) -> str | None:
    """None if ``name`` is a valid point name, else the problem as text."""
    if name in SIDE_PAIRS or name in ABSOLUTE:
        return None
    for prefix in (OTHER_PREFIX, MID_PREFIX):
        if name.startswith(prefix) and name[len(prefix):] in SIDE_PAIRS:
            return None
    short = ", ".join(sorted(SIDE_PAIRS))
    return (
        f"unknown landmark name '{name}' (use a side-relative name: {short}; "
        f"or other_<name>, mid_<name>, or an absolute name such as nose, left_hip)"
    )


def is_side_relative(name: str) -> bool:
    """True for names whose landmark depends on the measure's side (``knee``, ``other_knee``)."""
    return name in SIDE_PAIRS or (name.startswith(OTHER_PREFIX) and name[len(OTHER_PREFIX):] in SIDE_PAIRS)


def resolve_point(name: str, side: Side) -> tuple[Landmark, Landmark]:
    """The two landmarks whose midpoint is the point ``name`` on ``side`` (the same one twice if not a midpoint).

    Raises:
        KeyError: for names that `check_point_name` rejects.
    """
    if name in SIDE_PAIRS:
        lm = SIDE_PAIRS[name][0 if side == "left" else 1]
        return lm, lm
    if name.startswith(OTHER_PREFIX) and name[len(OTHER_PREFIX):] in SIDE_PAIRS:
        lm = SIDE_PAIRS[name[len(OTHER_PREFIX):]][1 if side == "left" else 0]
        return lm, lm
    if name.startswith(MID_PREFIX) and name[len(MID_PREFIX):] in SIDE_PAIRS:
        return SIDE_PAIRS[name[len(MID_PREFIX):]]
    lm = ABSOLUTE[name]
    return lm, lm
