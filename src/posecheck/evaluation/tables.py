"""Tables of an evaluation report, shared by the CLI's text output and benchmarks/ACCURACY.md: display
strings only, no scoring."""

from __future__ import annotations

from collections.abc import Sequence

from posecheck.evaluation.evaluate import Report
from posecheck.evaluation.scoring import ClipScore


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _hold_cell(score: ClipScore | None) -> str:
    if score is None or score.hold is None:
        return "-"
    return f"{score.hold.counted_s:.1f}/{score.hold.truth_s:.1f} ({score.hold.error_s:.1f})"


def _timing_cell(score: ClipScore | None) -> str:
    if score is None or score.matched is None or score.counted_reps == 0:
        return "-"
    return f"{score.matched}/{score.counted_reps} {_num(score.mean_start_offset_s, '{:+.1f}')}/{_num(score.mean_end_offset_s, '{:+.1f}')}"


def _timing_error_cell(start_error: float | None, end_error: float | None) -> str:
    """Mean |start| / |end| error in seconds, e.g. ``0.5/0.7``."""
    if start_error is None or end_error is None:
        return "-"
    return f"{start_error:.1f}/{end_error:.1f}"


def clip_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per-clip table: headers and rows of display strings.

    Columns: clip; exercise; truth reps; posecheck count; matched/counted reps with mean start/end
    offsets (s); the timing error (mean |start| / |end| offset, s); phantom reps; hold counted/true seconds (error); the baseline's count and phantoms;
    one count column per robustness variant; why the clip was skipped.
    """
    variant_names = report.variant_names()
    headers = ["clip", "exercise", "truth", "posecheck", "timing", "timing err s", "phantom", "hold s", "baseline", "base phantom"]
    headers += variant_names + ["note"]
    rows = []
    for c in report.clips:
        p, b = c.posecheck, c.baseline
        truth = "?" if c.label.reps is None else str(c.label.reps)
        row = [
            c.label.clip,
            c.label.exercise,
            truth,
            "-" if p is None else str(p.counted_reps),
            _timing_cell(p),
            "-" if p is None else _timing_error_cell(p.mean_abs_start_error_s, p.mean_abs_end_error_s),
            _num(None if p is None else p.phantoms, "{}"),
            _hold_cell(p),
            "-" if b is None else str(b.counted_reps),
            _num(None if b is None else b.phantoms, "{}"),
        ]
        row += [str(c.variants[name].counted_reps) if name in c.variants else "-" for name in variant_names]
        note = c.skipped or ""
        if c.label.near_miss_of is not None:
            note = f"shows {c.label.near_miss_of}: should count nothing" + (f"; {note}" if note else "")
        row.append(note)
        rows.append(row)
    return headers, rows


def not_counted_notes(report: Report, limit: int = 2) -> list[tuple[str, list[str]]]:
    """Why posecheck's count is off: (clip, its top ``limit`` not_counted reasons) for every clip whose count
    is wrong or zero (the CLI prints them under the clip table)."""
    notes = []
    for c in report.clips:
        p = c.posecheck
        if p is None or not p.not_counted or (p.count_error in (0, None) and p.counted_reps > 0):
            continue
        if p.counted_reps == 0 and p.truth_reps == 0:
            continue  # nothing to count, nothing counted: the reasons are the intended ones
        notes.append((c.label.clip, list(p.not_counted[:limit])))
    return notes


def totals_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Totals for posecheck and the baseline (same clips), and the baseline on all its clips."""

    def pct(x: float | None) -> str:
        return _num(None if x is None else 100 * x, "{:.0f}%")

    headers = ["counter", "clips", "scored", "MAE", "OBO", "exact", "phantom reps", "timing", "timing err s", "hold clips", "mean hold err s", "max hold err s"]
    rows = []
    named = [("posecheck", report.posecheck_totals), ("baseline (same clips)", report.baseline_totals)]
    named += [("baseline (all clips)", report.baseline_totals_all)]
    named += [(f"posecheck {name}", t) for name, t in report.variant_totals().items()]
    for name, t in named:
        rows.append(
            [
                name,
                str(t.clips),
                str(t.scored),
                pct(t.mae),
                pct(t.obo),
                pct(t.exact),
                str(t.phantoms),
                pct(t.timing_agreement),
                _timing_error_cell(t.mean_abs_start_error_s, t.mean_abs_end_error_s),
                str(t.hold_clips),
                _num(t.mean_hold_error_s),
                _num(t.max_hold_error_s),
            ]
        )
    return headers, rows


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)
