"""The session history: round trip through the commands, migrations, two writers at once, a killed session."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO_ROOT, trace_path
from posecheck.cli.app import app
from posecheck.cli.history import parse_moment
from posecheck.errors import InputError
from posecheck.history.progress import daily_progress, sparkline
from posecheck.history.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    STATUS_COMPLETED,
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    HistoryStore,
    default_db_path,
)

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _analyze(tmp_path: Path, clip: str, exercise: str, *extra: str) -> dict:
    out = tmp_path / clip
    result = runner.invoke(app, ["analyze", str(trace_path(clip)), "-e", exercise, "--no-video", "--out", str(out), *extra],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())


def _report(reps: list[tuple[str | None, float, float]], *, exercise: str = "bird-dog", hold: float | None = None,
            interrupted: bool = False) -> dict:
    """A report.json-shaped dict with reps (side, rom, duration)."""
    rep_list, t = [], 0.0
    for i, (side, rom, duration) in enumerate(reps, start=1):
        rep_list.append({"index": i, "side": side, "start": t, "end": t + duration, "duration": duration, "rom": rom,
                         "rom_unit": "deg", "peaks": {}, "tempo_ok": True, "cut_by_end": False, "cues": []})
        t += duration + 1
    by_side: dict[str, int] = {}
    for side, _, _ in reps:
        if side:
            by_side[side] = by_side.get(side, 0) + 1
    holds = [] if hold is None else [{"side": None, "start": 0.0, "end": hold, "seconds": hold, "target_seconds": 20.0,
                                      "target_met": hold >= 20}]
    return {"exercise": exercise, "exercise_title": exercise.title(), "source": {"kind": "trace"}, "duration": t,
            "frames": 10, "frames_with_pose": 10, "interrupted": interrupted, "reps": len(reps), "target_reps": 8,
            "reps_by_side": by_side, "rep_list": rep_list, "holds": holds,
            "cues": [{"t": 1.0, "rule": "slow_down", "text": "Slow down", "severity": "info"}], "gaps": [],
            "asymmetry": None}


def _record(store: HistoryStore, report: dict, started: datetime) -> int:
    session_id = store.begin_session(report["exercise"], mode="analyze", started_at=started.isoformat())
    store.complete_session(session_id, report)
    return session_id


# ------------------------------------------------------------------------------------------------ round trip


def test_analyze_records_sessions_and_history_lists_them(tmp_path):
    first = _analyze(tmp_path, "cat_cow_01", "cat-cow")
    _analyze(tmp_path, "bird_dog_01", "bird-dog")
    _analyze(tmp_path, "cat_cow_03", "cat-cow", "--no-history")

    with HistoryStore() as store:
        sessions = store.sessions()
        assert [s.exercise for s in sessions] == ["cat-cow", "bird-dog"]  # --no-history recorded nothing
        cat = sessions[0]
        assert cat.status == STATUS_COMPLETED and cat.mode == "analyze"
        assert cat.reps == first["reps"] and cat.reps > 0
        assert [rep["rom"] for rep in store.reps(cat.id)] == [rep["rom"] for rep in first["rep_list"]]
        assert store.report(cat.id) == first

    listed = runner.invoke(app, ["history", "list"], env=WIDE)
    assert listed.exit_code == 0, listed.output
    assert "cat-cow" in listed.output and "bird-dog" in listed.output and "completed" in listed.output
    only_cat = runner.invoke(app, ["history", "list", "--exercise", "cat-cow"], env=WIDE)
    assert "cat-cow" in only_cat.output and "bird-dog" not in only_cat.output
    assert runner.invoke(app, ["history"], env=WIDE).output == listed.output  # no subcommand = list


def test_progress_shows_days_sides_and_sparklines():
    today = datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    with HistoryStore() as store:
        # Three days of bird-dog; the range grows on the right side only.
        for days_ago, right_rom in ((2, 60.0), (1, 70.0), (0, 80.0)):
            _record(store, _report([("left", 90.0, 4.0), ("right", right_rom, 5.0)]), today - timedelta(days=days_ago))
        _record(store, _report([("left", 100.0, 3.0)]), today - timedelta(days=0, hours=1))  # a 2nd session today
        days = daily_progress(store, "bird-dog")
    assert [d.sessions for d in days] == [1, 1, 2]
    assert [d.rom["right"] for d in days] == [60.0, 70.0, 80.0]
    assert days[-1].rom["left"] == pytest.approx(95.0)
    assert days[0].asymmetry == pytest.approx((90 - 60) / 90)
    assert days[-1].reps_by_side == {"left": 2, "right": 1}

    result = runner.invoke(app, ["progress", "bird-dog"], env=WIDE)
    assert result.exit_code == 0, result.output
    for text in ("ROM L (deg)", "ROM R (deg)", "L/R asym %", "s per rep", today.date().isoformat(), "trend", "▁▅█"):  # ROM R: 60, 70, 80
        assert text in result.output, text
    since = runner.invoke(app, ["progress", "bird-dog", "--since", "1d"], env=WIDE)
    assert (today - timedelta(days=2)).date().isoformat() not in since.output
    empty = runner.invoke(app, ["progress", "cat-cow"], env=WIDE)
    assert empty.exit_code == 0 and "No sessions of cat-cow" in empty.output


def test_export_json_csv_and_delete(tmp_path):
    now = datetime.now(timezone.utc)
    with HistoryStore() as store:
        old = _record(store, _report([("left", 50.0, 3.0)]), now - timedelta(days=40))
        new = _record(store, _report([("left", 55.0, 3.0), ("right", 52.0, 3.5)], hold=None), now)
        store.add_pain_flag(new, "lower back, 3 of 10", t=4.0)

    exported = runner.invoke(app, ["history", "export", "--since", "30d"])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.output)
    assert [s["id"] for s in data] == [new]
    assert [r["rom"] for r in data[0]["rep_list"]] == [55.0, 52.0]
    assert data[0]["pain_flags"][0]["note"] == "lower back, 3 of 10"

    csv_file = tmp_path / "export.csv"
    assert runner.invoke(app, ["history", "export", "-f", "csv", "-o", str(csv_file)]).exit_code == 0
    lines = csv_file.read_text().splitlines()
    assert lines[0].startswith("session_id,started_at,exercise") and len(lines) == 1 + 3  # one row per rep
    assert stat.S_IMODE(csv_file.stat().st_mode) == 0o600

    refused = runner.invoke(app, ["history", "delete", "--all"])  # no terminal to confirm on
    assert refused.exit_code == 2 and "--yes" in refused.output
    unknown = runner.invoke(app, ["history", "delete", "999"])
    assert unknown.exit_code == 2 and "no session 999" in unknown.output
    deleted = runner.invoke(app, ["history", "delete", str(old)])
    assert deleted.exit_code == 2  # asks for --yes
    assert runner.invoke(app, ["history", "delete", str(old), "--yes"]).output.strip() == "Deleted 1 sessions."
    with HistoryStore() as store:
        assert [s.id for s in store.sessions()] == [new]
        assert store.reps(old) == []  # its reps went with it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", datetime(2025, 3, 1, 12, tzinfo=timezone.utc) - timedelta(days=30)),
        ("2w", datetime(2025, 3, 1, 12, tzinfo=timezone.utc) - timedelta(weeks=2)),
        ("12h", datetime(2025, 3, 1, 0, tzinfo=timezone.utc)),
        ("2025-02-01T10:00:00+00:00", datetime(2025, 2, 1, 10, tzinfo=timezone.utc)),
    ],
)
def test_parse_moment(text, expected):
    assert parse_moment(text, now=datetime(2025, 3, 1, 12, tzinfo=timezone.utc)) == expected


def test_parse_moment_rejects_nonsense_in_one_line():
    with pytest.raises(InputError, match="cannot read the time 'last tuesday'"):
        parse_moment("last tuesday")
    result = runner.invoke(app, ["history", "list", "--since", "soon"])
    assert result.exit_code == 2 and result.output.startswith("Error: cannot read the time")


def test_sparkline():
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([3, None, 3]) == "▅ ▅"
    assert sparkline([None]) == " "


# ------------------------------------------------------------------------------------------------ the file


def test_database_is_private_and_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("POSECHECK_DATA_DIR", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "history.sqlite3"
    with HistoryStore() as store:
        store.begin_session("cat-cow", mode="live")
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        for name in ("history.sqlite3", "history.sqlite3-wal", "history.sqlite3-shm"):
            assert stat.S_IMODE((tmp_path / "data" / name).stat().st_mode) == 0o600, name
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unusable_database_is_one_error_line_and_analyze_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("POSECHECK_DATA_DIR", str(tmp_path))
    (tmp_path / "history.sqlite3").write_bytes(b"this is not a database" * 100)
    listed = runner.invoke(app, ["history", "list"])
    assert listed.exit_code == 2 and listed.output.startswith("Error: cannot use the history database")
    # Counting matters more than the history: analyze warns and writes its report.
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", str(trace_path("cat_cow_01")), "-e", "cat-cow", "--no-video", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "not recorded in the history" in " ".join(result.output.split())  # rich wraps log lines
    assert (out / "report.json").is_file()


# ------------------------------------------------------------------------------------------------ migrations


def test_migrates_a_version_1_database(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO sessions (exercise, mode, started_at, status, reps) VALUES ('cat-cow', 'analyze', "
               "'2025-01-02T10:00:00+00:00', 'completed', 7)")
    db.execute("INSERT INTO reps (session_id, idx, side, rom) VALUES (1, 1, NULL, 0.2)")
    db.commit()
    db.close()

    with HistoryStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 2
        (old,) = store.sessions()
        assert (old.exercise, old.reps, old.status) == ("cat-cow", 7, STATUS_COMPLETED)
        assert store.reps(old.id)[0]["rom"] == 0.2
        assert store.report(old.id) is None  # the column version 2 added
        store.add_pain_flag(old.id, "stiff in the morning")  # the table version 2 added
        assert store.pain_flags(old.id)[0]["note"] == "stiff in the morning"


def test_refuses_a_database_from_a_newer_posecheck(tmp_path):
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InputError, match="newer than this posecheck knows"):
        HistoryStore(path)


# ------------------------------------------------------------------------------------------------ processes

WRITER = textwrap.dedent("""
    import sys
    from posecheck.history.store import HistoryStore
    name, n = sys.argv[1], int(sys.argv[2])
    store = HistoryStore(sys.argv[3])
    for i in range(n):
        sid = store.begin_session(name, mode="analyze")
        for k in range(1, 4):
            store.add_rep(sid, {"index": k, "side": None, "rom": float(i), "duration": 1.0})
        store.complete_session(sid, {"exercise": name, "reps": 3, "interrupted": False, "rep_list": [
            {"index": k, "side": None, "rom": float(i), "duration": 1.0} for k in range(1, 4)]})
    store.close()
