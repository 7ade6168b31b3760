"""``posecheck bench``: how fast the loop runs compared with the pose estimator alone, stage by stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from posecheck.cli.common import ModelOption, SpecsOption, quiet_native_stderr

app = typer.Typer(add_completion=False)


@app.command()
def bench(
    source: Annotated[Path | None, typer.Option("--source", help="Video file to run on.", show_default=False)] = None,
    camera: Annotated[int | None, typer.Option("--camera", help="Camera index to run on instead of a file.", show_default=False)] = None,
    frames: Annotated[int, typer.Option("--frames", min=2, help="Frames per run, warm-up included.")] = 300,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Frames at the start of each run that are not timed.")] = 30,
    exercise: Annotated[str, typer.Option("--exercise", "-e", help="Exercise id for the engine and the overlay.")] = "cat-cow",
    model: ModelOption = None,
    rounds: Annotated[
        int, typer.Option("--rounds", min=1, help="Run the loop and the bare estimator this often, alternately; the fastest of each counts.")
    ] = 1,
    stages: Annotated[bool, typer.Option("--stages/--no-stages", help="Time each stage alone.")] = True,
    engine: Annotated[bool, typer.Option("--engine/--no-engine", help="Time the engine alone on the recorded traces.")] = True,
    startup: Annotated[bool, typer.Option("--startup/--no-startup", help="Time `posecheck --help` and the first analysed frame.")] = True,
    specs: SpecsOption = None,
    json_out: Annotated[
        str | None, typer.Option("--json", metavar="FILE|-", help="Write the whole report as JSON to FILE; '-' prints only that to stdout.")
    ] = None,
) -> None:
    """Measure frame rates: the whole loop against the bare pose estimator on the same frames, each stage alone,
    the engine alone, memory, and start-up time.

    Figures drift from run to run on a busy machine; the ratios within one run (loop / estimator) are what
    to compare. Writes an annotated video to a temporary folder (deleted afterwards), like analyze does.

    Example: posecheck bench --source cat_cow_01.mp4 --frames 300
    """
    from posecheck.bench.report import format_report
    from posecheck.bench.run import BenchConfig, run_bench
    from posecheck.errors import InputError

    if (source is None) == (camera is None):
        raise InputError("give either --source FILE or --camera N")
    config = BenchConfig(source=source, camera=camera, frames=frames, warmup=warmup, exercise=exercise, model=model,
                         rounds=rounds, stages=stages, engine=engine, startup=startup, specs_dir=specs)
    print_json_only = json_out == "-"

    def progress(text: str) -> None:
        typer.echo(f"... {text}", err=True)

    with quiet_native_stderr():
        report = run_bench(config, progress=progress)
    text = json.dumps(report, indent=2) + "\n"
    if print_json_only:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if json_out:
        try:
            Path(json_out).write_text(text)
        except OSError as exc:
            raise InputError(f"cannot write {json_out}: {exc.strerror or exc}") from exc
    typer.echo(format_report(report), nl=False)
