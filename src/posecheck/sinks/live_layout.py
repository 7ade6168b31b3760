"""Where the live view puts things: the video and a panel beside or under it, sized to the window.

The live view is drawn at the size of the window it is shown in (or of the recording), not at the frame's
size, so that the counter, the message (cue, setup guidance) and the key hint are inside the picture on any
screen, with any frame shape, and after the user resizes the window. The frame is fitted (aspect kept) into
what the panel leaves; the panel's words never cover the person.

:func:`live_layout` picks, for a canvas and a frame, the panel's place that leaves the bigger video: a side
panel on the right (a portrait clip on a landscape screen) or a band at the bottom (a landscape clip filling a
landscape window, or a tall window), then the largest text size at which every block fits. It only measures
text; `posecheck.sinks.live_render` draws into the boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from posecheck.sinks.drawing import text_size

#: The panel takes at least this fraction of the canvas: a side panel of its width, a band of its height.
SIDE_PANEL_MIN_FRACTION = 0.3
BAND_MIN_FRACTION = 0.24
#: The panel never takes more than this fraction (a very wide or tall window leaves the rest to the video).
PANEL_MAX_FRACTION = 0.5
#: Lines kept for the message (cue, setup guidance): longer messages are wrapped into these and made smaller.
MESSAGE_LINES_SIDE = 4
MESSAGE_LINES_BAND = 2
#: The panel's text scale at most (OpenCV font scale of the message lines); sizes shrink from it until
#: everything fits. About 30 px high letters: readable from a mat 2-3 m from the screen.
MAX_TEXT_SCALE = 1.1
#: ... and at least: below this, a canvas is too small to show everything (a thumbnail-sized window).
MIN_TEXT_SCALE = 0.3
#: The big counter's font is this many times the message's.
COUNTER_TO_TEXT = 3.0
#: The hold ring's radius, in message line heights.
RING_RADIUS_LINES = 1.6
#: The widest count of an exercise counted per side ("L 12  R 11"), of one counted once, of a hold's seconds:
#: the counter's box fits it at full size (a wider one is drawn smaller).
WIDEST_COUNTER_PER_SIDE = "L 88  R 88"
WIDEST_COUNTER = "888"
WIDEST_SECONDS = "888s"
#: Two layouts whose videos differ by less than this fraction count as equal: the bigger text wins.
SAME_VIDEO_FRACTION = 0.12


@dataclass(frozen=True)
class Box:
    """A rectangle in canvas pixels: x, y of its top-left corner, width and height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def contains(self, other: "Box") -> bool:
        return self.x <= other.x and self.y <= other.y and other.right <= self.right and other.bottom <= self.bottom

    def overlaps(self, other: "Box") -> bool:
        return self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom


@dataclass(frozen=True)
class LiveLayout:
    """The boxes of one live view picture (canvas pixels) and the text sizes that fit them.

    Attributes:
        canvas: (width, height) of the whole picture.
        kind: "side" (panel right of the video) or "band" (panel under the video).
        video: where the frame is drawn, its aspect kept.
        panel: the dark panel that holds every word.
        title: the exercise's name and the phase.
        counter: the big count (or held seconds) and the target under it.
        ring: the hold ring, None when the exercise has no hold.
        message: the cue, setup guidance, "counting now", paused; `message_lines` lines of text.
        hint: the keys, wrapped into `hint_lines`.
        text_scale, thickness, line_height: the panel's text (OpenCV font scale, pixels).
        margin: the gap between blocks and from the edges (pixels).
    """

    canvas: tuple[int, int]
    kind: str
    video: Box
    panel: Box
    title: Box
    counter: Box
    ring: Box | None
    message: Box
    hint: Box
    hint_lines: tuple[str, ...]
    message_lines: int
    text_scale: float
    thickness: int
    line_height: int
    margin: int

    @property
    def counter_scale(self) -> float:
        return self.text_scale * COUNTER_TO_TEXT

    @property
    def small_scale(self) -> float:
        return self.text_scale * 0.75


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """``size`` (width, height) scaled, aspect kept, to the largest that fits in ``box`` (at least 1x1)."""
    scale = min(box[0] / max(size[0], 1), box[1] / max(size[1], 1))
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def wrap_words(text: str, max_width: int, font_scale: float, thickness: int, separator: str = " ") -> tuple[str, ...]:
    """``text`` (ASCII) split at ``separator`` into lines no wider than ``max_width`` pixels; a single long part
    stays whole."""
    joiner = separator if separator == " " else separator + " "
    lines: list[str] = []
    current = ""
    for part in text.split(separator):
        part = part.strip()
        if not part:
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if current and text_size(candidate.strip(), font_scale, thickness)[0] > max_width:
            lines.append(current.strip())
            current = part
        else:
            current = candidate
    return tuple(lines + [current.strip()] if current else lines or [""])


