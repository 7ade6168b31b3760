"""``posecheck analyze``: a recorded video or trace (or several, in parallel) -> report, annotated video, summary.

The analysis itself is the library's `posecheck.api.analyze`; this module checks the outputs can be written
before it starts, adds the progress bar and the history, saves the report, prints the summary and turns what
went wrong into one ``Error:`` line and an exit code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli.common import (
    DEFAULT_OUT_ROOT,
    ModelOption,
    NoHistoryOption,
    ReportJsonOption,
    SpecsOption,
    check_writable_file,
    complete_exercise_id,
    load_spec,
    prepare_output_folder,
    refuse_same_names,
    print_summary,
    quiet_native_stderr,
    report_error,
    set_verbosity,
    setup_logging,
    show_progress,
    stderr_console,
    verbosity,
)
from posecheck.errors import InputError, NoPersonError
from posecheck.runtime import stopping

log = logging.getLogger(__name__)


def analyze(
    videos: Annotated[
        list[Path],
        typer.Argument(
            help="A video file, or a landmark trace (.npz) saved earlier with --save-trace. Several, or a folder, "
            "are analysed in parallel, each into <out>/<clip name>/.",
            show_default=False,
            metavar="VIDEO",
        ),
    ],
    exercise: Annotated[
        str, typer.Option("--exercise", "-e", metavar="ID", autocompletion=complete_exercise_id, help="Exercise id, e.g. cat-cow (see: posecheck exercises list).", show_default=False)
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder. Default: ./posecheck-out/<video name>/", show_default=False)
    ] = None,
    json_out: ReportJsonOption = None,
    specs: SpecsOption = None,
    model: ModelOption = None,
    save_trace: Annotated[
        Path | None, typer.Option("--save-trace", metavar="FILE.npz", help="Save every frame's landmarks to this .npz trace (replay it later with analyze).")
    ] = None,
    write_video: Annotated[
        bool, typer.Option("--video/--no-video", help="Write annotated.mp4 (for a trace: the skeleton on a blank canvas).")
    ] = True,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, metavar="N", help="With several clips: how many are analysed at once. Default: one per core.")
    ] = None,
    no_history: NoHistoryOption = False,
    split: Annotated[
        int, typer.Option("--split", min=1, metavar="N", help="One video: estimate its poses in N parts at once, one process each (N = cores is fastest); the engine still runs once, in order, over all of them. 1: no split.")
    ] = 1,
    cluster: Annotated[
        bool, typer.Option("--cluster", help="Analyse the clips on a local Dask cluster, one task per clip (--jobs workers), writing report.json and reps.csv per clip; a rerun skips clips already done. Needs posecheck-coach[cluster].")
    ] = False,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", metavar="ADDRESS", help="As --cluster, on the running Dask cluster whose scheduler is at ADDRESS (tcp://host:8786); its workers must see the clips at the same paths.", show_default=False)
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="With --cluster or --scheduler: skip clips whose finished report of the same input and spec is in their output folder.")
    ] = True,
) -> None:
    """Analyse a recorded exercise: count reps, time holds, collect cues; write a report and an annotated video.

    Writes report.json, report.html, reps.csv, measures.csv and annotated.mp4 into the output folder, records
    the session in your history (--no-history: not) and prints a summary.
    Ctrl-C stops early and still writes the report for the frames seen so far.

    Several clips, or a folder of them, are analysed one per process, as many at once as there are cores.
    With --cluster or --scheduler ADDRESS they run on Dask workers instead (see README, "Many clips on many machines").

    Example: posecheck analyze cat_cow_01.mp4 --exercise cat-cow --out results/
    """
    from posecheck import api
    from posecheck.core.trace import is_trace_path
    from posecheck.runtime.clips import expand_clips
    from posecheck.sinks.progress import ProgressSink

    clips = expand_clips(videos)
    if cluster or scheduler:
        if split != 1:
            raise InputError("--split cannot be combined with --cluster or --scheduler (a cluster runs one clip a task)")
        from posecheck.cli.cluster import analyze_on_cluster

        analyze_on_cluster(clips, exercise, out, json_out, specs, model, jobs, scheduler, resume, save_trace)
        return
    if len(clips) > 1 or videos[0].is_dir():
        if split != 1:  # --split: posecheck.runtime.split
            raise InputError("--split applies to one video; several clips already run one per process (--jobs)")
        _analyze_many(clips, exercise, out, json_out, specs, model, save_trace, write_video, jobs, no_history)
        return
    (video,) = clips
    print_json_only = json_out == "-"
    spec = load_spec(exercise, specs)
    out_dir = out if out is not None else DEFAULT_OUT_ROOT / video.stem
    prepare_output_folder(out_dir)
    if save_trace is not None:
        # Replay recognises traces by their .npz suffix: give the file one, as numpy's own savez would.
        if not is_trace_path(save_trace):
            save_trace = save_trace.with_name(save_trace.name + ".npz")
        check_writable_file(save_trace)
    if json_out and not print_json_only:
        check_writable_file(Path(json_out))

    annotated = out_dir / "annotated.mp4" if write_video else None
    sinks = [ProgressSink(stderr_console())] if show_progress() else []
    # --- history, measures.csv and report.html (posecheck.sinks.outputs) ---
    from posecheck.sinks.outputs import SessionOutputs

    outputs = SessionOutputs(spec, mode="analyze", out_dir=out_dir, history=not no_history)
    sinks += outputs.sinks()
    # The pose model's native libraries write to stderr directly; a trace replay runs no model.
    quiet = contextlib.nullcontext() if is_trace_path(video) else quiet_native_stderr()
    try:
        with quiet:
            analysis = api.analyze(video, spec, model=model, sinks=sinks, annotated_video=annotated,
                                   save_trace=save_trace, split=split)
    except BaseException:
        outputs.abandon()
        raise

    from posecheck.sinks import report as rpt

    result, report = analysis.result, analysis.to_dict()
    written = rpt.save_report(report, out_dir, json_out if json_out != "-" else None,
                              media=[annotated] if annotated is not None else [])
    written += outputs.finish(report, video=annotated)
    if save_trace is not None:
        written.append(save_trace)

    if print_json_only:
        sys.stdout.write(rpt.to_json(report))
        sys.stdout.flush()
    else:
        from rich.console import Console

        # soft_wrap: long paths stay whole, for copy and paste.
        print_summary(report, written, result, Console(soft_wrap=True))

    if result.interrupted:
        typer.echo(f"Interrupted ({stopping.describe()}): the report covers the first {api.frame_stats(result).duration:.1f} s "
                   f"({out_dir / 'report.json'}).", err=True)
        raise typer.Exit(stopping.exit_code())
    if result.frames > 0 and result.frames_with_pose == 0:
        raise NoPersonError(
            f"{video}: no person found in any of the {result.frames} frames "
            "(is the whole body in view and lit?); report written anyway"
        )
    if result.ended_early:
        raise InputError(
            f"{video}: decoding stopped after {result.frames} of {result.info.frame_count} frames "
            f"(truncated or corrupt file); partial report in {out_dir}"
        )
    for path, failure in analysis.output_failures.items():
        raise InputError(f"{video}: writing {path} stopped early ({failure}) and it holds only the "
                         f"frames before; the report in {out_dir} is complete")


def _analyze_many(clips: list[Path], exercise: str, out: Path | None, json_out: str | None, specs: Path | None,
                  model: Path | None, save_trace: Path | None, write_video: bool, jobs: int | None,
                  no_history: bool = False) -> None:
    """Several clips: each analysed as `analyze` does one, one clip per worker process, into <out>/<clip name>/.

    Each clip's summary (or error line) is printed in the order given; ``--json`` gets a list of the
    reports; ``--save-trace`` is a folder that receives <clip name>.npz. The exit code is the first
    failing clip's (the other clips are still analysed).
    """
    import json
    import shutil
    import time

    from posecheck.runtime.clips import default_jobs, run_clips

    load_spec(exercise, specs)  # an unknown exercise fails once, before any worker starts
    refuse_same_names(clips)
    print_json_only = json_out == "-"
    root = out if out is not None else DEFAULT_OUT_ROOT
    prepare_output_folder(root)
    if save_trace is not None:
        prepare_output_folder(save_trace)
    if json_out and not print_json_only:
        check_writable_file(Path(json_out))
    workers = min(jobs or default_jobs(), len(clips))
    environ = {"COLUMNS": str(shutil.get_terminal_size().columns)}
    if "OPENCV_FFMPEG_LOGLEVEL" in os.environ:
        environ["OPENCV_FFMPEG_LOGLEVEL"] = os.environ["OPENCV_FFMPEG_LOGLEVEL"]
    summaries = sys.stderr if print_json_only else sys.stdout
    first_failure, reports = 0, []
    started = time.perf_counter()
    try:
        args = (exercise, specs, model, root, save_trace, write_video, verbosity(), no_history)
        for outcome in run_clips(_analyze_clip_in_worker, clips, args, jobs=workers, silence_native_stderr=verbosity() < 2,
                                 environ=environ):
            code, report = outcome.value
            summaries.write(outcome.stdout)
            sys.stderr.write(outcome.stderr)
            first_failure = first_failure or code
            if report is not None:
                reports.append(report)
    except KeyboardInterrupt:
        typer.echo(f"Interrupted ({stopping.describe()}): reports of the clips done so far are in {root}.", err=True)
        raise typer.Exit(stopping.exit_code()) from None
    typer.echo(f"Analysed {len(clips)} clips in {time.perf_counter() - started:.1f} s, {workers} at a time.",
               err=print_json_only)
    text = json.dumps(reports, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if print_json_only:
        sys.stdout.write(text)
        sys.stdout.flush()
    elif json_out:
        Path(json_out).write_text(text, encoding="utf-8")
    if first_failure:
        raise typer.Exit(first_failure)


def _analyze_clip_in_worker(clip: Path, exercise: str, specs: Path | None, model: Path | None, root: Path,
                            save_trace: Path | None, write_video: bool, verbose: int,
                            no_history: bool = False) -> tuple[int, dict | None]:
    """One clip of `_analyze_many`, in a worker process: (exit code, the report or None)."""
    import json

    set_verbosity(verbose)
    setup_logging(verbose)
    report_path = root / clip.stem / "report.json"
    report_path.unlink(missing_ok=True)  # an old report must not pass for this run's
    trace = save_trace / f"{clip.stem}.npz" if save_trace is not None else None
    try:
        analyze(videos=[clip], exercise=exercise, out=root / clip.stem, json_out=None, specs=specs, model=model,
                save_trace=trace, write_video=write_video, jobs=1, no_history=no_history)
        code = 0
    except typer.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        code = stopping.exit_code()
    except Exception as exc:  # noqa: BLE001 - this clip's error line; the other clips go on
        code = report_error(exc)
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
    return code, report