""")


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_two_writers_at_once(tmp_path):
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()  # created and migrated once, as the first session would
    writers = [_python(WRITER, name, "40", str(path)) for name in ("cat-cow", "bird-dog")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with HistoryStore(path) as store:
        for name in ("cat-cow", "bird-dog"):
            sessions = store.sessions(exercise=name)
            assert len(sessions) == 40
            assert all(s.status == STATUS_COMPLETED and s.reps == 3 for s in sessions)
            assert all(len(store.reps(s.id)) == 3 for s in sessions)


KILLED = textwrap.dedent("""
    import os, signal, sys
    from posecheck.engine.engine import Engine
    from posecheck.engine.events import RepCompleted
    from posecheck.estimators.replay import ReplayEstimator
    from posecheck.sources.replay import TraceFrameSource
    from posecheck.history.store import HistoryStore
    from posecheck.runtime.session import run_session
    from posecheck.sinks.history import HistorySink
    from posecheck.specs import load_spec_by_id

    class KillAfterReps:
        # SIGKILL: no handler, no finally, no on_finish runs, as when the power goes or the OOM killer strikes.
        def on_start(self, info): pass
        def on_frame(self, frame, pose, state, events):
            if state.reps >= 2:
                os.kill(os.getpid(), signal.SIGKILL)
        def on_finish(self, summary): pass

    spec = load_spec_by_id("cat-cow")
    sink = HistorySink(HistoryStore(), exercise=spec.id, exercise_title=spec.title, mode="live", out_dir=None,
                       rom_unit="torso")
    with TraceFrameSource.open(sys.argv[1]) as source, ReplayEstimator(source.trace) as estimator:
        run_session(source, estimator, Engine(spec), [sink, KillAfterReps()], exercise=spec.id, background=0)
