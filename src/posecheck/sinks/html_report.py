"""report.html: one self-contained file a person (or their physiotherapist) can open in any browser.

Plots are drawn with matplotlib as SVG and embedded as data: URIs (each plot's SVG ids stay its own), the
page is filled from a jinja2 template (`posecheck/templates/`), and its Content-Security-Policy forbids
every network request: opened from a file, it works with no network at all. The only thing it may load is
the session's own video beside it (annotated.mp4), when there is one.

Two reports:
  * `write_session_report`: one session (analyze, live): the summary, the main measures over time with the
    reps shaded and phases and cues marked, left against right, the table of reps.
  * `write_progress_report`: sessions over days (``posecheck report --since 30d``): the trends per exercise.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.version import __version__
from posecheck.specs.labels import measure_heading, measure_label, phase_label, split_side

#: The plots' axes background. Tests find the plot areas in a screenshot by this colour, so keep it unique
#: on the page (the page's own colours are in the template).
PLOT_FACE = "#eef3fa"
LEFT_COLOUR = "#1f77b4"
RIGHT_COLOUR = "#d95f02"
NEUTRAL_COLOUR = "#4c566a"
REP_SHADE = "#7fb77e"
CUE_COLOUR = "#b3261e"
PHASE_COLOURS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5", "#d9d9d9")
#: At most this many measures are plotted over time (the main one first); all are in measures.csv.
MAX_MEASURE_PLOTS = 6
FIG_WIDTH_IN = 10.0


def _figure(height_in: float, rows: int = 1, cols: int = 1, **kwargs):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(FIG_WIDTH_IN, height_in), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    for ax in axes.flat:
        ax.set_facecolor(PLOT_FACE)
        ax.grid(True, color="white", linewidth=1.0)
        ax.set_axisbelow(True)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    return fig, axes


def _svg_uri(fig) -> str:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "posecheck", "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _template(name: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("posecheck", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(name)


def _write(path: Path, html: str) -> Path:
    from posecheck.sinks.private_files import write_private_text

    return write_private_text(Path(path), html)


# ------------------------------------------------------------------------------------------------ session


def _plotted_keys(spec, frames) -> list[str]:
    """The measures to plot: the phase measure (both sides for a per-side one) first, then the others."""
    keys = [key for key in frames.values if np.isfinite(frames.values[key]).any()]
    main = spec.phases.measure if spec is not None else None
    first = [key for key in keys if split_side(key)[0] == main or key == main]
    return (first + [key for key in keys if key not in first])[:MAX_MEASURE_PLOTS]


def _side_colour(side: str | None) -> str:
    return {"left": LEFT_COLOUR, "right": RIGHT_COLOUR}.get(side or "", NEUTRAL_COLOUR)


def measures_plot(report: dict, spec, frames) -> str | None:
    """The main measures over time: reps shaded (numbered), phases as a coloured strip, cues marked."""
    keys = _plotted_keys(spec, frames)
    if not keys or len(frames) == 0:
        return None
    from matplotlib.patches import Patch

    rows = len(keys) + 1  # the phase strip below
    heights = [3.0] + [1.8] * (len(keys) - 1) + [0.5]
    fig, axes = _figure(sum(heights) + 0.6, rows, 1, sharex=True, gridspec_kw={"height_ratios": heights})
    t = frames.t
    for ax, key in zip(axes[:-1, 0], keys):
        ax.plot(t, frames.values[key], color=_side_colour(split_side(key)[1]), linewidth=1.4)
        ax.set_title(measure_heading(spec, key), fontsize=8, loc="left")
        for rep in report["rep_list"]:
            ax.axvspan(rep["start"], rep["end"], color=REP_SHADE, alpha=0.25, linewidth=0)
        for gap in report["gaps"]:
            ax.axvspan(gap["start"], gap["end"], color="#999999", alpha=0.3, hatch="//", linewidth=0)
    top = axes[0, 0]
    ymin, ymax = top.get_ylim()
    for rep in report["rep_list"]:
        label = "rep " + str(rep["index"]) + (f" {rep['side']}" if rep["side"] else "")
        top.text((rep["start"] + rep["end"]) / 2, ymax, label, ha="center", va="top", fontsize=7, color="#2e5e2d")
    for cue in report["cues"]:
        top.axvline(cue["t"], color=CUE_COLOUR, linewidth=0.8, linestyle="--")
        top.plot([cue["t"]], [ymin], marker="^", color=CUE_COLOUR, markersize=7, clip_on=False)
    fig.suptitle("green: reps; red marks: cues; hatched: person not seen", fontsize=8, x=0.01, ha="left", color="#5b6472")

    strip = axes[-1, 0]
    phases = [phase for phase in dict.fromkeys(frames.phase) if phase is not None]
    colours = {phase: PHASE_COLOURS[i % len(PHASE_COLOURS)] for i, phase in enumerate(phases)}
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.04
    start = 0
    for i in range(1, len(t) + 1):
        if i == len(t) or frames.phase[i] != frames.phase[start]:
            if frames.phase[start] is not None:
                strip.broken_barh([(t[start], (t[i - 1] - t[start]) + step)], (0, 1), color=colours[frames.phase[start]])
            start = i
    strip.set_yticks([])
    strip.set_ylabel("phase", fontsize=8)
    strip.set_xlabel("time (s)")
    strip.grid(False)
    if phases:
        strip.legend(handles=[Patch(color=colours[p], label=phase_label(spec, p)) for p in phases],
                     loc="upper center", bbox_to_anchor=(0.5, -0.9), ncols=min(len(phases), 6), fontsize=8, frameon=False)
    return _svg_uri(fig)


def per_rep_plot(report: dict) -> str | None:
    """Range of motion and duration of every rep, coloured by side."""
    reps = report["rep_list"]
    if not reps:
        return None
    fig, axes = _figure(3.2, 1, 2)
    index = [rep["index"] for rep in reps]
    colours = [_side_colour(rep["side"]) for rep in reps]
    unit = reps[0]["rom_unit"] or ""
    axes[0, 0].bar(index, [rep["rom"] or 0.0 for rep in reps], color=colours)
    axes[0, 0].set_title(f"Range of motion per rep ({_unit_words(unit)})", fontsize=9, loc="left")
    axes[0, 1].bar(index, [rep["duration"] or 0.0 for rep in reps], color=colours)
    axes[0, 1].set_title("Duration per rep (s)", fontsize=9, loc="left")
    for ax in axes[0]:
        ax.set_xlabel("rep")
        ax.set_xticks(index)
    return _svg_uri(fig)


def left_right_plot(report: dict) -> str | None:
    """Left against right: reps counted, mean range of motion, mean seconds per rep (alternating exercises)."""
    reps = report["rep_list"]
    sides = [side for side in ("left", "right") if any(rep["side"] == side for rep in reps)]
    if len(sides) < 2 and not report["reps_by_side"]:
        return None
    sides = ["left", "right"]
    fig, axes = _figure(2.8, 1, 3)
    unit = next((rep["rom_unit"] for rep in reps if rep["rom_unit"]), "")

    def mean(side: str, field: str) -> float:
        values = [rep[field] for rep in reps if rep["side"] == side and rep[field] is not None and not rep["cut_by_end"]]
        return float(np.mean(values)) if values else 0.0

    panels = (
        ("Reps", [report["reps_by_side"].get(side, 0) for side in sides], "{:.0f}"),
        (f"Mean range of motion ({_unit_words(unit)})", [mean(side, "rom") for side in sides], "{:.1f}" if unit == "deg" else "{:.2f}"),
        ("Mean seconds per rep", [mean(side, "duration") for side in sides], "{:.1f}"),
    )
    for ax, (title, values, fmt) in zip(axes[0], panels):
        bars = ax.bar(sides, values, color=[LEFT_COLOUR, RIGHT_COLOUR])
        ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8)
        ax.set_title(title, fontsize=9, loc="left")
    return _svg_uri(fig)


def _unit_words(unit: str | None) -> str:
    from posecheck.specs.labels import UNIT_WORDS

    return UNIT_WORDS.get(unit or "", unit or "")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def write_session_report(path: str | Path, report: dict, spec, frames=None, *, video: Path | None = None) -> Path:
    """Writes report.html for one session.

    Args:
        path: the file to write (report.html beside report.json).
        report: the `posecheck.sinks.report.build_report` dict.
        spec: the exercise spec (names for people); None uses the internal names.
        frames: the session's `MeasureFrames`; None leaves out the plot over time.
        video: the session's video, linked by its path relative to the report when given.
    """
    path = Path(path)
    unit = next((rep["rom_unit"] for rep in report["rep_list"] if rep["rom_unit"]), None)
    rom_digits = 0 if unit == "deg" else 2
    plots = [
        ("Measures over time", measures_plot(report, spec, frames) if frames is not None else None),
        ("Left and right", left_right_plot(report)),
        ("Every rep", per_rep_plot(report)),
    ]
    measure_names = []
    if spec is not None:
        for name in spec.measures:
            measure_names.append({"name": name, "label": measure_heading(spec, name),
                                  "main": name == spec.phases.measure})
    rel_video = None
    if video is not None:
        try:
            rel_video = Path(video).resolve().relative_to(path.resolve().parent).as_posix()
        except ValueError:
            rel_video = Path(video).resolve().as_uri()
    html = _template("session.html.j2").render(
        title=report.get("exercise_title") or report["exercise"],
        report=report,
        seen_percent=(report["frames_with_pose"] / report["frames"] * 100) if report["frames"] else 0.0,
        rom_unit=_unit_words(unit),
        reps=[{**rep, "rom_text": _fmt(rep["rom"], rom_digits), "duration_text": _fmt(rep["duration"]),
               "start_text": _fmt(rep["start"])} for rep in report["rep_list"]],
        main_measure=measure_label(spec, spec.phases.measure) if spec is not None else None,
        measure_names=measure_names,
        plots=[(title, uri) for title, uri in plots if uri],
        video=rel_video,
        version=__version__,
    )
    return _write(path, html)


# ------------------------------------------------------------------------------------------------ progress


def progress_plot(days: Sequence[Any]) -> str | None:
    """One exercise's trends per day: reps, range of motion per side, longest hold, seconds per rep, asymmetry."""
    if not days:
        return None
    x = [datetime.combine(d.day, datetime.min.time()) for d in days]
    panels: list[tuple[str, list[tuple[str | None, list[float | None]]]]] = [
        ("Reps per day", [(None, [d.reps for d in days])]),
    ]
    rom_keys = [k for k in ("left", "right", None) if any(k in d.rom for d in days)]
    unit = _unit_words(next((d.rom_unit for d in days if d.rom_unit), None))
    if rom_keys:
        panels.append((f"Mean range of motion ({unit})", [(k, [d.rom.get(k) for d in days]) for k in rom_keys]))
    if any(d.hold_seconds is not None for d in days):
        panels.append(("Longest hold (s)", [(None, [d.hold_seconds for d in days])]))
    if any(d.rep_seconds is not None for d in days):
        panels.append(("Seconds per rep (tempo)", [(None, [d.rep_seconds for d in days])]))
    if any(d.asymmetry is not None for d in days):
        panels.append(("Left/right asymmetry of range (%)",
                       [(None, [None if d.asymmetry is None else d.asymmetry * 100 for d in days])]))
    cols = 2
    rows = math.ceil(len(panels) / cols)
    fig, axes = _figure(2.6 * rows + 0.4, rows, cols, sharex=True)
    import matplotlib.dates as mdates

    for ax, (title, series) in zip(axes.flat, panels):
        for side, values in series:
            ys = [np.nan if v is None else v for v in values]
            ax.plot(x, ys, marker="o", color=_side_colour(side), label=side or None, linewidth=1.5, markersize=4)
        if any(side for side, _ in series):
            ax.legend(fontsize=8, frameon=False)
        ax.set_title(title, fontsize=9, loc="left")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return _svg_uri(fig)


