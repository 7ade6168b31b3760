"""Speed-up of ``posecheck analyze DIR/`` with one clip per process, against one clip at a time.

Runs the real command (a new process, as a user would) on the same folder of clips with ``--jobs 1`` and
``--jobs N``, alternately, ``--rounds`` times, and reports wall times and the speed-up of the fastest runs.
The clips are symlinked into a temporary folder; outputs go to a temporary folder too.

Usage: python benchmarks/multi_clip.py CLIP [CLIP ...] [--jobs N] [--rounds R] [--exercise ID] [--no-video]
Prints JSON.
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

from posecheck.bench.startup import posecheck_command


def run_folder(folder: Path, exercise: str, jobs: int, out: Path, video: bool) -> float:
    """Seconds for ``posecheck analyze folder --jobs jobs``; raises if the command fails."""
    command = [*posecheck_command(), "analyze", str(folder), "-e", exercise, "--out", str(out), "--jobs", str(jobs)]
    if not video:
        command.append("--no-video")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    # Exit code 2 with reports written is a clip where nobody was found: still a finished analysis.
    if done.returncode not in (0, 2) or "Analysed" not in done.stderr + done.stdout:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds


def measure(clips: list[Path], exercise: str, jobs: int, rounds: int, video: bool, progress=None) -> dict:
    with tempfile.TemporaryDirectory(prefix="posecheck-multi-") as tmp:
        folder = Path(tmp) / "clips"
        folder.mkdir()
        for clip in clips:
            os.symlink(clip.resolve(), folder / clip.name)
        frames = _count_frames(clips)
        times: dict[int, list[float]] = {1: [], jobs: []}
        for round_index in range(rounds):
            for n in (1, jobs):
                if progress:
                    progress(f"--jobs {n} (round {round_index + 1})")
                out = Path(tmp) / f"out-{n}-{round_index}"
                times[n].append(run_folder(folder, exercise, n, out, video))
                shutil.rmtree(out, ignore_errors=True)
    one, many = min(times[1]), min(times[jobs])
    return {
        "clips": [c.name for c in clips],
        "frames": frames,
        "jobs": jobs,
        "video": video,
        "seconds_one_at_a_time": times[1],
        "seconds_parallel": times[jobs],
        "fps_one_at_a_time": frames / one,
        "fps_parallel": frames / many,
        "speedup": one / many,
    }


def _count_frames(clips: list[Path]) -> int:
    from posecheck.sources.video_file import VideoFileSource

    total = 0
    for clip in clips:
        with VideoFileSource(clip) as source:
            total += source.info.frame_count
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", type=Path, nargs="+")
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-video", dest="video", action="store_false")
    args = parser.parse_args()
    say = lambda text: print(f"... {text}", file=sys.stderr, flush=True)  # noqa: E731
    print(json.dumps(measure(args.clips, args.exercise, args.jobs, args.rounds, args.video, say), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
