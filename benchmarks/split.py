"""One long video on every core (``analyze --split N``): how fast the joins settle, and the speed-up.

Two parts, both written into benchmarks/SPLIT.md (and printed as JSON):

* ``--settle``: how long MediaPipe's tracking and smoothing take to forget a cold start. One serial pass over
  the video gives every frame's landmarks; then, at several join points, an estimator starts cold there and
  its landmarks are compared with the serial pass's, second by second after the start (pixel distance of each
  landmark the serial pass sees, visibility > 0.5: median, p95, max; and frames exactly equal). The warm-up
  `posecheck.runtime.split.WARMUP_SECONDS` is chosen from this table.
* the speed-up: ``posecheck.analyze`` serial (the ordinary pipelined loop) and with ``split=N``, alternately,
  ``--rounds`` times on the same video, fastest of each; and how their reports differ (reps, each rep's
  times, cues, not_counted), which is the equality on a long video.

The long video is made from a dev clip repeated with ffmpeg (stream copy, no re-encoding) in a temporary
folder, never committed. The machine's load average is recorded before and after: run it on a quiet
machine for a figure to quote.

Usage: python benchmarks/split.py [--clip PATH] [--exercise ID] [--repeats R] [--parts N] [--rounds R]
                                   [--settle | --settle-from JSON] [--no-speed] [--with-video]
                                   [--out benchmarks/SPLIT.md]   (also writes its JSON beside it)

On a quiet machine: ``python benchmarks/split.py --settle --with-video`` (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_CLIP = HERE.parent.parent / "shared" / "videos" / "cat_cow_01.mp4"


def make_long_video(clip: Path, repeats: int, folder: Path) -> Path:
    """``clip`` played ``repeats`` times in a row, as one file in ``folder`` (ffmpeg concat, stream copy)."""
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{clip.resolve()}'\n" for _ in range(repeats)), encoding="utf-8")
    out = folder / f"{clip.stem}_x{repeats}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                    str(out)], check=True)
    return out


def settle(video: Path, joins: int, seconds: float, every: float) -> dict:
    """Cold starts at ``joins`` points of ``video`` (every ``every`` seconds from the start, so that the serial
    pass stays short) against one serial pass, second by second after the start."""
    from posecheck.runtime.split import Chunk, estimate_chunk
    from posecheck.runtime.wiring import resolve
    from posecheck.sources.video_file import VideoFileSource

    with VideoFileSource(video) as probe:
        info = probe.info
    model = str(resolve(None).path)
    size = (info.width, info.height)
    span = int(round(seconds * info.fps))
    starts = [int(round((k + 1) * every * info.fps)) for k in range(joins)]
    serial = estimate_chunk(Chunk(0, 0, 0, max(starts) + span), str(video), model, "video", info.fps, size).trace
    bins = int(np.ceil(seconds))
    per_second: list[list[np.ndarray]] = [[] for _ in range(bins)]
    exact = np.zeros(bins, dtype=int)
    frames = np.zeros(bins, dtype=int)
    for start in starts:
        cold = estimate_chunk(Chunk(1, start, start, start + span), str(video), model, "video", info.fps, size).trace
        ref = serial.landmarks[start:start + len(cold)]
        distance = np.linalg.norm((ref[:, :, :2] - cold.landmarks[:, :, :2]) * size, axis=2)  # (frames, 33) px
        seen = ref[:, :, 3] > 0.5
        for i in range(len(cold)):
            second = min(int(i / info.fps), bins - 1)
            if np.isnan(distance[i]).all():
                continue
            per_second[second].append(distance[i][seen[i] & ~np.isnan(distance[i])])
            exact[second] += bool(np.nanmax(distance[i]) == 0.0)
            frames[second] += 1
    rows = []
    for second in range(bins):
        values = np.concatenate(per_second[second]) if per_second[second] else np.array([np.nan])
        rows.append({"second": second, "median_px": float(np.median(values)),
                     "p95_px": float(np.percentile(values, 95)), "max_px": float(np.max(values)),
                     "frames": int(frames[second]), "frames_exactly_equal": int(exact[second])})
    return {"video": video.name, "frame_size": list(size), "fps": info.fps, "join_frames": starts,
            "seconds": seconds, "rows": rows}


def _rep_times(report) -> list[tuple]:
    return [(rep.start, rep.end, rep.counted_at) for rep in report.rep_list]


def compare_reports(serial, split, fps: float, joins: int) -> dict:
    """How the split's report differs from the serial one's: counts; reps of one run with no rep of the other
    within two frames (start and end); the worst difference among the reps that have one; cues, not_counted."""
    near = 2.0 / fps + 1e-6

    def match(rep, others):
        found = [o for o in others if None not in (rep.start, rep.end, o.start, o.end)
                 and abs(rep.start - o.start) <= near and abs(rep.end - o.end) <= near]
        return found[0] if found else None

    worst = 0.0
    for rep in serial.rep_list:
        other = match(rep, split.rep_list)
        if other is not None:
            worst = max(worst, abs(rep.start - other.start), abs(rep.end - other.end))
    data_a, data_b = serial.to_dict(), split.to_dict()
    differing = sorted(key for key in data_a if key not in ("source",) and data_a[key] != data_b.get(key))
    return {"joins": joins, "reps": [serial.reps, split.reps], "holds": [len(serial.holds), len(split.holds)],
            "cues": [len(serial.cues), len(split.cues)], "not_counted": [len(serial.not_counted), len(split.not_counted)],
            "serial_reps_unmatched": [(r.start, r.end) for r in serial.rep_list if match(r, split.rep_list) is None],
            "split_reps_unmatched": [(r.start, r.end) for r in split.rep_list if match(r, serial.rep_list) is None],
            "worst_matched_rep_time_difference_frames": round(worst * fps, 2),
            "report_fields_differing": differing, "identical": not differing}


def speed(video: Path, exercise: str, parts: int, rounds: int, with_video: bool, folder: Path) -> dict:
    import posecheck

    import resource

    def cpu_seconds() -> float:  # this process's threads and its finished (joined) worker processes
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    times: dict[str, list[float]] = {"serial": [], "split": []}
    cpu: dict[str, list[float]] = {"serial": [], "split": []}
    reports = {}
    for round_index in range(rounds):
        for name, split in (("serial", 1), ("split", parts)):
            annotated = folder / f"{name}-{round_index}.mp4" if with_video else None
            print(f"  {name} (round {round_index + 1}/{rounds}), load {os.getloadavg()[0]:.2f}", file=sys.stderr)
            started, cpu_before = time.perf_counter(), cpu_seconds()
            reports[name] = posecheck.analyze(video, exercise, split=split, annotated_video=annotated)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(cpu_seconds() - cpu_before)
            if annotated is not None:
                annotated.unlink(missing_ok=True)
    result = reports["serial"].result
    serial, split = min(times["serial"]), min(times["split"])
    return {"frames": result.frames, "fps": result.info.fps, "minutes": round(result.frames / result.info.fps / 60, 2),
            "parts": parts, "annotated_video": with_video, "rounds": rounds,
            "serial_seconds": [round(t, 1) for t in times["serial"]],
            "split_seconds": [round(t, 1) for t in times["split"]],
            "serial_cpu_seconds": [round(t, 1) for t in cpu["serial"]],
            "split_cpu_seconds": [round(t, 1) for t in cpu["split"]],
            "load_during": round(os.getloadavg()[0], 2),
            "speedup_fastest": round(serial / split, 2),
            "serial_fps": round(result.frames / serial, 1), "split_fps": round(result.frames / split, 1),
            "equality": compare_reports(reports["serial"], reports["split"], result.info.fps,
                                        _joins(result.frames, result.info.fps, parts))}


def _joins(frames: int, fps: float, parts: int) -> int:
    from posecheck.runtime.split import WARMUP_SECONDS, plan_chunks

    return len(plan_chunks(frames, fps, parts, WARMUP_SECONDS)) - 1


def write_markdown(path: Path, data: dict) -> None:
    from posecheck.runtime.split import WARMUP_SECONDS

    machine = data["machine"]
    lines = ["# Splitting one long video in time (`analyze --split N`)", "",
             "Written by `python benchmarks/split.py` (rerun it on a quiet machine: the figures below say how busy "
             "this one was). The long video is a dev clip repeated with ffmpeg, made in a temporary folder.", "",
             f"- machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}, mediapipe "
             f"{machine['mediapipe']}, OpenCV {machine['opencv']}",
             f"- commit: {machine['commit']}; date: {machine['date']}",
             f"- load average (1 min) before: {data['load_before']:.2f}, after: {data['load_after']:.2f} "
             f"(a quiet 2-core machine is near 0; 2.0 means both cores were already busy with other work)",
             f"- video: {data['video']} ({data['clip']} x {data['repeats']})",
             f"- warm-up in use: `WARMUP_SECONDS = {WARMUP_SECONDS:g}`", ""]
    if "settle" in data:
        s = data["settle"]
        lines += ["## How long a cold start takes to settle", ""]
        if s.get("measured"):
            lines += [f"Measured in an earlier run ({s['measured']}), taken from its JSON with `--settle-from`.", ""]
        lines += [
                  f"A cold VIDEO-mode estimator started at frames {s['join_frames']} of {s['video']} "
                  f"({s['frame_size'][0]}x{s['frame_size'][1]}, {s['fps']:g} fps), against one serial pass: the "
                  "distance of each landmark the serial pass sees (visibility > 0.5), per second after the start.", "",
                  "| second after the cold start | median px | p95 px | max px | frames | frames exactly equal |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['second']}-{r['second'] + 1} | {r['median_px']:.2f} | {r['p95_px']:.2f} | {r['max_px']:.1f} | "
                  f"{r['frames']} | {r['frames_exactly_equal']} |" for r in s["rows"]]
        lines.append("")
    if "speed" in data:
        for run in data["speed"]:
            eq = run["equality"]
            lines += [f"## Speed: {run['parts']} parts, {'with' if run['annotated_video'] else 'without'} the annotated video", "",
                      f"{run['frames']} frames ({run['minutes']} min at {run['fps']:g} fps), {run['rounds']} rounds "
                      "alternating serial and split, in one process (`posecheck.analyze`).", "",
                      "| | wall seconds (each round) | fastest, frames/s | CPU seconds, all processes |", "|---|---|---|---|",
                      f"| serial | {run['serial_seconds']} | {run['serial_fps']} | {run['serial_cpu_seconds']} |",
                      f"| split {run['parts']} | {run['split_seconds']} | {run['split_fps']} | {run['split_cpu_seconds']} |", "",
                      f"Load average (1 min) at the end of this part: {run['load_during']}. On a shared machine the "
                      "wall-time ratio flatters the split (its processes get a larger share of a busy CPU than one "
                      "process does); the CPU seconds show the work each way needed.", "",
                      f"**Speed-up (fastest against fastest): {run['speedup_fastest']}x** (target 1.8x on 2 cores).", "",
                      f"Reports, serial against split: reps {eq['reps'][0]} / {eq['reps'][1]}, holds {eq['holds'][0]} / "
                      f"{eq['holds'][1]}, cues {eq['cues'][0]} / {eq['cues'][1]}, not_counted {eq['not_counted'][0]} / "
                      f"{eq['not_counted'][1]}, over {eq['joins']} join(s). Reps of one run with no rep of the other "
                      f"within two frames: serial {eq['serial_reps_unmatched'] or 'none'}, split "
                      f"{eq['split_reps_unmatched'] or 'none'} (start, end in s); the others differ by at most "
                      f"{eq['worst_matched_rep_time_difference_frames']} frames. Report fields that differ: "
                      f"{', '.join(eq['report_fields_differing']) or 'none'}.", ""]
    if data.get("notes"):
        lines += ["## Notes", "", data["notes"], ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--repeats", type=int, default=20, help="times the clip is repeated (20 x 12.9 s = 4.3 min)")
    parser.add_argument("--parts", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--settle", action="store_true", help="measure how fast a cold start settles")
    parser.add_argument("--settle-seconds", type=float, default=20.0)
    parser.add_argument("--joins", type=int, default=3, help="cold starts measured by --settle")
    parser.add_argument("--join-every", type=float, default=20.0, help="seconds between them")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--with-video", action="store_true", help="also time both with the annotated video")
    parser.add_argument("--out", type=Path, default=HERE / "SPLIT.md")
    parser.add_argument("--notes", type=Path, help="a text file whose content goes under 'Notes'")
    parser.add_argument("--settle-from", type=Path, help="the JSON this script printed in an earlier --settle run: "
                        "its settle table is written again (with its commit and date)")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        print("Error: ffmpeg is needed to make the long video", file=sys.stderr)
        return 1
    from posecheck.bench.machine import machine_info

    data: dict = {"machine": machine_info(), "load_before": os.getloadavg()[0], "clip": args.clip.name,
                  "repeats": args.repeats}
    with tempfile.TemporaryDirectory(prefix="posecheck-split-") as tmp:
        video = make_long_video(args.clip, args.repeats, Path(tmp))
        data["video"] = video.name
        if args.settle_from:
            earlier = json.loads(args.settle_from.read_text(encoding="utf-8"))
            data["settle"] = {**earlier["settle"], "measured": f"commit {earlier['machine']['commit']}, "
                              f"{earlier['machine']['date']}, load {earlier['load_before']:.1f}"}
        if args.settle:
            print("settle...", file=sys.stderr)
            data["settle"] = settle(video, args.joins, args.settle_seconds, args.join_every)
        if not args.no_speed:
            data["speed"] = [speed(video, args.exercise, args.parts, args.rounds, False, Path(tmp))]
            if args.with_video:
                data["speed"].append(speed(video, args.exercise, args.parts, 1, True, Path(tmp)))
    data["load_after"] = os.getloadavg()[0]
    if args.notes:
        data["notes"] = args.notes.read_text(encoding="utf-8").strip()
    print(json.dumps(data, indent=2))
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    write_markdown(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
