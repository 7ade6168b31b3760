"""Compares the landmarks and counts of mediapipe 0.10.21 and mediapipe 1.x, with posecheck's packaged model.

posecheck moved from mediapipe 0.10.21 (numpy 1, Python <= 3.12) to 1.x. Both run the same model file
(``posecheck/models/pose_landmarker_full_posecheck.task``), but 1.x is a new build of the runtime (LiteRT,
new XNNPACK), so its landmarks may differ. This runs every clip through posecheck's own loop (the one
``posecheck analyze --save-trace`` runs; ``benchmarks/make_traces.py``) once in a venv with each version,
and compares:

- pose found: frames with a person in each run;
- landmarks: pixel distance between the two runs' image landmarks (x, y scaled to the frame), on frames
  where both found a person and landmarks both call visible (visibility > 0.5): median, p95, max;
  world landmarks (the ones most specs measure) in millimetres;
- counts: each run's landmarks replayed through the engine with the clip's spec (labels.yaml): reps, the
  rep times and holds; "same" when the summaries are equal.
It also checks that the 0.10.21 run reproduces the committed traces in tests/data/traces (made with it).

Usage:
    python benchmarks/compare_mediapipe.py [--old-python PY] [--new-python PY] [--work DIR] [--jobs N]
With no --old-python / --new-python it makes the two venvs in --work (Python 3.11 or 3.12 for 0.10.21,
from $PYTHON or the PATH) and installs the two mediapipe releases from PyPI. posecheck itself runs from this
checkout's src/ in both (PYTHONPATH), so only mediapipe, numpy and OpenCV differ. Run it with the
project's .venv Python (it imports posecheck for the replay). Writes benchmarks/MEDIAPIPE_1X.md and
MEDIAPIPE_1X.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from posecheck.evaluation.labels import load_labels  # noqa: E402
from posecheck.evaluation.runner import run_engine, spec_loader  # noqa: E402
from posecheck.core.trace import Trace  # noqa: E402

OLD, NEW = "0.10.21", "1.2.3"
#: What each venv gets besides mediapipe: posecheck's other run-time dependencies (it runs from src/).
COMMON = ["PyYAML>=6", "typer>=0.12", "pydantic>=2.5", "platformdirs>=3", "rich>=13"]
REQUIREMENTS = {
    OLD: [f"mediapipe=={OLD}", "numpy<2", "opencv-contrib-python<=4.11.0.86", *COMMON],
    NEW: [f"mediapipe=={NEW}", "numpy>=2", "opencv-contrib-python", *COMMON],
}
VISIBLE = 0.5


def make_venv(folder: Path, version: str) -> Path:
    """A venv in ``folder`` with mediapipe ``version`` (reused when it already has it)."""
    python = folder / "bin" / "python"
    check = f"import importlib.metadata as m; assert m.version('mediapipe') == '{version}'"
    if python.is_file() and subprocess.run([python, "-c", check], capture_output=True).returncode == 0:
        return python
    base = os.environ.get("PYTHON") or shutil.which("python3.11") or shutil.which("python3.12")
    if not base:
        raise SystemExit("Error: needs Python 3.11 or 3.12 for mediapipe 0.10.21 (set PYTHON)")
    subprocess.run([base, "-m", "venv", "--clear", folder], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS[version]], check=True)
    return python


def run_traces(python: Path, videos: Path, out: Path, jobs: int) -> subprocess.Popen:
    """Starts benchmarks/make_traces.py in ``python``'s venv over every clip, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("POSECHECK_MODEL", None)
    log = (out / "make_traces.log").open("w")
    return subprocess.Popen([python, ROOT / "benchmarks" / "make_traces.py", "--videos", videos, "--out", out,
                             "--jobs", str(jobs)], env=env, stdout=log, stderr=subprocess.STDOUT)


def versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, platform; print(json.dumps({'python': platform.python_version(), "
            "**{p: m.version(p) for p in ('mediapipe', 'numpy', 'opencv-contrib-python')}}))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def landmark_differences(a: Trace, b: Trace) -> dict:
    """Pixel and world-landmark distances between two traces of the same clip, frame by frame."""
    if len(a) != len(b):
        raise SystemExit(f"frame counts differ: {len(a)} vs {len(b)}")
    found_a, found_b = ~np.isnan(a.landmarks[:, 0, 0]), ~np.isnan(b.landmarks[:, 0, 0])
    both = found_a & found_b
    w, h = a.frame_size
    scale = np.array([w, h], dtype=np.float64)
    la, lb = a.landmarks[both].astype(np.float64), b.landmarks[both].astype(np.float64)
    visible = (la[..., 3] > VISIBLE) & (lb[..., 3] > VISIBLE)
    px = np.linalg.norm((la[..., :2] - lb[..., :2]) * scale, axis=-1)
    world = np.linalg.norm(a.world[both].astype(np.float64) - b.world[both].astype(np.float64), axis=-1) * 1000
    px_visible, world_visible = px[visible], world[visible]

    def stats(values: np.ndarray) -> dict:
        if values.size == 0:
            return {"median": None, "p95": None, "max": None}
        return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95)), "max": float(values.max())}

    return {
        "frames": len(a), "found_old": int(found_a.sum()), "found_new": int(found_b.sum()), "found_both": int(both.sum()),
        "px_visible": stats(px_visible), "px_all": stats(px), "world_mm_visible": stats(world_visible),
        "identical": bool(np.array_equal(a.landmarks, b.landmarks, equal_nan=True)),
    }


def summary_of(result) -> dict:
    return {"reps": result.reps, "rep_times": [list(map(float, r)) for r in result.rep_times],
            "holds": [[float(h.start), float(h.end), float(h.seconds)] for h in result.holds or ()]}


def _timing_shift(a: dict, b: dict) -> float:
    """Largest difference between matching rep or hold start/end times (and hold seconds) of two summaries."""
    pairs = [(x, y) for ra, rb in zip(a["rep_times"], b["rep_times"]) for x, y in zip(ra, rb)]
    pairs += [(x, y) for ha, hb in zip(a["holds"], b["holds"]) for x, y in zip(ha, hb)]
    return max((abs(x - y) for x, y in pairs), default=0.0)


def compare(old_dir: Path, new_dir: Path, labels_path: Path, committed: Path) -> list[dict]:
    labels = {label.stem: label for label in load_labels(labels_path)}
    load_spec = spec_loader(None)
    rows = []
    for old_path in sorted(old_dir.glob("*.npz")):
        stem = old_path.stem
        old, new = Trace.load(old_path), Trace.load(new_dir / old_path.name)
        row = {"clip": stem, **landmark_differences(old, new)}
        if (committed / old_path.name).is_file():
            row["old_matches_committed"] = bool(np.array_equal(
                Trace.load(committed / old_path.name).landmarks, old.landmarks, equal_nan=True))
        label = labels.get(stem)
        spec = load_spec(label.exercise) if label else None
        if spec is not None:
            counted_old, counted_new = (summary_of(run_engine(spec, list(t.poses()))) for t in (old, new))
            same = (counted_old["reps"] == counted_new["reps"]
                    and len(counted_old["holds"]) == len(counted_new["holds"]))
            row.update(exercise=label.exercise, truth=label.reps, reps_old=counted_old["reps"],
                       reps_new=counted_new["reps"], holds_old=len(counted_old["holds"]),
                       holds_new=len(counted_new["holds"]), same_count=same,
                       identical_summary=counted_old == counted_new,
                       timing_shift_s=_timing_shift(counted_old, counted_new) if same else None,
                       summary_old=counted_old, summary_new=counted_new)
        rows.append(row)
    return rows


