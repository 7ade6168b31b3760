"""``posecheck live``: the live coaching view in front of a camera (or a video played like one).

Registered by `posecheck.cli.app` (``LAZY_COMMANDS``); the work is done by `posecheck.runtime.live` and the one
session loop. Output options and the report are the same as ``posecheck analyze``'s.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli import app as cli
from posecheck.runtime import stopping
from posecheck.cli.app import ModelOption, NoHistoryOption, ReportJsonOption, SpecsOption
from posecheck.errors import CameraError, InputError, NoPersonError

log = logging.getLogger(__name__)

app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


@app.command(name="live")
def live(
    exercise: Annotated[str, typer.Argument(autocompletion=cli.complete_exercise_id, help="Exercise id, e.g. cat-cow (see: posecheck exercises list).", show_default=False)],
    camera: Annotated[int, typer.Option("--camera", help="Camera index (0 = the default camera).")] = 0,
    source: Annotated[
        Path | None,
        typer.Option("--source", help="Play this video file as if it were the camera (at its own frame rate) instead.", show_default=False),
    ] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="Save the annotated session as a video (.mp4, mp4v codec).", show_default=False)
    ] = None,
    width: Annotated[int | None, typer.Option("--width", help="Camera capture width in pixels (the camera picks its nearest mode).", show_default=False)] = None,
    height: Annotated[int | None, typer.Option("--height", help="Camera capture height in pixels.", show_default=False)] = None,
    mirror: Annotated[
        bool | None,
        typer.Option("--mirror/--no-mirror", help="Show the picture mirrored. Default: mirrored for a camera, not for --source. Key m toggles.", show_default=False),
    ] = None,
    headless: Annotated[
        bool, typer.Option("--headless", help="No window: follow the count and the cues in the terminal (stop with Ctrl-C).")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder. Default: ./posecheck-out/live-<exercise>-<date-time>/", show_default=False),
    ] = None,
    json_out: ReportJsonOption = None,
    specs: SpecsOption = None,
    model: ModelOption = None,
    no_history: NoHistoryOption = False,
) -> None:
    """Live coaching in front of a camera: skeleton, count, hold timer and gentle cues as you move.

    Keys in the window: q or Esc quit, space pause/resume, r reset the count, m mirror.

    Closing the window, Ctrl-C or the end of the video (--source) also end the session. Every way out prints a summary and saves report.json and reps.csv, as analyze does.

    Without a display, --headless shows the count and the cues in the terminal.

    Example: posecheck live cat-cow --camera 0 --record my_session.mp4
    """
    print_json_only = json_out == "-"
    spec = cli.load_spec(exercise, specs)
    out_dir = out if out is not None else cli.DEFAULT_OUT_ROOT / f"live-{spec.id}-{time.strftime('%Y%m%d-%H%M%S')}"
    for path in (record, Path(json_out) if json_out and not print_json_only else None):
        if path is not None:
            cli.check_writable_file(path)
    if source is not None and (width or height):
        log.warning("--width/--height set the camera's capture size; they are ignored with --source")

    from posecheck.runtime import live as lv

    if not headless:
        lv.require_display()
    created = not out_dir.exists()
    cli.prepare_output_folder(out_dir)
    # --- history, measures.csv and report.html (posecheck.sinks.outputs) ---
    from posecheck.sinks.outputs import SessionOutputs

    outputs = SessionOutputs(spec, mode="live", out_dir=out_dir, history=not no_history)
    try:
        result, source_desc = _run(spec, camera, source, width, height, model, headless, record, mirror,
                                   extra_sinks=outputs.sinks())
    except BaseException:
        outputs.abandon()
        if created:  # no camera, no model...: leave no empty folder behind
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise

    from posecheck.sinks import report as rpt

    session = result.session
    fps = session.info.fps
    played_to_end = result.source_ended
    stats = rpt.FrameStats(
        frames=session.frames,
        frames_with_pose=session.frames_with_pose,
        fps=fps,
        # Session time, not frames / fps: a live loop that dropped frames still covered the whole time.
        duration=(session.last_t - session.first_t + 1.0 / fps) if session.frames and fps else 0.0,
        # A video that was not played to the end (stopped, or cut off part-way) gives a partial report; a camera
        # has no end to miss.
        interrupted=session.interrupted or (source is not None and (not played_to_end or result.source_failed)),
    )
    report = cli.build_spec_report(spec, session.summary, stats, source_desc)
    report["live"] = {
        "ended_by": result.ended_by,
        "source_failed": result.source_failed,
        "frames_dropped": result.frames_dropped,
        "resets": len(result.discarded),
        "reps_before_resets": [discarded.reps for discarded in result.discarded],
    }
    written = cli.save_report(report, out_dir, json_out, media=[record] if record is not None else [])
    written += outputs.finish(report, video=record)

    if print_json_only:
        sys.stdout.write(rpt.to_json(report))
        sys.stdout.flush()
    else:
        from rich.console import Console

        cli.print_summary(report, written, session, Console())
    typer.echo(_ending_line(result), err=True)

    if session.interrupted or stopping.received() is not None:
        raise typer.Exit(stopping.exit_code())
    if result.recording_failure is not None:
        raise InputError(f"the recording {record} stopped early ({result.recording_failure}) and holds only the "
                         f"frames before; report saved in {out_dir}")
    if source is None and result.source_ended:
        raise CameraError(f"{result.ended_by}; report saved in {out_dir}")
    if result.source_failed:
        raise InputError(f"{result.ended_by}; partial report saved in {out_dir}")
    if session.frames > 0 and session.frames_with_pose == 0:
        raise NoPersonError(
            f"no person found in any of the {session.frames} frames (is the whole body in view and lit?); "
            f"report saved in {out_dir}"
        )


def _run(spec, camera: int, source: Path | None, width, height, model, headless: bool, record, mirror,
         extra_sinks=()):
    """Opens the source and the model, runs the session, closes both."""
    from posecheck.sources.camera import CameraSource
    from posecheck.sources.paced_file import PacedFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator, running_mode_for
    from posecheck.estimators.model import resolve_model
    from posecheck.runtime.live import KEYS_HELP, run_live
    from posecheck.sinks.report import SourceDescription

    frames = PacedFileSource(source) if source is not None else CameraSource(camera, width, height)
    with frames:
        model_info = resolve_model(model)
        if not headless:
            typer.echo(f"Live view open ({source or f'camera {camera}'}): {KEYS_HELP}.", err=True)
        mode = running_mode_for(frames.info.fps)  # a slow camera or video: every frame on its own (no lag)
        with cli.quiet_native_stderr(), MediaPipeEstimator(model_info.path, running_mode=mode) as estimator:
            result = run_live(
                spec,
                frames,
                estimator,
                lambda: Engine(spec),
                window=not headless,
                record=record,
                mirror=(source is None) if mirror is None else mirror,
                extra_sinks=extra_sinks,
            )
        kind = "video" if source is not None else "camera"
        desc = SourceDescription(
            str(source) if source is not None else f"camera:{camera}", kind,
            (frames.info.width, frames.info.height), cli.describe_model(model_info), people=estimator.people,
        )
    return result, desc


def _ending_line(result) -> str:
    """How the session ended, frames dropped, and what a reset left out (one line, stderr)."""
    parts = [f"Session ended: {result.ended_by}"]
    if result.frames_dropped:
        parts.append(f"{result.frames_dropped} frames dropped (the computer fell behind the camera)")
    if result.discarded:
        before = sum(summary.reps for summary in result.discarded)
        times = "once" if len(result.discarded) == 1 else f"{len(result.discarded)} times"
        parts.append(f"count reset {times}; {before} reps before the reset are not in the report")
    return "; ".join(parts) + "."
