"""The live view's picture: analyze's overlay plus what only a live view needs.

`draw_live_view` draws `posecheck.sinks.render.annotate` (skeleton, measured values, panel, setup/cue banner),
then a big counter with the target under it, a hold ring, the frame rate, a "counting" confirmation when the
setup becomes right, and the paused screen; `starting_screen` is shown until the first frame is ready. Both
only draw, with the palette, sizes and text helpers of `posecheck.sinks.drawing`; what to show comes from the
engine's state and the `LiveStatus` (`posecheck.sinks.live_view` keeps it from frame to frame).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from posecheck.core.pose import X, Pose
from posecheck.engine.events import EngineState
from posecheck.runtime.controls import LiveStatus
from posecheck.sinks.drawing import (
    COUNTER_COLOUR,
    COUNTER_WAITING_COLOUR,
    PANEL_COLOUR,
    READY_COLOUR,
    RING_TRACK_COLOUR,
    TEXT_COLOUR,
    Style,
    put_text,
    text_size,
)
from posecheck.sinks.render import annotate
from posecheck.sinks.wording import counter_text, target_text

#: The "counting" confirmation sits at this fraction of the frame height (below the body's middle, above the
#: cue banner).
READY_BANNER_HEIGHT = 0.72
#: The big counter is never wider than this fraction of the frame, so it leaves room for the left panel.
COUNTER_MAX_WIDTH = 0.4
PAUSED_DIM = 0.45  # the paused frame is darkened to this fraction of its brightness
# Sizes at the reference frame (`posecheck.sinks.drawing.REFERENCE_SHORT_SIDE`); they scale with the frame.
BASE_COUNTER_FONT_SCALE = 2.4
BASE_COUNTER_THICKNESS = 5
BASE_RING_RADIUS = 38
BASE_RING_THICKNESS = 8


def draw_live_view(
    frame: np.ndarray, pose: Pose | None, state: EngineState, spec, status: LiveStatus
) -> np.ndarray:
    """The live window's picture: `posecheck.sinks.render.annotate` plus the live elements.

    Args:
        frame: (H, W, 3) uint8 BGR frame as captured (never mirrored).
        pose: the pose found in it, or None.
        state: the engine's state after this frame.
        spec: the `ExerciseSpec` being counted.
        status: frame rate, mirroring, pause and the "counting" confirmation.

    Returns:
        A new (H, W, 3) uint8 BGR image; ``frame`` is not modified.
    """
    if status.mirror:
        image = cv2.flip(frame, 1)
        pose = flipped_pose(pose) if pose is not None else None
    else:
        image = frame.copy()
    annotate(image, pose, state, spec, copy=False)
    style = Style.for_frame(image.shape[1], image.shape[0])
    counter_bottom = _draw_counter(image, counter_text(state, spec, status.last_hold_seconds), state, spec, style)
    ring_bottom = _draw_hold_ring(image, state, spec, style, top=counter_bottom)
    _draw_fps(image, status.fps, style, top=ring_bottom)
    if status.counting_since is not None and state.ready and state.tracking:
        _draw_ready_banner(image, style)
    if status.paused:
        _draw_paused(image, style)
    return image


def _draw_counter(image: np.ndarray, big: str, state: EngineState, spec, style: Style) -> int:
    """Top-right box: the big number and the target under it. Returns the box's bottom y."""
    small = target_text(spec) or ""
    big_thick = max(2, round(BASE_COUNTER_THICKNESS * style.scale))
    # As big as a glance needs, but never wider than COUNTER_MAX_WIDTH of the frame ("L 12  R 11").
    unit_width = text_size(big, 1.0, big_thick)[0]
    big_scale = min(BASE_COUNTER_FONT_SCALE * style.scale, COUNTER_MAX_WIDTH * image.shape[1] / max(unit_width, 1))
    small_scale, small_thick = 0.55 * style.scale, style.thickness
    bw, bh, bbase = text_size(big, big_scale, big_thick)
    sw, sh, sbase = text_size(small, small_scale, small_thick) if small else (0, 0, 0)
    pad = style.margin
    box_w = max(bw, sw) + 2 * pad
    box_h = bh + bbase + (sh + sbase + pad // 2 if small else 0) + 2 * pad
    right = image.shape[1] - style.margin
    left, top = right - box_w, style.margin
    cv2.rectangle(image, (left, top), (right, top + box_h), PANEL_COLOUR, -1)
    colour = COUNTER_COLOUR if state.ready and state.tracking else COUNTER_WAITING_COLOUR
    put_text(image, big, (right - pad - bw, top + pad + bh), big_scale, colour, big_thick)
    if small:
        put_text(image, small, (right - pad - sw, top + pad + bh + bbase + pad // 2 + sh), small_scale,
                 TEXT_COLOUR, small_thick)
    return top + box_h


def _draw_hold_ring(image: np.ndarray, state: EngineState, spec, style: Style, *, top: int) -> int:
    """A ring that fills as the hold's counted seconds reach the target. Returns the bottom y used."""
    if spec.hold is None and state.hold_seconds is None:
        return top
    radius = round(BASE_RING_RADIUS * style.scale)
    thickness = max(3, round(BASE_RING_THICKNESS * style.scale))
    centre = (image.shape[1] - style.margin - radius - thickness, top + style.margin + radius + thickness)
    cv2.circle(image, centre, radius + thickness, PANEL_COLOUR, -1, cv2.LINE_AA)
    cv2.circle(image, centre, radius, RING_TRACK_COLOUR, thickness, cv2.LINE_AA)
    seconds = state.hold_seconds or 0.0
    target = state.hold_target or spec.target.seconds  # None or 0: no target, the ring stays empty
    if target:
        sweep = 360.0 * min(seconds / target, 1.0)
        if sweep > 0:
            cv2.ellipse(image, centre, (radius, radius), -90.0, 0.0, sweep, COUNTER_COLOUR, thickness, cv2.LINE_AA)
    label = f"{seconds:.0f}s"
    font_scale = 0.8 * style.scale
    w, h, _ = text_size(label, font_scale, style.thickness)
    put_text(image, label, (centre[0] - w // 2, centre[1] + h // 2), font_scale, TEXT_COLOUR, style.thickness)
    return centre[1] + radius + thickness


def _draw_fps(image: np.ndarray, fps: float | None, style: Style, *, top: int) -> None:
    """The frame rate, small, on its own dark strip under the counter (readable on any background)."""
    if fps is None:
        return
    label = f"{fps:.0f} fps"
    font_scale = 0.45 * style.scale
    w, h, base = text_size(label, font_scale, 1)
    right = image.shape[1] - style.margin
    top += style.margin // 2
    pad = max(2, style.margin // 2)
    cv2.rectangle(image, (right - w - 2 * pad, top), (right, top + h + base + 2 * pad), PANEL_COLOUR, -1)
    put_text(image, label, (right - w - pad, top + pad + h), font_scale, TEXT_COLOUR, 1)


def _draw_ready_banner(image: np.ndarray, style: Style) -> None:
    """"Counting" confirmation: a short-lived strip in the lower part, clear of the panels and the banner."""
    text = "You're set - counting now"
    font_scale = 0.7 * style.scale
    w, h, base = text_size(text, font_scale, style.thickness)
    x = max(style.margin, (image.shape[1] - w) // 2)
    y = round(image.shape[0] * READY_BANNER_HEIGHT)
    cv2.rectangle(image, (x - style.margin, y - h - style.margin), (x + w + style.margin, y + base + style.margin),
                  READY_COLOUR, -1)
    put_text(image, text, (x, y), font_scale, TEXT_COLOUR, style.thickness)


def _draw_paused(image: np.ndarray, style: Style) -> None:
    image[:] = (image * PAUSED_DIM).astype(np.uint8)
    lines = [("Paused", 1.6), ("space: resume   q: quit", 0.6)]
    y = image.shape[0] // 2
    for text, size in lines:
        font_scale = size * style.scale
        thickness = max(1, round(size * 2 * style.scale))
        w, h, base = text_size(text, font_scale, thickness)
        put_text(image, text, ((image.shape[1] - w) // 2, y), font_scale, TEXT_COLOUR, thickness)
        y += h + base + 2 * style.margin


def starting_screen(frame_size: tuple[int, int]) -> np.ndarray:
    """A dark (H, W, 3) BGR picture saying the view is starting, shown until the first frame is ready."""
    width, height = frame_size
    image = np.full((height, width, 3), PANEL_COLOUR, np.uint8)
    style = Style.for_frame(width, height)
    text = "Starting the camera view..."
    font_scale = 0.7 * style.scale
    w, h, _ = text_size(text, font_scale, style.thickness)
    put_text(image, text, (max(style.margin, (width - w) // 2), (height + h) // 2), font_scale, TEXT_COLOUR,
             style.thickness)
    return image


def flipped_pose(pose: Pose) -> Pose:
    """The pose drawn on a mirrored frame: x flipped, landmark identities kept.

    Unlike `Pose.mirrored` the left/right labels are not swapped: the person's left arm is still their
    left arm (and keeps its colour), it just appears on the other side of a selfie view.
    """
    landmarks = pose.landmarks.copy()
    landmarks[:, X] = 1.0 - landmarks[:, X]
    return replace(pose, landmarks=landmarks)
