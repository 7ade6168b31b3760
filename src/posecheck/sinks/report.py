"""Analysis reports: the engine's `SessionSummary` plus frame statistics -> a versioned dict, JSON, CSV.

The report layout is documented in README.md ("Report format"); bump `SCHEMA_VERSION` whenever a field
changes meaning or disappears (adding a field does not need a bump). Times are seconds from the start of
the source; numbers are rounded to milliseconds / hundredths so reports diff cleanly. Reports hold no
wall-clock times or speeds, so analysing the same input twice gives the same file.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.version import __version__
from posecheck.engine.events import SessionSummary
from posecheck.errors import InputError

SCHEMA_VERSION = 1

#: Columns of reps.csv, in order.
CSV_COLUMNS = ("index", "side", "start", "end", "duration", "rom", "rom_unit", "tempo_ok", "cut_by_end", "cues")


@dataclass(frozen=True)
class FrameStats:
    """What the session loop counted, beside the engine's summary.

    Attributes:
        frames: frames analysed.
        frames_with_pose: frames in which a person was found.
        fps: frame rate of the source.
        duration: seconds covered (frames / fps; live: first to last frame, dropped frames included).
        interrupted: the analysis was stopped early (Ctrl-C, or a live --source video quit before its end);
            the report covers the frames before that.
    """

    frames: int
    frames_with_pose: int
    fps: float
    duration: float
    interrupted: bool = False


@dataclass(frozen=True)
class SourceDescription:
    """Where the frames came from.

    Attributes:
        path: the video or trace file as given.
        kind: "video", "trace" or "camera" (live).
        frame_size: (width, height) in pixels.
        model: for videos, {"name", "sha256", "origin"} of the pose model; for traces, the model recorded in
            the trace (if it says); None when unknown.
        people: how many people the frames showed (`MediaPipeEstimator.people`); None when not looked for
            (a trace).
    """

    path: str
    kind: str
    frame_size: tuple[int, int]
    model: dict[str, str] | None = None
    people: dict[str, int] | None = None


def build_report(
    summary: SessionSummary,
    stats: FrameStats,
    source: SourceDescription,
    *,
    rom_unit: str | None = None,
    target_reps: int | None = None,
    exercise_title: str | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict (see README.md, "Report format").

    Args:
        summary: what the engine counted.
        stats: frame counts from the session loop.
        source: the input.
        rom_unit: unit of the range of motion per rep (the unit of the spec's phase measure: "deg" or
            "torso" lengths).
        target_reps: the spec's target, if any.
        exercise_title: the spec's human name.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "posecheck_version": __version__,
        "exercise": summary.exercise,
        "exercise_title": exercise_title,
        "source": {
            "path": source.path,
            "kind": source.kind,
            "width": source.frame_size[0],
            "height": source.frame_size[1],
            "model": source.model,
            "people": dict(source.people) if source.people is not None else None,
        },
        "fps": _round(stats.fps, 3),
        "frames": stats.frames,
        "frames_with_pose": stats.frames_with_pose,
        "duration": _round(stats.duration, 3),
        "interrupted": stats.interrupted,
        "reps": summary.reps,
        "target_reps": target_reps,
        "reps_by_side": dict(summary.reps_by_side),
        "rep_list": [
            {
                "index": rep.index,
                "side": rep.side,
                "start": _round(rep.start, 3),
                "end": _round(rep.end, 3),
                "duration": _round(rep.duration, 3),
                "counted_at": _round(rep.counted_at, 3),
                "rom": _round(rep.rom_deg, 2),
                "rom_unit": rom_unit,
                "peaks": {name: _round(value, 2) for name, value in rep.peaks.items()},
                "tempo_ok": rep.tempo_ok,
                "cut_by_end": rep.cut_by_end,
                "cues": list(rep.cues),
            }
            for rep in summary.rep_list
        ],
        "holds": [
            {
                "side": hold.side,
                "start": _round(hold.start, 3),
                "end": _round(hold.end, 3),
                "seconds": _round(hold.seconds, 2),
                "target_seconds": _round(hold.target_seconds, 2),
                "target_met": hold.target_met,
            }
            for hold in summary.holds
        ],
        "cues": [
            {"t": _round(cue.t, 3), "rule": cue.rule, "text": cue.text, "severity": cue.severity}
            for cue in summary.cues
        ],
        "gaps": [
            {"start": _round(gap.start, 3), "end": _round(gap.end, 3), "duration": _round(gap.end - gap.start, 3)}
            for gap in summary.gaps
        ],
        "not_counted": not_counted(summary),
        "asymmetry": _round(summary.asymmetry, 3),
        "adaptive_range": (
            {name: [_round(low, 2), _round(high, 2)] for name, (low, high) in summary.adaptive_range.items()}
            if summary.adaptive_range
            else None
        ),
    }


def build_spec_report(spec, summary: SessionSummary, stats: FrameStats, source: SourceDescription) -> dict[str, Any]:
    """`build_report` for a session of ``spec`` (an `ExerciseSpec`): its title, its rep target and its phase
    measure's unit."""
    return build_report(
        summary,
        stats,
        source,
        rom_unit=spec.measures[spec.phases.measure].unit,
        target_reps=spec.target.reps,
        exercise_title=spec.title,
    )


