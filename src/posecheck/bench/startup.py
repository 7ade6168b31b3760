"""Start-up costs, each in a new process: ``posecheck --help``, and the first analysed frame (the probe in
:mod:`posecheck.bench.end_to_end`, run with ``python -m``)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: The first-frame probe, a module run in a new process (``python -m``).
FIRST_FRAME_PROBE = "posecheck.bench.end_to_end"


def _run_probe(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", FIRST_FRAME_PROBE, *args], capture_output=True, text=True,
                         env=env, timeout=600, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"first-frame probe failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def posecheck_command() -> list[str]:
    """How to start ``posecheck`` in a new process: the installed console script, which is what users start;
    without one (a bare checkout), the same entry point through this Python."""
    script = Path(sys.executable).parent / "posecheck"
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from posecheck.cli.app import main; main()"]


def bench_startup(video: Path, model: Path | None = None, help_runs: int = 3) -> dict[str, Any]:
    """Start-up costs, each in a new process.

    Returns:
        ``help_s``: median wall time of ``posecheck --help``;
        ``first_frame_runs``: two runs (a new process each) of importing, resolving the model (``model`` or
        the packaged one, checksum checked), opening the estimator and analysing the first frame, in seconds.
        The second finds the libraries and the model file in the operating system's file cache.
    """
    env = dict(os.environ)
    command = posecheck_command()
    help_times = []
    for _ in range(help_runs):
        start = time.perf_counter()
        out = subprocess.run([*command, "--help"], capture_output=True, env=env, timeout=120, check=False)
        help_times.append(time.perf_counter() - start)
        if out.returncode != 0:
            raise RuntimeError(f"posecheck --help failed: {out.stderr.decode(errors='replace').strip()[-300:]}")
    result: dict[str, Any] = {"help_s": statistics.median(help_times)}
    env.pop("POSECHECK_MODEL", None)
    model_arg = str(model) if model else ""
    result["first_frame_runs"] = [_run_probe([str(video), model_arg], env) for _ in range(2)]
    return result
