"""What the figures were measured on (CPU, cores, library versions, commit, date), and this process's memory."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def package_version(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (e.g. ``"mediapipe"``), None when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; elsewhere what `platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def machine_info() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, Python, library versions, commit, date (UTC)."""
    import cv2
    import numpy as np

    from posecheck.version import __version__

    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        load = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_1min": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "mediapipe": package_version("mediapipe"),
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "posecheck": __version__,
        "commit": _git_commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss: KB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()