def write_progress_report(path: str | Path, *, sessions, progress: dict[str, list], titles: dict[str, str],
                          pain: dict[int, list[dict]], since: datetime | None, until: datetime | None) -> Path:
    """Writes the progress report: per exercise its trends per day, then every session and pain note."""
    exercises = []
    for name, days in progress.items():
        exercises.append({
            "name": name, "title": titles.get(name, name), "plot": progress_plot(days),
            "days": [{"day": d.day.isoformat(), "sessions": d.sessions, "reps": d.reps,
                      "rom": ", ".join(f"{(k or 'both')}: {v:.1f}" for k, v in d.rom.items()),
                      "hold": _fmt(d.hold_seconds), "tempo": _fmt(d.rep_seconds),
                      "asymmetry": "" if d.asymmetry is None else f"{d.asymmetry * 100:+.0f} %"} for d in days],
        })
    rows = [{"id": s.id, "started": datetime.fromisoformat(s.started_at).astimezone().strftime("%Y-%m-%d %H:%M"),
             "exercise": titles.get(s.exercise, s.exercise), "mode": s.mode, "status": s.status,
             "reps": "" if s.reps is None else s.reps, "hold": _fmt(s.hold_seconds),
             "duration": _fmt(s.duration, 0), "pain": [flag["note"] for flag in pain.get(s.id, [])]}
            for s in sessions]
    html = _template("progress.html.j2").render(
        since=since.strftime("%Y-%m-%d") if since else None,
        until=until.strftime("%Y-%m-%d") if until else None,
        exercises=exercises, sessions=rows, version=__version__,
        made=datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    return _write(Path(path), html)