def _text_metrics(scale: float) -> tuple[int, int, int]:
    """Thickness, line height and margin of the panel's text at ``scale``."""
    thickness = max(1, round(2 * scale))
    _, h, base = text_size("Ag", scale, thickness)
    return thickness, h + base + max(2, round(8 * scale)), max(4, round(12 * scale))


@lru_cache(maxsize=16)  # one per window size and frame size: the window is drawn at one size for many frames
def live_layout(canvas: tuple[int, int], frame: tuple[int, int], hint: str, has_ring: bool,
                widest_counter: str = WIDEST_COUNTER_PER_SIDE) -> LiveLayout:
    """The layout of the live view on a ``canvas`` (width, height) for a ``frame`` (width, height).

    Args:
        canvas: the picture's size: the window's inner size, or the recording's.
        frame: the camera or video frame's size.
        hint: the key hint ("q quit, space pause, ..."), wrapped at its commas.
        has_ring: reserve room for the hold ring.
        widest_counter: the widest count the exercise shows (`WIDEST_COUNTER_PER_SIDE`, ...).
    """
    width, height = max(canvas[0], 1), max(canvas[1], 1)
    side = _side(width, height, frame, hint, has_ring, widest_counter)
    band = _band(width, height, frame, hint, has_ring, widest_counter)
    side_area, band_area = side.video.w * side.video.h, band.video.w * band.video.h
    if abs(side_area - band_area) <= SAME_VIDEO_FRACTION * max(side_area, band_area):
        return side if side.text_scale >= band.text_scale else band  # the same video: the bigger words
    return side if side_area > band_area else band


def _panel_extent(canvas_side: int, video_need: int, min_fraction: float) -> int:
    """The panel's width (or height): what the fitted video leaves, at least min_fraction, at most the max."""
    spare = canvas_side - video_need
    return int(min(max(spare, canvas_side * min_fraction), canvas_side * PANEL_MAX_FRACTION))


