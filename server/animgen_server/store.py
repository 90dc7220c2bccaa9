"""The embedded store: SQLite for uploads and jobs, plus folders for uploaded videos and results.

Layout under the data dir:  animgen.db · store.lock · uploads/<upload id><ext> · results/<job id>/ · targets/<hash>/
Every file lands by rename (written aside first), so a crash never leaves a half-written upload or result
that the database points at. All calls come from the server's event-loop thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import IO

from animgen_ml import __version__
from animgen_ml.errors import InputError

try:  # the store's lock: flock on POSIX, a byte-range lock on Windows
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

# Job states, numbered as animgen.v1.JobState.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = 1, 2, 3, 4, 5, 6
FINAL_STATES = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)
# An INTERRUPTED job's error. Said without naming an RPC: people read it in the CLI, Unity and Unreal.
INTERRUPTED_ERROR = "the server stopped while this job ran; run it again"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, file_name TEXT NOT NULL, size_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
    path TEXT NOT NULL, created_ms INTEGER NOT NULL, duration REAL, probe_error TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY, upload_id TEXT NOT NULL, video_name TEXT NOT NULL, video_path TEXT NOT NULL,
    cache_key TEXT NOT NULL, options BLOB NOT NULL, state INTEGER NOT NULL, stage TEXT NOT NULL DEFAULT '',
    progress REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, cached INTEGER NOT NULL DEFAULT 0, result_dir TEXT NOT NULL DEFAULT '',
    files TEXT NOT NULL DEFAULT '{}', warnings TEXT NOT NULL DEFAULT '[]', frames INTEGER NOT NULL DEFAULT 0,
    detected REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (cache_key, state);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_ms);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, upload_id TEXT NOT NULL, options BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
"""

# The store's layout as far as an older server could misread it, kept in SQLite's user_version. Raised only where a
# server that does not know the change would answer wrongly from the store (1: StartJob's request ids moved to the
# requests table in 0.2.12); a column added with a default keeps it. A server that finds a higher one refuses the
# store rather than serve from tables it does not know.
LAYOUT = 1


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class UploadRow:
    upload_id: str
    file_name: str
    size_bytes: int
    sha256: str
    path: str
    created_ms: int
    duration: float | None = None
    probe_error: str | None = None


@dataclass
class JobRow:
    job_id: str
    upload_id: str
    video_name: str
    video_path: str
    cache_key: str
    options: bytes  # a serialized animgen.v1.GenerateOptions
    state: int
    created_ms: int
    updated_ms: int
    stage: str = ""
    progress: float = 0.0
    error: str = ""
    cached: bool = False
    result_dir: str = ""
    files: dict[str, str] = field(default_factory=dict)  # result key (glb, bvh, ..., target) -> file name
    warnings: list[str] = field(default_factory=list)  # the run's warnings, replayed to every later watcher
    frames: int = 0  # a succeeded job's: the video's frames the pose stage read
    detected: float = 0.0  # and the share of them with a person


@dataclass
class RequestRow:
    """A StartJob's request id, with the job that call made or ran again and what it asked for. Kept apart from the
    job: an interrupted job that several clients start again answers to each of their ids."""
    request_id: str
    job_id: str
    upload_id: str
    options: bytes  # a serialized animgen.v1.GenerateOptions
    created_ms: int


_JOB_FIELDS = tuple(f.name for f in fields(JobRow))

_LOCKED_BYTE = 1 << 20  # Windows locks a byte range: one far past what the file holds