""")


def test_a_killed_session_is_kept_and_marked_interrupted():
    process = _python(KILLED, str(trace_path("cat_cow_01")))
    _, err = process.communicate(timeout=120)
    assert process.returncode == -9, err
    with HistoryStore() as store:  # opening the history notices the dead process
        (session,) = store.sessions()
        assert session.status == STATUS_INTERRUPTED
        assert session.mode == "live" and session.exercise == "cat-cow"
        assert [rep["index"] for rep in store.reps(session.id)] == [1, 2]  # written as they happened
        assert all(rep["rom"] > 0 for rep in store.reps(session.id))


def test_a_running_session_of_a_live_process_stays_running():
    with HistoryStore() as store:
        session_id = store.begin_session("cat-cow", mode="live")  # this very process: alive
    with HistoryStore() as store:
        assert store.get(session_id).status == STATUS_RUNNING
        assert store.mark_stale_sessions() == 0


def test_report_writes_a_self_contained_progress_report(tmp_path):
    now = datetime.now(timezone.utc)
    with HistoryStore() as store:
        for days_ago, rom in ((3, 60.0), (1, 70.0)):
            _record(store, _report([("left", rom, 4.0), ("right", rom - 5, 4.5)]), now - timedelta(days=days_ago))
        sid = _record(store, _report([], exercise="plank", hold=25.0), now)
        store.add_pain_flag(sid, "wrist ache")
        _record(store, _report([("left", 10.0, 1.0)]), now - timedelta(days=90))  # outside --since
    out = tmp_path / "progress.html"
    result = runner.invoke(app, ["report", "--since", "30d", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 sessions, 2 exercises" in result.output
    html = out.read_text()
    assert html.count('src="data:image/svg+xml;base64,') == 2  # one trend figure per exercise
    assert "default-src 'none'" in html and "wrist ache" in html and "Plank" in html
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    nothing = runner.invoke(app, ["report", "--since", "1h", "--exercise", "cat-cow", "-o", str(tmp_path / "x.html")])
    assert nothing.exit_code == 2 and "no sessions recorded for cat-cow" in nothing.output
