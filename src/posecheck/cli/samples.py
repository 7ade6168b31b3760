"""``posecheck samples``: the sample clips (MIT, HonzaCzSk/polybag): list them, fetch them with checksum checks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from posecheck.errors import InputError, why_not_a_folder

log = logging.getLogger(__name__)

app = typer.Typer(
    help="Sample clips (MIT, HonzaCzSk/polybag): list them, fetch them with checksum checks.\n\n"
    "Example: posecheck samples fetch cat_cow_01",
    no_args_is_help=True,
    add_completion=False,
)


@app.command("list")
def samples_list(
    dest: Annotated[Path | None, typer.Option("--dest", help="Folder to look for fetched clips. Default: posecheck's cache.")] = None,
) -> None:
    """List the sample clips, their exercise and expected count, and whether they were fetched.

    Example: posecheck samples list
    """
    from rich.console import Console
    from rich.table import Table

    from posecheck.samples import default_dest, load_manifest

    folder = dest or default_dest()
    table = Table()
    for column in ("name", "exercise", "expected reps", "fetched"):
        table.add_column(column)
    for sample in load_manifest().samples:
        path = folder / sample.filename
        expected = "?" if sample.expected_reps is None else str(sample.expected_reps)
        if sample.expected_hold:
            expected += f" + hold {sample.expected_hold[1] - sample.expected_hold[0]:.0f} s"
        table.add_row(sample.name, sample.exercise, expected, str(path) if path.is_file() else "no")
    Console().print(table)


@app.command("fetch")
def samples_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Samples to fetch (default: all).", show_default=False)] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to put the clips. Default: posecheck's cache folder.")] = None,
    mirror: Annotated[
        Path | None,
        typer.Option("--mirror", help="Copy from this folder of <name>.mp4 files instead of downloading. Default: ../shared/videos beside the checkout, if present."),
    ] = None,
    no_mirror: Annotated[bool, typer.Option("--no-mirror", help="Always download, even if a mirror folder is found.")] = False,
) -> None:
    """Fetch sample clips (download or copy from a local mirror), verifying each sha256.

    Example: posecheck samples fetch cat_cow_01 --dest clips/
    """
    from posecheck.samples import default_dest, fetch, find_mirror, load_manifest

    chosen = load_manifest().select(names)
    folder = dest or default_dest()
    if mirror is not None and not mirror.is_dir():
        raise InputError(why_not_a_folder(mirror, "mirror folder"))
    found = None if (mirror is not None or no_mirror) else find_mirror()
    if found is not None:
        log.info("using the mirror folder %s where it has the clips", found)
    results = fetch(chosen, folder, mirror=mirror or found, mirror_optional=found is not None)
    for result in results:
        how = {"present": "already there", "mirror": "copied from the mirror", "download": "downloaded"}[result.how]
        typer.echo(f"{result.sample.name}: {result.path} ({how}, checksum ok)")
