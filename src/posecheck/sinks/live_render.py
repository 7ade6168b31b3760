"""The live view's picture: the frame with the skeleton, and a panel with what only a live view needs.

`draw_live_view` draws at the size it is given (the window's, or the recording's): the frame fitted into the
video box of `posecheck.sinks.live_layout.live_layout`, with the skeleton and the phase measure of
`posecheck.sinks.render.draw_pose` on it, and beside or under it a panel with the exercise and the phase, the
big counter with the target under it, the hold ring (rep exercises with a hold: the seconds inside it), one
message (paused, tracking lost, setup guidance, "counting now", a cue) and the key hint. Each thing is shown
once, and no word covers the person. The paused screen dims the video and says so in the panel, whose key hint
stays readable. `starting_screen` is shown until the first frame is ready. What to show comes from the
engine's state and the `LiveStatus` (`posecheck.sinks.live_view` keeps it from frame to frame).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from posecheck.core.pose import X, Pose
from posecheck.engine.events import EngineState
from posecheck.runtime.controls import KEYS_HELP, LiveStatus
from posecheck.sinks.drawing import (
    COUNTER_COLOUR,
    COUNTER_WAITING_COLOUR,
    CUE_COLOUR,
    PANEL_COLOUR,
    READY_COLOUR,
    RING_TRACK_COLOUR,
    TEXT_COLOUR,
    WARNING_COLOUR,
    Style,
    ascii_text,
    put_text,
    text_size,
)
from posecheck.sinks.live_layout import (
    WIDEST_COUNTER,
    WIDEST_COUNTER_PER_SIDE,
    WIDEST_SECONDS,
    Box,
    LiveLayout,
    live_layout,
    wrap_words,
)
from posecheck.sinks.render import draw_pose
from posecheck.sinks.wording import counter_text, counts_seconds, state_message, target_text

PAUSED_DIM = 0.45  # the paused video is darkened to this fraction of its brightness
HINT_COLOUR = (200, 200, 200)  # the key hint and the frame rate: quieter than the count and the message
BACKGROUND_COLOUR = (0, 0, 0)  # around the fitted video
STARTING_VIDEO_COLOUR = (70, 70, 70)  # the video box before the first frame: plainly not a frame yet
#: The message shown in the panel when the setup has just become right.
COUNTING_NOW = "You're set - counting now"


def has_hold_ring(spec) -> bool:
    """Rep exercises with a hold show it as a ring; a hold exercise's seconds are the big counter itself."""
    return spec is not None and spec.hold is not None and not counts_seconds(spec)


def widest_counter(spec) -> str:
    """The widest count the exercise's big counter shows (the layout makes room for it)."""
    if spec is None:
        return WIDEST_COUNTER
    if counts_seconds(spec):
        return WIDEST_SECONDS
    per_side = spec.sides is not None or spec.measures[spec.phases.measure].reduce == "per_side"
    return WIDEST_COUNTER_PER_SIDE if per_side else WIDEST_COUNTER


def draw_live_view(
    frame: np.ndarray, pose: Pose | None, state: EngineState, spec, status: LiveStatus,
    size: tuple[int, int] | None = None, hint: str = KEYS_HELP,
) -> np.ndarray:
    """The live window's picture at ``size``: the frame with the skeleton, and the panel.

    Args:
        frame: (H, W, 3) uint8 BGR frame as captured (never mirrored).
        pose: the pose found in it, or None.
        state: the engine's state after this frame.
        spec: the `ExerciseSpec` being counted.
        status: frame rate, mirroring, pause and the "counting" confirmation.
        size: (width, height) of the picture: the window's inner size; default the frame's size.
        hint: the keys, shown at the bottom of the panel.

    Returns:
        A new (height, width, 3) uint8 BGR image; ``frame`` is not modified.
    """
    frame_size = (frame.shape[1], frame.shape[0])
    layout = live_layout(tuple(size) if size is not None else frame_size, frame_size, hint, has_hold_ring(spec),
                         widest_counter(spec))
    canvas = _blank_canvas(layout)
    video = _video(frame, layout.video)
    if status.mirror:
        video = cv2.flip(video, 1)
        pose = flipped_pose(pose) if pose is not None else None
    if pose is not None:
        draw_pose(video, pose, state, spec, Style.for_frame(video.shape[1], video.shape[0]))
    if status.paused:  # dimmed; the panel's message says so (words on the video would cover the person)
        video = (video * PAUSED_DIM).astype(np.uint8)
    _paste(canvas, video, layout.video)
    _draw_title(canvas, layout, spec.title if spec is not None else "posecheck", _phase_text(state, spec), status.fps)
    _draw_counter(canvas, layout, counter_text(state, spec, status.last_hold_seconds), target_text(spec),
                  COUNTER_COLOUR if state.ready and state.tracking else COUNTER_WAITING_COLOUR)
    if layout.ring is not None:
        _draw_hold_ring(canvas, layout, state, spec)
    _draw_message(canvas, layout, *_message(state, status))
    _draw_hint(canvas, layout)
    return canvas


