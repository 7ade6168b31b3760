"""One long video on every core: split it in time, estimate the chunks at once, run the engine once in order.

The pose estimator keeps about one core busy and cannot use a second one (shared/MEDIAPIPE.md), so a
40-minute video takes 40 minutes / (estimator rate) on any machine. `open_split` cuts the video into
``parts`` chunks of frames and runs one estimator process per chunk (`posecheck.runtime.clips.run_clips`:
spawned processes, each kept to its own cores). Workers return poses ``(t, Pose)`` per frame, never events:
the engine (phases, reps, holds, cues) needs every frame before the join to decide what happens after it,
so it runs once, afterwards, over the joined poses in time order: the same loop and wiring as any analysis,
with an estimator that replays the joined poses (`SplitReplayEstimator`). Its events are a serial run's
up to the first join; after it they are the engine's answer to poses a pixel or two from a serial run's
(see below), so a decision right at a threshold can differ.

Why chunks start early: MediaPipe's VIDEO mode tracks the person from frame to frame (the previous frame's
landmarks choose the next frame's crop) and smooths the landmarks over time. A chunk that starts cold at
its first frame gives different landmarks there than a serial run, which reached that frame with history.
So each chunk after the first starts `WARMUP_SECONDS` before its first kept frame and discards the poses of
that warm-up; benchmarks/SPLIT.md measures how fast the landmarks of a cold start converge to the serial
run's (the reason for the value). Sources slower than `IMAGE_MODE_BELOW_FPS` run in IMAGE mode, where every
frame stands alone: no warm-up is needed there.

The annotated video, when asked, is written by a second, serial pass over the decoded video with the joined
poses: the overlay shows the engine's state (phase, reps, cues), which exists only once the engine has run
over every frame before, so chunks cannot draw their own frames in parallel. That pass decodes, draws and
encodes but runs no model (benchmarks/SPLIT.md gives its cost).

Chunks find their first frame by seeking (``CAP_PROP_POS_FRAMES``): on the H.264 files checked (a dev clip,
and the clip repeated 15 times with ffmpeg), the frame read after a seek was, by hash, the frame sequential
decoding gives at 17 positions, keyframes and others. A file whose header gives no frame count is not split.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.core.trace import Trace
    from posecheck.estimators.model import ModelInfo
    from posecheck.runtime.wiring import OpenedInput

log = logging.getLogger(__name__)

#: Seconds of video each chunk after the first estimates before its first kept frame, poses discarded.
#: Measured (benchmarks/SPLIT.md, ``python benchmarks/split.py --settle``): after a cold start in VIDEO mode
#: the landmarks differ from a serial run's by 5-6 px (median; 30-40 px at worst) in the first seconds, and
#: the difference shrinks slowly, to 1-2 px after 10-15 s, but never to zero: no frame is bit-identical again
#: (the tracker crops each frame around the previous landmarks, so a difference feeds itself). With 2 s, a
#: rep near a join of cat_cow_01 was lost; with 10 s, three long dev videos count the same reps, though a rep
#: right at a spec's limit may swap with another after the join (tests/test_split_video.py). Longer buys
#: little. It costs 10 s of estimating per join: 4 % of a 4-minute video on 2 cores, under 1 % of a 40-minute one.
WARMUP_SECONDS = 10.0
#: A chunk keeps at least this many warm-ups' worth of frames; a video too short for ``parts`` such chunks is
#: split into fewer (down to one: a serial run): with less, the warm-up is more than half a worker's work.
MIN_CHUNK_WARMUPS = 2


@dataclass(frozen=True)
class Chunk:
    """One part of the video, as frame indices.

    Attributes:
        index: its place in the video (0 first).
        warm_start: the first frame the worker decodes and estimates (the warm-up starts here).
        start: the first frame whose pose is kept.
        end: the first frame of the next chunk (its poses belong there); None: to the end of the file.
    """

    index: int
    warm_start: int
    start: int
    end: int | None


def plan_chunks(frame_count: int, fps: float, parts: int, warmup_seconds: float = WARMUP_SECONDS) -> list[Chunk]:
    """Cuts ``frame_count`` frames into at most ``parts`` chunks that take the workers about as long each.

    Every chunk but the first estimates its warm-up frames too, so the first chunk keeps that many frames
    more than the others. Fewer chunks when the video is too short (see `MIN_CHUNK_WARMUPS`).
    """
    warmup = int(math.ceil(max(warmup_seconds, 0.0) * fps)) if fps > 0 else 0
    shortest = max(1, MIN_CHUNK_WARMUPS * warmup)
    parts = max(1, min(parts, frame_count // shortest if frame_count > 0 else 1))
    if parts == 1:
        return [Chunk(0, 0, 0, None)]
    # Work per worker: (frame_count + (parts - 1) * warmup) / parts frames, warm-up included.
    work = (frame_count + (parts - 1) * warmup) / parts
    chunks, start = [], 0
    for index in range(parts):
        warm_start = max(0, start - warmup) if index else 0
        end = None if index == parts - 1 else int(round(warm_start + work))
        chunks.append(Chunk(index, warm_start, start, end))
        start = end if end is not None else start
    return chunks


@dataclass
class ChunkPoses:
    """What a worker returns for one chunk.

    Attributes:
        chunk: the chunk.
        trace: the poses of its frames from ``chunk.start`` (from ``warm_start`` when the warm-up was kept).
        people: the estimator's census of people in view (`MediaPipeEstimator.people`).
        complete: the file delivered every frame up to ``chunk.end`` (False: it stopped early, truncated).
        seconds: the worker's wall time.
        first_kept: a hash of the picture at ``chunk.start``; next_frame: of the picture at ``chunk.end``
            (decoded, not estimated). `join` compares each chunk's ``next_frame`` with the next chunk's
            ``first_kept``: a seek that landed on another frame would shift the times of a whole chunk.
    """

    chunk: Chunk
    trace: "Trace"
    people: dict[str, int]
    complete: bool
    seconds: float
    first_kept: str | None = None
    next_frame: str | None = None


def estimate_chunk(chunk: Chunk, path: str, model_path: str, running_mode: str, fps: float,
                   frame_size: tuple[int, int], keep_warmup: bool = False) -> ChunkPoses:
    """Estimates the poses of one chunk (in a worker process; module level so that "spawn" can import it).

    Frame times are ``index / fps``, as `posecheck.sources.video_file.VideoFileSource` gives them, so the
    joined poses have a serial run's times to the bit. ``keep_warmup`` keeps the warm-up's poses too (the
    join measurement in benchmarks/split.py compares them with a serial run's).
    """
    import cv2

    from posecheck.core.trace import Trace
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator

    started = time.perf_counter()
    capture = cv2.VideoCapture(path)
    first_kept = next_frame = None
    try:
        if chunk.warm_start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, chunk.warm_start)
        poses = []
        index = chunk.warm_start
        with MediaPipeEstimator(model_path, running_mode=running_mode) as estimator:
            while chunk.end is None or index < chunk.end:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                if index == chunk.start:
                    first_kept = _picture_hash(frame)
                t = index / fps
                pose = estimator.estimate(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), t)
                if keep_warmup or index >= chunk.start:
                    poses.append((t, pose))
                index += 1
            people = estimator.people
        if chunk.end is not None and index >= chunk.end:
            ok, frame = capture.read()
            next_frame = _picture_hash(frame) if ok and frame is not None else None
    finally:
        capture.release()
    complete = chunk.end is None or index >= chunk.end
    trace = Trace.from_poses(poses, frame_size, fps)
    return ChunkPoses(chunk, trace, people, complete, time.perf_counter() - started, first_kept, next_frame)


def _picture_hash(frame: Any) -> str:
    import hashlib

    return hashlib.blake2b(frame.tobytes(), digest_size=16).hexdigest()


def _estimate_chunk_in_worker(chunk: Chunk, *args: Any) -> ChunkPoses:
    return estimate_chunk(chunk, *args)


def estimate_in_chunks(path: str | Path, chunks: list[Chunk], model_path: str | Path, running_mode: str, fps: float,
                       frame_size: tuple[int, int], *, keep_warmup: bool = False) -> list[ChunkPoses]:
    """Every chunk's poses, one worker process per chunk, all at once (in the order of ``chunks``)."""
    from posecheck.runtime.clips import run_clips

    args = (str(path), str(model_path), running_mode, float(fps), tuple(frame_size), keep_warmup)
    # run_clips: spawned workers, one core group each, native stderr silenced, stop signals passed on.
    outcomes = run_clips(_estimate_chunk_in_worker, chunks, args, jobs=len(chunks))  # type: ignore[arg-type]
    return [outcome.value for outcome in outcomes]


def join(parts: list[ChunkPoses], fps: float, frame_size: tuple[int, int], meta: dict | None = None) -> "Trace":
    """The chunks' kept poses end to end, in time order. A chunk the file ended in (a truncated video) is the
    last one joined: later chunks would leave a gap, and the report says the decoding stopped early, as a
    serial run's would."""
    import numpy as np

    from posecheck.core.trace import Trace

    from posecheck.errors import InputError

    kept: list[Trace] = []
    for index, part in enumerate(parts):
        if index and part.first_kept != parts[index - 1].next_frame:
            raise InputError(f"{meta.get('source') if meta else 'the video'}: seeking in it does not land on the "
                             f"frame asked for (at frame {part.chunk.start}), so it cannot be split in time; "
                             "analyse it without --split")
        kept.append(part.trace)
        if not part.complete:
            break
    timestamps = np.concatenate([trace.timestamps for trace in kept])
    if len(timestamps) > 1 and not np.all(np.diff(timestamps) > 0):  # pragma: no cover - a planning error
        raise RuntimeError("split: the joined chunks are not in time order")
    return Trace(timestamps, np.concatenate([trace.landmarks for trace in kept]),
                 np.concatenate([trace.world for trace in kept]), frame_size, fps, dict(meta or {}))


def merge_people(parts: list[ChunkPoses]) -> dict[str, int]:
    """The chunks' censuses as one: the most people in one frame, frames searched and frames with several.
    The warm-up frames' searches are counted too (a second or two per chunk)."""
    merged = {"most_in_view": 0, "checks": 0, "checks_with_several": 0}
    for part in parts:
        merged["most_in_view"] = max(merged["most_in_view"], part.people.get("most_in_view", 0))
        merged["checks"] += part.people.get("checks", 0)
        merged["checks_with_several"] += part.people.get("checks_with_several", 0)
    return merged


class SplitReplayEstimator:
    """The joined poses, answered by time like a trace replay (`posecheck.estimators.replay.ReplayEstimator`),
    with the workers' census of people for the report."""

    needs_frames = False

    def __init__(self, trace: "Trace", people: dict[str, int]) -> None:
        from posecheck.estimators.replay import ReplayEstimator

        self._replay = ReplayEstimator(trace)
        self.people = people

    def estimate(self, frame_rgb: Any, t: float):
        return self._replay.estimate(frame_rgb, t)

    def close(self) -> None:
        self._replay.close()


def check_parts(parts: int) -> int:
    """``parts`` as given, or InputError for a value that is not a number of processes."""
    from posecheck.errors import InputError

    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InputError(f"split must be a whole number of parts, 1 or more (1: no split), got {parts!r}")
    return parts


@contextlib.contextmanager
def open_split(path: str | Path, parts: int, *, model: "str | Path | ModelInfo | None" = None,
               pictures: bool = False, warmup_seconds: float = WARMUP_SECONDS) -> Iterator["OpenedInput"]:
    """A video whose poses are estimated in ``parts`` chunks at once, opened for `posecheck.runtime.wiring.run`
    like `posecheck.runtime.wiring.open_video`: the session then runs the engine once over the joined poses.

    The estimation happens here, before the block starts. Args as `open_video`; ``pictures``: the source
    yields the decoded frames (for an annotated video), else only their times (faster).

    Raises:
        InputError: the video is missing or cannot be decoded, or ``parts`` is not 1 or more;
        ModelError: the model cannot be loaded.
    """
    from posecheck.estimators.mediapipe_backend import running_mode_for
    from posecheck.runtime.wiring import OpenedInput, resolve
    from posecheck.sources.replay import TraceFrameSource
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.version import __version__

    parts = check_parts(parts)
    with VideoFileSource(path) as probe:  # a missing or damaged video is reported before the model is looked for
        info = probe.info
    model_info = resolve(model)
    mode = running_mode_for(info.fps)
    # IMAGE mode estimates every frame on its own: nothing to warm up.
    chunks = plan_chunks(info.frame_count, info.fps, parts, warmup_seconds if mode == "video" else 0.0)
    if len(chunks) < parts:
        log.warning("%s is too short (%d frames) for %d parts of at least %g s: %s", path, info.frame_count, parts,
                    MIN_CHUNK_WARMUPS * warmup_seconds, f"{len(chunks)} used" if len(chunks) > 1 else "not split")
    if len(chunks) == 1:  # the ordinary serial analysis, pipelined
        from posecheck.runtime.wiring import open_video

        with open_video(path, model=model_info) as opened:
            yield opened
        return
    frame_size = (int(info.width), int(info.height))
    started = time.perf_counter()
    results = estimate_in_chunks(path, chunks, model_info.path, mode, info.fps, frame_size)
    log.info("split: %d chunks estimated in %.1f s (%s)", len(results), time.perf_counter() - started,
             ", ".join(f"{part.seconds:.1f} s" for part in results))
    meta = {"source": Path(path).name, "model": model_info.path.name, "model_sha256": model_info.sha256,
            "posecheck": __version__}
    trace = join(results, info.fps, frame_size, meta)
    estimator = SplitReplayEstimator(trace, merge_people(results))
    if pictures:
        source_cm: Any = VideoFileSource(path)
    else:
        source_cm = TraceFrameSource(trace, path)
        # The container's frame count, not the poses': a truncated file is reported as a serial run reports it.
        source_cm.info = info
    with source_cm as source:
        yield OpenedInput(source, estimator, "video", str(path), model=model_info, trace_meta=meta)
