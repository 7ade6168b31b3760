"""Analyze's overlay: the skeleton, the measured values, the panel (count, phase, hold timer) and the cue banner.

`annotate(frame, pose, state, spec) -> frame` only draws; it measures nothing (the values come from the
engine's state) and decides nothing. The live view (`posecheck.sinks.live_render`) draws the same skeleton and
phase measure with `draw_pose`, on the frame scaled to its window, and puts its words in a panel of its own.
Colours, sizes and text helpers come from `posecheck.sinks.drawing`, the words from `posecheck.sinks.wording`.
"""

from __future__ import annotations

import cv2
import numpy as np

from posecheck.core.pose import LEFT_RIGHT_PAIRS, SKELETON, Landmark, Pose
from posecheck.engine.events import EngineState
from posecheck.sinks.drawing import (
    CENTRE_COLOUR,
    CUE_COLOUR,
    LEFT_COLOUR,
    MEASURE_COLOUR,
    PANEL_COLOUR,
    RIGHT_COLOUR,
    TEXT_COLOUR,
    WARNING_COLOUR,
    Style,
    styled_text,
    text_block,
    wrap,
)
from posecheck.sinks.wording import format_value, panel_lines, state_message

#: Landmarks less visible than this are not drawn when no spec gives its own line (MediaPipe's drawing
#: utilities use the same 0.5).
DEFAULT_MIN_VISIBILITY = 0.5

_LEFT_LANDMARKS = frozenset(left for left, _ in LEFT_RIGHT_PAIRS)
_RIGHT_LANDMARKS = frozenset(right for _, right in LEFT_RIGHT_PAIRS)


def annotate(frame: np.ndarray, pose: Pose | None, state: EngineState | None, spec=None, *, copy: bool = True) -> np.ndarray:
    """Draws the pose and the engine's state on a frame.

    Args:
        frame: (H, W, 3) uint8 BGR image.
        pose: the landmarks found in this frame, or None.
        state: the engine's state after this frame, or None (skeleton only).
        spec: the `ExerciseSpec` (title, units, the phase measure's points, visibility line), or None.
        copy: draw on a copy (default) or on ``frame`` itself (saves a copy when the caller owns it).

    Returns:
        The annotated (H, W, 3) uint8 BGR image.
    """
    out = frame.copy() if copy else frame
    height, width = out.shape[:2]
    style = Style.for_frame(width, height)
    if pose is not None:
        draw_pose(out, pose, state, spec, style)
    if state is not None:
        _draw_panel(out, state, spec, style)
        _draw_banner(out, state, style)
    return out


# ------------------------------------------------------------------------------------------------ skeleton


def draw_pose(img: np.ndarray, pose: Pose, state: EngineState | None, spec, style: Style) -> None:
    """The skeleton and the phase measure's segments with its value, drawn on ``img`` in place.

    ``img`` (H, W, 3) is the pose's frame at any size (the live view draws on the frame scaled to its window).
    """
    min_visibility = spec.tracking.min_visibility if spec is not None else DEFAULT_MIN_VISIBILITY
    xy = _scaled_xy(pose, img)
    visible = pose.visibility >= min_visibility
    _draw_skeleton(img, xy, visible, style)
    if spec is not None:
        _draw_main_measure(img, pose, xy, visible, state, spec, style)


def _side_colour(*landmarks: Landmark) -> tuple[int, int, int]:
    """The person's left side, their right side, or the centre (a bone across both sides)."""
    if all(lm in _LEFT_LANDMARKS for lm in landmarks):
        return LEFT_COLOUR
    if all(lm in _RIGHT_LANDMARKS for lm in landmarks):
        return RIGHT_COLOUR
    return CENTRE_COLOUR


# Fixed by the landmark tables: worked out once, not per frame.
_BONES = tuple((a, b, _side_colour(a, b)) for a, b in SKELETON)
_JOINT_COLOURS = tuple(_side_colour(lm) for lm in Landmark)


def _draw_skeleton(img: np.ndarray, xy: np.ndarray, visible: np.ndarray, style: Style) -> None:
    """Bones and joints of the visible landmarks; ``xy`` (33, 2) pixels in ``img``, ``visible`` (33,) bool."""
    xy = np.round(xy).astype(int)
    for a, b, colour in _BONES:
        if visible[a] and visible[b]:
            cv2.line(img, tuple(xy[a]), tuple(xy[b]), colour, style.thickness, cv2.LINE_AA)
    for lm, colour in zip(Landmark, _JOINT_COLOURS):
        if visible[lm]:
            cv2.circle(img, tuple(xy[lm]), style.radius, colour, -1, cv2.LINE_AA)