def starting_screen(size: tuple[int, int], frame_size: tuple[int, int] | None = None, title: str = "posecheck",
                    message: str = "Starting the camera view...", hint: str = KEYS_HELP) -> np.ndarray:
    """The (height, width, 3) BGR picture shown until the first frame is ready: the live view's layout, its
    video box a plain grey saying ``message``, the panel with the exercise's name and the key hint."""
    layout = live_layout(tuple(size), tuple(frame_size or size), hint, False, WIDEST_COUNTER)
    canvas = _blank_canvas(layout)
    video = np.full((layout.video.h, layout.video.w, 3), STARTING_VIDEO_COLOUR, np.uint8)
    _paste(canvas, video, layout.video)
    _draw_title(canvas, layout, title, "", None)
    _draw_message(canvas, layout, message, WARNING_COLOUR)
    _draw_hint(canvas, layout)
    return canvas


# ------------------------------------------------------------------------------------------------ the video


def _blank_canvas(layout: LiveLayout) -> np.ndarray:
    width, height = layout.canvas
    # np.zeros and cv2.rectangle: filling a big array with a colour tuple in numpy costs 20 ms a window.
    canvas = np.zeros((height, width, 3), np.uint8)
    if BACKGROUND_COLOUR != (0, 0, 0):
        canvas[:] = BACKGROUND_COLOUR
    panel = layout.panel
    cv2.rectangle(canvas, (panel.x, panel.y), (panel.right - 1, panel.bottom - 1), PANEL_COLOUR, -1)
    return canvas


