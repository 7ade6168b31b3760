"""Many clips on a Dask cluster: ``posecheck analyze DIR/ --cluster`` or ``--scheduler ADDRESS``.

One Dask task per clip, each calling the public API (`posecheck.api.analyze`) in a worker. The client (this
process) writes each clip's ``report.json`` and ``reps.csv`` into ``<out>/<clip name>/`` as soon as the clip
is done, then ``input.json``, which says what the report was made from. A rerun skips every clip whose
``input.json`` matches the clip and the analysis asked for (`fingerprint`), so a run that was stopped, or
whose client died, resumes where it was.

Why Dask distributed rather than Ray: a clip is one independent, coarse task (seconds to minutes) with a
small result (a report of a few kB), which is exactly Dask's ``client.submit``; distributed is pure Python
(wheels for every Python posecheck supports, no daemon to install), runs on one machine with
``LocalCluster``, and dask-jobqueue starts its workers as SLURM/PBS/SGE jobs. Ray brings a much larger
runtime (its own object store and raylet binaries) for features a per-clip map does not use.

A worker that dies (killed, out of memory, its machine gone) loses only the clips it was running: the
scheduler gives them to another worker (``distributed.scheduler.allowed-failures`` times, 3 by default).
A clip whose analysis raises something posecheck did not expect is tried ``retries`` more times; one that
posecheck refuses (a damaged file, too short...) is not retried: the answer would be the same.

Workers must see the clips (and a ``--model`` file) at the same paths as the client: a shared file system
on a real cluster. Paths are made absolute before they are sent, so the reports' ``source.path`` is absolute.
Dask is an optional dependency (``pip install 'posecheck-coach[cluster]'``): nothing here imports it at
module level.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecheck.errors import InputError, PosecheckError
from posecheck.runtime.clips import default_jobs

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.specs import ExerciseSpec

#: Written last into a clip's output folder: what its report was made from (see `fingerprint`).
INPUT_FILE = "input.json"
#: How long the client waits for a scheduler given by address before it says it cannot reach it.
CONNECT_TIMEOUT_S = 10.0
#: Extra attempts for a clip whose analysis raised an error posecheck did not expect.
DEFAULT_RETRIES = 1
INSTALL_HINT = "pip install 'posecheck-coach[cluster]'"


def require_dask(option: str = "--scheduler") -> None:
    """Raises InputError (one line: what to install) when Dask distributed is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise InputError(f"{option} needs Dask distributed, which is not installed ({INSTALL_HINT})") from exc


# ------------------------------------------------------------------------------------------------ resuming


def fingerprint(clip: Path, spec: "ExerciseSpec", model: Path | None) -> dict[str, Any]:
    """What a clip's report depends on: the clip file (absolute path, size, modification time), the exercise
    spec (its id and a hash of every field, so an edited spec re-analyses), the model (path, size and time
    when one is given) and the posecheck version. A report is reused only when all of these are equal."""
    from posecheck.version import __version__

    stat = clip.stat()
    model_part = None
    if model is not None:
        model_stat = Path(model).stat()
        model_part = {"path": str(Path(model).resolve()), "size": model_stat.st_size,
                      "mtime_ns": model_stat.st_mtime_ns}
    spec_json = spec.model_dump_json()
    return {
        "input": str(clip), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "exercise": spec.id, "spec_sha256": hashlib.sha256(spec_json.encode()).hexdigest(),
        "model": model_part, "posecheck_version": __version__,
    }