def _scaled_xy(pose: Pose, img: np.ndarray) -> np.ndarray:
    """(33, 2) pixel coordinates in ``img`` (which may be a resized copy of the pose's frame)."""
    height, width = img.shape[:2]
    return pose.landmarks[:, :2].astype(np.float64) * (width, height)


def _draw_main_measure(
    img: np.ndarray, pose: Pose, xy: np.ndarray, visible: np.ndarray, state: EngineState | None, spec, style: Style
) -> None:
    """Highlights the segments of the phase measure (e.g. shoulder-hip-knee) and writes its value there.

    ``xy`` (33, 2) are the landmarks in pixels of ``img``, ``visible`` (33,) which of them to trust.
    """
    from posecheck.specs.names import resolve_point

    name = spec.phases.measure
    measure = spec.measures[name]
    sides = ("left", "right") if measure.side == "both" else (_drawn_side(measure.side, state, pose),)
    for side in sides:
        pairs = [resolve_point(point, side) for point in measure.points]
        if not all(visible[a] and visible[b] for a, b in pairs):
            continue
        points = [np.round((xy[a] + xy[b]) / 2).astype(int) for a, b in pairs]
        for p, q in zip(points, points[1:]):
            cv2.line(img, tuple(p), tuple(q), MEASURE_COLOUR, style.thickness + 1, cv2.LINE_AA)
        value = _measure_value(state, name, side if measure.reduce == "per_side" else None)
        if value is not None:
            # Angles are written at their vertex (the middle point), two-point measures at the midpoint.
            anchor = points[1] if len(points) == 3 else (points[0] + points[1]) // 2
            label = format_value(value, measure.unit)
            org = (int(anchor[0]) + style.margin, int(anchor[1]))
            # A dark outline keeps the label readable on any background (it sits on the video itself).
            styled_text(img, label, org, style, PANEL_COLOUR, extra_thickness=2 * style.thickness)
            styled_text(img, label, org, style, MEASURE_COLOUR)


def _drawn_side(measure_side: str, state: EngineState | None, pose: Pose) -> str:
    """The side to highlight: the spec's fixed side, the rep's working side, or the more visible side."""
    if measure_side in ("left", "right"):
        return measure_side
    if state is not None and state.side is not None:
        return state.side
    left = sum(float(pose.visibility[a]) for a, _ in LEFT_RIGHT_PAIRS)
    right = sum(float(pose.visibility[b]) for _, b in LEFT_RIGHT_PAIRS)
    return "left" if left >= right else "right"


def _measure_value(state: EngineState | None, name: str, side: str | None) -> float | None:
    if state is None:
        return None
    keys = (f"{name}_{side}", name) if side else (name,)
    for key in keys:
        value = state.measures.get(key)
        if value is not None:
            return value
    return None


# ------------------------------------------------------------------------------------------------ text


def _draw_panel(img: np.ndarray, state: EngineState, spec, style: Style) -> None:
    """Top-left panel: exercise, count, phase, hold timer and every measure's current value."""
    lines = panel_lines(state, spec)
    # Labels for people are longer than internal names: a line wider than the frame wraps, indented.
    max_width = max(img.shape[1] - 3 * style.margin, 1)
    wrapped = []
    for line in lines:
        first, *rest = wrap(line, max_width, style)
        wrapped += [first] + ["  " + part for part in rest]
    text_block(img, wrapped, (style.margin, style.margin), style)


def _draw_banner(img: np.ndarray, state: EngineState, style: Style) -> None:
    """Bottom banner: tracking lost, then setup guidance, then the latest cue (one at a time)."""
    message = state_message(state)
    if message is None:
        return
    kind, text = message
    if kind == "lost":
        text, colour = "Looking for you - please step into view", WARNING_COLOUR
    else:
        colour = WARNING_COLOUR if kind in ("setup", "paused") else CUE_COLOUR
    height, width = img.shape[:2]
    lines = wrap(text, width - 4 * style.margin, style)
    top = height - style.margin - len(lines) * style.line_height - style.margin
    cv2.rectangle(img, (style.margin, top), (width - style.margin, height - style.margin), colour, -1)
    for i, line in enumerate(lines):
        y = top + style.margin // 2 + (i + 1) * style.line_height - style.line_height // 4
        styled_text(img, line, (2 * style.margin, y), style, TEXT_COLOUR, ascii_done=True)
