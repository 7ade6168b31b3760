"""Fingerprints of the drawn overlays, to prove that a refactor of the drawing changed no pixel.

A few specs (reps, reps per side, a hold, a tempo target) are replayed on a few landmark traces from
``tests/data/traces``; on every 9th frame the script draws, on a fixed patterned picture at three frame sizes
(landscape, portrait, small), analyze's overlay (`annotate`) and the live view (`draw_live_view`) under a
rotating live status (frame rate, mirrored, paused, the "counting" banner, the last hold), plus the live view's
starting screen, and hashes the bytes of each picture. The texts the terminal view prints (the status line and
the event lines) are hashed too.

    python scripts/frames_fingerprint.py --write before.json     # on the commit before the refactor
    python scripts/frames_fingerprint.py --compare before.json   # after it: exit 1 and the pictures that differ

Pixels depend on the OpenCV build: compare two commits with the same environment. The file is a record of one
commit's drawing, not test data.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

from posecheck.engine.engine import Engine
from posecheck.specs import SpecRegistry

TRACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "traces"
PAIRS = (
    ("cat-cow", "cat_cow_01"),
    ("bird-dog", "bird_dog_01"),
    ("childs-pose", "childs_pose_01"),
    ("glute-bridge", "glute_bridge_01"),
    ("plank", "plank_01"),
    ("dead-bug", "dead_bug_01"),
)
FRAME_SIZES = ((640, 360), (360, 640), (320, 240))  # (width, height)
EVERY = 9


def _drawing():
    """The drawing functions, from wherever this commit keeps them."""
    from posecheck.sinks.render import annotate

    try:
        from posecheck.sinks.live_render import draw_live_view, starting_screen
        from posecheck.runtime.controls import LiveStatus
        from posecheck.sinks.terminal import describe_event, status_line
    except ImportError:  # before the live view was split (runtime/live.py held all of it)
        from posecheck.runtime.live import LiveStatus, describe_event, draw_live_view, starting_screen, status_line
    return annotate, draw_live_view, starting_screen, LiveStatus, describe_event, status_line


def background(width: int, height: int) -> np.ndarray:
    """A fixed picture with light and dark areas and some texture, so every element is drawn on varied pixels."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), ((x + y) * 7) % 256], axis=-1)
    return image.astype(np.uint8)


def fingerprints() -> dict[str, str]:
    from posecheck.core.trace import Trace

    annotate, draw_live_view, starting_screen, LiveStatus, describe_event, status_line = _drawing()
    registry = SpecRegistry.default()
    backgrounds = {size: background(*size) for size in FRAME_SIZES}
    result = {f"starting screen {w}x{h}": hashlib.sha256(starting_screen((w, h)).tobytes()).hexdigest()
              for w, h in FRAME_SIZES}
    for exercise, trace_name in PAIRS:
        spec = registry.load(exercise)
        trace = Trace.load(TRACES / f"{trace_name}.npz")
        engine = Engine(spec)
        pictures = {size: hashlib.sha256() for size in FRAME_SIZES}
        texts = hashlib.sha256()
        for i, (t, pose) in enumerate(trace.poses()):
            events = engine.update(t, pose)
            state = engine.state
            for event in events:
                texts.update(repr(describe_event(event, state)).encode())
            texts.update(status_line(state, spec, [None, 29.97, 7.4][i % 3]).encode())
            if i % EVERY:
                continue
            status = LiveStatus(
                fps=[None, 29.97, 7.4][i % 3],
                mirror=i % 2 == 0,
                paused=i % 7 == 0,
                counting_since=state.t if i % 5 == 0 else None,
                last_hold_seconds=[None, 12.3][i % 2],
            )
            for size, digest in pictures.items():
                frame = backgrounds[size]
                digest.update(annotate(frame, pose, state, spec).tobytes())
                digest.update(annotate(frame, pose, None, None).tobytes())
                digest.update(draw_live_view(frame, pose, state, spec, status).tobytes())
        for (w, h), digest in pictures.items():
            result[f"{exercise} x {trace_name} {w}x{h}"] = digest.hexdigest()
        result[f"{exercise} x {trace_name} terminal texts"] = texts.hexdigest()
    return result


if __name__ == "__main__":
    from events_fingerprint import write_or_compare  # the same --write/--compare command line (scripts/)

    sys.exit(write_or_compare(__doc__.split("\n\n")[0], fingerprints, "fingerprints"))