def _hold(f: IO[str]) -> bool:
    """Take the open lock file's exclusive lock, released when it closes; False where another process holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    # Windows (by reading; no Windows here): a byte far past the pid, so that the pid stays readable.
    os.lseek(f.fileno(), _LOCKED_BYTE, os.SEEK_SET)
    try:
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _release(f: IO[str]) -> None:
    """Close the lock file. Closing releases a POSIX lock; Windows asks for its byte to be unlocked first (when a
    closed handle's lock goes is left to the system)."""
    if fcntl is None:
        os.lseek(f.fileno(), _LOCKED_BYTE, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
    f.close()


def _lock(path: Path) -> IO[str]:
    """The store's lock file, held while the store is open. A second server on the same folder would mark the
    first one's running jobs INTERRUPTED, delete their half-written results and take jobs from its queue."""
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open until Store.close
    if not _hold(f):
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise InputError(f"{path.parent}: the store is in use by another animgen serve (pid {holder}); give "
                         "each server its own --data-dir") from None
    f.truncate(0)
    f.write(str(os.getpid()))
    f.flush()
    return f


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).expanduser().resolve()
        self.uploads_dir = self.root / "uploads"
        self.results_dir = self.root / "results"
        self.targets_dir = self.root / "targets"
        for d in (self.uploads_dir, self.results_dir, self.targets_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(self.root / "store.lock")
        self.db = sqlite3.connect(self.root / "animgen.db", isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        found = self.db.execute("PRAGMA user_version").fetchone()[0]
        if found > LAYOUT:  # before anything is written
            self.close()
            raise InputError(f"{self.root}: this store was written by a newer AnimGen (store layout {found}; "
                             f"{__version__} reads up to {LAYOUT}): serve it with that version, or give this one "
                             "its own --data-dir")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        columns = {r["name"] for r in self.db.execute("PRAGMA table_info(jobs)")}
        # A store made by an older server: the columns added since, with what its jobs did not keep.
        for column, kind in (("warnings", "TEXT NOT NULL DEFAULT '[]'"), ("frames", "INTEGER NOT NULL DEFAULT 0"),
                             ("detected", "REAL NOT NULL DEFAULT 0")):
            if column not in columns:
                self.db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
        if "request_id" in columns:  # 0.2.11 kept a job's last request id with the job
            # Each id not yet in the table, with its newest job, as 0.2.11 found it (one id could be left on two
            # jobs: an interrupted one, and the cached copy a StartJob under it made).
            self.db.execute("INSERT OR REPLACE INTO requests SELECT request_id, job_id, upload_id, options, created_ms "
                            "FROM jobs WHERE request_id != '' AND request_id NOT IN (SELECT request_id FROM requests) "
                            "ORDER BY created_ms, rowid")
        self.db.execute(f"PRAGMA user_version = {LAYOUT}")

    def close(self) -> None:
        self.db.close()
        _release(self._lock)

    # ---- paths: kept relative to the store's folder ----

    def _stored(self, path: str) -> str:
        """A path as the database keeps it: relative to the store's folder, so that a store moved or copied finds its
        own files (absolute paths had sent a moved store's jobs to "deleted", and a copy's expiry to the original's
        uploads)."""
        if not path:
            return path
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path

    def _local(self, path: str) -> str:
        """A kept path as a path on disk. An absolute one in an uploads or results folder (written before paths were
        kept relative, perhaps by this store before it was moved or copied) is taken by its folder and name here."""
        p = Path(path)
        if not path or (p.is_absolute() and p.parent.name not in (self.uploads_dir.name, self.results_dir.name)):
            return path
        return str(self.root / p) if not p.is_absolute() else str(self.root / p.parent.name / p.name)

    # ---- start-up recovery ----

    def recover(self) -> tuple[list[str], list[str]]:
        """After a restart: jobs cut off mid-run become INTERRUPTED; leftovers of unfinished writes, and result
        folders of jobs that did not succeed, go.
        Returns (interrupted job ids, queued job ids in the order they were queued)."""
        interrupted = [r["job_id"] for r in self.db.execute("SELECT job_id FROM jobs WHERE state=?", (RUNNING,))]
        self.db.execute(
            "UPDATE jobs SET state=?, error=?, updated_ms=? WHERE state=?",
            (INTERRUPTED, INTERRUPTED_ERROR, now_ms(), RUNNING),
        )
        for d in (self.uploads_dir, self.results_dir):
            for p in d.glob(".*"):  # ".part" uploads and ".tmp-" result folders
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        # A job stopped just as its worker renamed the result into place: the job did not succeed, the folder goes.
        for r in self.db.execute("SELECT job_id FROM jobs WHERE state != ?", (SUCCEEDED,)):
            shutil.rmtree(self.results_dir / r["job_id"], ignore_errors=True)
        queued = [r["job_id"] for r in self.db.execute(
            "SELECT job_id FROM jobs WHERE state=? ORDER BY created_ms, rowid", (QUEUED,))]
        return interrupted, queued

    # ---- uploads ----

    def add_upload(self, u: UploadRow) -> None:
        self.db.execute(
            "INSERT INTO uploads VALUES (:upload_id, :file_name, :size_bytes, :sha256, :path, :created_ms,"
            " :duration, :probe_error)", dict(u.__dict__, path=self._stored(u.path)))

    def same_upload(self, file_name: str, sha256: str, now: int) -> UploadRow | None:
        """An upload of this very file under this name whose data is still stored, its expiry restarted from now:
        a CI job that sends a video again reuses it instead of storing another copy."""
        for r in self.db.execute("SELECT * FROM uploads WHERE sha256=? AND file_name=? ORDER BY created_ms DESC",
                                 (sha256, file_name)):
            if Path(self._local(r["path"])).is_file():
                self.db.execute("UPDATE uploads SET created_ms=? WHERE upload_id=?", (now, r["upload_id"]))
                return UploadRow(**{**dict(r), "created_ms": now, "path": self._local(r["path"])})
        return None

    def get_upload(self, upload_id: str) -> UploadRow | None:
        r = self.db.execute("SELECT * FROM uploads WHERE upload_id=?", (upload_id,)).fetchone()
        return UploadRow(**{**dict(r), "path": self._local(r["path"])}) if r else None

    def set_probe(self, upload_id: str, duration: float) -> None:
        """The upload's duration, as a probe found it. A failed probe is not kept (StartJob probes again), and an
        older server's kept failure (probe_error, no longer read) is cleared."""
        self.db.execute("UPDATE uploads SET duration=?, probe_error=NULL WHERE upload_id=?", (duration, upload_id))

    def expire_uploads(self, older_than_ms: int) -> int:
        """Deletes uploads older than the cut-off that no queued or running job needs. An INTERRUPTED job keeps its
        upload until it was cut off longer ago than the cut-off, for StartJob to run it again; a client that never
        comes back must not keep the video for ever. Returns how many went."""
        rows = self.db.execute(
            "SELECT upload_id, path FROM uploads WHERE created_ms < ? AND upload_id NOT IN"
            " (SELECT upload_id FROM jobs WHERE state IN (?, ?) OR (state = ? AND updated_ms >= ?))",
            (older_than_ms, QUEUED, RUNNING, INTERRUPTED, older_than_ms)).fetchall()
        for r in rows:
            self.db.execute("DELETE FROM uploads WHERE upload_id=?", (r["upload_id"],))
            if (f := Path(self._local(r["path"]))).resolve().parent == self.uploads_dir:  # never a file elsewhere
                f.unlink(missing_ok=True)
        return len(rows)

    def expire_results(self, older_than_ms: int) -> int:
        """Deletes result folders that no SUCCEEDED job has ended in since the cut-off: a cache hit shares its
        folder and counts as a use. The jobs stay listed; GetResult says the result is gone. Returns how many went."""
        rows = self.db.execute(
            "SELECT result_dir FROM jobs WHERE state=? AND result_dir != '' GROUP BY result_dir"
            " HAVING MAX(updated_ms) < ?", (SUCCEEDED, older_than_ms)).fetchall()
        # Only this store's own folders: a store copied elsewhere still names the original's.
        gone = [d for r in rows if (d := Path(self._local(r["result_dir"]))).is_dir()
                and d.resolve().parent == self.results_dir]
        for d in gone:
            shutil.rmtree(d, ignore_errors=True)
        return len(gone)

    def expire_targets(self, older_than_ms: int, needed: set[str]) -> int:
        """Deletes targets/<hash> folders not used since the cut-off (write_target_skeleton sets a used file's time)
        and not in `needed` (the queued and running jobs' targets). A job or GetResult that needs one later writes it
        again from the job's options. Returns how many went."""
        gone = []
        for d in self.targets_dir.iterdir():
            try:
                unused = d.is_dir() and d.name not in needed and \
                    all(f.stat().st_mtime * 1000 < older_than_ms for f in d.iterdir())
            except OSError:  # written or removed meanwhile: looked at next time
                continue
            if unused:
                shutil.rmtree(d, ignore_errors=True)
                gone.append(d)
        return len(gone)

    # ---- jobs ----

    @contextlib.contextmanager
    def _together(self) -> Iterator[None]:
        """Writes that land together or not at all (the store is in autocommit mode otherwise)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def add_job(self, j: JobRow, request: RequestRow | None = None) -> None:
        """Stores a new job; request: the StartJob request id that made it, recorded with it in one write."""
        d = dict(j.__dict__, cached=int(j.cached), files=json.dumps(j.files), warnings=json.dumps(j.warnings),
                 video_path=self._stored(j.video_path), result_dir=self._stored(j.result_dir))
        cols = list(_JOB_FIELDS)
        with self._together():
            self.db.execute(f"INSERT INTO jobs ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})", d)
            if request is not None:
                self._add_request(replace(request, job_id=j.job_id))

    def _job(self, r: sqlite3.Row) -> JobRow:
        # The columns this server knows: a store opened before by a newer one may hold more.
        d = {k: r[k] for k in _JOB_FIELDS}
        d["cached"] = bool(d["cached"])
        d["files"] = json.loads(d["files"])
        d["warnings"] = json.loads(d["warnings"])
        d["video_path"], d["result_dir"] = self._local(d["video_path"]), self._local(d["result_dir"])
        return JobRow(**d)

    def _job_or_none(self, r: sqlite3.Row | None) -> JobRow | None:
        return None if r is None else self._job(r)

    def get_job(self, job_id: str) -> JobRow | None:
        return self._job_or_none(self.db.execute("SELECT * FROM jobs WHERE job_id=?", (job_id,)).fetchone())

    def update_job(self, job_id: str, request: RequestRow | None = None, **changes) -> JobRow:
        """Changes a job's columns; request: a StartJob request id that ran it again, recorded with them in one
        write."""
        changes["updated_ms"] = now_ms()
        for k in ("files", "warnings"):
            if k in changes:
                changes[k] = json.dumps(changes[k])
        if "cached" in changes:
            changes["cached"] = int(changes["cached"])
        for k in ("video_path", "result_dir"):
            if k in changes:
                changes[k] = self._stored(changes[k])
        sets = ", ".join(f"{k}=:{k}" for k in changes)
        with self._together():
            self.db.execute(f"UPDATE jobs SET {sets} WHERE job_id=:job_id", dict(changes, job_id=job_id))
            if request is not None:
                self._add_request(replace(request, job_id=job_id))
        row = self.get_job(job_id)
        assert row is not None, job_id  # jobs are never deleted, and only existing ones are updated
        return row

    def list_jobs(self, limit: int, states: list[int] | None = None) -> list[JobRow]:
        q, args = "SELECT * FROM jobs", []
        if states:
            q += f" WHERE state IN ({', '.join('?' * len(states))})"
            args += list(states)
        q += " ORDER BY created_ms DESC, rowid DESC LIMIT ?"
        return [self._job(r) for r in self.db.execute(q, (*args, limit))]

    def count_state(self, state: int) -> int:
        return self.db.execute("SELECT COUNT(*) FROM jobs WHERE state=?", (state,)).fetchone()[0]

    def find_job(self, cache_key: str, state: int) -> JobRow | None:
        """The newest job with these inputs in this state."""
        return self._job_or_none(self.db.execute(
            "SELECT * FROM jobs WHERE cache_key=? AND state=? ORDER BY created_ms DESC, rowid DESC LIMIT 1",
            (cache_key, state)).fetchone())

    def _add_request(self, r: RequestRow) -> None:
        """Records a StartJob's request id (again, where a call under it ran its interrupted job again)."""
        self.db.execute("INSERT OR REPLACE INTO requests VALUES (:request_id, :job_id, :upload_id, :options, "
                        ":created_ms)", r.__dict__)

    def find_request(self, request_id: str) -> RequestRow | None:
        r = self.db.execute("SELECT * FROM requests WHERE request_id=?", (request_id,)).fetchone()
        return None if r is None else RequestRow(**{f.name: r[f.name] for f in fields(RequestRow)})

    def find_cached(self, cache_key: str) -> JobRow | None:
        """A finished job whose result files are all still there."""
        for r in self.db.execute(
                "SELECT * FROM jobs WHERE cache_key=? AND state=? ORDER BY created_ms DESC", (cache_key, SUCCEEDED)):
            j = self._job(r)
            d = Path(j.result_dir)
            if d.is_dir() and all((d / f).is_file() for f in j.files.values()):
                return j
        return None
