"""``posecheck analyze DIR/ --cluster`` / ``--scheduler ADDRESS``: the command-line side of `runtime.cluster`.

The clips run on Dask workers (`posecheck.runtime.cluster`); this module checks the options, shows the
progress bar (done, running, failed, time left), prints the table of results per clip and the ``--json``
list, and turns the outcome into an exit code.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import typer

from posecheck.cli.common import (
    DEFAULT_OUT_ROOT,
    check_writable_file,
    load_spec,
    prepare_output_folder,
    refuse_same_names,
    show_progress,
    stderr_console,
    verbosity,
)
from posecheck.errors import InputError
from posecheck.runtime import stopping


def analyze_on_cluster(clips: list[Path], exercise: str, out: Path | None, json_out: str | None,
                       specs: Path | None, model: Path | None, jobs: int | None, scheduler: str | None,
                       resume: bool, save_trace: Path | None) -> None:
    """Every clip as one Dask task, into ``<out>/<clip name>/`` (report.json, reps.csv, input.json)."""
    from rich.console import Console

    from posecheck.runtime.cluster import iter_status, require_dask, results_to_json, run_clips_on_cluster

    require_dask("--scheduler" if scheduler else "--cluster")
    if scheduler and jobs is not None:
        raise InputError("--jobs sets the workers of --cluster's local cluster; with --scheduler, the running "
                         "cluster's workers take the clips")
    if save_trace is not None:
        raise InputError("--save-trace cannot be used with --cluster or --scheduler (traces are not collected "
                         "from the workers)")
    spec = load_spec(exercise, specs)
    refuse_same_names(clips)
    print_json_only = json_out == "-"
    root = out if out is not None else DEFAULT_OUT_ROOT
    prepare_output_folder(root)
    if json_out and not print_json_only:
        check_writable_file(Path(json_out))

    started = time.perf_counter()
    bar = _ProgressBar() if show_progress() else None
    try:
        with bar if bar is not None else contextlib.nullcontext():
            results = run_clips_on_cluster(
                clips, spec, root, scheduler=scheduler, workers=jobs, model=model, resume=resume,
                quiet_native=verbosity() < 2, on_progress=bar.update if bar is not None else None)
    except KeyboardInterrupt:
        typer.echo(f"Interrupted ({stopping.describe()}): reports of the clips done so far are in {root}; "
                   "run the same command again to analyse the rest.", err=True)
        raise typer.Exit(stopping.exit_code()) from None
    seconds = time.perf_counter() - started

    console = Console(soft_wrap=True, stderr=print_json_only)
    console.print(_table(results))
    for result in results:
        if result.error:
            typer.echo(f"Error: {result.error}", err=True)
    frames = sum(int(r.report.get("frames") or 0) for r in results if r.status == "done")
    counts = ", ".join(f"{count} {status}" for status, count in iter_status(results))
    where = f"the Dask cluster at {scheduler}" if scheduler else "a local Dask cluster"
    typer.echo(f"{len(results)} clips on {where} in {seconds:.1f} s ({counts}; {frames} frames analysed, "
               f"{frames / seconds if seconds else 0:.0f} frames/s). Reports in {root}.", err=print_json_only)
    text = results_to_json(results)
    if print_json_only:
        sys.stdout.write(text)
        sys.stdout.flush()
    elif json_out:
        Path(json_out).write_text(text, encoding="utf-8")
    codes = [result.exit_code for result in results if result.exit_code]
    codes += [InputError.exit_code for result in results if _no_person(result)]
    if codes:
        raise typer.Exit(codes[0])


def _no_person(result) -> bool:
    report = result.report or {}
    return result.status != "failed" and bool(report.get("frames")) and report.get("frames_with_pose") == 0


def _table(results):
    from rich.table import Table

    table = Table(title="Clips", title_justify="left")
    for name, justify in (("clip", "left"), ("status", "left"), ("reps", "right"), ("holds", "right"),
                          ("frames", "right"), ("s", "right"), ("worker", "left"), ("note", "left")):
        table.add_column(name, justify=justify)
    for result in results:
        report = result.report or {}
        note = "" if result.status != "failed" else (result.error or "")
        if _no_person(result):
            note = "no person found in any frame"
        elif report.get("interrupted"):
            note = "interrupted"
        table.add_row(
            result.clip.name, result.status,
            "" if not report else str(report.get("reps", "")),
            "" if not report else str(len(report.get("holds", []))),
            "" if not report else str(report.get("frames", "")),
            "" if result.seconds is None else f"{result.seconds:.1f}",
            (result.worker or "").removeprefix("tcp://"), note)
    return table


class _ProgressBar:
    """A rich progress bar on stderr: clips finished out of those to run, running and failed, time left."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("clips"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running, {task.fields[failed]} failed, {task.fields[skipped]} "
                       "already done"),
            TextColumn("left"), TimeRemainingColumn(),
            console=stderr_console(), transient=False)
        self._progress.__enter__()
        self._task = None
        return self

    def update(self, progress) -> None:
        # Clips skipped because their report was there take no time: they are left out of the bar, so that
        # the time left is estimated from the clips actually analysed.
        total = progress.total - progress.skipped
        if self._task is None:
            self._task = self._progress.add_task("clips", total=total, running=0, failed=0, skipped=0)
        self._progress.update(self._task, total=total, completed=progress.done + progress.failed,
                              running=progress.running, failed=progress.failed, skipped=progress.skipped)

    def __exit__(self, *exc):
        return self._progress.__exit__(*exc)