def finished_report(folder: Path, wanted: dict[str, Any]) -> dict | None:
    """The report in ``folder`` when a finished analysis of the same input left it there, else None."""
    try:
        made_from = json.loads((folder / INPUT_FILE).read_text(encoding="utf-8"))
        if made_from != wanted:
            return None
        return json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_outputs(folder: Path, report: dict, made_from: dict[str, Any]) -> None:
    """report.json and reps.csv, then input.json (atomically, last: its presence means the rest is whole)."""
    from posecheck.sinks.report import save_report

    (folder / INPUT_FILE).unlink(missing_ok=True)  # an older run's: the report is about to change
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {folder}: {exc.strerror or exc}") from exc
    save_report(report, folder)
    partial = folder / (INPUT_FILE + ".part")
    partial.write_text(json.dumps(made_from, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / INPUT_FILE)


# ------------------------------------------------------------------------------------------------ the task


def analyze_clip_task(clip: str, spec: "ExerciseSpec", model: str | None, quiet_native: bool) -> dict[str, Any]:
    """One clip, in a Dask worker: ``{"report": ..., "seconds": ..., "worker": ...}`` or, for an input
    posecheck refuses, ``{"error": "...", "exit_code": n, ...}`` (not raised: a retry would refuse it too)."""
    from posecheck import api
    from posecheck.runtime.cores import PIN_CORES_ENV

    # A worker shares its machine with other workers, each of which sees every core: the session's pinning
    # would put all their estimators on the same core. The operating system places them instead.
    os.environ[PIN_CORES_ENV] = "0"
    if quiet_native:
        _silence_native_stderr()
    worker = _worker_address()
    start = time.perf_counter()
    try:
        report = api.analyze(clip, spec, model=model)
    except PosecheckError as exc:
        return {"error": str(exc), "exit_code": exc.exit_code, "seconds": time.perf_counter() - start,
                "worker": worker}
    return {"report": report.to_dict(), "seconds": time.perf_counter() - start, "worker": worker}


_silenced = False


def _silence_native_stderr() -> None:
    """A local cluster's workers share the terminal: MediaPipe's and TFLite's messages on file descriptor 2
    would break the progress bar. Once per worker process."""
    global _silenced
    if _silenced:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _silenced = True


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------ the client


@dataclass
class ClipResult:
    """What became of one clip.

    Attributes:
        clip: the clip (absolute path).
        status: ``done`` (analysed in this run), ``skipped`` (a finished report of the same input was there),
            ``failed`` (refused, or the analysis raised; ``error`` says why).
        report: the report (None when failed).
        error: one line, for a failed clip.
        exit_code: the exit code ``posecheck analyze`` gives this clip alone (0 when done).
        seconds: wall time of the analysis in its worker (None when skipped or lost).
        worker: the Dask worker that analysed it.
        out_dir: the clip's output folder.
    """

    clip: Path
    status: str
    out_dir: Path
    report: dict | None = None
    error: str | None = None
    exit_code: int = 0
    seconds: float | None = None
    worker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"clip": str(self.clip), "status": self.status, "out_dir": str(self.out_dir),
                "exit_code": self.exit_code, "error": self.error,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "worker": self.worker, "report": self.report}


@dataclass
class Progress:
    """Counts for a progress display (`run_clips_on_cluster`'s ``on_progress``)."""

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    running: int = 0
    workers: int = 0
    frames: int = 0
    finished: list[ClipResult] = field(default_factory=list)


def open_cluster(stack: ExitStack, scheduler: str | None, workers: int | None):
    """A connected `distributed.Client`: to the scheduler at ``scheduler``, or to a new local cluster of
    ``workers`` single-threaded worker processes (default: one per core), closed with ``stack``.

    Raises:
        InputError: Dask is missing, or the scheduler cannot be reached.
    """
    require_dask("--scheduler" if scheduler else "--cluster")
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        from distributed.comm.addressing import parse_host_port, parse_address

        try:
            # Checked first: a Client made from an address it cannot parse hangs 20 s when it is collected.
            parse_host_port(parse_address(scheduler)[1])
        except (ValueError, TypeError) as exc:
            raise InputError(f"{scheduler} is not a Dask scheduler address ({exc}; e.g. tcp://host:8786)") from exc
        try:
            return stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False))
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({reason})") from exc
    # One thread per worker: one clip's loop keeps about a core busy (see runtime/clips.py). Any free ports:
    # the default ones (8786, and 8787 for the scheduler's HTTP server) may be taken by another cluster.
    cluster = stack.enter_context(LocalCluster(
        n_workers=workers or default_jobs(), threads_per_worker=1, processes=True, scheduler_port=0,
        dashboard_address=":0", silence_logs=logging.ERROR))
    return stack.enter_context(Client(cluster, set_as_default=False))


