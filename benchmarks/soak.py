"""Memory over a long session: the real loop on a clip played over and over, resident memory sampled.

The source loops the clip (times keep increasing, as one long recording) for ``--minutes``; the loop is
the one ``posecheck analyze`` runs (estimator, engine, annotated video to a temporary file, which is
what grows on disk, not in memory). Resident memory is sampled every ``--every`` seconds; the report
gives the first and last minute's medians and a least-squares slope after the first minute
(MB per minute), which stays near 0 when nothing accumulates.

With ``--cli analyze`` or ``--cli live`` it soaks the real command instead, in a child process: the clip is
looped with ffmpeg (``-stream_loop``, stream copy, into a temporary folder) to ``--minutes`` of video, then
``posecheck analyze LOOP.mp4`` or ``posecheck live --source LOOP.mp4 --headless`` runs on it with all its
output in that temporary folder, and the child's resident memory (its process tree's, summed), open file
descriptors and threads are sampled from /proc every ``--every`` seconds. A command still running after
``--minutes`` of wall time is stopped with SIGTERM (posecheck stops on it as on Ctrl-C), which also checks
that it then saves its report. Linux only (it reads /proc); needs ffmpeg.

Usage: python benchmarks/soak.py --source CLIP [--minutes 10] [--every 5] [--no-video] [--cli analyze|live]
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.bench.machine import current_rss_mb, peak_rss_mb


class LoopedFile:
    """A video file played again and again for ``seconds`` of wall time; frame times keep increasing."""

    def __init__(self, path: Path, seconds: float) -> None:
        from posecheck.sources.video_file import VideoFileSource

        self.path = path
        self.seconds = seconds
        with VideoFileSource(path) as probe:
            self.info = replace(probe.info, frame_count=0)  # unknown length, as a camera
        self.loops = 0

    def __iter__(self):
        from posecheck.sources.video_file import VideoFileSource

        deadline = time.perf_counter() + self.seconds
        offset = 0.0
        while time.perf_counter() < deadline:
            with VideoFileSource(self.path) as source:
                t = 0.0
                for t, frame in source:
                    if time.perf_counter() >= deadline:
                        return
                    yield offset + t, frame
            offset += t + 1.0 / self.info.fps
            self.loops += 1

    def close(self) -> None:
        """Each pass opens and closes its own file."""


class RssSampler:
    """A session sink that samples resident memory every ``every`` seconds (on the loop's side)."""

    background_safe = True

    def __init__(self, every: float) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._start = self._next = 0.0
        self.frames = 0

    def on_start(self, info: Any) -> None:
        self._start = time.perf_counter()
        self._next = self._start

    def on_frame(self, *args: Any) -> None:
        self.frames += 1
        now = time.perf_counter()
        if now >= self._next:
            self.samples.append((now - self._start, current_rss_mb()))
            self._next = now + self.every

    def on_finish(self, summary: Any) -> None:
        self.samples.append((time.perf_counter() - self._start, current_rss_mb()))


def analyse_samples(samples: list[tuple[float, float]]) -> dict[str, float]:
    """First/last minute medians and the slope (MB/min) after the first minute (the model, the first frames'
    buffers and the codec settle in during it). Runs shorter than two minutes use halves instead of minutes."""
    t = np.array([s[0] for s in samples])
    mb = np.array([s[1] for s in samples])
    settle = min(60.0, t[-1] / 2)
    settled = t >= settle
    slope = float(np.polyfit(t[settled] / 60.0, mb[settled], 1)[0]) if settled.sum() >= 3 else float("nan")
    first = mb[t <= settle]
    last = mb[t >= t[-1] - settle]
    return {
        "minutes": float(t[-1] / 60.0),
        "first_minute_mb": float(np.median(first)),
        "last_minute_mb": float(np.median(last)),
        "min_mb": float(mb.min()),
        "max_mb": float(mb.max()),
        "slope_mb_per_min_after_first_minute": slope,
    }


def soak(source: Path, minutes: float, every: float, exercise: str, video: bool, model: Path | None = None) -> dict:
    from functools import partial

    from posecheck.engine.engine import Engine
    from posecheck.estimators.mediapipe_backend import MediaPipeEstimator
    from posecheck.estimators.model import resolve_model
    from posecheck.sinks.render import annotate
    from posecheck.runtime.session import run_session
    from posecheck.sinks.video import VideoWriterSink
    from posecheck.specs import load_spec_by_id

    spec = load_spec_by_id(exercise)
    looped = LoopedFile(source, minutes * 60.0)
    sampler = RssSampler(every)
    with tempfile.TemporaryDirectory(prefix="posecheck-soak-") as tmp:
        sinks: list = [VideoWriterSink(Path(tmp) / "soak.mp4", partial(annotate, spec=spec, copy=False))] if video else []
        with MediaPipeEstimator(resolve_model(model).path) as estimator:
            result = run_session(looped, estimator, Engine(spec), [*sinks, sampler], exercise=spec.id)
    return {
        "source": str(source),
        "video": video,
        "frames": result.frames,
        "loops": looped.loops,
        "fps": result.processing_fps,
        "peak_rss_mb": peak_rss_mb(),
        **analyse_samples(sampler.samples),
        "samples": [(round(t, 1), round(mb, 1)) for t, mb in sampler.samples],
    }


def _children(pid: int) -> list[int]:
    """Every process whose ancestry reaches ``pid`` (analyze's worker processes, if it starts any)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        tree.append(current)
        frontier.extend(child for child, parent in parents.items() if parent == current)
    return tree


def _proc_sample(pid: int) -> tuple[float, int, int] | None:
    """(resident MB, open file descriptors, threads) summed over ``pid``'s process tree, or None once it is gone."""
    rss_kb = fds = threads = 0
    for member in _children(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            fds += len(os.listdir(f"/proc/{member}/fd"))
        except OSError:
            if member == pid:
                return None
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss_kb += int(fields.get("VmRSS", "0 kB").split()[0])
        threads += int(fields.get("Threads", "0"))
    return rss_kb / 1024, fds, threads


def _slope_per_min(t: np.ndarray, values: np.ndarray, settle: float) -> float:
    settled = t >= settle
    return float(np.polyfit(t[settled] / 60.0, values[settled], 1)[0]) if settled.sum() >= 3 else float("nan")


def soak_cli(source: Path, minutes: float, every: float, exercise: str, command: str, video: bool) -> dict:
    """Runs the real ``posecheck analyze`` or ``live --headless`` on ``source`` looped to ``minutes`` of video."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("soak --cli needs ffmpeg (apt-get install ffmpeg)")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(source)],
                           capture_output=True, text=True, check=True)
    loops = math.ceil(minutes * 60.0 / float(probe.stdout.strip()))
    with tempfile.TemporaryDirectory(prefix="posecheck-soak-") as tmp:
        looped = Path(tmp) / f"looped_{source.stem}.mp4"
        subprocess.run([ffmpeg, "-v", "error", "-stream_loop", str(loops - 1), "-i", str(source), "-c", "copy", "-an",
                        str(looped)], check=True)
        out = Path(tmp) / "out"
        posecheck = [sys.executable, "-m", "posecheck"]
        if command == "live":
            argv = [*posecheck, "live", exercise, "--source", str(looped), "--headless", "--out", str(out)]
            if video:
                argv += ["--record", str(Path(tmp) / "record.mp4")]
        else:
            argv = [*posecheck, "analyze", str(looped), "--exercise", exercise, "--out", str(out)]
            if not video:
                argv.append("--no-video")
        log_path = Path(tmp) / "output.txt"
        samples: list[tuple[float, float, int, int]] = []
        with log_path.open("w") as log_file:
            started = time.perf_counter()
            child = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT)
            stopped_by_soak = False
            while child.poll() is None:
                elapsed = time.perf_counter() - started
                sample = _proc_sample(child.pid)
                if sample is not None:
                    samples.append((elapsed, *sample))
                if elapsed >= minutes * 60.0 and not stopped_by_soak:
                    # SIGTERM, not SIGINT: a child of a background job inherits SIGINT ignored (so the first
                    # soak's analyze ran on past its hour); posecheck stops on SIGTERM as on Ctrl-C.
                    child.send_signal(signal.SIGTERM)
                    stopped_by_soak = True
                time.sleep(every)
            wall = time.perf_counter() - started
        report_path = out / "report.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        output_tail = log_path.read_text().splitlines()[-3:]
    if len(samples) < 3:
        raise SystemExit(f"the command ended after {wall:.1f} s with exit code {child.returncode}: "
                         + " / ".join(output_tail))
    t = np.array([s[0] for s in samples])
    mb = np.array([s[1] for s in samples])
    fds = np.array([s[2] for s in samples])
    threads = np.array([s[3] for s in samples])
    settle = min(60.0, t[-1] / 2)
    first, last = t <= settle, t >= t[-1] - settle
    return {
        "command": command,
        "source": str(source),
        "video": video,
        "loops": loops,
        "video_minutes": round(loops * float(probe.stdout.strip()) / 60.0, 1),
        "wall_minutes": round(wall / 60.0, 1),
        "exit_code": child.returncode,
        "stopped_by_soak": stopped_by_soak,
        "report": None if report is None else {key: report.get(key) for key in ("frames", "frames_with_pose", "reps",
                                                                                "interrupted", "duration", "live")},
        "output_tail": output_tail,
        "rss_first_minute_mb": float(np.median(mb[first])),
        "rss_last_minute_mb": float(np.median(mb[last])),
        "rss_min_mb": float(mb.min()),
        "rss_max_mb": float(mb.max()),
        "rss_slope_mb_per_min_after_first_minute": _slope_per_min(t, mb, settle),
        "fds_first_minute": int(np.median(fds[first])),
        "fds_last_minute": int(np.median(fds[last])),
        "fds_min": int(fds.min()),
        "fds_max": int(fds.max()),
        "threads_min": int(threads.min()),
        "threads_max": int(threads.max()),
        "samples": [(round(s[0], 1), round(s[1], 1), s[2], s[3]) for s in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--exercise", default="cat-cow")
    parser.add_argument("--no-video", dest="video", action="store_false")
    parser.add_argument("--cli", choices=["analyze", "live"], help="soak the real command in a child process")
    args = parser.parse_args()
    if args.cli:
        print(json.dumps(soak_cli(args.source, args.minutes, args.every, args.exercise, args.cli, args.video), indent=2))
        return 0
    print(json.dumps(soak(args.source, args.minutes, args.every, args.exercise, args.video), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