def _f(value, digits=2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[dict], machine: dict) -> str:
    clip_medians = np.array([r["px_visible"]["median"] for r in rows if r["px_visible"]["median"] is not None])
    counted = [r for r in rows if "same_count" in r]
    lines = [
        "# mediapipe 0.10.21 vs 1.x: landmarks and counts",
        "",
        f"Made by `benchmarks/compare_mediapipe.py` on {machine['date']}, commit {machine['commit']}, "
        f"{machine['cpu']} ({machine['cores']} cores, shared).",
        f"Old: mediapipe {machine['old']['mediapipe']}, numpy {machine['old']['numpy']}, "
        f"opencv-contrib {machine['old']['opencv-contrib-python']}, Python {machine['old']['python']}. "
        f"New: mediapipe {machine['new']['mediapipe']}, numpy {machine['new']['numpy']}, "
        f"opencv-contrib {machine['new']['opencv-contrib-python']}, Python {machine['new']['python']}.",
        "Both ran posecheck's packaged model (`pose_landmarker_full_posecheck.task`) in VIDEO mode through the "
        "loop of `posecheck analyze --save-trace`, on every clip of `../shared/videos`.",
        "",
        "## Summary",
        "",
        f"- Clips: {len(rows)}; frames: {sum(r['frames'] for r in rows)}. Pose found: "
        f"{sum(r['found_old'] for r in rows)} frames (old), {sum(r['found_new'] for r in rows)} (new).",
        f"- Landmarks bit-identical between the versions on {sum(r['identical'] for r in rows)} of {len(rows)} clips.",
        f"- Visible image landmarks: per-clip median distance {_f(float(np.median(clip_medians)))} px "
        f"(clip medians from {_f(float(clip_medians.min()))} to {_f(float(clip_medians.max()))} px); "
        f"largest p95 {_f(max(r['px_visible']['p95'] or 0 for r in rows))} px; "
        f"largest single distance {_f(max(r['px_visible']['max'] or 0 for r in rows), 1)} px.",
        f"- Counts (each version's landmarks replayed through the engine with the clip's spec): "
        f"{sum(r['same_count'] for r in counted)} of {len(counted)} clips give the same number of reps and of holds "
        f"({sum(r['identical_summary'] for r in counted)} the same times to the frame); where the counts are the "
        f"same, rep and hold times move by at most {_f(max((r['timing_shift_s'] or 0) for r in counted))} s.",
    ]
    reproduced = [r for r in rows if "old_matches_committed" in r]
    if reproduced:
        lines.append(f"- The 0.10.21 run reproduces the committed traces bit for bit on "
                     f"{sum(r['old_matches_committed'] for r in reproduced)} of {len(reproduced)} clips.")
    lines += [
        "",
        "## Per clip",
        "",
        "px: distance between the two versions' image landmarks, over landmarks both call visible (> 0.5), on "
        "frames where both found a person. mm: the same for world landmarks. reps: old / new (truth). "
        "shift: largest change of a rep's or hold's start or end (s) when the counts are the same.",
        "",
        "| clip | frames | pose old / new | px median | px p95 | px max | world mm median | world mm p95 | reps old / new (truth) | holds old / new | same count | shift s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|",
    ]
    for r in rows:
        reps = f"{r['reps_old']} / {r['reps_new']} ({r['truth']})" if "reps_old" in r else "no spec"
        holds = f"{r['holds_old']} / {r['holds_new']}" if "holds_old" in r else ""
        same = ("yes" if r["same_count"] else "**no**") if "same_count" in r else ""
        lines.append(
            f"| {r['clip']} | {r['frames']} | {r['found_old']} / {r['found_new']} | {_f(r['px_visible']['median'])} | "
            f"{_f(r['px_visible']['p95'])} | {_f(r['px_visible']['max'], 1)} | {_f(r['world_mm_visible']['median'], 1)} | "
            f"{_f(r['world_mm_visible']['p95'], 1)} | {reps} | {holds} | {same} | {_f(r.get('timing_shift_s'))} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-python", type=Path, help=f"a venv's python with mediapipe {OLD}")
    parser.add_argument("--new-python", type=Path, help="a venv's python with mediapipe 1.x")
    parser.add_argument("--videos", type=Path, default=ROOT.parent / "shared" / "videos")
    parser.add_argument("--labels", type=Path, help="default: labels.yaml in --videos")
    parser.add_argument("--work", type=Path, default=Path("/tmp/posecheck-compare-mediapipe"))
    parser.add_argument("--jobs", type=int, default=1, help="processes per version (both versions run at once)")
    parser.add_argument("--compare-only", action="store_true", help="reuse the traces already in --work")
    args = parser.parse_args()
    old_python = args.old_python or make_venv(args.work / f"venv-{OLD}", OLD)
    new_python = args.new_python or make_venv(args.work / f"venv-{NEW}", NEW)
    old_dir, new_dir = args.work / f"traces-{OLD}", args.work / "traces-new"
    if not args.compare_only:
        runs = [run_traces(old_python, args.videos, old_dir, args.jobs), run_traces(new_python, args.videos, new_dir, args.jobs)]
        if any(run.wait() != 0 for run in runs):
            raise SystemExit(f"Error: a trace run failed; see make_traces.log in {old_dir} and {new_dir}")
    rows = compare(old_dir, new_dir, args.labels or args.videos / "labels.yaml", ROOT / "tests" / "data" / "traces")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    machine = {"date": date.today().isoformat(), "commit": commit, "cpu": cpu, "cores": os.cpu_count(),
               "old": versions(old_python), "new": versions(new_python)}
    (ROOT / "benchmarks" / "MEDIAPIPE_1X.json").write_text(json.dumps({"machine": machine, "clips": rows}, indent=1) + "\n")
    (ROOT / "benchmarks" / "MEDIAPIPE_1X.md").write_text(markdown(rows, machine))
    print(markdown(rows, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
