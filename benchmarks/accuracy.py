"""Regenerates benchmarks/ACCURACY.md: posecheck's counting accuracy on the labelled clips, next to the
AIGym-style baseline, with the robustness variants (mirrored, x0.75 / x1.5 speed, landmark noise, camera roll),
the synthetic camera views (yaw +-30 / +-60 deg, camera raised 20 / 40 deg) and the margin report.

Usage (from the repository root):
    python benchmarks/accuracy.py                       # replay tests/data/traces (fast, no mediapipe)
    python benchmarks/accuracy.py --videos ../shared/videos   # decode the clips and run the pose model
    python benchmarks/accuracy.py --out -               # print the markdown instead of writing the file

It is `posecheck eval LABELS --traces tests/data/traces --variants --views` (and `--margins`) written out as
markdown, with the
machine, the commit and the date, followed by benchmarks/ACCURACY_NOTES.md (written by hand: the video run,
and where and why the targets are not met; update it when the figures change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from functools import partial
from pathlib import Path

from posecheck.bench.machine import cpu_model, package_version

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LABELS = ROOT / "tests" / "data" / "labels.yaml"
DEFAULT_TRACES = ROOT / "tests" / "data" / "traces"
DEFAULT_OUT = ROOT / "benchmarks" / "ACCURACY.md"
NOTES = ROOT / "benchmarks" / "ACCURACY_NOTES.md"

USAGE_NOTE = """\
## Using the harness while writing a spec

