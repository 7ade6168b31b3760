"""The overlay drawn on annotated videos: what is drawn, that it scales with the frame, and copy semantics."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.engine.events import EngineState
from posecheck.sinks.drawing import WARNING_COLOUR, ascii_text
from posecheck.sinks.render import annotate
from posecheck.specs import load_spec_by_id
from posecheck.core.trace import Trace

from conftest import trace_path


@pytest.fixture(scope="module")
def spec():
    return load_spec_by_id("cat-cow")


@pytest.fixture(scope="module")
def pose():
    return Trace.load(trace_path("cat_cow_01")).pose_at(100)


def _state(**changes) -> EngineState:
    fields = dict(
        t=3.3, tracking=True, ready=True, not_ready_reason=None, phase="cat", side=None, reps=1, reps_by_side={},
        target_reps=10, hold_seconds=None, hold_target=None, measures={"head_lift": -0.05, "torso_tilt": 8.0}, cue=None,
    )
    fields.update(changes)
    return EngineState(**fields)


def _blank(width: int, height: int) -> np.ndarray:
    return np.zeros((height, width, 3), dtype=np.uint8)


def _changed(img: np.ndarray) -> np.ndarray:
    return img.any(axis=2)


def test_skeleton_is_drawn_where_the_landmarks_are(pose):
    out = annotate(_blank(*pose.frame_size), pose, None)
    changed = _changed(out)
    assert changed.sum() > 1000
    for x, y in pose.xy_px[pose.visibility > 0.9].astype(int):
        if 0 <= x < out.shape[1] and 0 <= y < out.shape[0]:
            assert changed[y, x], f"no drawing at visible landmark ({x}, {y})"
    assert not changed[:20, -20:].any()  # nothing drawn far from the person and the panels


def test_input_is_left_alone_unless_asked(pose, spec):
    frame = _blank(*pose.frame_size)
    out = annotate(frame, pose, _state(), spec)
    assert not frame.any() and out.any()
    same = annotate(frame, pose, _state(), spec, copy=False)
    assert same is frame and frame.any()


def test_panel_and_banner_show_the_state(pose, spec):
    width, height = pose.frame_size
    quiet = _changed(annotate(_blank(width, height), None, _state(), spec))
    assert quiet[: height // 4, : width // 2].any()  # the panel: title, reps, phase, measures
    assert not quiet[-height // 8 :].any()  # no cue, no banner
    cue = _changed(annotate(_blank(width, height), None, _state(cue="Lovely – now a little slower…"), spec))
    assert cue[-height // 8 :].any()
    lost = _changed(annotate(_blank(width, height), None, _state(tracking=False), spec))
    assert lost[-height // 8 :].any()
    # reps paused although the setup is right: the warning banner (amber), as for setup guidance
    paused = annotate(_blank(width, height), None, _state(paused_reason="Counting paused: kneel."), spec)
    bottom = paused[-height // 8 :].reshape(-1, 3)
    assert (bottom == WARNING_COLOUR).all(axis=1).sum() > width


def test_hold_timer_and_sides_make_the_panel_taller(spec):
    base = _changed(annotate(_blank(640, 480), None, _state(), spec)).any(axis=1).sum()
    more = _state(hold_seconds=12.3, hold_target=30.0, reps_by_side={"left": 2, "right": 1}, side="left")
    assert _changed(annotate(_blank(640, 480), None, more, spec)).any(axis=1).sum() > base


def test_drawing_scales_with_the_frame(pose, spec):
    """Twice the frame size draws about four times the pixels: same look at any resolution."""
    width, height = pose.frame_size
    small = _changed(annotate(_blank(width // 2, height // 2), pose, _state(), spec)).sum()
    large = _changed(annotate(_blank(width, height), pose, _state(), spec)).sum()
    assert 3.0 < large / small < 5.0


def test_text_is_made_ascii_for_opencv_fonts():
    assert ascii_text("Lovely – now 30° slower… “gently”") == 'Lovely - now 30 deg slower... "gently"'
    assert ascii_text("kočičí hřbet") == "kocici hrbet"
