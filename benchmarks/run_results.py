"""Runs every benchmark and writes benchmarks/RESULTS.md.

Parts (each also runs alone, see its script): the loop against the bare estimator with stages, engine and
start-up (`posecheck bench`), frame size and model scaling (scaling.py), the live loop's capacity
(live_rate.py; the window too when there is a display, e.g. under xvfb-run), several clips at once
(multi_clip.py) and memory over a long session (soak.py).

Usage:
    python benchmarks/run_results.py [--source CLIP] [--rounds 3] [--soak-minutes 10] [--model FILE ...]
    xvfb-run -a python benchmarks/run_results.py ...     # to include the live window
    python benchmarks/run_results.py --quick             # a smoke run: small numbers, not for publishing

Figures drift from run to run on a shared machine: compare the ratios measured within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import live_rate  # noqa: E402
import multi_clip  # noqa: E402
import scaling  # noqa: E402

from posecheck.bench.machine import machine_info  # noqa: E402
from posecheck.bench.run import BenchConfig, run_bench  # noqa: E402

SHARED = ROOT.parent / "shared" / "videos"
DEFAULT_SOURCE = Path("glute_bridge_03.mp4")  # 1280x720 H.264, 30 fps, one person on a mat, 10 s
DEFAULT_CLIPS = ["cat_cow_03", "bird_dog_03", "glute_bridge_14", "dead_bug_02", "cobra_11", "plank_01"]
TARGET_RATIO = 0.95
TARGET_ENGINE_SHARE = 0.01


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(results: dict) -> str:
    m = results["machine"]
    main = results["main"]
    src = main["source"]
    out = [
        "# posecheck speed benchmarks",
        "",
        "Written by `benchmarks/run_results.py` (do not edit by hand; re-run it). Figures drift from run to run",
        "on a shared machine: the ratios within one run are what to compare.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; load average at start {_f(results['load_before'][0], 2)} "
        f"(1 min) / {_f(results['load_before'][1], 2)} (5 min), at the end {_f(results['load_after'][0], 2)} / "
        f"{_f(results['load_after'][1], 2)}",
        f"- {m['platform']}; Python {m['python']}; mediapipe {m['mediapipe']}; OpenCV {m['opencv']}; numpy {m['numpy']}",
        f"- posecheck {m['posecheck']}, commit {m['commit']}; {m['date']}",
        f"- command: `{results['command']}` ({results['minutes']:.0f} min)",
        "",
        "## The loop against the bare estimator",
        "",
        f"Source: `{Path(src['path']).name}` ({src['width']}x{src['height']}, {src['fps']:g} fps), first "
        f"{src['frames']} frames, {src['warmup']} warm-up frames not timed, exercise {src['exercise']}, "
        f"{len(main['runs']['end_to_end'])} round(s), fastest of each kind.",
        "The loop is `posecheck analyze`'s (estimator, engine, annotated video written with mp4v); the bare",
        "estimator is `detect_for_video` alone on the same frames decoded to RGB beforehand, run twice per round:",
        "as the operating system schedules it, and pinned to one core as the pipelined loop pins its estimator",
        "(`posecheck.runtime.cores`). Ratios are taken against the faster of the two.",
        "",
        "| | fps | x bare estimator | CPU (cores) |",
        "|---|---:|---:|---:|",
        f"| bare estimator (faster of the two below) | {_f(main['estimator_fps'])} | 1.00 | {_f(main['estimator_cpu_share'], 2)} |",
        f"| bare estimator, as scheduled | {_f(main.get('estimator_unpinned_fps'))} | "
        f"{_f(main['estimator_unpinned_fps'] / main['estimator_fps'] if main.get('estimator_unpinned_fps') else None, 2)} | |",
        f"| bare estimator, on one core | {_f(main.get('estimator_pinned_fps'))} | "
        f"{_f(main['estimator_pinned_fps'] / main['estimator_fps'] if main.get('estimator_pinned_fps') else None, 2)} | |",
        f"| loop, pipelined (default) | {_f(main['end_to_end_fps'])} | **{_f(main['ratio'], 2)}** | {_f(main['cpu_share'], 2)} |",
        f"| loop, serial (`prefetch=0, background=0`) | {_f(main['serial_fps'])} | {_f(main['serial_ratio'], 2)} | "
        f"{_f(main['runs']['serial'][0]['cpu_share'], 2)} |",
        "",
        f"Per-frame latency of the pipelined loop (read -> written): median {_f(main['latency_ms']['median'])} ms, "
        f"p95 {_f(main['latency_ms']['p95'])} ms. Peak resident memory of the loop: {_f(main['peak_rss_mb'], 0)} MB.",
        "",
        "All rounds (fps): " + "; ".join(
            f"{kind} {', '.join(_f(r['fps']) for r in runs)}" for kind, runs in main["runs"].items()),
        "",
    ]
    if "stages" in main:
        out += ["### Each stage alone (same frames, ms per frame)", "", "| stage | median | p95 |", "|---|---:|---:|"]
        out += [f"| {name} | {_f(s['median_ms'], 3)} | {_f(s['p95_ms'], 3)} |" for name, s in main["stages"].items()]
        out += [""] + [f"- {note}" for note in main.get("stage_notes", [])]
        if "engine_in_loop_ms" in main:
            e = main["engine_in_loop_ms"]
            out += [f"- smoothing + engine inside the pipelined loop (update + state, caches cold from inference): "
                    f"median {_f(e['median_ms'], 3)} ms, mean {_f(e['mean_ms'], 3)} ms = "
                    f"**{_f(100 * main['engine_share'], 2)} %** of the loop's frame time"]
        if "engine_share_alone" in main:
            out += [f"- the engine stage alone (warm caches) against the same frame time: "
                    f"{_f(100 * main['engine_share_alone'], 2)} %", ""]
    if main.get("engine"):
        out += ["### The engine alone on recorded traces", "", "| exercise | frames | frames/s | us/frame |",
                "|---|---:|---:|---:|"]
        out += [f"| {name} | {e['frames']} | {_f(e['fps'], 0)} | {_f(e['us_per_frame'])} |" for name, e in main["engine"].items()]
        out += [""] + [f"- {name}: skipped, its spec did not load ({why})" for name, why in main.get("engine_skipped", {}).items()]
        out += [""]
    startup = main.get("startup", {})
    if "help_s" in startup:
        first, second = startup["first_frame_runs"]
        out += ["### Start-up (new processes)", "",
                f"- `posecheck --help`: {_f(startup['help_s'] * 1000, 0)} ms (median of 3)",
                "| first analysed frame | total s | import s | model s | open estimator s | first estimate ms |",
                "|---|---:|---:|---:|---:|---:|"]
        for label, p in (("first run", first), ("second run (files in the OS cache)", second)):
            out.append(f"| {label} | {_f(p['total_s'], 2)} | {_f(p['import_s'], 2)} | {_f(p['resolve_model_s'], 2)} | "
                       f"{_f(p['open_estimator_s'], 2)} | {_f(p['first_frame_s'] * 1000, 0)} |")
        out += [""]
    if results.get("resolution"):
        out += ["## Frame size", "", "The same frames resized (area averaging) and re-encoded with mp4v.", "",
                "| size | bare estimator fps | loop fps | x estimator | serial fps | x estimator |",
                "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {r['label']} ({r['width']}x{r['height']}) | {_f(r['estimator_fps'])} | {_f(r['end_to_end_fps'])} | "
                f"{_f(r['ratio'], 2)} | {_f(r['serial_fps'])} | {_f(r['serial_ratio'], 2)} |" for r in results["resolution"]]
        out += [""]
    out += ["## Pose models", ""]
    out += ["| model | bare estimator fps | loop fps | x estimator |", "|---|---:|---:|---:|"]
    out += [f"| {r['label']} | {_f(r['estimator_fps'])} | {_f(r['end_to_end_fps'])} | {_f(r['ratio'], 2)} |"
            for r in results.get("models", [])]
    if len(results.get("models", [])) > 1:
        out += ["", "posecheck ships only the full model (built from the mediapipe 0.10.21 wheel's tflite files). The lite "
                "and heavy rows are the legacy landmark models of the npm package `@mediapipe/pose` (Apache-2.0; its "
                "full model is byte-identical to the wheel's), bundled the same way by `benchmarks/make_models.py` "
                "(`run_results.py --lite-heavy`). The official `pose_landmarker_*.task` downloads were not available "
                "here.", ""]
    else:
        out += ["", "Only the shipped full model was measured (mediapipe 0.10.21's wheel, its source, had no lite or heavy). "
                "`run_results.py --lite-heavy` adds lite and heavy models built from the npm package `@mediapipe/pose` "
                "(benchmarks/make_models.py), or `--model FILE.task` any other.", ""]
    if results.get("live"):
        out += ["## Live loop (`posecheck live --source`)", "",
                "The source is paced at the clip's 30 fps, so the live loop's capacity is measured from its busy time "
                "per frame (inference, engine, live view), against the bare estimator on the same clip.", "",
                "| view | frames shown | dropped | capacity fps | bare estimator fps | x estimator |",
                "|---|---:|---:|---:|---:|---:|"]
        out += [f"| {r['view']} | {r['frames_shown']} | {r['frames_dropped']} | {_f(r['capacity_fps'])} | "
                f"{_f(r['estimator_fps'])} | {_f(r['ratio'], 2)} |" for r in results["live"]]
        if not any(r["view"] == "window" for r in results["live"]):
            out += ["", "The window was not measured (no display): run under `xvfb-run -a` to include it."]
        out += [""]
    mc = results.get("multi_clip")
    if mc:
        out += ["## Several clips (`posecheck analyze DIR/`)", "",
                f"{len(mc['clips'])} clips, {mc['frames']} frames ({', '.join(mc['clips'])}), annotated videos "
                f"{'written' if mc['video'] else 'off'}; the real command in a new process, fastest of "
                f"{len(mc['seconds_parallel'])} round(s).", "",
                "| | wall s | frames/s |", "|---|---:|---:|",
                f"| one at a time (`--jobs 1`) | {_f(min(mc['seconds_one_at_a_time']))} | {_f(mc['fps_one_at_a_time'])} |",
                f"| one clip per process (`--jobs {mc['jobs']}`) | {_f(min(mc['seconds_parallel']))} | {_f(mc['fps_parallel'])} |",
                "", f"Speed-up: **{_f(mc['speedup'], 2)}x**.", ""]
    sk = results.get("soak")
    if sk:
        out += ["## Memory over a long session", "",
                f"`{Path(sk['source']).name}` looped for {_f(sk['minutes'])} min ({sk['frames']} frames, {sk['loops']} passes, "
                f"{_f(sk['fps'])} fps), annotated video {'written' if sk['video'] else 'off'}; resident memory sampled "
                "every few seconds.", "",
                f"- first minute median {_f(sk['first_minute_mb'])} MB, last minute median {_f(sk['last_minute_mb'])} MB, "
                f"range {_f(sk['min_mb'])}-{_f(sk['max_mb'])} MB",
                f"- slope after the first minute: {_f(sk['slope_mb_per_min_after_first_minute'], 2)} MB/min", ""]
    out += ["## Against the targets", "", "| target | measured | |", "|---|---|---|",
            f"| loop >= {TARGET_RATIO} x bare estimator (analyze) | {_f(main['ratio'], 2)} | {_mark(main['ratio'] >= TARGET_RATIO)} |"]
    for r in results.get("live", []):
        out.append(f"| live --source ({r['view']}) >= {TARGET_RATIO} x | {_f(r['ratio'], 2)} | {_mark(r['ratio'] >= TARGET_RATIO)} |")
    if "engine_share" in main:
        out.append(f"| engine < 1 % of frame time (in the loop) | {_f(100 * main['engine_share'], 2)} % | "
                   f"{_mark(main['engine_share'] < TARGET_ENGINE_SHARE)} |")
    if mc:
        out.append(f"| several clips faster than one at a time | {_f(mc['speedup'], 2)}x | {_mark(mc['speedup'] > 1.0)} |")
    if sk:
        flat = abs(sk["slope_mb_per_min_after_first_minute"]) < 1.0
        out.append(f"| memory flat over a long session | {_f(sk['slope_mb_per_min_after_first_minute'], 2)} MB/min | "
                   f"{_mark(flat)} |")
    out += [""]
    if results.get("notes"):
        out += ["## Notes", "", results["notes"].strip(), ""]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=Path, default=SHARED, help="folder of the shared clips")
    parser.add_argument("--source", type=Path, help=f"clip for the main runs (default: {DEFAULT_SOURCE.name} in --videos)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--exercise", default="glute-bridge")
    parser.add_argument("--model", type=Path, action="append", default=[], help="extra .task model to compare")
    parser.add_argument("--lite-heavy", action="store_true",
                        help="also compare lite and heavy models built by make_models.py (fetches @mediapipe/pose from npm)")
    parser.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS, help="clip names in ../shared/videos for the multi-clip run")
    parser.add_argument("--soak-minutes", type=float, default=10.0)
    parser.add_argument("--notes", type=Path, help="a text file whose content goes under 'Notes'")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--json", type=Path, help="also save every figure as JSON here")
    parser.add_argument("--quick", action="store_true", help="small numbers for a smoke run (not for publishing)")
    parser.add_argument("--from-json", type=Path, help="measure nothing: re-write RESULTS.md from a saved --json file")
    args = parser.parse_args()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        if args.notes:
            results["notes"] = args.notes.read_text()
        args.out.write_text(render(results))
        say(f"wrote {args.out} from {args.from_json}")
        return 0
    args.source = args.source or args.videos / DEFAULT_SOURCE
    if args.lite_heavy:
        import make_models

        args.model += make_models.ensure_models()
    if args.quick:
        args.frames, args.warmup, args.rounds, args.soak_minutes = 60, 10, 1, 0.5
        args.clips = args.clips[:2]

    started = time.perf_counter()
    results: dict = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "load_before": os.getloadavg(),
                     "machine": machine_info()}
    say("the loop against the bare estimator, stages, engine, start-up")
    results["main"] = run_bench(BenchConfig(source=args.source, frames=args.frames, warmup=args.warmup,
                                            rounds=args.rounds, exercise=args.exercise), progress=say)
    rounds = max(1, args.rounds - 1)
    say("frame sizes")
    results["resolution"] = scaling.by_resolution(args.source, [360, 480, 720], args.frames, args.warmup, rounds,
                                                  args.exercise, say)
    say("models")
    results["models"] = scaling.by_model(args.source, [None, *args.model], args.frames, args.warmup, rounds,
                                         args.exercise, say)
    say("live loop, terminal view")
    results["live"] = [live_rate.measure(args.source, args.exercise, window=False, warmup=args.warmup)]
    from posecheck.sinks.window import window_problem

    if window_problem() is None:
        say("live loop, window")
        results["live"].append(live_rate.measure(args.source, args.exercise, window=True, warmup=args.warmup))
    say("several clips")
    clips = [args.videos / f"{name}.mp4" for name in args.clips]
    results["multi_clip"] = multi_clip.measure(clips, args.exercise, os.cpu_count() or 2, rounds, True, say)
    say(f"memory over {args.soak_minutes:g} minutes")
    # In a new process, so that the memory it measures is the loop's alone, not what the parts above left.
    done = subprocess.run([sys.executable, str(HERE / "soak.py"), "--source", str(args.source), "--minutes",
                           str(args.soak_minutes), "--exercise", args.exercise], capture_output=True, text=True, check=True)
    results["soak"] = json.loads(done.stdout)
    results["load_after"] = os.getloadavg()
    results["minutes"] = (time.perf_counter() - started) / 60.0
    if args.notes:
        results["notes"] = args.notes.read_text()
    args.out.write_text(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