```sh
# one clip, replaying its committed landmark trace (fast, no mediapipe):
posecheck eval tests/data/labels.yaml --traces tests/data/traces --only cat_cow_01.mp4
# every clip of your exercise, with the robustness variants (mirrored, x0.75 / x1.5 speed, 0.5 % noise, camera rolled 8 deg)
# and the synthetic camera views (turned 30 / 60 deg either way, raised 20 / 40 deg):
posecheck eval tests/data/labels.yaml --traces tests/data/traces --only cat_cow_01 --only cat_cow_03 --variants --views
# how close those clips and variants come to every line the spec draws (THIN: a new person may miss it):
posecheck eval tests/data/labels.yaml --traces tests/data/traces --only cat_cow_01 --only cat_cow_03 --margins --variants --views
# false positives: run your spec on every clip; clips of other exercises should count nothing and time no hold:
posecheck eval tests/data/labels.yaml --traces tests/data/traces --as-exercise cat-cow
# machine-readable: --json -     a spec folder of your own: --specs DIR     decode the videos instead: --videos DIR
python -m pytest -q tests/test_accuracy.py -k cat-cow   # the checks the specs must pass
```
Columns: `timing` = counted reps matched one-to-one to a labelled rep / counted, then the mean start/end offset
(counted - labelled, s); `phantom` = counted reps overlapping no labelled rep (walking in, setup, holds);
`hold s` = counted / labelled hold seconds (error). Targets: exact count on >= 90 % of scored clips, every clip
within one rep, hold time within 1 s, zero phantom reps, clearly ahead of the baseline.
"""


def _version(dist: str) -> str:
    return package_version(dist) or "not installed"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _commit() -> str:
    commit = _git("rev-parse", "--short=12", "HEAD")
    # Uncommitted changes to what decides the counts make the commit alone not reproduce the numbers.
    dirty = _git("status", "--porcelain", "--", "src", "exercise_specs", "tests/data")
    return f"{commit} (with uncommitted changes to src/, exercise_specs/ or tests/data/)" if dirty else commit


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def render(report, *, command: str, labels: Path, margin_rows=None) -> str:
    """The ACCURACY.md text for a report."""
    from posecheck.evaluation.margins import THIN
    from posecheck.evaluation.tables import clip_table, markdown_table, totals_table
    from posecheck.evaluation.variants import NOISE_SEED, NOISE_SIGMA_FRAC, ROLL_DEGREES

    p = report.posecheck_totals
    b = report.baseline_totals
    skipped = [c for c in report.clips if c.posecheck is None]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f} %"

    def check(ok: bool) -> str:
        return "met" if ok else "NOT met"

    within_one = p.obo == 1.0  # every scored clip within one rep (None when no clip was scored)
    hold_ok = p.max_hold_error_s is None or p.max_hold_error_s <= 1.0
    ahead = p.mae is not None and b.mae is not None and p.mae < b.mae and (p.exact or 0) > (b.exact or 0)
    lines = [
        "# Counting accuracy on the labelled clips",
        "",
        USAGE_NOTE,
        "## Run",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Commit: {_commit()}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        (f"- Python {platform.python_version()}, mediapipe {_version('mediapipe')}, numpy {_version('numpy')},"
        f" opencv-contrib-python {_version('opencv-contrib-python')}"),
        f"- Poses from: {report.source} ({'committed landmark traces, replayed' if report.source == 'traces' else 'videos decoded and run through MediaPipe'})",
        f"- Labels: `{_relative(labels)}` ({len(report.clips)} clips; {len(skipped)} skipped for posecheck)",
        "",
        "Reproduce:",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Totals",
        "",
        ("MAE = mean |counted - truth| / truth over scored clips with truth > 0; OBO = share of scored clips within"
        " one rep; exact = share with the exact count; phantom reps = counted reps overlapping no labelled rep;"
        " timing = counted reps matched one-to-one to a labelled rep / counted; hold error = worst labelled"
        " hold's |timed - labelled| seconds per clip (or untimed-hold seconds, if larger). The baseline is"
        " scored on the same clips as posecheck (and, for reference, on every clip it has a rule for)."),
        "",
        markdown_table(*totals_table(report)),
        "",
        "Targets:",
        "",
        f"- exact count on >= 90 % of scored clips: {pct(p.exact)} ({check(p.exact is not None and p.exact >= 0.9)})",
        f"- every scored clip within one rep: {pct(p.obo)} ({check(within_one)})",
        f"- hold time within 1 s: worst {('-' if p.max_hold_error_s is None else f'{p.max_hold_error_s:.2f} s')} ({check(hold_ok)})",
        f"- zero phantom reps: {p.phantoms} ({check(p.phantoms == 0)})",
        (f"- ahead of the baseline (lower MAE, more exact counts): posecheck MAE {pct(p.mae)} / exact {pct(p.exact)},"
        f" baseline MAE {pct(b.mae)} / exact {pct(b.exact)} ({check(ahead)})"),
        "",
        "## Camera views",
        "",
        view_targets(report),
        "",
        "## Why reps were not counted",
        "",
        silent_zeros(report),
        "",
        ("posecheck's own reasons (report.json's `not_counted`, the first two) on every clip whose count is off"
        " or zero, as filmed, and on each variant or view where the count differs from the label:"),
        "",
        not_counted_section(report),
        "",
        "## Per clip",
        "",
        ("`truth ?` = the count could not be told (`reps: null`), not scored. Variant columns are posecheck's count"
        " on the same poses mirrored, played at x0.75 / x1.5 speed, with gaussian landmark noise"
        f" (sigma {NOISE_SIGMA_FRAC:.1%} of the frame's larger side, seed {NOISE_SEED}), and with the"
        f" camera rolled {ROLL_DEGREES:g} deg either way (landmarks rotated about the frame's centre)."),
        "",
        markdown_table(*clip_table(report)),
        "",
        ("View columns (`yaw-30` ... `elev40`): the same poses as a camera turned about the person or raised and"
        " pitched down would have seen them, rebuilt from MediaPipe's 3D world landmarks"
        " (`src/posecheck/evaluation/views.py` says how, and what such a variant cannot model: occlusion, and the"
        " pose model's own errors at the new angle)."),
        "",
    ]
    if margin_rows is not None:
        from posecheck.evaluation.margins import margin_table

        thin = [r for r in margin_rows if r.thin or r.thin_in_variants]
        lines += [
            "## Margins",
            "",
            ("How close the clips as filmed, and their variants and views, come to every line each spec draws:"
            " the signed distance in the line's own unit (deg, torso lengths, `range` = a fraction of the"
            " person's learned range, `ratio` = the view gate's shoulder width / torso length), positive on the"
            " passing side. `reach`: the far phase, best value per labelled rep, worst rep; `return`: back into"
            " the last phase after the extreme; `also`: the far phase's extra conditions where it is reached;"
            " `require`: all through each rep (5th percentile); `start`: the start position, best value before the"
            " first rep is over; `hold`: through each labelled hold (10th percentile); `view`: the median view"
            " ratio against the gate. THIN = on the failing side or nearer than twice the measure's noise"
            f" ({', '.join(f'{v:g} {k}' for k, v in THIN.items())}): a line a new person may miss."
            f" {len(thin)} of {len(margin_rows)} lines are thin somewhere."),
            "",
            "Reproduce: `posecheck eval tests/data/labels.yaml --traces tests/data/traces --margins --variants --views`",
            "",
            markdown_table(*margin_table(margin_rows)),
            "",
        ]
    return "\n".join(lines)


def silent_zeros(report) -> str:
    """The 'no silent zeros' target: every clip (and variant) with labelled reps that posecheck counts 0 on
    names a reason."""
    zeros = silent = 0
    for clip in report.clips:
        scores = ([("as filmed", clip.posecheck)] if clip.posecheck else []) + list(clip.variants.items())
        for _, score in scores:
            if score is not None and (score.truth_reps or 0) > 0 and score.counted_reps == 0:
                zeros += 1
                silent += not score.not_counted
    ok = "met" if silent == 0 else "NOT met"
    return (f"- No silent zeros: {zeros} runs (clips, variants and views) counted 0 of a labelled count; {silent}"
            f" of them gave no reason ({ok}).")


def not_counted_section(report) -> str:
    """A table: clip, where (as filmed or the variant), counted / labelled, posecheck's first two reasons."""
    from posecheck.evaluation.tables import markdown_table

    rows = []
    for clip in report.clips:
        scores = ([("as filmed", clip.posecheck)] if clip.posecheck else []) + list(clip.variants.items())
        for where, score in scores:
            if score is None or score.truth_reps is None or score.count_error in (0, None) or not score.not_counted:
                continue
            reasons = " / ".join(text.replace("|", "/") for text in score.not_counted[:2])
            rows.append([clip.label.clip, where, f"{score.counted_reps}/{score.truth_reps}", reasons])
    if not rows:
        return "(none)"
    return markdown_table(["clip", "where", "counted/labelled", "posecheck's reasons"], rows)


