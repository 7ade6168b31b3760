"""The drawing kit every overlay shares: the palette, sizes that scale with the frame, and text.

Analyze's annotated video (`posecheck.sinks.render`) and the live view (`posecheck.sinks.live_render`) draw
with these, so both look alike and a colour or a size is changed in one place. Sizes are given at a reference
frame (480 px short side) and `Style` scales them, so a 360p clip and a 1080p clip look alike. OpenCV's Hershey
fonts are ASCII only, so text is transliterated to ASCII before it is drawn (`ascii_text`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# Colours are BGR.
LEFT_COLOUR = (80, 170, 255)  # orange: the person's left side
RIGHT_COLOUR = (255, 200, 80)  # light blue: the person's right side
CENTRE_COLOUR = (230, 230, 230)
MEASURE_COLOUR = (60, 230, 255)  # yellow: the segments of the rep's main measure
TEXT_COLOUR = (255, 255, 255)
PANEL_COLOUR = (30, 30, 30)  # the dark boxes behind text, readable on any background
CUE_COLOUR = (90, 60, 0)  # dark blue banner: calm, not alarming
WARNING_COLOUR = (0, 110, 200)  # amber banner: setup problems, tracking lost
COUNTER_COLOUR = (120, 230, 60)  # green: the live count, the hold ring's progress, "counting"
COUNTER_WAITING_COLOUR = (170, 170, 170)  # grey: the live count while the setup is not right yet
RING_TRACK_COLOUR = (90, 90, 90)  # the hold ring's empty part
READY_COLOUR = (60, 150, 40)  # dark green: the "counting" banner

#: Frame size (short side, pixels) at which the base sizes below are right; others scale from it.
REFERENCE_SHORT_SIDE = 480
BASE_FONT_SCALE = 0.55
BASE_LINE_THICKNESS = 2
BASE_JOINT_RADIUS = 4

FONT = cv2.FONT_HERSHEY_SIMPLEX
_ASCII_REPLACEMENTS = {"°": " deg", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "…": "..."}


@dataclass(frozen=True)
class Style:
    """Sizes for one frame size; every overlay element sizes itself from these.

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
        _, text_h, baseline = text_size("Ag", font_scale, thickness)
        return cls(
            scale=scale,
            font_scale=font_scale,
            thickness=thickness,
            radius=max(2, round(BASE_JOINT_RADIUS * scale)),
            line_height=text_h + baseline + max(2, round(6 * scale)),
            margin=max(4, round(10 * scale)),
        )


@lru_cache(maxsize=256)  # the count, the target, "Paused", a banner's words: the same texts frame after frame
def text_size(text: str, font_scale: float, thickness: int) -> tuple[int, int, int]:
    """(width, height above the baseline, baseline) in pixels of ASCII ``text`` in `FONT`."""
    (w, h), baseline = cv2.getTextSize(text, FONT, font_scale, thickness)
    return w, h, baseline


def put_text(img: np.ndarray, text: str, org: tuple[int, int], font_scale: float, colour, thickness: int) -> None:
    """Draws ASCII ``text`` in `FONT` with its baseline starting at ``org`` (x, y pixels)."""
    cv2.putText(img, text, org, FONT, font_scale, colour, thickness, cv2.LINE_AA)


def styled_text(
    img, text: str, org: tuple[int, int], style: Style, colour, *, ascii_done: bool = False, extra_thickness: int = 0
) -> None:
    """Draws ``text`` (made ASCII unless ``ascii_done``) at the style's text size, ``extra_thickness`` bolder."""
    put_text(img, text if ascii_done else ascii_text(text), org, style.font_scale, colour,
             style.thickness + extra_thickness)


def text_block(img: np.ndarray, lines: list[str], origin: tuple[int, int], style: Style) -> None:
    """Lines of text on a dark box whose top-left corner is ``origin``."""
    lines = [ascii_text(line) for line in lines]
    widths = [text_size(line, style.font_scale, style.thickness)[0] for line in lines]
    x, y = origin
    pad = style.margin // 2
    cv2.rectangle(img, (x, y), (x + max(widths) + 2 * pad, y + len(lines) * style.line_height + pad), PANEL_COLOUR, -1)
    for i, line in enumerate(lines):
        baseline_y = y + (i + 1) * style.line_height - style.line_height // 4
        styled_text(img, line, (x + pad, baseline_y), style, TEXT_COLOUR, ascii_done=True)


def ascii_text(text: str) -> str:
    """Text that Hershey fonts can draw: common typography replaced, accents dropped, anything else removed."""
    for src, dst in _ASCII_REPLACEMENTS.items():
        text = text.replace(src, dst)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=32)  # a banner stays up for many frames: measure its words once
def wrap(text: str, max_width: int, style: Style) -> tuple[str, ...]:
    """``text`` in ASCII, split into lines no wider than ``max_width`` pixels (a single long word stays whole)."""
    lines: list[str] = []
    current = ""
    for word in ascii_text(text).split():
        candidate = f"{current} {word}".strip()
        if current and text_size(candidate, style.font_scale, style.thickness)[0] > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return tuple(lines + [current] if current else lines or [""])
