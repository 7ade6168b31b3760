"""Several clips at once: ``posecheck analyze DIR/`` runs one clip per worker process, as many as there are cores.

One clip's loop keeps about one core busy with inference (plus what the helper threads add), so a folder
of clips is analysed fastest one clip per process. Processes, not threads: each needs its own MediaPipe
graph and most of the loop's Python work holds the GIL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.runtime.cores import keep_process_to, share_out

#: File name endings ``posecheck analyze DIR/`` picks up from a folder.
CLIP_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".npz")


def expand_clips(paths: Sequence[Path]) -> list[Path]:
    """Paths as given, with each folder replaced by its video and trace files (sorted by name).

    Files are kept as they are, even missing ones: the analysis reports those in its own words.

    Raises:
        InputError: a folder holds no clip.
    """
    from posecheck.errors import InputError

    clips: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES)
            if not found:
                raise InputError(f"folder {path} holds no video or trace files ({', '.join(CLIP_SUFFIXES)})")
            clips += found
        else:
            clips.append(path)
    return list(dict.fromkeys(clips))  # the same clip named twice is analysed once


@dataclass
class ClipOutcome:
    """What one worker process did with one clip.

    Attributes:
        clip: the clip.
        value: what the worker function returned (e.g. an exit code), or None when it raised.
        stdout, stderr: text it printed (captured, so that clips analysed at once do not interleave).
        seconds: wall time the clip took in its worker.
    """

    clip: Path
    value: Any
    stdout: str
    stderr: str
    seconds: float


def default_jobs() -> int:
    """Processes for several clips: one per core."""
    import os

    return max(1, os.cpu_count() or 1)


def _init_clip_worker(silence_native_stderr: bool, environ: dict[str, str],
                      core_groups: list[frozenset[int]] | None, next_group: Any) -> None:
    import os

    from posecheck.runtime import stopping

    # SIGTERM or SIGHUP reach a worker from the parent (run_clips passes them on) or from a service manager
    # that stops the whole group: the worker then saves its clip's partial report, as a single analysis does.
    stopping.install()
    os.environ.update(environ)
    if core_groups:
        with next_group.get_lock():
            index = next_group.value
            next_group.value += 1
        keep_process_to(core_groups[index % len(core_groups)])
    if silence_native_stderr:
        # MediaPipe, TFLite and absl write to file descriptor 2 directly; Python's stderr is captured per clip.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)


def _run_captured(fn: Callable[..., Any], clip: Path, args: tuple) -> ClipOutcome:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        value = fn(clip, *args)
    return ClipOutcome(clip, value, out.getvalue(), err.getvalue(), time.perf_counter() - start)


def run_clips(fn: Callable[..., Any], clips: Sequence[Path], args: tuple = (), *, jobs: int | None = None,
              silence_native_stderr: bool = True, environ: dict[str, str] | None = None) -> Iterator[ClipOutcome]:
    """Runs ``fn(clip, *args)`` for every clip, one clip per worker process, ``jobs`` processes at once.

    Outcomes come back in the order of ``clips`` (each as soon as it and those before it are done). Each
    call's stdout and stderr are captured into its outcome. ``fn`` must be a module-level function (the
    workers are started with "spawn", which imports it by name: a fresh interpreter per worker, safe with
    libraries that keep threads, as MediaPipe does). An exception ``fn`` raises is re-raised here.

    Args:
        fn: called in a worker as ``fn(clip, *args)``; should catch the errors it can report itself.
        clips: the clips.
        args: further arguments (picklable).
        jobs: worker processes (default: one per core; never more than there are clips).
        silence_native_stderr: send the workers' file descriptor 2 (native libraries' chatter) to /dev/null.
        environ: environment variables to set in each worker.
    """
    import contextlib
    import multiprocessing
    import os
    import signal
    from concurrent.futures import ProcessPoolExecutor

    if not clips:
        return
    workers = max(1, min(jobs or default_jobs(), len(clips)))
    context = multiprocessing.get_context("spawn")
    # Each worker process keeps to its own cores, so that the sessions' pinning (cores.py) does not put every
    # clip's estimator on the same core.
    core_groups = share_out(workers)
    initargs = (silence_native_stderr, dict(environ or {}), core_groups, context.Value("i", 0))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_clip_worker, initargs=initargs) as pool:
        futures = [pool.submit(_run_captured, fn, clip, tuple(args)) for clip in clips]
        try:
            for future in futures:
                yield future.result()
        except KeyboardInterrupt:
            from posecheck.runtime import stopping

            for future in futures:
                future.cancel()  # clips not started yet
            # Ctrl-C at a terminal reaches every process of the group; SIGTERM or SIGHUP sent to this one alone is
            # passed on, so that the running clips stop and save their partial reports too, instead of running
            # to their end while the pool waits for them.
            if stopping.received() not in (None, signal.SIGINT):
                for worker in multiprocessing.active_children():
                    with contextlib.suppress(OSError):
                        os.kill(worker.pid, stopping.received())
            raise
        finally:
            for future in futures:
                future.cancel()  # clips not started yet (after an error); running ones finish
