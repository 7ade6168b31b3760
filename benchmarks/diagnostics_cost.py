"""What the engine's why-not record (`posecheck.engine.diagnostics`) costs per frame.

Replays every committed trace with its labelled exercise's spec (tests/data/labels.yaml), with and without
the record (``Engine(spec, diagnostics=False)``), in alternating rounds; the fastest round of each is kept.
Writes a markdown result naming the machine and the commit.

    .venv/bin/python benchmarks/diagnostics_cost.py --out benchmarks/DIAGNOSTICS_COST.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from pathlib import Path

from posecheck.evaluation.labels import load_labels
from posecheck.evaluation.runner import spec_loader
from posecheck.engine.engine import Engine
from posecheck.core.trace import Trace

ROOT = Path(__file__).resolve().parents[1]


def _cases() -> list[tuple[object, Trace]]:
    load = spec_loader(None)
    cases = []
    for label in load_labels(ROOT / "tests" / "data" / "labels.yaml"):
        spec, path = load(label.exercise), ROOT / "tests" / "data" / "traces" / f"{label.stem}.npz"
        if spec is not None and path.is_file():
            cases.append((spec, Trace.load(path)))
    return cases


def _frames_per_second(cases, diagnostics: bool) -> float:
    frames, started = 0, time.perf_counter()
    for spec, trace in cases:
        engine = Engine(spec, diagnostics=diagnostics)
        engine.process_trace(trace)
        engine.finish(float(trace.timestamps[-1]))
        frames += len(trace.timestamps)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cases = _cases()
    best = {False: 0.0, True: 0.0}
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for diagnostics in (False, True):
            best[diagnostics] = max(best[diagnostics], _frames_per_second(cases, diagnostics))
    load_after = os.getloadavg()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    frames = sum(len(trace.timestamps) for _, trace in cases)
    text = f"""# Cost of the why-not record (engine diagnostics)

Written by `benchmarks/diagnostics_cost.py`. {len(cases)} labelled traces with their own specs ({frames} frames),
{args.rounds} alternating rounds, fastest of each kind. Engine only (no decoding, no pose model).

- Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};
  load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at the end (a shared machine: compare the ratio).
- Commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

| engine | frames/s | per frame |
|---|---:|---:|
| without the record (`diagnostics=False`) | {best[False]:.0f} | {1e6 / best[False]:.0f} us |
| with the record (default) | {best[True]:.0f} | {1e6 / best[True]:.0f} us |
| ratio | {best[True] / best[False]:.2f} | +{1e6 / best[True] - 1e6 / best[False]:.0f} us |
"""
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
