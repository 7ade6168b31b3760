"""Throughput of ``posecheck analyze DIR/`` on a Dask cluster against the local path, in one run.

Three ways through the same folder of real clips, each the real command in a new process, as a user runs it:

- ``local``: ``--jobs N`` (today's path: one clip per spawned process), the baseline;
- ``scheduler``: ``--scheduler ADDRESS``, a localhost cluster started beforehand with the ``dask scheduler``
  and ``dask worker`` entry points (N single-threaded workers, each its own process), as a running cluster
  is used: its start-up is not timed, its workers import posecheck at their first clip;
- ``cluster``: ``--cluster --jobs N``, the local Dask cluster the command starts itself (start-up timed).

The modes alternate, ``--rounds`` times; each mode's fastest run gives its clips/min and frames/s (frames
from the reports). The local path writes report.html and measures.csv besides report.json and reps.csv (the
Dask paths write report.json, reps.csv and input.json); every run is ``--no-video`` and ``--no-history``.
The 1-minute load average is recorded before each run: the figures are only comparable within one run.

Usage: python benchmarks/cluster.py [CLIP ...] [--jobs 2] [--rounds 2] [--exercise cat-cow] [--write]
Default clips: six from ../shared/videos. --write also writes benchmarks/CLUSTER.md and CLUSTER.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from posecheck.bench.machine import machine_info
from posecheck.bench.startup import posecheck_command

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "videos"
DEFAULT_CLIPS = ["cat_cow_01", "cat_cow_03", "bird_dog_01", "dead_bug_01", "glute_bridge_01", "push_up_01"]
MODES = ("local", "scheduler", "cluster")


def start_localhost_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A ``dask scheduler`` and ``workers`` ``dask worker`` processes on 127.0.0.1: (address, processes)."""
    def start(args: list[str], log: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", *args], stdout=(folder / log).open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)

    scheduler_file = folder / "scheduler.json"
    processes = [start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(scheduler_file)], "scheduler.log")]
    deadline = time.monotonic() + 60
    while not scheduler_file.is_file() or not scheduler_file.read_text().strip():
        if time.monotonic() > deadline or processes[0].poll() is not None:
            raise RuntimeError(f"the scheduler did not start: {(folder / 'scheduler.log').read_text()[-500:]}")
        time.sleep(0.2)
    time.sleep(0.2)
    address = json.loads(scheduler_file.read_text())["address"]
    processes += [start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                         "--no-dashboard", "--memory-limit", "0"], f"worker{i}.log") for i in range(workers)]
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run(mode: str, folder: Path, out: Path, exercise: str, jobs: int, address: str) -> dict:
    command = [*posecheck_command(), "analyze", str(folder), "-e", exercise, "--out", str(out)]
    command += {"local": ["--jobs", str(jobs), "--no-video", "--no-history"],
                "scheduler": ["--scheduler", address],
                "cluster": ["--cluster", "--jobs", str(jobs)]}[mode]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    reports = [json.loads(path.read_text()) for path in sorted(out.glob("*/report.json"))]
    if done.returncode not in (0, 2) or len(reports) != len(list(folder.iterdir())):
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return {"seconds": seconds, "load_1min_before": load, "frames": sum(r["frames"] for r in reports),
            "reps": {path.parent.name: r["reps"] for path, r in zip(sorted(out.glob("*/report.json")), reports)}}


