"""The bare estimator: MediaPipe's ``detect_for_video`` over frames already decoded, nothing else. The ceiling
the loop is compared with. Imports mediapipe lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posecheck.bench.rates import DEFAULT_WARMUP, Rate, RateClock
from posecheck.runtime.cores import CoreSplit, pinned, plan_split


def bench_raw_estimator(frames_rgb: list[np.ndarray], model_path: Path, warmup: int = DEFAULT_WARMUP, *,
                        cores: CoreSplit | None = None) -> Rate:
    """The bare estimator: ``detect_for_video`` over frames already decoded to RGB, nothing else.

    Args:
        frames_rgb: (H, W, 3) uint8 RGB frames in video order.
        model_path: the ``.task`` bundle.
        warmup: frames run before timing starts (the first ones of ``frames_rgb``).
        cores: run with the estimator's threads pinned as a pipelined session pins them (its threads are
            created inside the pinned block, so MediaPipe's own threads stay there too); None: as the
            operating system schedules them, as a plain MediaPipe script runs.
    """
    import mediapipe as mp
    from mediapipe.tasks.python import vision

    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator

    options = MediaPipeEstimator(model_path).landmarker_options()  # the same options as the loop's estimator
    clock = RateClock(warmup)
    with pinned(cores), vision.PoseLandmarker.create_from_options(options) as landmarker:
        for i, frame in enumerate(frames_rgb):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
            landmarker.detect_for_video(image, i + 1)
            clock.tick()
    return clock.rate()


def bench_bare_estimator(frames_rgb: list[np.ndarray], model_path: Path, warmup: int = DEFAULT_WARMUP
                         ) -> tuple[Rate, Rate | None]:
    """The bare estimator as the operating system schedules it, then pinned to one core as a pipelined session
    pins it (None when this machine does not pin: see `posecheck.runtime.cores`). Compare a loop with the faster."""
    plain = bench_raw_estimator(frames_rgb, model_path, warmup)
    split = plan_split()
    return plain, (bench_raw_estimator(frames_rgb, model_path, warmup, cores=split) if split is not None else None)
