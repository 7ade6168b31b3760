"""The routine's report: ``report.json`` (and a small ``report.html``) in the routine's output folder.

Same family as an exercise's report.json (schema version, posecheck version, rounded numbers): the routine,
then per step what was asked and what happened, each exercise run's own report as ``analyze`` builds it, the
totals, the pain flags and the log of what was said and pressed. README.md, "Report format", documents it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from posecheck.routines.runner import RoutineRunner, describe_target, step_spec
from posecheck.routines.schema import ExerciseStep, GuidedStep
from posecheck.version import __version__

SCHEMA_VERSION = 1


def build_routine_report(runner: RoutineRunner) -> dict[str, Any]:
    routine = runner.routine
    steps = []
    for record in runner.records:
        step = record.step
        spec = None
        if isinstance(step, ExerciseStep):
            spec = step_spec(runner.specs.load(step.exercise), step)
        reports = [run.report for run in record.runs if run.report is not None]
        holds = [hold for report in reports for hold in report["holds"]]
        entry: dict[str, Any] = {
            "number": record.number,
            "section": record.section.name,
            "kind": "guided" if isinstance(step, GuidedStep) else "exercise",
            "name": step.guided if isinstance(step, GuidedStep) else (step.name or spec.title),
            "exercise": step.exercise if isinstance(step, ExerciseStep) else None,
            "target": describe_target(step, spec),
            "target_reps": spec.target.reps if spec is not None and spec.reps is not None and not step.open_ended else None,
            "target_seconds": (spec.target.seconds if spec is not None else step.seconds) if not getattr(step, "open_ended", False) else None,
            "per_side": bool(spec.target.per_side) if spec is not None else False,
            "time_box": step.time_box if isinstance(step, ExerciseStep) else step.seconds,
            "status": record.status,
            "skipped": record.status in ("skipped", "not_reached"),
            "pain": bool(record.pain),
            "attempts": record.attempts,
            "seconds": round(record.seconds, 2),
            "reps": sum(report["reps"] for report in reports),
            "reps_by_side": _sum_sides(reports),
            "hold_seconds": round(max((hold["seconds"] for hold in holds), default=0.0), 2) if holds else None,
            "cues": sum(len(report["cues"]) for report in reports),
            "sources": [run.source for run in record.runs if run.source is not None],
            "folders": [str(run.out_dir.relative_to(runner.out_dir)) for run in record.runs if run.out_dir is not None],
            "reports": reports,
        }
        steps.append(entry)
    exercise_steps = [entry for entry in steps if entry["kind"] == "exercise"]
    totals = {
        "steps": len(steps),
        "exercise_steps": len(exercise_steps),
        "completed": sum(1 for entry in steps if entry["status"] in ("done", "time_up", "source_ended")),
        "skipped": sum(1 for entry in steps if entry["skipped"]),
        "pain": sum(1 for entry in steps if entry["pain"]),
        "reps": sum(entry["reps"] for entry in exercise_steps),
        "hold_seconds": round(sum(hold["seconds"] for entry in exercise_steps for report in entry["reports"]
                                  for hold in report["holds"]), 2),
        "cues": sum(entry["cues"] for entry in exercise_steps),
        "seconds": round(sum(entry["seconds"] for entry in steps), 2),
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "posecheck_version": __version__,
        "kind": "routine",
        "routine": {"id": routine.id, "title": routine.title, "source": routine.source, "minutes": routine.minutes},
        "ended_by": runner.ended_by,
        "completed": runner.ended_by == "completed" and all(entry["status"] != "not_reached" for entry in steps),
        "selected": [record.number for record in runner.selected],
        "steps": steps,
        "totals": totals,
        "pain_flags": [{"step": record.number, "t": None if t is None else round(t, 2)}
                       for record in runner.records for t in record.pain],
        "log": runner.log,
    }


def _sum_sides(reports: list[dict[str, Any]]) -> dict[str, int]:
    sides: dict[str, int] = {}
    for report in reports:
        for side, count in (report.get("reps_by_side") or {}).items():
            sides[side] = sides.get(side, 0) + count
    return sides


def write_routine_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Writes report.json and report.html (readable by the user only: they hold health data)."""
    from posecheck.sinks.private_files import make_private, write_private_text
    from posecheck.sinks.report import write_json

    report_json = write_json(report, out_dir / "report.json")
    make_private(report_json)
    return [report_json, write_private_text(out_dir / "report.html", routine_html(report))]


def routine_html(report: dict[str, Any]) -> str:
    """A self-contained page: the routine, a table of its steps (with links to each exercise's report.html)."""
    esc = html.escape
    rows = []
    for step in report["steps"]:
        links = " ".join(f'<a href="{esc(folder)}/report.html">{esc(Path(folder).name)}</a>' for folder in step["folders"])
        sides = step["reps_by_side"]
        reps = "" if step["kind"] == "guided" else str(step["reps"]) + (
            f" (L {sides.get('left', 0)}, R {sides.get('right', 0)})" if sides else "")
        rows.append(
            f"<tr><td>{step['number']}</td><td>{esc(step['section'])}</td><td>{esc(step['name'])}</td>"
            f"<td>{esc(step['target'])}</td><td>{reps}</td>"
            f"<td>{'' if step['hold_seconds'] is None else step['hold_seconds']}</td>"
            f"<td>{esc(step['status'].replace('_', ' '))}</td><td>{'yes' if step['pain'] else ''}</td>"
            f"<td>{step['seconds']:.0f}</td><td>{links}</td></tr>")
    totals = report["totals"]
    routine = report["routine"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(routine['title'])} - posecheck routine</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left}}</style></head>
<body><h1>{esc(routine['title'])}</h1>
<p>Ended: {esc(report['ended_by'])}. Steps completed: {totals['completed']} of {totals['steps']}, skipped
{totals['skipped']}, pain flagged {totals['pain']}. Reps: {totals['reps']}; hold time: {totals['hold_seconds']:.0f} s;
time: {totals['seconds']:.0f} s.</p>
<table><tr><th>#</th><th>section</th><th>step</th><th>target</th><th>reps</th><th>longest hold (s)</th>
<th>status</th><th>pain</th><th>time (s)</th><th>reports</th></tr>
{''.join(rows)}
</table>
<p>posecheck {esc(report['posecheck_version'])}. posecheck is not a medical device; stop if anything hurts.</p>
</body></html>
"""
