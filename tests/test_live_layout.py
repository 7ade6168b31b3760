"""The live view's layout (`posecheck.sinks.live_layout`): on every screen and window shape, with every frame
shape, the counter, the message and the key hint are inside the picture, apart from each other, and off the
video (the person). Real windows on Xvfb screens of these sizes are checked in test_live_process.py."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from posecheck.runtime.controls import KEYS_HELP  # noqa: E402
from posecheck.sinks.live_layout import (  # noqa: E402
    MIN_TEXT_SCALE,
    WIDEST_COUNTER_PER_SIDE,
    Box,
    fit_size,
    live_layout,
    wrap_words,
)
from posecheck.sinks.window import FALLBACK_SCREEN_SIZE, WINDOW_MAX_SIZE, window_size_for  # noqa: E402

SCREENS = [(1366, 768), (1920, 1080), (1024, 600), (1280, 1024), (3840, 2160)]
FRAMES = {"portrait phone": (720, 1280), "landscape 720p": (1280, 720), "webcam 4:3": (640, 480),
          "square": (720, 720), "small portrait": (202, 360)}
# Windows the user may resize to: tall and narrow, short and wide, tiny.
RESIZED = [(500, 900), (1300, 400), (640, 360), (420, 320)]
# The routines add keys (next, back, this hurts): a longer hint must fit too.
LONG_HINT = KEYS_HELP + ", n next, b back, h this hurts, a again"


def canvases():
    for screen in SCREENS:
        yield window_size_for(screen)
    yield from RESIZED


@pytest.mark.parametrize("hint", [KEYS_HELP, LONG_HINT], ids=["keys", "routine keys"])
@pytest.mark.parametrize("has_ring", [False, True], ids=["no hold", "hold ring"])
@pytest.mark.parametrize("frame", FRAMES.values(), ids=FRAMES.keys())
@pytest.mark.parametrize("canvas", list(canvases()), ids=lambda size: f"{size[0]}x{size[1]}")
def test_every_block_is_inside_the_picture_apart_and_off_the_video(canvas, frame, has_ring, hint):
    layout = live_layout(canvas, frame, hint, has_ring, WIDEST_COUNTER_PER_SIDE)
    whole = Box(0, 0, *canvas)
    blocks = {"title": layout.title, "counter": layout.counter, "message": layout.message, "hint": layout.hint}
    if has_ring:
        blocks["ring"] = layout.ring
    else:
        assert layout.ring is None
    assert whole.contains(layout.video) and whole.contains(layout.panel)
    assert not layout.video.overlaps(layout.panel), "no word covers the video (the person)"
    for name, box in blocks.items():
        assert box.w > 0 and box.h > 0, name
        assert layout.panel.contains(box), f"{name} {box} is outside the panel {layout.panel}"
    names = list(blocks)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not blocks[a].overlaps(blocks[b]), f"{a} {blocks[a]} overlaps {b} {blocks[b]}"
    assert layout.message_lines >= 1 and layout.message.h >= layout.line_height
    assert layout.hint.h >= len(layout.hint_lines) * layout.line_height
    assert ", ".join(layout.hint_lines) == hint, "every key is in the hint"
    # The frame keeps its shape (1 px of rounding).
    assert layout.video.w / layout.video.h == pytest.approx(frame[0] / frame[1], rel=0.02)


@pytest.mark.skipif(int(cv2.__version__.split(".")[0]) < 5, reason=(
    "the readability floor is stated in OpenCV 5's font metrics (what a fresh install and CI get); OpenCV 4's "
    "Hershey letters are about 27% wider at the same scale (the key hint: 620 against 489 px at scale 1), so on a "
    "1024x600 screen the text fits only at scale 0.48-0.52"))
@pytest.mark.parametrize("screen", SCREENS[:3], ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("frame", FRAMES.values(), ids=FRAMES.keys())
def test_on_real_screens_the_text_stays_readable_and_the_video_big(screen, frame):
    layout = live_layout(window_size_for(screen), frame, KEYS_HELP, True, WIDEST_COUNTER_PER_SIDE)
    assert layout.text_scale > 2 * MIN_TEXT_SCALE, "letters a person on the mat can read"
    video_share = layout.video.w * layout.video.h / (layout.canvas[0] * layout.canvas[1])
    best_share = np.prod(fit_size(frame, layout.canvas)) / (layout.canvas[0] * layout.canvas[1])
    assert video_share >= 0.5 * best_share, "the panel leaves the video at least half the room it could have"


def test_a_portrait_clip_on_a_landscape_screen_gets_a_side_panel_and_a_landscape_clip_a_band():
    assert live_layout((1257, 653), (720, 1280), KEYS_HELP, False).kind == "side"
    assert live_layout((1600, 900), (1280, 720), KEYS_HELP, False).kind == "band"
    assert live_layout((500, 900), (1280, 720), KEYS_HELP, False).kind == "band", "a tall window: the band under"


def test_the_window_opens_inside_the_screen():
    for screen in SCREENS:
        width, height = window_size_for(screen)
        assert width <= screen[0] and height <= 0.9 * screen[1], "room for the title bar and the desktop's panels"
        assert width <= WINDOW_MAX_SIZE[0] and height <= WINDOW_MAX_SIZE[1]
    assert window_size_for(None) == window_size_for(FALLBACK_SCREEN_SIZE)


def test_wrap_words_keeps_every_word_and_the_width():
    lines = wrap_words("Turn side-on to the camera so both knees and hands are in view", 200, 0.6, 1)
    assert " ".join(lines) == "Turn side-on to the camera so both knees and hands are in view"
    assert len(lines) > 1
    assert wrap_words("q quit, space pause, r reset", 80, 0.6, 1, separator=",") == ("q quit", "space pause", "r reset")
