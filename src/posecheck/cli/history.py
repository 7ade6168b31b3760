"""``posecheck history``, ``posecheck progress`` and ``posecheck report``: reading the session history back.

Registered by `posecheck.cli.app` (``LAZY_COMMANDS``). The work is done by `posecheck.history` (the store and
the daily trends) and `posecheck.sinks.html_report` (the progress report).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from posecheck.errors import InputError

_SINCE_HELP = "Only sessions started since then: 30d, 2w, 12h, or a date (2025-03-01)."
_UNTIL_HELP = "Only sessions started before then (same forms as --since)."
_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}

SinceOption = Annotated[str | None, typer.Option("--since", help=_SINCE_HELP, show_default=False)]
UntilOption = Annotated[str | None, typer.Option("--until", help=_UNTIL_HELP, show_default=False)]
ExerciseFilter = Annotated[str | None, typer.Option("--exercise", "-e", help="Only this exercise (its id).", show_default=False)]


def parse_moment(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """``30d`` / ``2w`` / ``12h`` before now, or an ISO date or date-time (local time) -> an aware datetime."""
    if text is None:
        return None
    now = now or datetime.now().astimezone()
    match = _RELATIVE.match(text.strip().lower())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"cannot read the time '{text}': use 30d, 2w, 12h or a date like 2025-03-01") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def _open_store():
    from posecheck.history.store import HistoryStore

    return HistoryStore()


def _local(started_at: str) -> str:
    return datetime.fromisoformat(started_at).astimezone().strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------------------------ history

history_app = typer.Typer(
    help="Your recorded sessions: list, export or delete them. Without a subcommand: the list.\n\n"
    "Every analyze and live session is recorded (--no-history skips it) in history.sqlite3 in your data "
    "folder ($POSECHECK_DATA_DIR).\n\nExample: posecheck history list --exercise cat-cow --since 30d",
    invoke_without_command=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@history_app.callback()
def _history_default(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        history_list(exercise=None, since=None, until=None, limit=None)


@history_app.command("list")
def history_list(
    exercise: ExerciseFilter = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Only the newest N sessions.", show_default=False)] = None,
) -> None:
    """List recorded sessions, oldest first: when, exercise, reps, holds, status.

    Example: posecheck history list --exercise cat-cow --since 2w
    """
    from rich.console import Console
    from rich.table import Table

    with _open_store() as store:
        sessions = store.sessions(exercise=exercise, since=parse_moment(since), until=parse_moment(until), limit=limit)
        path = store.path
    console = Console(soft_wrap=True)
    if not sessions:
        console.print(f"No sessions recorded{' for ' + exercise if exercise else ''} in {path}.", markup=False, highlight=False)
        return
    table = Table(title=f"Sessions in {path}", title_justify="left")
    for column, justify in (("id", "right"), ("started", "left"), ("exercise", "left"), ("how", "left"),
                            ("reps", "right"), ("hold s", "right"), ("duration s", "right"), ("status", "left")):
        table.add_column(column, justify=justify)
    for s in sessions:
        reps = "" if s.reps is None else str(s.reps)
        if s.reps_left is not None or s.reps_right is not None:
            reps += f" (L {s.reps_left or 0}, R {s.reps_right or 0})"
        if s.target_reps:
            reps += f" of {s.target_reps}"
        table.add_row(str(s.id), _local(s.started_at), s.exercise, s.mode, reps,
                      "" if s.hold_seconds is None else f"{s.hold_seconds:.1f}",
                      "" if s.duration is None else f"{s.duration:.0f}", s.status)
    console.print(table)


@history_app.command("delete")
def history_delete(
    session_ids: Annotated[list[int] | None, typer.Argument(help="Ids of the sessions to delete (see: history list).", show_default=False)] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="Delete every session that matches the filters (all of them without filters).")] = False,
    exercise: ExerciseFilter = None,
    since: SinceOption = None,
    until: UntilOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete sessions and everything recorded about them (reps, holds, cues, pain notes).

    Example: posecheck history delete 12 13    or    posecheck history delete --all --until 2025-01-01 --yes
    """
    with _open_store() as store:
        if session_ids:
            if all_sessions:
                raise InputError("give session ids or --all, not both")
            for session_id in session_ids:
                store.get(session_id)  # unknown ids: one clear error before anything is deleted
            chosen = list(session_ids)
        elif all_sessions:
            chosen = [s.id for s in store.sessions(exercise=exercise, since=parse_moment(since), until=parse_moment(until))]
        else:
            raise InputError("say which sessions to delete: their ids, or --all (with --exercise/--since/--until to narrow it)")
        if not chosen:
            typer.echo("No sessions match; nothing deleted.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(f"this would delete {len(chosen)} sessions; add --yes to confirm without a terminal")
            typer.confirm(f"Delete {len(chosen)} sessions from {store.path}?", abort=True)
        deleted = store.delete(chosen)
    typer.echo(f"Deleted {deleted} sessions.")


@history_app.command("export")
def history_export(
    output: Annotated[str, typer.Option("--output", "-o", metavar="FILE|-", help="Where to write ('-' = stdout).")] = "-",
    fmt: Annotated[str, typer.Option("--format", "-f", help="json (sessions with their reps, holds, cues and pain notes) or csv (one row per rep).")] = "json",
    exercise: ExerciseFilter = None,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Export sessions to JSON or CSV, to share with a physiotherapist or to analyse elsewhere.

    Example: posecheck history export --format csv --since 30d -o my_back_care.csv
    """
    if fmt not in ("json", "csv"):
        raise InputError(f"unknown export format '{fmt}': use json or csv")
    with _open_store() as store:
        data = store.export(store.sessions(exercise=exercise, since=parse_moment(since), until=parse_moment(until)))
    if fmt == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = _reps_csv(data)
    if output == "-":
        sys.stdout.write(text)
        return
    from posecheck.sinks.private_files import write_private_text

    write_private_text(Path(output), text)
    typer.echo(f"Wrote {output} ({len(data)} sessions)", err=True)


#: Columns of ``history export --format csv``: the session, then the rep (empty for a session without reps).
EXPORT_CSV_COLUMNS = ("session_id", "started_at", "exercise", "mode", "status", "session_reps", "hold_seconds",
                      "rep_index", "side", "start", "end", "duration", "rom", "rom_unit", "tempo_ok", "cut_by_end", "cues")


def _reps_csv(sessions: list[dict]) -> str:
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for s in sessions:
        base = {"session_id": s["id"], "started_at": s["started_at"], "exercise": s["exercise"], "mode": s["mode"],
                "status": s["status"], "session_reps": s["reps"], "hold_seconds": s["hold_seconds"]}
        if not s["rep_list"]:
            writer.writerow(base)
        for rep in s["rep_list"]:
            writer.writerow({**base, "rep_index": rep["index"], "side": rep["side"] or "", "start": rep["start"],
                             "end": rep["end"], "duration": rep["duration"], "rom": rep["rom"],
                             "rom_unit": rep["rom_unit"], "tempo_ok": rep["tempo_ok"], "cut_by_end": rep["cut_by_end"],
                             "cues": " | ".join(rep["cues"])})
    return out.getvalue()


@history_app.command("pain")
def history_pain(
    session_id: Annotated[int, typer.Argument(help="The session (see: history list).", show_default=False)],
    note: Annotated[str, typer.Argument(help="What hurt, and how much, e.g. 'lower back, 3 of 10'.", show_default=False)],
    at: Annotated[float | None, typer.Option("--at", help="Seconds into the session, if you know when.", show_default=False)] = None,
) -> None:
    """Note pain felt during a session; reports and exports show it beside the session.

    Example: posecheck history pain 12 "lower back twinge, 3 of 10" --at 40
    """
    with _open_store() as store:
        store.add_pain_flag(session_id, note, at)
    typer.echo(f"Noted for session {session_id}.")


# ------------------------------------------------------------------------------------------------ progress


def progress_command(
    exercise: Annotated[str, typer.Argument(help="Exercise id, e.g. cat-cow.", show_default=False)],
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Your trend for one exercise, per day: reps, range of motion per side, longest hold, tempo, asymmetry.

    The last row draws each column's trend as a sparkline (oldest day on the left).

    Example: posecheck progress cat-cow --since 30d
    """
    from rich.console import Console

    from posecheck.history.progress import daily_progress

    with _open_store() as store:
        days = daily_progress(store, exercise, since=parse_moment(since), until=parse_moment(until))
        path = store.path
    console = Console(soft_wrap=True)
    if not days:
        console.print(f"No sessions of {exercise} recorded in {path}.", markup=False, highlight=False)
        return
    console.print(progress_table(exercise, days))


def progress_table(exercise: str, days):
    """The rich Table of `progress_command`: one row per day, and a sparkline row."""
    from rich.table import Table

    from posecheck.history.progress import sparkline

    unit = next((d.rom_unit for d in days if d.rom_unit), None)
    sides = [side for side in ("left", "right") if any(side in d.rom for d in days)]
    rom_keys: list[str | None] = sides or ([None] if any(None in d.rom for d in days) else [])
    rom_fmt = "{:.0f}" if unit == "deg" else "{:.2f}"
    columns: list[tuple[str, list[float | None], str]] = [
        ("sessions", [d.sessions for d in days], "{:.0f}"),
        ("reps", [d.reps for d in days], "{:.0f}"),
    ]
    if sides:
        columns += [(f"reps {side[0].upper()}", [d.reps_by_side.get(side) for d in days], "{:.0f}") for side in sides]
    for key in rom_keys:
        name = "ROM" + (f" {key[0].upper()}" if key else "") + (f" ({unit})" if unit else "")
        columns.append((name, [d.rom.get(key) for d in days], rom_fmt))
    if any(d.hold_seconds is not None for d in days):
        columns.append(("longest hold s", [d.hold_seconds for d in days], "{:.1f}"))
    columns.append(("s per rep", [d.rep_seconds for d in days], "{:.1f}"))
    if any(d.asymmetry is not None for d in days):
        columns.append(("L/R asym %", [None if d.asymmetry is None else d.asymmetry * 100 for d in days], "{:+.0f}"))

    table = Table(title=f"{exercise}: progress per day", title_justify="left")
    table.add_column("day")
    for name, _, _ in columns:
        table.add_column(name, justify="right")
    for i, day in enumerate(days):
        table.add_row(day.day.isoformat(), *("" if values[i] is None else fmt.format(values[i]) for _, values, fmt in columns))
    table.add_section()
    table.add_row("trend", *(sparkline(values) for _, values, _ in columns))
    return table


# ------------------------------------------------------------------------------------------------ report


def report_command(
    since: SinceOption = "30d",
    until: UntilOption = None,
    exercise: ExerciseFilter = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The HTML file to write. Default: posecheck-progress-<date>.html", show_default=False)] = None,
) -> None:
    """Write a progress report: one self-contained HTML file with your trends over the sessions.

    Per exercise: sessions, reps, range of motion left and right, longest hold, tempo and asymmetry per
    day as plots, and the list of sessions. It needs no network when opened; share it as a file.

    Example: posecheck report --since 30d -o my_progress.html
    """
    from posecheck.history.progress import daily_progress
    from posecheck.sinks.html_report import write_progress_report

    start, end = parse_moment(since), parse_moment(until)
    with _open_store() as store:
        sessions = store.sessions(exercise=exercise, since=start, until=end)
        exercises = sorted({s.exercise for s in sessions})
        progress = {name: daily_progress(store, name, since=start, until=end) for name in exercises}
        pain = {s.id: store.pain_flags(s.id) for s in sessions}
    if not sessions:
        raise InputError(f"no sessions recorded{' for ' + exercise if exercise else ''} in that time; nothing to report")
    path = output or Path(f"posecheck-progress-{datetime.now().strftime('%Y-%m-%d')}.html")
    titles = {}
    for name in exercises:
        titles[name] = next((s.exercise_title for s in sessions if s.exercise == name and s.exercise_title), name)
    write_progress_report(path, sessions=sessions, progress=progress, titles=titles, pain=pain,
                          since=start, until=end)
    typer.echo(f"Wrote {path} ({len(sessions)} sessions, {len(exercises)} exercises)")
