"""Shared test fixtures: where the shared clips and the committed traces are, and skip markers.

The real clips live outside the repository (``../shared/videos``, never committed). Tests that need them
are skipped when the folder is missing, except under CI (``CI=true``), where a missing folder is a setup
error and those tests fail instead of silently passing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEOS = REPO_ROOT.parent / "shared" / "videos"
TRACES = REPO_ROOT / "tests" / "data" / "traces"
_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Marks tests that decode clips from ../shared/videos.
requires_shared_videos = pytest.mark.skipif(
    not SHARED_VIDEOS.is_dir() and not _IN_CI, reason=f"shared clips not found at {SHARED_VIDEOS}"
)


def shared_clip(name: str) -> Path:
    """Path of a clip in ../shared/videos (skips the test when it is missing outside CI)."""
    path = SHARED_VIDEOS / name
    if not path.is_file() and not _IN_CI:
        pytest.skip(f"shared clip {path} not found")
    return path


def trace_path(clip_stem: str) -> Path:
    """Path of the committed landmark trace of a shared clip (tests/data/traces/<stem>.npz)."""
    return TRACES / f"{clip_stem}.npz"


@pytest.fixture(autouse=True)
def _no_user_overrides(monkeypatch):
    """A developer's own model or spec folder (environment variables) must not change test results."""
    monkeypatch.delenv("POSECHECK_MODEL", raising=False)
    monkeypatch.delenv("POSECHECK_SPECS", raising=False)


@pytest.fixture(autouse=True)
def _private_data_dir(monkeypatch, tmp_path_factory):
    """Sessions recorded by tests (the history database) go to a fresh folder, never the user's data folder."""
    monkeypatch.setenv("POSECHECK_DATA_DIR", str(tmp_path_factory.mktemp("posecheck-data")))


@pytest.fixture(autouse=True)
def _no_stop_signal_left_over():
    """A stop signal recorded by one test (posecheck.runtime.stopping) must not decide a later command's exit code."""
    from posecheck.runtime import stopping

    stopping.forget()
    yield
    stopping.forget()
