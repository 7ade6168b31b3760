"""Drawing: the skeleton, the measured values, phase, count, hold timer and cue on a video frame.

`annotate(frame, pose, state, spec) -> frame` only draws; it measures nothing (the values come from the
engine's state) and decides nothing. Sizes scale with the frame, so a 360p clip and a 1080p clip look alike.
OpenCV's Hershey fonts are ASCII only, so text is transliterated to ASCII before it is drawn.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from posecheck.engine.events import EngineState
from posecheck.core.pose import LEFT_RIGHT_PAIRS, SKELETON, Landmark, Pose
from posecheck.specs.labels import measure_label, phase_label, split_side, unit_label

# Colours are BGR.
LEFT_COLOUR = (80, 170, 255)  # orange: the person's left side
RIGHT_COLOUR = (255, 200, 80)  # light blue: the person's right side
CENTRE_COLOUR = (230, 230, 230)
MEASURE_COLOUR = (60, 230, 255)  # yellow: the segments of the rep's main measure
TEXT_COLOUR = (255, 255, 255)
PANEL_COLOUR = (30, 30, 30)
CUE_COLOUR = (90, 60, 0)  # dark blue banner: calm, not alarming
WARNING_COLOUR = (0, 110, 200)  # amber banner: setup problems, tracking lost

#: Frame size (short side, pixels) at which the base sizes below are right; others scale from it.
REFERENCE_SHORT_SIDE = 480
BASE_FONT_SCALE = 0.55
BASE_LINE_THICKNESS = 2
BASE_JOINT_RADIUS = 4
#: Landmarks less visible than this are not drawn when no spec gives its own line (MediaPipe's drawing
#: utilities use the same 0.5).
DEFAULT_MIN_VISIBILITY = 0.5

FONT = cv2.FONT_HERSHEY_SIMPLEX
_LEFT_LANDMARKS = frozenset(left for left, _ in LEFT_RIGHT_PAIRS)
_RIGHT_LANDMARKS = frozenset(right for _, right in LEFT_RIGHT_PAIRS)
_ASCII_REPLACEMENTS = {"°": " deg", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "..."}


@dataclass(frozen=True)
class Style:
    """Sizes for one frame size (`posecheck.runtime.live` sizes its own elements from it too).

    Attributes:
        scale: the frame's short side / REFERENCE_SHORT_SIDE.
        font_scale, thickness, radius: text size, line thickness and joint radius (pixels).
        line_height, margin: text line spacing and the gap kept from edges and between elements (pixels).
    """

    scale: float
    font_scale: float
    thickness: int
    radius: int
    line_height: int
    margin: int

    @classmethod
    @lru_cache(maxsize=8)  # one per frame size; text metrics are not free
    def for_frame(cls, width: int, height: int) -> "Style":
        scale = min(width, height) / REFERENCE_SHORT_SIDE
        font_scale = BASE_FONT_SCALE * scale
        thickness = max(1, round(BASE_LINE_THICKNESS * scale))
        (_, text_h), baseline = cv2.getTextSize("Ag", FONT, font_scale, thickness)
        return cls(
            scale=scale,
            font_scale=font_scale,
            thickness=thickness,
            radius=max(2, round(BASE_JOINT_RADIUS * scale)),
            line_height=text_h + baseline + max(2, round(6 * scale)),
            margin=max(4, round(10 * scale)),
        )


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
    min_visibility = spec.tracking.min_visibility if spec is not None else DEFAULT_MIN_VISIBILITY
    if pose is not None:
        xy = _scaled_xy(pose, out)
        visible = pose.visibility >= min_visibility
        _draw_skeleton(out, xy, visible, style)
        if spec is not None:
            _draw_main_measure(out, pose, xy, visible, state, spec, style)
    if state is not None:
        _draw_panel(out, state, spec, style)
        _draw_banner(out, state, style)
    return out


# ------------------------------------------------------------------------------------------------ skeleton


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
            label = _format_value(value, measure.unit)
            org = (int(anchor[0]) + style.margin, int(anchor[1]))
            # A dark outline keeps the label readable on any background (it sits on the video itself).
            _text(img, label, org, style, PANEL_COLOUR, extra_thickness=2 * style.thickness)
            _text(img, label, org, style, MEASURE_COLOUR)


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


def _format_value(value: float, unit: str | None, unit_words: str | None = None) -> str:
    """``unit`` (the kind's: "deg", "torso") picks the precision; ``unit_words`` ("torso lengths") is shown."""
    if unit == "deg":
        return f"{value:.0f} {unit_words or 'deg'}"
    shown = unit_words or unit
    return f"{value:.2f}" + (f" {shown}" if shown else "")


# ------------------------------------------------------------------------------------------------ text


def _draw_panel(img: np.ndarray, state: EngineState, spec, style: Style) -> None:
    """Top-left panel: exercise, count, phase, hold timer and every measure's current value."""
    lines = panel_lines(state, spec)
    # Labels for people are longer than internal names: a line wider than the frame wraps, indented.
    max_width = max(img.shape[1] - 3 * style.margin, 1)
    wrapped = []
    for line in lines:
        first, *rest = _wrap(line, max_width, style)
        wrapped += [first] + ["  " + part for part in rest]
    _text_block(img, wrapped, (style.margin, style.margin), style)


def panel_lines(state: EngineState, spec) -> list[str]:
    """The panel's lines: exercise, count, phase, hold timer, every measure with its name for people."""
    lines = [spec.title if spec is not None else "posecheck"]
    if state.reps_by_side:
        lines.append(f"Reps {state.reps}  ({per_side_text(state.reps_by_side)})")
    else:
        target = f" / {state.target_reps}" if state.target_reps else ""
        lines.append(f"Reps {state.reps}{target}")
    if state.phase:
        lines.append(f"Phase: {phase_label(spec, state.phase)}" + (f" ({state.side})" if state.side else ""))
    if state.hold_seconds is not None:
        target = f" / {state.hold_target:.0f}" if state.hold_target else ""
        lines.append(f"Hold {state.hold_seconds:.1f}{target} s")
    for name, value in state.measures.items():
        if value is not None:
            # Words for people (the spec's labels), not internal names such as head_lift.
            lines.append(f"{measure_label(spec, name)}: {_format_value(value, _unit_of(spec, name), unit_label(spec, name))}")
    return lines


def per_side_text(reps_by_side: dict[str, int]) -> str:
    """Reps per side as "L 3  R 2" (the panel here, the live view's big counter)."""
    return "  ".join(f"{side[0].upper()} {count}" for side, count in sorted(reps_by_side.items()))


def _unit_of(spec, key: str) -> str | None:
    if spec is None:
        return None
    measure = spec.measures.get(key)
    if measure is None:
        # Per-side values are reported as <measure>.left / <measure>.right.
        base, side = split_side(key)
        measure = spec.measures.get(base) if side is not None else None
    return measure.unit if measure is not None else None


def state_message(state: EngineState) -> tuple[str, str | None] | None:
    """The one message the state asks to show, most urgent first (this banner, the live status line).

    Returns:
        ``("lost", None)`` while nobody is tracked, else ``("setup", reason)`` while the setup is not right,
        else ``("paused", reason)`` while reps are not counted although the setup is right (the rep's position
        left, a phase refused: `EngineState.paused_reason`), else ``("cue", text)`` for the latest cue; None
        when there is nothing to say. Each view words it.
    """
    if not state.tracking:
        return "lost", None
    if not state.ready and state.not_ready_reason:
        return "setup", state.not_ready_reason
    if state.paused_reason:
        return "paused", state.paused_reason
    if state.cue:
        return "cue", state.cue
    return None


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
    lines = _wrap(text, width - 4 * style.margin, style)
    top = height - style.margin - len(lines) * style.line_height - style.margin
    cv2.rectangle(img, (style.margin, top), (width - style.margin, height - style.margin), colour, -1)
    for i, line in enumerate(lines):
        y = top + style.margin // 2 + (i + 1) * style.line_height - style.line_height // 4
        _text(img, line, (2 * style.margin, y), style, TEXT_COLOUR, ascii_done=True)


def _text_block(img: np.ndarray, lines: list[str], origin: tuple[int, int], style: Style) -> None:
    lines = [_ascii(line) for line in lines]
    widths = [cv2.getTextSize(line, FONT, style.font_scale, style.thickness)[0][0] for line in lines]
    x, y = origin
    pad = style.margin // 2
    cv2.rectangle(img, (x, y), (x + max(widths) + 2 * pad, y + len(lines) * style.line_height + pad), PANEL_COLOUR, -1)
    for i, line in enumerate(lines):
        baseline_y = y + (i + 1) * style.line_height - style.line_height // 4
        _text(img, line, (x + pad, baseline_y), style, TEXT_COLOUR, ascii_done=True)


def _text(
    img, text: str, org: tuple[int, int], style: Style, colour, *, ascii_done: bool = False, extra_thickness: int = 0
) -> None:
    thickness = style.thickness + extra_thickness
    cv2.putText(img, text if ascii_done else _ascii(text), org, FONT, style.font_scale, colour, thickness, cv2.LINE_AA)


def _ascii(text: str) -> str:
    """Text that Hershey fonts can draw: common typography replaced, accents dropped, anything else removed."""
    for src, dst in _ASCII_REPLACEMENTS.items():
        text = text.replace(src, dst)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=32)  # a banner stays up for many frames: measure its words once
def _wrap(text: str, max_width: int, style: Style) -> tuple[str, ...]:
    """``text`` in ASCII, split into lines no wider than ``max_width`` pixels (a single long word stays whole)."""
    lines: list[str] = []
    current = ""
    for word in _ascii(text).split():
        candidate = f"{current} {word}".strip()
        if current and cv2.getTextSize(candidate, FONT, style.font_scale, style.thickness)[0][0] > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return tuple(lines + [current] if current else lines or [""])