def _video(frame: np.ndarray, box: Box) -> np.ndarray:
    """The frame scaled to the video box (a new image: the frame is never written to)."""
    if (frame.shape[1], frame.shape[0]) == (box.w, box.h):
        return frame.copy()
    shrinking = box.w < frame.shape[1]
    return cv2.resize(frame, (box.w, box.h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _paste(canvas: np.ndarray, image: np.ndarray, box: Box) -> None:
    canvas[box.y : box.bottom, box.x : box.right] = image


# ------------------------------------------------------------------------------------------------ the panel


def _fitted(text: str, width: int, font_scale: float, thickness: int) -> float:
    """``font_scale``, made smaller if needed for ``text`` to fit ``width`` pixels."""
    w = text_size(text, font_scale, thickness)[0]
    return font_scale if w <= width else font_scale * width / w


def _phase_text(state: EngineState, spec) -> str:
    if not state.phase or spec is None:
        return ""
    from posecheck.specs.labels import phase_label

    return phase_label(spec, state.phase) + (f" ({state.side})" if state.side else "")


def _draw_title(canvas: np.ndarray, layout: LiveLayout, title: str, phase: str, fps: float | None) -> None:
    """The exercise's name; under it the phase and, at the right, the frame rate (small)."""
    box, line_h = layout.title, layout.line_height
    title = ascii_text(title)
    scale = _fitted(title, box.w, layout.text_scale, layout.thickness)
    put_text(canvas, title, (box.x, box.y + line_h - line_h // 4), scale, TEXT_COLOUR, layout.thickness)
    small, thin = layout.small_scale, max(1, layout.thickness - 1)
    if layout.kind == "band":  # one line: the phase after the title, the rate at the right
        y, x = box.y + line_h - line_h // 4, box.x + text_size(title, scale, layout.thickness)[0] + layout.margin
    else:
        y, x = box.y + 2 * line_h - line_h // 4, box.x
    fps_text = f"{fps:.0f} fps" if fps is not None else ""
    fps_w = text_size(fps_text, small, thin)[0] if fps_text else 0
    if phase:
        phase = ascii_text(phase)
        room = box.right - x - fps_w - layout.margin
        if room > 0:
            put_text(canvas, phase, (x, y), _fitted(phase, room, small, thin), HINT_COLOUR, thin)
    if fps_text:
        put_text(canvas, fps_text, (box.right - fps_w, y), small, HINT_COLOUR, thin)


def _draw_counter(canvas: np.ndarray, layout: LiveLayout, big: str, target: str | None, colour) -> None:
    """The big count (or seconds held) and the target under it."""
    box = layout.counter
    thick = layout.thickness * 3
    scale = _fitted(big, box.w, layout.counter_scale, thick)
    _, bh, _ = text_size(big, layout.counter_scale, thick)
    put_text(canvas, big, (box.x, box.y + bh), scale, colour, thick)
    if target:
        small, thin = layout.small_scale, max(1, layout.thickness - 1)
        put_text(canvas, target, (box.x, box.bottom - layout.line_height // 4), _fitted(target, box.w, small, thin),
                 TEXT_COLOUR, thin)


def _draw_hold_ring(canvas: np.ndarray, layout: LiveLayout, state: EngineState, spec) -> None:
    """A ring that fills as the hold's counted seconds reach the target, the seconds inside, the target beside."""
    box = layout.ring
    thickness = max(3, layout.thickness * 2)
    radius = (min(box.w, box.h) - 2 * thickness) // 2
    centre = (box.x + thickness + radius, box.y + box.h // 2)
    cv2.circle(canvas, centre, radius, RING_TRACK_COLOUR, thickness, cv2.LINE_AA)
    seconds = state.hold_seconds or 0.0
    target = state.hold_target or spec.target.seconds  # None or 0: no target, the ring stays empty
    if target:
        sweep = 360.0 * min(seconds / target, 1.0)
        if sweep > 0:
            cv2.ellipse(canvas, centre, (radius, radius), -90.0, 0.0, sweep, COUNTER_COLOUR, thickness, cv2.LINE_AA)
    label = f"{seconds:.0f}s"
    scale = _fitted(label, int(1.4 * radius), layout.text_scale, layout.thickness)
    w, h, _ = text_size(label, scale, layout.thickness)
    put_text(canvas, label, (centre[0] - w // 2, centre[1] + h // 2), scale, TEXT_COLOUR, layout.thickness)
    words = f"hold of {target:.0f} s" if target else "hold"
    x = centre[0] + radius + thickness + layout.margin
    room = box.right - x
    if room > 0:
        small, thin = layout.small_scale, max(1, layout.thickness - 1)
        put_text(canvas, words, (x, centre[1] + layout.line_height // 4), _fitted(words, room, small, thin),
                 HINT_COLOUR, thin)


def _message(state: EngineState, status: LiveStatus) -> tuple[str | None, tuple[int, int, int]]:
    """The one message to show, most urgent first, and its box colour."""
    if status.paused:
        return "Paused - press space to go on", WARNING_COLOUR
    message = state_message(state)
    kind, text = message if message is not None else (None, None)
    if kind == "lost":
        return "Looking for you - please step into view", WARNING_COLOUR
    if kind == "setup":
        return text, WARNING_COLOUR
    if status.counting_since is not None and state.ready and state.tracking:
        return COUNTING_NOW, READY_COLOUR
    if kind == "paused":
        return text, WARNING_COLOUR
    if kind == "cue":
        return text, CUE_COLOUR
    return None, CUE_COLOUR


def _draw_message(canvas: np.ndarray, layout: LiveLayout, text: str | None, colour) -> None:
    """The message on its coloured box, wrapped into the lines the layout keeps (smaller when longer)."""
    if not text:
        return
    box = layout.message
    pad = layout.margin // 2
    scale, thickness = layout.text_scale, layout.thickness
    text = ascii_text(text)
    for _ in range(6):  # a long message gets smaller letters before it gets cut
        lines = wrap_words(text, box.w - 2 * pad, scale, thickness)
        if len(lines) <= layout.message_lines:
            break
        scale *= 0.85
        thickness = max(1, round(thickness * 0.85))
    _, h, base = text_size("Ag", scale, thickness)
    line_h = h + base + max(2, round(8 * scale))
    max_lines = max(1, (box.h - 2 * pad) // line_h)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + (lines[max_lines - 1] + " ...",)
    height = min(box.h, len(lines) * line_h + 2 * pad)
    cv2.rectangle(canvas, (box.x, box.y), (box.right, box.y + height), colour, -1)
    for i, line in enumerate(lines):
        y = box.y + pad + (i + 1) * line_h - line_h // 4
        put_text(canvas, line, (box.x + pad, y), _fitted(line, box.w - 2 * pad, scale, thickness), TEXT_COLOUR,
                 thickness)


def _draw_hint(canvas: np.ndarray, layout: LiveLayout) -> None:
    box, line_h = layout.hint, layout.line_height
    small, thin = layout.small_scale, max(1, layout.thickness - 1)
    for i, line in enumerate(layout.hint_lines):
        put_text(canvas, line, (box.x, box.y + (i + 1) * line_h - line_h // 4), _fitted(line, box.w, small, thin),
                 HINT_COLOUR, thin)


def flipped_pose(pose: Pose) -> Pose:
    """The pose drawn on a mirrored frame: x flipped, landmark identities kept.

    Unlike `Pose.mirrored` the left/right labels are not swapped: the person's left arm is still their
    left arm (and keeps its colour), it just appears on the other side of a selfie view.
    """
    landmarks = pose.landmarks.copy()
    landmarks[:, X] = 1.0 - landmarks[:, X]
    return replace(pose, landmarks=landmarks)