def measure(clips: list[Path], exercise: str, jobs: int, rounds: int, say=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="posecheck-cluster-bench-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "clips"
        folder.mkdir()
        for clip in clips:
            os.symlink(clip.resolve(), folder / clip.name)
        say(f"starting a localhost Dask cluster: scheduler + {jobs} workers")
        address, processes = start_localhost_cluster(tmp, jobs)
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        try:
            for round_index in range(rounds):
                for mode in MODES:
                    say(f"{mode} (round {round_index + 1} of {rounds})")
                    runs[mode].append(run(mode, folder, tmp / f"out-{mode}-{round_index}", exercise, jobs, address))
        finally:
            stop(processes)
    reps = {mode: runs[mode][0]["reps"] for mode in MODES}
    summary = {}
    for mode in MODES:
        best = min(runs[mode], key=lambda r: r["seconds"])
        summary[mode] = {"best_seconds": best["seconds"], "clips_per_min": 60 * len(clips) / best["seconds"],
                         "frames_per_s": best["frames"] / best["seconds"], "frames": best["frames"],
                         "seconds": [r["seconds"] for r in runs[mode]],
                         "load_1min_before": [r["load_1min_before"] for r in runs[mode]]}
    return {"machine": machine_info(), "clips": [c.name for c in clips], "exercise": exercise, "jobs": jobs,
            "rounds": rounds, "same_reps_in_every_mode": len({json.dumps(r, sort_keys=True) for r in reps.values()}) == 1,
            "modes": summary}


def to_markdown(result: dict) -> str:
    m, modes = result["machine"], result["modes"]
    base = modes["local"]["clips_per_min"]
    lines = [
        "# Many clips on a Dask cluster: throughput against the local path",
        "",
        f"Measured by `python benchmarks/cluster.py --write` (rerun it to refresh this file) on {m['date']}, commit "
        f"`{m['commit']}`, {m['cpu']} ({m['cores']} cores), Python {m['python']}, mediapipe {m['mediapipe']}.",
        "",
        f"**The machine was shared** with other engineers' jobs: the 1-minute load average before the runs was "
        f"{', '.join(f'{x:.1f}' for mode in modes.values() for x in mode['load_1min_before'])} "
        f"(in run order: local, scheduler, cluster per round) on {m['cores']} cores. Compare the modes with each "
        "other, within this run, not with figures measured elsewhere.",
        "",
        f"Folder: {len(result['clips'])} real clips ({', '.join(result['clips'])}), analysed as "
        f"`{result['exercise']}`, {modes['local']['frames']} frames in all; {result['jobs']} workers or processes; "
        f"{result['rounds']} rounds, modes alternating, each mode's fastest run below.",
        "",
        "| mode | command | best s | clips/min | frames/s | vs local | all runs (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    commands = {"local": f"`analyze DIR --jobs {result['jobs']}`",
                "scheduler": f"`analyze DIR --scheduler ADDRESS` (scheduler + {result['jobs']} `dask worker` processes, already running)",
                "cluster": f"`analyze DIR --cluster --jobs {result['jobs']}` (starts its own local cluster)"}
    for name in MODES:
        mode = modes[name]
        lines.append(f"| {name} | {commands[name]} | {mode['best_seconds']:.1f} | {mode['clips_per_min']:.1f} | "
                     f"{mode['frames_per_s']:.1f} | {mode['clips_per_min'] / base:.2f}x | "
                     f"{', '.join(f'{s:.1f}' for s in mode['seconds'])} |")
    lines += [
        "",
        f"Same reps per clip in every mode: {'yes' if result['same_reps_in_every_mode'] else 'NO'}.",
        "",
        "What the modes do differently: the local path spawns one process per worker slot and writes "
        "report.html and measures.csv as well; the Dask paths send each clip to a worker as one task, the worker "
        "returns the report and the command writes report.json, reps.csv and input.json. Every run is "
        "`--no-video`; the local one `--no-history`. On one machine the cluster cannot be faster than the "
        "local path (the same cores run the same inference); what this measures is what Dask costs per clip. "
        "On a real cluster the throughput grows with the workers, each one a core's worth of inference.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", type=Path, nargs="*")
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="write benchmarks/CLUSTER.md and CLUSTER.json")
    args = parser.parse_args()
    clips = args.clips or [SHARED / f"{name}.mp4" for name in DEFAULT_CLIPS]
    missing = [str(clip) for clip in clips if not clip.is_file()]
    if missing:
        print(f"Error: clips not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    say = lambda text: print(f"... {text}", file=sys.stderr, flush=True)  # noqa: E731
    result = measure(clips, args.exercise, args.jobs, args.rounds, say)
    print(json.dumps(result, indent=2))
    if args.write:
        (HERE / "CLUSTER.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (HERE / "CLUSTER.md").write_text(to_markdown(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
