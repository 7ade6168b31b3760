"""Keeping the pose estimator on its own core while the pipeline's helper threads use another.

Why: on the 2-core machines posecheck is built on, the scheduler keeps moving a busy thread between the cores,
and the estimator pays for every move (its model and buffers no longer sit in that core's caches). Measured
on the same 300 frames of a 720p clip: the bare ``detect_for_video`` loop ran at 38-40 fps as scheduled and at
48-50 fps with its threads pinned to one core. The pipelined loop suffers more, because its helper threads
(decoding ahead, drawing and encoding behind) wake and sleep every frame: 32-34 fps as scheduled, 46-47 fps
with the estimator's threads on one core and the helpers on the other (benchmarks/RESULTS.md has the run).

So a session that pipelines runs inside :func:`pinned`: every thread of the process that is not a posecheck
helper (the loop's own thread, MediaPipe's threads) goes to the estimator's cores, and the helper threads
(their names start with ``posecheck-``: decoding, drawing, encoding, and the live window's GUI thread with
the threads Qt starts from it) go to the remaining core. Helper threads started
later put themselves there with :func:`join_helper_cores`. On leaving, every thread gets its old cores back.

Nothing is pinned on systems without ``os.sched_setaffinity`` (macOS, Windows), with fewer than two usable
cores, or when the environment variable ``POSECHECK_PIN_CORES`` is ``0``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Every helper thread posecheck starts is named with this prefix (pipeline, sources.latest_frame, gui, live).
HELPER_THREAD_PREFIX = "posecheck-"
#: Set to "0" to leave thread placement to the operating system.
PIN_CORES_ENV = "POSECHECK_PIN_CORES"

_TASKS_DIR = Path("/proc/self/task")


@dataclass(frozen=True)
class CoreSplit:
    """Which cores the estimator's threads and the helper threads may run on (disjoint, both non-empty)."""

    estimator: frozenset[int]
    helpers: frozenset[int]


def plan_split() -> CoreSplit | None:
    """The split for this process: all usable cores but the last for the estimator, the last for the helpers.

    The estimator takes one core's worth of work, the helpers about half of one (decoding, drawing and
    encoding a 720p frame is ~8 ms against ~20 ms of inference), so on a larger machine the estimator keeps
    the rest. None when pinning is off or impossible (see the module docstring).
    """
    if os.environ.get(PIN_CORES_ENV, "1").strip() == "0" or not hasattr(os, "sched_setaffinity"):
        return None
    if not _TASKS_DIR.is_dir():
        return None
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None
    return CoreSplit(estimator=frozenset(usable[:-1]), helpers=frozenset(usable[-1:]))


def share_out(workers: int) -> list[frozenset[int]] | None:
    """The usable cores dealt out to ``workers`` processes (contiguous groups, as even as they go).

    Several clips analysed at once, one process each: without this every process's session would pin its
    estimator to the same core (each sees all cores). With it, each worker process keeps to its own group,
    and its session splits that group again if it holds two cores or more. None when pinning is off or
    impossible, or there are fewer cores than workers (then the operating system places them).
    """
    split = plan_split()
    if split is None or workers < 2:
        return None
    usable = sorted(split.estimator | split.helpers)
    if len(usable) < workers:
        return None
    size, extra = divmod(len(usable), workers)
    groups, start = [], 0
    for index in range(workers):
        end = start + size + (1 if index < extra else 0)
        groups.append(frozenset(usable[start:end]))
        start = end
    return groups


def keep_process_to(cores: frozenset[int]) -> None:
    """Restricts the calling thread, and so every thread it starts later, to ``cores`` (a worker process's
    first call, before MediaPipe starts its threads)."""
    _set_cores(0, cores)


_active_lock = threading.Lock()
_active: CoreSplit | None = None


def join_helper_cores() -> None:
    """Moves the calling helper thread to the helper cores, if a :func:`pinned` block is active.

    Helper threads call this first thing: threads inherit the cores of the thread that starts them, which
    inside a pinned session is the estimator's.
    """
    split = _active
    if split is not None:
        _set_cores(0, split.helpers)


def _set_cores(tid: int, cores: frozenset[int] | set[int]) -> bool:
    """Pins one thread (0: the calling one); False if it ended meanwhile or may not be moved."""
    try:
        os.sched_setaffinity(tid, cores)
        return True
    except OSError:  # the thread ended between listing and pinning, or the system refuses (containers)
        return False


def _thread_ids() -> list[int]:
    try:
        return [int(entry.name) for entry in _TASKS_DIR.iterdir()]
    except OSError:
        return []


@contextmanager
def pinned(split: CoreSplit | None) -> Iterator[None]:
    """Pins the process's threads by role for the duration of the block (see the module docstring).

    Args:
        split: from :func:`plan_split`; None does nothing.
    """
    global _active
    if split is None:
        yield
        return
    with _active_lock:
        nested = _active is not None  # a pinned block inside another (a session run from a session's sink)
        if not nested:
            _active = split
    if nested:
        yield
        return
    before: dict[int, set[int]] = {}  # each thread's cores before the block
    try:
        helper_ids = {thread.native_id for thread in threading.enumerate()
                      if thread.name.startswith(HELPER_THREAD_PREFIX) and thread.native_id is not None}
        for tid in _thread_ids():
            try:
                before[tid] = os.sched_getaffinity(tid)
            except OSError:
                continue
        for tid in before:
            _set_cores(tid, split.helpers if tid in helper_ids else split.estimator)
        log.debug("pinned %d threads: estimator cores %s, helper cores %s", len(before), sorted(split.estimator),
                  sorted(split.helpers))
        yield
    finally:
        with _active_lock:
            _active = None
        # Threads started inside the block inherited pinned cores: give them the process's old ones.
        process_cores = before.get(threading.get_native_id()) or set(split.estimator | split.helpers)
        for tid in _thread_ids():
            _set_cores(tid, before.get(tid, process_cores))