def _side(width: int, height: int, frame: tuple[int, int], hint: str, has_ring: bool, widest: str) -> LiveLayout:
    video_w_at_full_height = fit_size(frame, (width, height))[0]
    panel_w = _panel_extent(width, video_w_at_full_height, SIDE_PANEL_MIN_FRACTION)
    video_area = (width - panel_w, height)
    vw, vh = fit_size(frame, video_area)
    video = Box((video_area[0] - vw) // 2, (height - vh) // 2, vw, vh)
    panel = Box(width - panel_w, 0, panel_w, height)
    scale = MAX_TEXT_SCALE
    while True:
        thickness, line_h, margin = _text_metrics(scale)
        inner_w = panel.w - 2 * margin
        small = scale * 0.75
        hint_lines = wrap_words(hint, inner_w, small, max(1, thickness - 1), separator=",")
        big_w, big_h, big_base = text_size(widest, scale * COUNTER_TO_TEXT, thickness * 3)
        ring_d = 2 * round(RING_RADIUS_LINES * line_h) + 2 * thickness * 2 if has_ring else 0
        heights = [
            2 * line_h,  # title, phase
            big_h + big_base + line_h,  # the count, the target under it
            ring_d,
            MESSAGE_LINES_SIDE * line_h,
            len(hint_lines) * line_h,
        ]
        blocks = [h for h in heights if h]
        needed = sum(blocks) + (len(blocks) + 1) * margin + margin  # gaps, and a margin around the hint
        widest_hint = max(text_size(line, small, max(1, thickness - 1))[0] for line in hint_lines)
        fits = needed <= height and big_w <= inner_w and widest_hint <= inner_w
        if fits or scale <= MIN_TEXT_SCALE:
            break
        scale = max(MIN_TEXT_SCALE, scale * 0.92)
    x, w = panel.x + margin, inner_w
    y = margin
    title = Box(x, y, w, heights[0])
    y = title.bottom + margin
    counter = Box(x, y, w, heights[1])
    y = counter.bottom + margin
    ring = None
    if has_ring:
        ring = Box(x, y, w, heights[2])
        y = ring.bottom + margin
    hint_box = Box(x, height - margin - heights[4], w, heights[4])
    # The message takes what is left between the count (or ring) and the hint.
    message = Box(x, y, w, max(line_h, hint_box.y - margin - y))
    return LiveLayout((width, height), "side", video, panel, title, counter, ring, message, hint_box, hint_lines,
                      max(1, min(MESSAGE_LINES_SIDE, message.h // line_h)), scale, thickness, line_h, margin)


def _band(width: int, height: int, frame: tuple[int, int], hint: str, has_ring: bool, widest: str) -> LiveLayout:
    video_h_at_full_width = fit_size(frame, (width, height))[1]
    band_h = _panel_extent(height, video_h_at_full_width, BAND_MIN_FRACTION)
    video_area = (width, height - band_h)
    vw, vh = fit_size(frame, video_area)
    video = Box((width - vw) // 2, (video_area[1] - vh) // 2, vw, vh)
    panel = Box(0, height - band_h, width, band_h)
    scale = MAX_TEXT_SCALE
    while True:
        thickness, line_h, margin = _text_metrics(scale)
        small = scale * 0.75
        hint_lines = wrap_words(hint, width - 2 * margin, small, max(1, thickness - 1), separator=",")
        big_w, big_h, big_base = text_size(widest, scale * COUNTER_TO_TEXT, thickness * 3)
        ring_d = 2 * round(RING_RADIUS_LINES * line_h) + 2 * thickness * 2 if has_ring else 0
        counter_h = big_h + big_base + line_h
        text_h = line_h + MESSAGE_LINES_BAND * line_h  # title and phase on one line, then the message
        row_h = max(counter_h, ring_d, text_h)
        needed_h = row_h + len(hint_lines) * line_h + 3 * margin
        text_w = width - big_w - (ring_d + margin if has_ring else 0) - 4 * margin
        widest_hint = max(text_size(line, small, max(1, thickness - 1))[0] for line in hint_lines)
        fits = needed_h <= band_h and text_w >= width * 0.3 and widest_hint <= width - 2 * margin
        if fits or scale <= MIN_TEXT_SCALE:
            break
        scale = max(MIN_TEXT_SCALE, scale * 0.92)
    top = panel.y + margin
    counter = Box(margin, top, big_w, counter_h)
    x = counter.right + margin
    ring = None
    if has_ring:
        ring = Box(x, top, ring_d, ring_d)
        x = ring.right + margin
    title = Box(x, top, width - margin - x, line_h)
    hint_h = len(hint_lines) * line_h
    hint_box = Box(margin, height - margin - hint_h, width - 2 * margin, hint_h)
    message = Box(x, title.bottom, width - margin - x, max(line_h, hint_box.y - title.bottom))
    return LiveLayout((width, height), "band", video, panel, title, counter, ring, message, hint_box, hint_lines,
                      max(1, min(MESSAGE_LINES_BAND, message.h // line_h)), scale, thickness, line_h, margin)