def save_report(report: dict[str, Any], out_dir: str | Path, json_path: str | Path | None = None,
                media: Sequence[Path] = ()) -> list[Path]:
    """Writes report.json and reps.csv into ``out_dir``, and the report to ``json_path`` too when given.

    Returns:
        The files written, as a summary lists them: report.json, reps.csv, those of ``media`` (videos the
        session wrote) that exist, the ``json_path`` file.
    """
    out_dir = Path(out_dir)
    written = [write_json(report, out_dir / "report.json"), write_reps_csv(report, out_dir / "reps.csv")]
    written += [Path(path) for path in media if Path(path).exists()]
    if json_path is not None:
        written.append(write_json(report, json_path))
    return written


def not_counted(summary: SessionSummary) -> list[dict[str, Any]]:
    """The report's ``not_counted`` list: why counting paused or reps were refused (`SessionSummary.diagnostics`),
    most time first."""
    return [
        {
            "kind": d.kind,
            "reason": d.reason,
            "advice": d.advice,
            "seconds": _round(d.seconds, 2),
            "share": _round(d.share, 3),
            "count": d.count,
            "measure": d.measure,
            "value": _round(d.value, 3),
            "required": d.required,
            "unit": d.unit,
            "phase": d.phase,
            "side": d.side,
        }
        for d in summary.diagnostics
    ]


#: ``not_counted`` kinds that refused a rep the person made (as opposed to movements that never became one).
REFUSED_REP_KINDS = ("require", "min_excursion", "max_seconds", "cut_at_end")


def why_not_counted(report: dict[str, Any], limit: int = 2) -> tuple[str, list[dict[str, Any]]] | None:
    """What a summary should say about ``not_counted``: a heading and the top ``limit`` entries, or None.

    Nothing counted (no reps of an exercise with a rep target, or neither reps nor holds): the reasons that
    took most time, whatever their kind. Some reps counted: only entries that refused a rep the person made
    (`REFUSED_REP_KINDS`); a phase briefly refused during otherwise counted reps is left to the report.
    """
    entries = report.get("not_counted") or []
    if report["reps"] == 0 and (report["target_reps"] or not report["holds"]):
        if not entries and not report["target_reps"]:
            return None
        heading = "Why no reps were counted:" if report["target_reps"] else "Why nothing was counted:"
        return heading, entries[:limit]
    refused = [e for e in entries if e["kind"] in REFUSED_REP_KINDS and e["count"]]
    return ("Not counted:", refused[:limit]) if refused else None


def _round(value: float | None, digits: int) -> float | None:
    """Rounded for a stable, readable file; NaN and inf (not valid JSON) become None."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def to_json(report: dict[str, Any]) -> str:
    """The report as indented JSON text (strict JSON: no NaN)."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Writes ``report`` as JSON to ``path``; raises InputError if the file cannot be written."""
    return _write_text(Path(path), to_json(report))


def reps_csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per rep with the `CSV_COLUMNS` (cues joined with " | ")."""
    return [
        {
            **{column: rep[column] for column in CSV_COLUMNS if column != "cues"},
            "side": rep["side"] or "",
            "cues": " | ".join(rep["cues"]),
        }
        for rep in report["rep_list"]
    ]


def write_reps_csv(report: dict[str, Any], path: str | Path) -> Path:
    """Writes reps.csv (header + one row per rep); raises InputError if the file cannot be written."""
    path = Path(path)
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(reps_csv_rows(report))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _write_text(path: Path, text: str) -> Path:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