#: The issue's targets for the synthetic views: name -> (metric, level).
VIEW_TARGETS = {
    "yaw-30": ("exact", 0.85), "yaw+30": ("exact", 0.85), "elev20": ("exact", 0.85),
    "yaw-60": ("obo", 0.80), "yaw+60": ("obo", 0.80),
}


def view_targets(report) -> str:
    """The targets for the camera views, met or not, one line each."""
    totals = report.variant_totals()
    out = []
    for name, (metric, level) in VIEW_TARGETS.items():
        t = totals.get(name)
        if t is None:
            continue
        value = getattr(t, metric)
        ok = value is not None and value >= level and (metric != "exact" or t.phantoms == 0)
        label = "exact count" if metric == "exact" else "within one rep"
        extra = f", {t.phantoms} phantom reps" if metric == "exact" else ""
        shown = "-" if value is None else f"{100 * value:.0f} %"
        out.append(f"- {name}: {label} on {shown} of {t.scored} clips{extra} (target >= {100 * level:.0f} %"
                   f"{', 0 phantoms' if metric == 'exact' else ''}: {'met' if ok else 'NOT met'})")
    return "\n".join(out) if out else "(views not run)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="labels.yaml (default: tests/data/labels.yaml)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--traces", type=Path, default=None, help="folder of traces (default: tests/data/traces)")
    source.add_argument("--videos", type=Path, default=None, help="folder of videos: decode and run the pose model")
    parser.add_argument("--specs", type=Path, default=None, help="extra spec folder (as posecheck --specs)")
    parser.add_argument("--no-variants", action="store_true", help="skip the robustness variants and camera views")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="output markdown file, '-' for stdout")
    args = parser.parse_args(argv)

    from posecheck.errors import PosecheckError
    from posecheck.evaluation.baseline import load_baseline_table
    from posecheck.evaluation.evaluate import evaluate, margin_report
    from posecheck.evaluation.labels import load_labels
    from posecheck.evaluation.runner import analyze_video, replay_trace
    from posecheck.evaluation.variants import VARIANTS, VIEW_VARIANTS

    try:
        labels = load_labels(args.labels)
        if args.videos is not None:
            source_name, run = "videos", partial(analyze_video, args.videos)
        else:
            source_name, run = "traces", partial(replay_trace, args.traces or DEFAULT_TRACES)
        report = evaluate(
            labels,
            run,
            source=source_name,
            specs_dir=args.specs,
            baseline=load_baseline_table(),
            variants=() if args.no_variants else VARIANTS + VIEW_VARIANTS,
            on_clip=lambda c: print(f"{c.label.clip}: {c.skipped or f'{c.posecheck.counted_reps} reps'}", file=sys.stderr),
        )
        margin_rows = margin_report(
            labels, partial(replay_trace, args.traces or DEFAULT_TRACES), specs_dir=args.specs,
            variants=() if args.no_variants else VARIANTS + VIEW_VARIANTS,
        ) if args.videos is None else None
    except PosecheckError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code

    command = "python benchmarks/accuracy.py" + "".join(
        f" {flag} {_relative(value)}"
        for flag, value in (("--labels", args.labels if args.labels != DEFAULT_LABELS else None), ("--traces", args.traces),
                            ("--videos", args.videos), ("--specs", args.specs))
        if value is not None
    ) + (" --no-variants" if args.no_variants else "")
    text = render(report, command=command, labels=args.labels, margin_rows=margin_rows)
    if NOTES.is_file():  # the hand-written part: what the figures mean, and why the misses happen
        text = text.rstrip("\n") + "\n\n" + NOTES.read_text(encoding="utf-8")
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
