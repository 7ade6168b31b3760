"""`posecheck eval`: counting accuracy on labelled clips, next to an AIGym-style baseline.

Thin CLI over :mod:`posecheck.evaluation.evaluate`; registered on the main app by ``posecheck.cli.app``.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posecheck.cli.common import SpecsOption, quiet_native_stderr
from posecheck.errors import InputError, why_not_a_folder

if TYPE_CHECKING:  # pragma: no cover
    from posecheck.evaluation import evaluate as ev


def eval_command(
    labels: Annotated[Path, typer.Argument(help="labels.yaml: clip file name -> exercise, reps, rep_times, hold(s).", show_default=False)],
    videos: Annotated[
        Path | None,
        typer.Option("--videos", help="Folder of the clips: decode them and run the pose model (slow). Default: the labels' folder."),
    ] = None,
    traces: Annotated[
        Path | None,
        typer.Option("--traces", help="Folder of landmark traces <clip stem>.npz: replay them instead of decoding video (fast)."),
    ] = None,
    specs: SpecsOption = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this clip (file name or stem); repeat for more.")
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the report as JSON to this file; '-' prints only the JSON.")
    ] = None,
    variants: Annotated[
        bool,
        typer.Option("--variants", help="Also run each clip mirrored, at x0.75 and x1.5 speed, with landmark noise, and with the camera rolled 8 deg either way."),
    ] = False,
    views: Annotated[
        bool,
        typer.Option(
            "--views",
            help="Also run each clip as other cameras would have seen it: turned 30 and 60 deg either way, raised 20 and 40 deg (3D world landmarks re-projected).",
        ),
    ] = False,
    margins: Annotated[
        bool,
        typer.Option(
            "--margins",
            help="Instead of scoring counts, show how close the clips (and, with --variants/--views, their variants) come to every line each spec draws, in the measure's own unit; THIN marks a margin a new person could miss.",
        ),
    ] = False,
    as_exercise: Annotated[
        str | None,
        typer.Option(
            "--as-exercise",
            help="Run this exercise's spec on every selected clip; clips of other exercises should then count nothing (a false-positive check).",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", help="Baseline table (joint angle + up/down degrees per exercise). Default: the built-in AIGym-style table."),
    ] = None,
) -> None:
    """Measure rep counting and hold timing against hand-labelled clips.

    Runs every labelled clip through posecheck with the spec named by its `exercise` field and compares the counted reps, rep times and hold seconds with the labels. An AIGym-style counter (one joint angle, fixed up/down thresholds) runs on the same poses for comparison.

    Example: posecheck eval tests/data/labels.yaml --traces tests/data/traces --only cat_cow_01.mp4
    """
    from posecheck.evaluation import evaluate as ev
    from posecheck.evaluation.baseline import load_baseline_table
    from posecheck.evaluation.labels import load_labels, select_clips
    from posecheck.evaluation.runner import analyze_video, replay_trace
    from posecheck.evaluation.variants import VARIANTS, VIEW_VARIANTS

    if videos is not None and traces is not None:
        raise InputError("give either --videos or --traces, not both")
    clips = select_clips(load_labels(labels), only)
    rules = load_baseline_table(baseline)
    if traces is not None:
        if not traces.is_dir():
            raise InputError(why_not_a_folder(traces, "folder of traces"))
        source, run = "traces", partial(replay_trace, traces)
    else:
        videos_dir = videos if videos is not None else labels.parent
        if not videos_dir.is_dir():
            raise InputError(why_not_a_folder(videos_dir, "folder of videos"))
        source, run = "videos", partial(analyze_video, videos_dir)
    if specs is not None and not specs.is_dir():
        raise InputError(why_not_a_folder(specs, "spec folder"))

    def progress(clip: ev.ClipReport) -> None:
        # Decoding video takes seconds per clip: say where we are (stderr, so --json - stays clean).
        if source == "videos":
            done = f"skipped ({clip.skipped})" if clip.posecheck is None else f"{clip.posecheck.counted_reps} reps"
            typer.echo(f"{clip.label.clip}: {done}", err=True)

    chosen = (VARIANTS if variants else ()) + (VIEW_VARIANTS if views else ())
    # Decoding runs mediapipe, whose native libraries chatter on fd 2: silence them as analyze does.
    quiet = quiet_native_stderr() if source == "videos" else contextlib.nullcontext()
    if margins:
        with quiet:
            rows = ev.margin_report(clips, run, specs_dir=specs, variants=chosen)
        _print_margins(rows, json_out)
        return
    with quiet:
        report = ev.evaluate(
            clips,
            run,
            source=source,
            specs_dir=specs,
            baseline=rules,
            variants=chosen,
            as_exercise=as_exercise,
            on_clip=progress,
        )

    if json_out is not None and _write_json(report.to_dict(), json_out):
        return
    _print_report(report)


def _write_json(data, json_out: str) -> bool:
    """Writes ``data`` as JSON to the file ``json_out``, or to stdout for '-'; True when stdout got it (and
    nothing else may be printed there)."""
    text = json.dumps(data, indent=2)
    if json_out == "-":
        sys.stdout.write(text + "\n")
        return True
    try:
        Path(json_out).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {json_out}: {exc.strerror or exc}") from exc
    return False


def _print_not_counted(report: ev.Report, console) -> None:
    """Why posecheck's count is off on each clip, in its own words (report not_counted)."""
    from posecheck.evaluation.tables import not_counted_notes

    notes = not_counted_notes(report)
    if not notes:
        return
    console.print("Not counted (clips whose count is off or zero; posecheck's top reasons):", markup=False, highlight=False)
    for clip, reasons in notes:
        console.print(f"  {clip}", markup=False, highlight=False)
        for reason in reasons:
            console.print(f"    {reason}", markup=False, highlight=False)


def _table_console():
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        # Piped to a file or a pager: don't squeeze the tables into 80 columns.
        console = Console(width=max(console.width, 200))
    return console


def _print_report(report: ev.Report) -> None:
    from rich.table import Table

    from posecheck.evaluation.tables import clip_table, totals_table

    console = _table_console()
    for title, (headers, rows) in (
        (f"Per clip ({report.source}); timing = matched/counted reps, mean start/end offset s; timing err = mean |start|/|end| offset s; hold = counted/true s (error)", clip_table(report)),
        ("Totals (MAE = mean |counted - truth| / truth; OBO = within one rep)", totals_table(report)),
    ):
        if title.startswith("Totals"):
            _print_not_counted(report, console)  # under the clip table
        table = Table(title=title, title_justify="left")
        for i, header in enumerate(headers):
            # The first column (clip / counter name) should stay on one line; the rest may wrap.
            table.add_column(header, overflow="fold", no_wrap=i == 0)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _print_margins(rows, json_out: str | None) -> None:
    from dataclasses import asdict

    from rich.table import Table

    from posecheck.evaluation.margins import margin_table

    if json_out is not None:
        data = [
            {
                **asdict(r),
                # JSON has no infinity: an open side of a line is null.
                "line": {**asdict(r.line), "low": _finite(r.line.low), "high": _finite(r.line.high), "bound": r.line.bound},
                "thin": r.thin,
                "thin_in_variants": r.thin_in_variants,
            }
            for r in rows
        ]
        if _write_json(data, json_out):
            return
    console = _table_console()
    headers, body = margin_table(rows)
    table = Table(title="Margins: signed distance to each line (positive = passing side), in the line's unit", title_justify="left")
    for i, header in enumerate(headers):
        table.add_column(header, overflow="fold", no_wrap=i < 2)
    for row in body:
        table.add_row(*row)
    console.print(table)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