def run_clips_on_cluster(
    clips: Sequence[Path],
    spec: "ExerciseSpec",
    out_root: Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    model: Path | None = None,
    resume: bool = True,
    retries: int = DEFAULT_RETRIES,
    quiet_native: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    on_connected: Callable[[Any], None] | None = None,
) -> list[ClipResult]:
    """Analyses every clip on a Dask cluster, one task per clip, writing each clip's outputs into
    ``out_root/<clip name>/`` as it finishes. Returns one `ClipResult` per clip, in the order of ``clips``.

    Args:
        clips: the clips (made absolute here); their names (stems) must differ.
        spec: the exercise spec (sent to the workers whole, so they need no spec folder).
        out_root: the output folder.
        scheduler: a running scheduler's address (``tcp://host:8786``); None starts a local cluster.
        workers: worker processes of the local cluster (default one per core).
        model: a pose model file the workers can read at this path.
        resume: skip clips whose finished report of the same input is in their folder (`fingerprint`).
        retries: extra attempts for a clip whose analysis raised an unexpected error (a killed worker's clips
            are given to another worker by the scheduler whatever this is).
        quiet_native: silence the native libraries' messages in the workers (local cluster only).
        on_progress: called with the counts at the start, then about four times a second.
        on_connected: called with the `distributed.Client` once connected (tests, benchmarks).

    Raises:
        InputError: Dask missing, scheduler unreachable, an output folder that cannot be written.
        KeyboardInterrupt: stopped (Ctrl-C, SIGTERM): the clips finished so far are written; the rest are
            cancelled.
    """
    clips = [Path(clip).absolute() for clip in clips]
    progress = Progress(total=len(clips))
    results: dict[Path, ClipResult] = {}
    todo: list[tuple[Path, dict[str, Any]]] = []
    for clip in clips:
        folder = out_root / clip.stem
        try:
            wanted = fingerprint(clip, spec, model)
        except OSError:
            wanted = None  # missing or unreadable: the worker's analysis says so in its own words
        report = finished_report(folder, wanted) if (resume and wanted is not None) else None
        if report is not None:
            results[clip] = ClipResult(clip, "skipped", folder, report=report)
            progress.skipped += 1
            progress.finished.append(results[clip])
        else:
            todo.append((clip, wanted))

    def tell() -> None:
        if on_progress is not None:
            on_progress(progress)

    tell()
    if not todo and scheduler is None:
        return [results[clip] for clip in clips]

    with ExitStack() as stack:
        # A scheduler given by address is reached even when every clip is done: a wrong address is an error.
        client = open_cluster(stack, scheduler, min(workers or default_jobs(), max(1, len(todo))))
        if on_connected is not None:
            on_connected(client)
        local = scheduler is None
        futures = {}
        for clip, wanted in todo:
            future = client.submit(analyze_clip_task, str(clip), spec, None if model is None else str(model),
                                   quiet_native and local, key=f"posecheck-{clip.stem}-{os.urandom(4).hex()}",
                                   retries=retries, pure=False)
            futures[future] = (clip, wanted)
        pending = set(futures)
        try:
            while pending:
                for future in [future for future in pending if future.done()]:
                    pending.discard(future)
                    clip, wanted = futures[future]
                    results[clip] = _collect(future, clip, out_root / clip.stem,
                                             wanted or (lambda clip=clip: fingerprint(clip, spec, model)))
                    progress.finished.append(results[clip])
                    if results[clip].status == "done":
                        progress.done += 1
                        progress.frames += int(results[clip].report.get("frames") or 0)
                    else:
                        progress.failed += 1
                    future.release()
                _count_running(client, pending, progress)
                tell()
                if pending:
                    _wait_a_little()
        except BaseException:
            client.cancel(list(pending))
            raise
    progress.running = 0
    tell()
    return [results[clip] for clip in clips]


def _collect(future, clip: Path, folder: Path, wanted: "dict[str, Any] | Callable[[], dict[str, Any]]") -> ClipResult:
    """A finished task's outcome, its outputs written (a refused or failed clip's old outputs are left)."""
    try:
        outcome = future.result()
    except Exception as exc:  # noqa: BLE001 - this clip's failure, said in one line; the others go on
        name = type(exc).__name__
        if name == "KilledWorker":
            why = "every worker that tried it died (killed, or out of memory)"
        else:
            why = f"posecheck failed unexpectedly ({name}: {exc}); this is a bug, please report it"
        return ClipResult(clip, "failed", folder, error=f"{clip}: {why}", exit_code=1)
    if "error" in outcome:
        return ClipResult(clip, "failed", folder, error=outcome["error"], exit_code=outcome["exit_code"],
                          seconds=outcome["seconds"], worker=outcome["worker"])
    report = outcome["report"]
    try:
        if callable(wanted):  # the clip could not be read before the run, but its worker read it
            wanted = wanted()
        _write_outputs(folder, report, wanted)
    except (OSError, InputError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ClipResult(clip, "failed", folder, report=report, error=f"{folder}: {message}", exit_code=2,
                          seconds=outcome["seconds"], worker=outcome["worker"])
    return ClipResult(clip, "done", folder, report=report, seconds=outcome["seconds"], worker=outcome["worker"])


def _count_running(client, pending: set, progress: Progress) -> None:
    """Clips being analysed now: the pending tasks the scheduler has handed to a worker, at most as many per
    worker as it has threads (the scheduler hands a worker one more than that, queued, so that it never
    waits)."""
    try:
        processing, threads = client.processing(), client.nthreads()
    except Exception:  # noqa: BLE001 - the display only; the results come through the futures
        return
    keys = {future.key for future in pending}
    progress.workers = len(processing)
    progress.running = sum(min(threads.get(worker, 1), sum(1 for key in tasks if key in keys))
                           for worker, tasks in processing.items())


def _wait_a_little() -> None:
    # Polled rather than blocking on the next result, so that the running count and the time left stay fresh.
    time.sleep(0.25)


def results_to_json(results: Sequence[ClipResult]) -> str:
    """``--json``'s text: one object per clip (`ClipResult.to_dict`)."""
    return json.dumps([result.to_dict() for result in results], indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def iter_status(results: Sequence[ClipResult]) -> Iterator[tuple[str, int]]:
    """(status, how many) for a summary line."""
    for status in ("done", "skipped", "failed"):
        count = sum(1 for result in results if result.status == status)
        if count:
            yield status, count
