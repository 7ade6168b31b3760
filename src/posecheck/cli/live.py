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

from posecheck.cli import common as cli
from posecheck.cli.common import (
    ModelOption,
    NoHistoryOption,
    ReportJsonOption,
    SpecsOption,
    VoiceNameOption,
    VoiceOption,
    VoiceRateOption,
)
from posecheck.runtime import stopping
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
    voice: VoiceOption = None,
    voice_rate: VoiceRateOption = None,
    voice_name: VoiceNameOption = None,
) -> None:
    """Live coaching in front of a camera: skeleton, count, hold timer and gentle cues as you move.

    Keys in the window: q or Esc quit, space pause/resume, r reset the count, m mirror.

    Closing the window, Ctrl-C or the end of the video (--source) also end the session. Every way out prints a summary and saves report.json and reps.csv, as analyze does.

    Without a display, --headless shows the count and the cues in the terminal.

    With a camera and a window a voice (espeak-ng) says the name, the counts, hold countdowns and cues; --voice turns it on for --source and --headless too.

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
    speaker = None
    try:
        # The voice is on by default only in front of a camera with a window: a person exercising. --source and
        # --headless replay clips (tests, CI, checking a recording) and stay quiet unless asked. An unknown
        # --voice-name is an error before anything ran, and leaves no folder behind.
        speaker = cli.open_speaker(voice, voice_rate, voice_name, default=source is None and not headless)
        result, source_desc = _run(spec, camera, source, width, height, model, headless, record, mirror,
                                   extra_sinks=outputs.sinks(), speaker=speaker)
        if source is not None and result.source_ended and not result.source_failed:
            # A video played to its end: a still image or a clip too short to count is one error line, as in
            # analyze, not "Reps: 0".
            from posecheck.api import refuse_too_short

            refuse_too_short(source, spec, result.session)
    except BaseException:
        outputs.abandon()
        if created:  # no camera, no model...: leave no empty folder behind
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    finally:
        if speaker is not None:
            speaker.close()  # lets the last line ("well done") finish, a few seconds at most

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
    report = rpt.build_spec_report(spec, session.summary, stats, source_desc)
    report["live"] = result.report_section()
    written = rpt.save_report(report, out_dir, json_out if json_out != "-" else None,
                              media=[record] if record is not None else [])
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
         extra_sinks=(), speaker=None):
    """Opens the camera (or the paced video) and the model through the one wiring, runs the live session."""
    from posecheck.engine.engine import Engine
    from posecheck.runtime import wiring
    from posecheck.runtime.live import KEYS_HELP, run_live

    opening = (wiring.open_video(source, model=model, paced=True) if source is not None
               else wiring.open_camera(camera, width=width, height=height, model=model))
    with cli.quiet_native_stderr(), opening as opened:
        if not headless:
            typer.echo(f"Live view open ({source or f'camera {camera}'}): {KEYS_HELP}.", err=True)
        result = run_live(
            spec,
            opened.source,
            opened.estimator,
            lambda: Engine(spec),
            window=not headless,
            record=record,
            mirror=(source is None) if mirror is None else mirror,
            extra_sinks=extra_sinks,
            speaker=speaker if speaker is not None and speaker.active else None,
        )
        desc = opened.description()
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
