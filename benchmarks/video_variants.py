"""Counts under harmless video variants: the labelled dev clips mirrored, slowed, sped up, darkened, with less
contrast, rolled 8 deg, with the person at half size, with sensor noise, at 12 and 15 fps, and with 4 s of
stillness at each end. A spec meant for people and rooms it has never seen should count the same on all of them.

Unlike ``posecheck eval --variants`` (which varies the landmarks of the committed traces), these variants are
videos: they go through the pose model, so they also show what the model does with a darker or smaller
person, noise or a low frame rate. Each variant is built with ffmpeg into a temporary folder (never into the
repository: footage is not committed) and analysed in this process (video file -> MediaPipe -> engine, the
loop ``posecheck analyze`` runs, without writing files). ``--modes video image`` also runs the pose model
in IMAGE mode (every frame on its own, without MediaPipe's smoothing) on the variants listed by
``--image-variants``, for the low-frame-rate question.

Usage (run it with ``nice`` on a shared machine; about a minute per clip and variant at 30 fps there):
    python benchmarks/video_variants.py [--clips cat_cow_01 ...] [--variants mirrored fps12 ...]
        [--modes video image] [--out benchmarks/VARIANTS.md] [--json FILE]

Writes the Markdown report (machine, commit, one table per variant) after every clip, so an interrupted run
keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from posecheck.bench.machine import cpu_model

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "videos"
LABELS = REPO / "tests" / "data" / "labels.yaml"

#: The dev clips: one per exercise family the issue measured (floor, all fours, upright).
CLIPS = ["cat_cow_01", "bird_dog_01", "dead_bug_01", "push_up_01", "glute_bridge_01", "squat_01"]

#: name -> (what it is, ffmpeg video filter). "original" is the clip itself.
VARIANTS: dict[str, tuple[str, str | None]] = {
    "original": ("the clip as it is", None),
    "fps12": ("12 fps", "fps=12"),
    "fps15": ("15 fps", "fps=15"),
    "mirrored": ("mirrored left-right", "hflip"),
    "speed0.5": ("half speed (each frame shown twice)", "setpts=2.0*PTS"),
    "speed1.5": ("1.5x speed (frames dropped)", "setpts=PTS/1.5"),
    "darker": ("darker (brightness -0.25)", "eq=brightness=-0.25"),
    "low_contrast": ("contrast halved", "eq=contrast=0.5"),
    "rolled8": ("camera rolled 8 deg", "rotate=8*PI/180:fillcolor=black"),
    "half_size": ("the person at half size (scaled down, padded back to the frame size)",
                  "scale=trunc(iw/4)*2:trunc(ih/4)*2,pad=iw*2:ih*2:(ow-iw)/2:(oh-ih)/2"),
    "noise": ("sensor noise (temporal, strength 25)", "noise=alls=25:allf=t+u"),
    "still4s": ("4 s of stillness (first and last frame held) at each end",
                "tpad=start_duration=4:start_mode=clone:stop_duration=4:stop_mode=clone"),
}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def build_variant(clip: Path, name: str, folder: Path) -> Path:
    """The variant ``name`` of ``clip`` as an H.264 mp4 in ``folder`` (the clip itself for "original")."""
    vf = VARIANTS[name][1]
    if vf is None:
        return clip
    out = folder / f"{clip.stem}__{name}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", vf, "-an", "-c:v", "libx264", "-preset",
                    "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def count(video: Path, exercise: str, mode: str) -> dict:
    """Reps counted on ``video`` (the analyze loop, no output files) with the pose model in ``mode``."""
    from posecheck.sources.video_file import VideoFileSource
    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model
    from posecheck.runtime.session import run_session
    from posecheck.specs import load_spec_by_id

    spec = load_spec_by_id(exercise)
    with VideoFileSource(video) as source, MediaPipeEstimator(resolve_model(None).path, running_mode=mode) as estimator:
        result = run_session(source, estimator, Engine(spec), [], exercise=spec.id)
    return {"reps": result.summary.reps, "frames": result.frames, "frames_with_pose": result.frames_with_pose,
            "fps": round(result.info.fps, 2), "rep_times": [[round(r.start, 2), round(r.end, 2)] for r in result.summary.rep_list]}


def write_markdown(results: dict, path: Path, args: argparse.Namespace, labels: dict, started: str) -> None:
    commit = _git("rev-parse", "--short=12", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "src", "exercise_specs"))
    lines = [
        "# Counts under harmless video variants",
        "",
        "Written by `benchmarks/video_variants.py` (its docstring says how the variants are made). A variant that",
        "counts differently from the original clip is a robustness failure, whichever count is nearer the label.",
        "",
        f"- Date: {started} UTC",
        f"- Commit: {commit}{' (with uncommitted changes to src/ or exercise_specs/)' if dirty else ''}",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()} (shared with other"
        " jobs: no timings here)",
        f"- Clips: {', '.join(results)} (labels: tests/data/labels.yaml)",
        f"- Command: `python benchmarks/video_variants.py {' '.join(sys.argv[1:])}`",
        "",
        "## Summary",
        "",
        "| variant | mode | clips counted as the original | clips that differ |",
        "|---|---|---|---|",
    ]
    runs = [(variant, mode) for variant in VARIANTS for mode in ("video", "image")
            if any(f"{variant}/{mode}" in per_clip for per_clip in results.values())]
    for variant, mode in runs:
        same, differ, total = 0, [], 0
        for clip, per_clip in results.items():
            key, base = f"{variant}/{mode}", per_clip.get("original/video")
            if key not in per_clip or base is None:
                continue
            total += 1
            if per_clip[key]["reps"] == base["reps"]:
                same += 1
            else:
                differ.append(f"{clip} {base['reps']}->{per_clip[key]['reps']}")
        lines.append(f"| {variant} | {mode} | {same} of {total} | {', '.join(differ) or '-'} |")
    for variant, mode in runs:
        lines += ["", f"## {variant} ({mode} mode): {VARIANTS[variant][0]}", "",
                  "| clip | exercise | labelled | original | variant | frames with a pose | rep times (s) |", "|---|---|---|---|---|---|---|"]
        for clip, per_clip in results.items():
            key = f"{variant}/{mode}"
            if key not in per_clip:
                continue
            run, base = per_clip[key], per_clip.get("original/video", {})
            label = labels.get(f"{clip}.mp4", {})
            flag = "" if run["reps"] == base.get("reps") else " **differs**"
            lines.append(f"| {clip} | {label.get('exercise')} | {label.get('reps')} | {base.get('reps', '?')} | {run['reps']}{flag} | "
                         f"{run['frames_with_pose']}/{run['frames']} | {run['rep_times']} |")
    notes = path.with_name("VARIANTS_NOTES.md")
    if notes.is_file():
        lines += ["", notes.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=CLIPS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--modes", nargs="+", default=["video"], choices=["video", "image"])
    parser.add_argument("--image-variants", nargs="+", default=["original", "fps15", "fps12"], choices=list(VARIANTS),
                        help="with --modes image: the variants also run in IMAGE mode")
    parser.add_argument("--videos", type=Path, default=VIDEOS)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "VARIANTS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        parser.error("needs ffmpeg (apt-get install ffmpeg)")
    labels = yaml.safe_load(LABELS.read_text())
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    variants = ["original", *[v for v in args.variants if v != "original"]]
    results: dict[str, dict] = {clip_name: {} for clip_name in args.clips}
    with tempfile.TemporaryDirectory(prefix="posecheck-variants-") as tmp:
        # Variant by variant over all clips, so that a run cut short has whole tables for the variants it did.
        for variant in variants:
            for clip_name in args.clips:
                clip = args.videos / f"{clip_name}.mp4"
                exercise = labels[f"{clip_name}.mp4"]["exercise"]
                video = build_variant(clip, variant, Path(tmp))
                modes = [m for m in args.modes if m == "video" or variant in args.image_variants]
                for mode in modes:
                    run = count(video, exercise, mode)
                    results[clip_name][f"{variant}/{mode}"] = run
                    print(f"{clip_name} {variant} {mode}: {run['reps']} reps ({run['frames_with_pose']}/{run['frames']} frames with a pose)",
                          file=sys.stderr, flush=True)
                if video != clip:
                    video.unlink()
            write_markdown(results, args.out, args, labels, started)
            if args.json is not None:
                args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
