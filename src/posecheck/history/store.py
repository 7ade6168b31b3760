"""The session history: one SQLite database in the user's data folder that every session is recorded in.

Why SQLite: one file, no server, safe with several processes at once. WAL mode lets a live session write
while ``posecheck progress`` or a report reads, and a writer waits (``busy_timeout``) instead of failing
when another one holds the lock for a moment.

Nothing is lost on a crash: a session's row is written when it starts (status ``running``), its reps, holds
and cues as they happen, and the row is completed when the session ends. A ``running`` row whose process
is gone (killed, power cut) is marked ``interrupted`` the next time the database is opened.

The database holds health data: its folder is created readable by the user only (0700) and the file 0600.
No video and no per-frame landmarks are ever stored.

Schema versions live in ``PRAGMA user_version``; `MIGRATIONS` brings any older database up to date, one
step at a time, each in its own transaction.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posecheck.version import __version__
from posecheck.errors import InputError

log = logging.getLogger(__name__)

DATA_ENV_VAR = "POSECHECK_DATA_DIR"
DB_NAME = "history.sqlite3"
#: How long a writer waits for another one's lock before giving up (a live session and a report at once).
BUSY_TIMEOUT_MS = 10_000

STATUS_RUNNING = "running"
STATUS_COMPLETED = "completed"
STATUS_INTERRUPTED = "interrupted"

#: Schema steps: MIGRATIONS[i] brings a database from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: sessions with their summary, and per-rep, per-hold and per-cue rows.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        exercise TEXT NOT NULL,
        exercise_title TEXT,
        mode TEXT NOT NULL,                 -- analyze, live or routine
        source_path TEXT,
        source_kind TEXT,                   -- video, trace, camera
        started_at TEXT NOT NULL,           -- ISO 8601, UTC
        ended_at TEXT,
        status TEXT NOT NULL,               -- running, completed, interrupted
        pid INTEGER,
        host TEXT,
        posecheck_version TEXT,
        out_dir TEXT,
        duration REAL,
        frames INTEGER,
        frames_with_pose INTEGER,
        reps INTEGER,
        target_reps INTEGER,
        reps_left INTEGER,
        reps_right INTEGER,
        hold_seconds REAL,
        asymmetry REAL,
        rom_unit TEXT
    );
    CREATE INDEX sessions_exercise_started ON sessions (exercise, started_at);
    CREATE TABLE reps (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        side TEXT,
        start REAL,
        "end" REAL,
        duration REAL,
        rom REAL,
        rom_unit TEXT,
        tempo_ok INTEGER,
        cut_by_end INTEGER,
        peaks TEXT,                         -- JSON: measure -> value
        cues TEXT,                          -- JSON: list of texts
        PRIMARY KEY (session_id, idx)
    );
    CREATE TABLE holds (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        side TEXT,
        start REAL,
        "end" REAL,
        seconds REAL,
        target_seconds REAL,
        target_met INTEGER,
        PRIMARY KEY (session_id, idx)
    );
    CREATE TABLE cues (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t REAL,
        rule TEXT,
        text TEXT,
        severity TEXT
    );
    CREATE INDEX cues_session ON cues (session_id);
    """,
    # 1 -> 2: pain flags (a person notes pain during or after a session), and the whole report.json.
    """
    CREATE TABLE pain_flags (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t REAL,                             -- seconds into the session, or NULL for the session as a whole
        note TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN report TEXT;  -- report.json as written, for export and the HTML report
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def data_dir() -> Path:
    """The user's data folder: ``$POSECHECK_DATA_DIR``, else the platform's (``~/.local/share/posecheck``)."""
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("posecheck", appauthor=False))


def default_db_path() -> Path:
    return data_dir() / DB_NAME


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user has that pid: it exists, so it may still be ours
        return True
    return True


@dataclass(frozen=True)
class SessionRow:
    """One recorded session, as listed by ``posecheck history``."""

    id: int
    exercise: str
    exercise_title: str | None
    mode: str
    source_path: str | None
    source_kind: str | None
    started_at: str
    ended_at: str | None
    status: str
    duration: float | None
    reps: int | None
    target_reps: int | None
    reps_left: int | None
    reps_right: int | None
    hold_seconds: float | None
    asymmetry: float | None
    rom_unit: str | None
    out_dir: str | None

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)


_SESSION_COLUMNS = tuple(SessionRow.__dataclass_fields__)


class HistoryStore:
    """The history database. Thread-safe (one connection behind a lock); several processes may open it.

    Args:
        path: the database file; default `default_db_path`. Its folder is created (0700) if missing.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        try:
            _create_private(self.path)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                                       isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.mark_stale_sessions()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"cannot use the history database {self.path}: {exc} "
                             f"(--no-history skips it; set ${DATA_ENV_VAR} to use another folder)") from exc
        except OSError as exc:
            raise InputError(f"cannot create the history database {self.path}: {exc.strerror or exc} "
                             f"(--no-history skips it; set ${DATA_ENV_VAR} to use another folder)") from exc

    # ------------------------------------------------------------------------------------------- plumbing

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. BEGIN IMMEDIATE takes the write lock at once, so two writers queue up
        (busy_timeout) instead of one failing half-way with "database is locked"."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"it has schema version {version}, newer than this posecheck knows ({SCHEMA_VERSION}); update posecheck")
        for step in range(version, SCHEMA_VERSION):
            with self._transaction() as db:
                # Re-read inside the lock: another process may have migrated meanwhile.
                if int(db.execute("PRAGMA user_version").fetchone()[0]) != step:
                    continue
                for statement in _statements(MIGRATIONS[step]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            log.info("history database %s migrated to schema version %d", self.path, step + 1)

    def mark_stale_sessions(self) -> int:
        """Marks ``running`` sessions of this host whose process is gone as ``interrupted``; returns how many."""
        host = socket.gethostname()
        with self._lock:
            rows = self._db.execute("SELECT id, pid FROM sessions WHERE status = ? AND host = ?",
                                    (STATUS_RUNNING, host)).fetchall()
        stale = [row["id"] for row in rows if row["pid"] is None or not _pid_alive(int(row["pid"]))]
        if stale:
            with self._transaction() as db:
                db.executemany("UPDATE sessions SET status = ? WHERE id = ? AND status = ?",
                               [(STATUS_INTERRUPTED, sid, STATUS_RUNNING) for sid in stale])
        return len(stale)

    # ------------------------------------------------------------------------------------------- writing

    def begin_session(self, exercise: str, *, mode: str, exercise_title: str | None = None,
                      source_path: str | None = None, source_kind: str | None = None,
                      out_dir: str | None = None, started_at: str | None = None) -> int:
        """Writes the row of a session that starts now (status ``running``) and returns its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO sessions (exercise, exercise_title, mode, source_path, source_kind, started_at, status,"
                " pid, host, posecheck_version, out_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (exercise, exercise_title, mode, source_path, source_kind, started_at or now_utc(), STATUS_RUNNING,
                 os.getpid(), socket.gethostname(), __version__, out_dir),
            )
            return int(cursor.lastrowid)

    def add_rep(self, session_id: int, rep: dict[str, Any]) -> None:
        """Stores one rep as it completes (a report's ``rep_list`` entry); a rep with the same index is replaced."""
        with self._transaction() as db:
            _insert_reps(db, session_id, [rep])

    def add_hold(self, session_id: int, idx: int, hold: dict[str, Any]) -> None:
        with self._transaction() as db:
            _insert_holds(db, session_id, [(idx, hold)])

    def add_cue(self, session_id: int, cue: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute("INSERT INTO cues (session_id, t, rule, text, severity) VALUES (?, ?, ?, ?, ?)",
                       (session_id, cue["t"], cue["rule"], cue["text"], cue.get("severity")))

    def complete_session(self, session_id: int, report: dict[str, Any], *, out_dir: str | None = None) -> None:
        """Completes a session from its report (the `report.build_report` dict): the summary, and the reps,
        holds and cues replaced by the report's (the final word: a live reset drops earlier reps).
        Status ``interrupted`` when the report says so, else ``completed``."""
        reps_by_side = report.get("reps_by_side") or {}
        holds = report.get("holds") or []
        status = STATUS_INTERRUPTED if report.get("interrupted") else STATUS_COMPLETED
        rom_unit = next((rep.get("rom_unit") for rep in report.get("rep_list", []) if rep.get("rom_unit")), None)
        with self._transaction() as db:
            db.execute(
                "UPDATE sessions SET exercise_title = ?, ended_at = ?, status = ?, duration = ?, frames = ?,"
                " frames_with_pose = ?, reps = ?, target_reps = ?, reps_left = ?, reps_right = ?, hold_seconds = ?,"
                " asymmetry = ?, rom_unit = ?, report = ?, source_kind = COALESCE(?, source_kind),"
                " out_dir = COALESCE(?, out_dir) WHERE id = ?",
                (report.get("exercise_title"), now_utc(), status, report.get("duration"), report.get("frames"),
                 report.get("frames_with_pose"), report.get("reps"), report.get("target_reps"),
                 reps_by_side.get("left"), reps_by_side.get("right"),
                 sum(hold["seconds"] or 0.0 for hold in holds) if holds else None,
                 report.get("asymmetry"), rom_unit, json.dumps(report, ensure_ascii=False, allow_nan=False),
                 (report.get("source") or {}).get("kind"), out_dir, session_id),
            )
            for table in ("reps", "holds", "cues"):
                db.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            _insert_reps(db, session_id, report.get("rep_list", []))
            _insert_holds(db, session_id, list(enumerate(holds, start=1)))
            db.executemany("INSERT INTO cues (session_id, t, rule, text, severity) VALUES (?, ?, ?, ?, ?)",
                           [(session_id, c["t"], c["rule"], c["text"], c.get("severity")) for c in report.get("cues", [])])

    def mark_interrupted(self, session_id: int) -> None:
        """Ends a session that will get no report (its process failed): status ``interrupted``."""
        with self._transaction() as db:
            db.execute("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ? AND status = ?",
                       (STATUS_INTERRUPTED, now_utc(), session_id, STATUS_RUNNING))

    def add_pain_flag(self, session_id: int, note: str, t: float | None = None) -> int:
        """Notes pain felt in a session (at ``t`` seconds into it, or in the session as a whole)."""
        self.get(session_id)  # a clear error for an unknown id
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO pain_flags (session_id, t, note, created_at) VALUES (?, ?, ?, ?)",
                                (session_id, t, note, now_utc()))
            return int(cursor.lastrowid)

    def delete(self, session_ids: Sequence[int]) -> int:
        """Deletes sessions with everything recorded about them; returns how many existed."""
        with self._transaction() as db:
            cursor = db.executemany("DELETE FROM sessions WHERE id = ?", [(sid,) for sid in session_ids])
            return cursor.rowcount

    # ------------------------------------------------------------------------------------------- reading

    def sessions(self, *, exercise: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, status: str | None = None, limit: int | None = None) -> list[SessionRow]:
        """Sessions, oldest first, filtered by exercise, start time (``since`` <= start < ``until``) and status."""
        where, args = [], []
        if exercise is not None:
            where.append("exercise = ?")
            args.append(exercise)
        if since is not None:
            where.append("started_at >= ?")
            args.append(_utc_text(since))
        if until is not None:
            where.append("started_at < ?")
            args.append(_utc_text(until))
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if limit is None:
            sql += " ORDER BY started_at, id"
        else:  # the newest `limit` sessions, still listed oldest first
            sql = f"SELECT * FROM ({sql} ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at, id"
            args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [SessionRow(**{key: row[key] for key in _SESSION_COLUMNS}) for row in rows]

    def get(self, session_id: int) -> SessionRow:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            raise InputError(f"no session {session_id} in the history ({self.path}); see: posecheck history list")
        return SessionRow(**{key: row[key] for key in _SESSION_COLUMNS})

    def reps(self, session_id: int) -> list[dict[str, Any]]:
        """The session's reps as report ``rep_list`` entries, in order."""
        with self._lock:
            rows = self._db.execute('SELECT idx, side, start, "end", duration, rom, rom_unit, tempo_ok, cut_by_end,'
                                    " peaks, cues FROM reps WHERE session_id = ? ORDER BY idx", (session_id,)).fetchall()
        return [
            {"index": r["idx"], "side": r["side"], "start": r["start"], "end": r["end"], "duration": r["duration"],
             "rom": r["rom"], "rom_unit": r["rom_unit"], "tempo_ok": _bool(r["tempo_ok"]),
             "cut_by_end": _bool(r["cut_by_end"]), "peaks": json.loads(r["peaks"] or "{}"),
             "cues": json.loads(r["cues"] or "[]")}
            for r in rows
        ]

    def holds(self, session_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute('SELECT side, start, "end", seconds, target_seconds, target_met FROM holds'
                                    " WHERE session_id = ? ORDER BY idx", (session_id,)).fetchall()
        return [{**dict(r), "target_met": _bool(r["target_met"])} for r in rows]

    def cues(self, session_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT t, rule, text, severity FROM cues WHERE session_id = ? ORDER BY t, rowid",
                                    (session_id,)).fetchall()
        return [dict(r) for r in rows]

    def pain_flags(self, session_id: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT t, note, created_at FROM pain_flags WHERE session_id = ? ORDER BY id",
                                    (session_id,)).fetchall()
        return [dict(r) for r in rows]

    def report(self, session_id: int) -> dict[str, Any] | None:
        """The session's report.json as it was written, or None (a session that never completed)."""
        with self._lock:
            row = self._db.execute("SELECT report FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return json.loads(row["report"]) if row is not None and row["report"] else None

    def export(self, sessions: Sequence[SessionRow]) -> list[dict[str, Any]]:
        """Everything recorded about ``sessions``, as JSON-ready dicts (``history export --format json``)."""
        return [
            {**session.__dict__, "rep_list": self.reps(session.id), "holds": self.holds(session.id),
             "cues": self.cues(session.id), "pain_flags": self.pain_flags(session.id)}
            for session in sessions
        ]


def _create_private(path: Path) -> None:
    """Creates the database's folder (0700) and file (0600) before SQLite opens it: SQLite would create
    the file with the umask's permissions (often world-readable), and it gives its -wal and -shm files the
    database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def _statements(script: str) -> list[str]:
    """The statements of a migration script (run one by one, inside the step's transaction:
    ``executescript`` would commit on its own)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _insert_reps(db: sqlite3.Connection, session_id: int, reps: Sequence[dict[str, Any]]) -> None:
    db.executemany(
        'INSERT OR REPLACE INTO reps (session_id, idx, side, start, "end", duration, rom, rom_unit, tempo_ok,'
        " cut_by_end, peaks, cues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(session_id, rep["index"], rep.get("side"), rep.get("start"), rep.get("end"), rep.get("duration"),
          rep.get("rom"), rep.get("rom_unit"), _int(rep.get("tempo_ok")), _int(rep.get("cut_by_end")),
          json.dumps(rep.get("peaks") or {}), json.dumps(list(rep.get("cues") or [])))
         for rep in reps],
    )


def _insert_holds(db: sqlite3.Connection, session_id: int, holds: Sequence[tuple[int, dict[str, Any]]]) -> None:
    db.executemany(
        'INSERT OR REPLACE INTO holds (session_id, idx, side, start, "end", seconds, target_seconds, target_met)'
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(session_id, idx, h.get("side"), h.get("start"), h.get("end"), h.get("seconds"), h.get("target_seconds"),
          _int(h.get("target_met"))) for idx, h in holds],
    )


def _int(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a naive time is the user's local time
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
