"""The job manager and the store, in process: StartJob's probe of the video travels with the job to the backend; a
job's warnings reach every watcher once, however late it comes, and survive the store being reopened; uploads and
results expire, and a result read while it expires is still sent whole; a job that fails keeps no result folder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path
from typing import TypeVar

import pytest

from animgen.v1 import service_pb2
from animgen_ml import video
from animgen_server import jobs
from animgen_server.backend import Backend, BackendEvent, EventSink, JobSpec
from animgen_server.jobs import JobManager
from animgen_server.limits import Limits
from animgen_server.store import INTERRUPTED, QUEUED, SUCCEEDED, JobRow, RequestRow, Store, UploadRow, now_ms


class Recorder(Backend):
    """A backend that keeps what it is given and runs nothing (the manager is what is under test)."""

    def __init__(self) -> None:
        self.specs: list[JobSpec] = []
        self.sink: EventSink | None = None

    @property
    def capacity(self) -> int:
        return 4

    def free_slots(self) -> int:
        return 4 - len(self.specs)

    async def start(self, sink) -> None:
        self.sink = sink  # the test reports the job's events through it, as a real backend would

    def submit(self, spec: JobSpec) -> None:
        self.specs.append(spec)

    def cancel(self, job_id: str) -> None:
        pass

    async def close(self) -> None:
        pass


B = TypeVar("B", bound=Backend)


async def _started(tmp_path: Path, backend: B) -> tuple[Store, B, JobManager, UploadRow]:
    """A started manager on a fresh store, with one uploaded video "a.mp4" (its content is not read)."""
    store = Store(tmp_path / "store")
    manager = JobManager(store, backend, Limits())
    await manager.start()
    (tmp_path / "a.mp4").write_bytes(b"x")
    upload = UploadRow("u1", "a.mp4", 1, "ab" * 32, str(tmp_path / "a.mp4"), now_ms())
    store.add_upload(upload)
    return store, backend, manager, upload


def test_the_probe_goes_with_the_job(videos: Path, tmp_path: Path) -> None:
    clip = videos / "sports2d_run_sideview.mp4"
    info = video.probe(clip)

    async def run() -> list[JobSpec]:
        store, backend = Store(tmp_path / "store"), Recorder()
        manager = JobManager(store, backend, Limits())
        await manager.start()
        upload = UploadRow("u1", clip.name, clip.stat().st_size, "ab" * 32, str(clip), now_ms())
        store.add_upload(upload)
        manager.create(upload, service_pb2.GenerateOptions(), "key-1", info)
        manager.create(upload, service_pb2.GenerateOptions(smoothing=0.2), "key-2")  # probed by the worker
        store.close()
        return backend.specs

    with_probe, without = asyncio.run(run())
    assert with_probe.info == info and with_probe.video == str(clip)
    assert without.info is None


def test_warnings_reach_every_watcher_once(tmp_path: Path) -> None:
    E = service_pb2

    def warn(job_id: str, message: str) -> BackendEvent:
        return BackendEvent(job_id, "progress", stage="refine", stage_kind="warning", message=message)

    async def take(it, n: int | None = None) -> list:
        """The watcher's next n events (all to the end when n is None); a missing one fails, not hangs."""
        out: list = []
        while n is None or len(out) < n:
            try:
                out.append(await asyncio.wait_for(it.__anext__(), 5))
            except StopAsyncIteration:
                break
        return out

    async def run():
        store, backend, manager, upload = await _started(tmp_path, Recorder())
        job = manager.create(upload, E.GenerateOptions(), "key-1")
        backend.sink(warn(job.job_id, "no person detected from 0.0 s to 1.2 s"))
        early = manager.watch(job.job_id)  # comes after the first warning: hears it replayed, then the rest live
        first = await take(early, 2)
        backend.sink(warn(job.job_id, "right arm out of frame from 1.2 s to 1.6 s"))
        (store.results_dir / job.job_id).mkdir()
        (store.results_dir / job.job_id / "a.json").write_text("{}")  # the result the backend wrote
        backend.sink(BackendEvent(job.job_id, "done", files={"json": "a.json"}, frames=90, detected=0.75))
        rest = await take(early)
        late = await take(manager.watch(job.job_id))  # after the end
        cached = manager.create(upload, E.GenerateOptions(), "key-1")
        store.close()
        reopened = Store(tmp_path / "store")
        kept = reopened.get_job(job.job_id).warnings
        reopened.close()
        return first + rest, late, cached, kept

    early, late, cached, kept = asyncio.run(run())
    both = ["no person detected from 0.0 s to 1.2 s", "right arm out of frame from 1.2 s to 1.6 s"]
    for events in (early, late):
        assert events[0].type == E.EVENT_TYPE_STATE and events[-1].type == E.EVENT_TYPE_DONE
        assert [e.message for e in events if e.type == E.EVENT_TYPE_WARNING] == both
    assert [e.type for e in late] == [E.EVENT_TYPE_STATE, E.EVENT_TYPE_WARNING, E.EVENT_TYPE_WARNING, E.EVENT_TYPE_DONE]
    assert early[-1].job.frames == 90 and early[-1].job.detected_share == 0.75
    # A result served from the cache keeps its warnings, frames and detection share.
    assert cached.cached and cached.warnings == both and (cached.frames, cached.detected) == (90, 0.75)
    assert kept == both


def test_a_store_from_before_warnings_frames_and_request_ids_opens_with_its_jobs(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "old").mkdir()
    db = sqlite3.connect(tmp_path / "old" / "animgen.db")
    db.executescript("""
        CREATE TABLE jobs (job_id TEXT PRIMARY KEY, upload_id TEXT NOT NULL, video_name TEXT NOT NULL,
            video_path TEXT NOT NULL, cache_key TEXT NOT NULL, options BLOB NOT NULL, state INTEGER NOT NULL,
            stage TEXT NOT NULL DEFAULT '', progress REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
            created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, cached INTEGER NOT NULL DEFAULT 0,
            result_dir TEXT NOT NULL DEFAULT '', files TEXT NOT NULL DEFAULT '{}');
        INSERT INTO jobs (job_id, upload_id, video_name, video_path, cache_key, options, state, created_ms,
            updated_ms, files) VALUES ('j1', 'u1', 'a.mp4', '/x/a.mp4', 'k', x'', 3, 1, 2, '{"json": "a.json"}');
    """)
    db.close()
    store = Store(tmp_path / "old")
    job = store.get_job("j1")
    assert job is not None and job.files == {"json": "a.json"} and job.warnings == []
    assert (job.frames, job.detected) == (0, 0.0)  # not kept then: the service sends 0, "not known"
    assert store.find_request("r1") is None  # nor StartJob's request ids
    store.update_job("j1", RequestRow("r1", "", "u1", b"", 3), state=QUEUED)
    assert store.find_request("r1") == RequestRow("r1", "j1", "u1", b"", 3)
    assert store.update_job("j1", warnings=["w"]).warnings == ["w"]
    kept = store.update_job("j1", frames=90, detected=0.5)
    assert (kept.frames, kept.detected) == (90, 0.5)
    store.close()
    # A store a newer server has opened since (a column this one does not know) still opens, its jobs whole.
    db = sqlite3.connect(tmp_path / "old" / "animgen.db")
    db.execute("ALTER TABLE jobs ADD COLUMN from_the_future TEXT NOT NULL DEFAULT 'x'")
    db.commit()
    db.close()
    store = Store(tmp_path / "old")
    job = store.get_job("j1")
    assert job is not None and (job.files, job.warnings, job.frames) == ({"json": "a.json"}, ["w"], 90)
    store.close()



def test_a_store_whose_jobs_kept_their_request_ids_keeps_them_as_requests(tmp_path: Path) -> None:
    """0.2.11 kept a job's last request id in its row; a StartJob asked again under one still finds its job."""
    import sqlite3

    (tmp_path / "s").mkdir()
    Store(tmp_path / "s").close()
    db = sqlite3.connect(tmp_path / "s" / "animgen.db")
    db.executescript("""
        DROP TABLE requests;
        ALTER TABLE jobs ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
        INSERT INTO jobs (job_id, upload_id, video_name, video_path, cache_key, options, state, created_ms,
            updated_ms, request_id) VALUES ('j1', 'u1', 'a.mp4', 'a.mp4', 'k', x'0a01', 3, 7, 8, 'r1'),
            ('j2', 'u2', 'b.mp4', 'b.mp4', 'k2', x'', 3, 9, 9, ''),
            ('j3', 'u3', 'c.mp4', 'c.mp4', 'k3', x'', 6, 5, 5, 'r2'),
            ('j4', 'u3', 'c.mp4', 'c.mp4', 'k3', x'', 3, 6, 6, 'r2');
    """)
    db.commit()
    db.close()
    store = Store(tmp_path / "s")
    assert store.find_request("r1") == RequestRow("r1", "j1", "u1", b"\n\x01", 7)
    # An id 0.2.11 left on two jobs (an interrupted one and the copy a StartJob under it made) names the newest.
    assert (found := store.find_request("r2")) is not None and found.job_id == "j4"
    assert store.db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2  # a job without an id has none
    assert (job := store.get_job("j1")) is not None and job.state == 3
    store.update_job("j4", RequestRow("r2", "", "u3", b"", 10), state=QUEUED)
    store.close()
    store = Store(tmp_path / "s")  # opened again: the table's own ids are kept, not copied over again
    assert (found := store.find_request("r2")) is not None and found.created_ms == 10
    store.close()


def test_a_store_of_a_newer_layout_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    """A server that does not know where a newer one keeps request ids would make a second job for a retry."""
    import sqlite3

    from animgen_ml.errors import InputError
    from animgen_server.store import LAYOUT

    store = Store(tmp_path / "s")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == LAYOUT
    store.add_upload(UploadRow("u1", "a.mp4", 1, "ab" * 32, "a.mp4", 1))
    store.close()
    db = sqlite3.connect(tmp_path / "s" / "animgen.db")
    db.execute(f"PRAGMA user_version = {LAYOUT + 1}")
    db.close()
    before = (tmp_path / "s" / "animgen.db").read_bytes()
    with pytest.raises(InputError, match=rf"s: this store was written by a newer AnimGen \(store layout {LAYOUT + 1}; "
                                         rf".* reads up to {LAYOUT}\): .* its own --data-dir"):
        Store(tmp_path / "s")
    assert (tmp_path / "s" / "animgen.db").read_bytes() == before
    db = sqlite3.connect(tmp_path / "s" / "animgen.db")
    db.execute(f"PRAGMA user_version = {LAYOUT}")  # the lock was let go: the store opens once it is readable
    db.close()
    store = Store(tmp_path / "s")
    assert store.get_upload("u1") is not None
    store.close()


def test_a_job_and_the_request_id_that_made_it_are_stored_together_or_not_at_all(tmp_path: Path) -> None:
    """A request id that cannot be recorded leaves no job behind it (one that would run for nobody, the client told
    it was refused); the store goes on."""
    import sqlite3

    store = Store(tmp_path / "s")
    job = JobRow("j1", "u1", "a.mp4", "a.mp4", "k", b"", QUEUED, 1, 1)
    bad = RequestRow("r1", "", "u1", None, 1)  # type: ignore[arg-type]  # options NOT NULL: the write fails
    with pytest.raises(sqlite3.IntegrityError):
        store.add_job(job, bad)
    assert store.get_job("j1") is None and store.find_request("r1") is None
    store.add_job(job, RequestRow("r1", "", "u1", b"", 1))
    assert store.get_job("j1") is not None and store.find_request("r1") == RequestRow("r1", "j1", "u1", b"", 1)
    with pytest.raises(sqlite3.IntegrityError):
        store.update_job("j1", bad, state=INTERRUPTED)
    assert (kept := store.get_job("j1")) is not None and kept.state == QUEUED
    store.close()

def test_a_watcher_that_stops_reading_holds_few_progress_events(tmp_path: Path) -> None:
    """Progress past MAX_PENDING_EVENTS is dropped for a watcher that does not read; its states, warnings and the
    final event still come, in order."""
    E = service_pb2

    async def run():
        store, backend, manager, upload = await _started(tmp_path, Recorder())
        job = manager.create(upload, E.GenerateOptions(), "key-1")
        stalled = manager.watch(job.job_id)
        await asyncio.wait_for(stalled.__anext__(), 5)  # the state; then it reads nothing while the job runs
        for k in range(5000):
            backend.sink(BackendEvent(job.job_id, "progress", stage="pose", stage_kind="progress",
                                      fraction=k / 5000, overall=k / 10000))
        backend.sink(BackendEvent(job.job_id, "progress", stage="refine", stage_kind="warning", message="hidden"))
        (store.results_dir / job.job_id).mkdir()
        backend.sink(BackendEvent(job.job_id, "done", files={}))
        rest = []
        async for ev in stalled:
            rest.append(ev)
        store.close()
        return rest

    rest = asyncio.run(run())
    progress = [e for e in rest if e.type == E.EVENT_TYPE_STAGE_PROGRESS]
    assert len(progress) == jobs.MAX_PENDING_EVENTS
    assert [e.type for e in rest[-2:]] == [E.EVENT_TYPE_WARNING, E.EVENT_TYPE_DONE] and rest[-2].message == "hidden"


def test_a_job_that_does_not_succeed_leaves_no_result_folder(tmp_path: Path) -> None:
    """A worker stopped just after it renamed its result into place (a cancel that came too late, a kill) leaves a
    folder for a job that is CANCELLED or FAILED: the manager removes it, and so does a restart."""

    async def run():
        store, backend, manager, upload = await _started(tmp_path, Recorder())
        ids = [manager.create(upload, service_pb2.GenerateOptions(smoothing=s), f"key-{s}").job_id
               for s in (0.1, 0.2, 0.3)]
        for job_id in ids:
            (store.results_dir / job_id).mkdir()
            (store.results_dir / job_id / "a.json").write_text("{}")
        backend.sink(BackendEvent(ids[0], "cancelled", message="cancelled (worker stopped)"))
        backend.sink(BackendEvent(ids[1], "failed", message="the worker process died"))
        backend.sink(BackendEvent(ids[2], "done", files={"json": "a.json"}))
        states = [manager.get(j).state for j in ids]
        left = [(store.results_dir / j).exists() for j in ids]
        store.close()
        return ids, states, left

    ids, states, left = asyncio.run(run())
    assert states == [service_pb2.JOB_STATE_CANCELLED, service_pb2.JOB_STATE_FAILED, service_pb2.JOB_STATE_SUCCEEDED]
    assert left == [False, False, True]

    # A folder written after the job ended (the server stopped before it could remove it) goes at the next start.
    store = Store(tmp_path / "store")
    (store.results_dir / ids[0]).mkdir()
    store.recover()
    assert not (store.results_dir / ids[0]).exists() and (store.results_dir / ids[2] / "a.json").is_file()
    store.close()


def test_uploads_of_interrupted_jobs_expire_one_period_after_the_interruption(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    day = 24 * 3600 * 1000
    t0 = now_ms() - 3 * day  # every upload is three days old
    for name in ("queued", "recent", "old"):
        (store.uploads_dir / name).write_bytes(b"x")
        store.add_upload(UploadRow(name, f"{name}.mp4", 1, "ab" * 32, str(store.uploads_dir / name), t0))
        store.add_job(JobRow(job_id=name, upload_id=name, video_name=f"{name}.mp4",
                             video_path=str(store.uploads_dir / name), cache_key=name, options=b"",
                             state=QUEUED, created_ms=t0, updated_ms=t0))
    store.update_job("recent", state=INTERRUPTED)  # cut off now: StartJob may still run it again
    store.db.execute("UPDATE jobs SET state=?, updated_ms=? WHERE job_id='old'", (INTERRUPTED, t0 + day))
    assert store.expire_uploads(now_ms() - day) == 1
    assert [u for u in ("queued", "recent", "old") if store.get_upload(u)] == ["queued", "recent"]
    assert not (store.uploads_dir / "old").exists() and (store.uploads_dir / "recent").exists()
    store.close()


def test_a_result_expires_after_its_last_use_by_any_job(tmp_path: Path) -> None:
    """A cache hit shares the first job's folder: the folder lives until the newest of them is old."""
    store = Store(tmp_path / "store")
    day = 24 * 3600 * 1000
    old, recent = now_ms() - 40 * day, now_ms() - day

    def job(job_id: str, folder: str, updated: int) -> None:
        (store.results_dir / folder).mkdir(exist_ok=True)
        store.add_job(JobRow(job_id=job_id, upload_id="u", video_name="a.mp4", video_path="", cache_key=folder,
                             options=b"", state=SUCCEEDED, created_ms=updated, updated_ms=updated,
                             result_dir=str(store.results_dir / folder)))

    job("unused", "unused", old)
    job("first", "shared", old)
    job("hit", "shared", recent)  # a cache hit yesterday
    assert store.expire_results(now_ms() - 30 * day) == 1
    assert sorted(p.name for p in store.results_dir.iterdir()) == ["shared"]
    assert store.expire_results(now_ms() - 30 * day) == 0
    unused = store.get_job("unused")
    assert unused is not None and unused.state == SUCCEEDED  # still listed; GetResult says the result is gone
    store.close()


class ResultContext:
    """What GetResult uses of a call's context: its messages are kept in `sent`; `after(n)` runs when the n-th has
    been taken (the client reading, or expiry meanwhile), and a `stall` from a message on never takes it."""

    def __init__(self, after=None, stall: int | None = None) -> None:
        self.sent: list = []
        self.after, self.stall = after, stall

    async def write(self, msg) -> None:
        if self.stall is not None and len(self.sent) >= self.stall:
            await asyncio.sleep(60)  # a client that keeps its connection open and reads no more
        self.sent.append(msg)
        if self.after:
            self.after(len(self.sent))

    async def abort(self, code, details):
        import grpc

        raise grpc.RpcError(code, details)


async def _finished_job(tmp_path: Path, payload: dict[str, bytes]):
    """A store with a job whose result folder holds the clip and `payload`'s files: (store, manager, job, folder)."""
    from export_helpers import make_clip

    from animgen_server.worker import CLIP_FILE

    store, backend, manager, upload = await _started(tmp_path, Recorder())
    job = manager.create(upload, service_pb2.GenerateOptions(), "key-1")
    folder = store.results_dir / job.job_id
    folder.mkdir()
    make_clip().save_json(folder / CLIP_FILE)
    for name, data in payload.items():
        (folder / name).write_bytes(data)
    assert backend.sink is not None
    backend.sink(BackendEvent(job.job_id, "done", files={Path(n).suffix[1:]: n for n in payload}))
    return store, manager, job, folder


def test_get_result_sends_a_result_that_expires_during_the_call(tmp_path: Path) -> None:
    """GetResult opens the result's files before it answers: expiry deleting the folder mid-stream (the expiry
    loop runs between the stream's messages) leaves the call whole; a later call is NOT_FOUND."""
    import grpc
    import pytest

    from animgen_server.server import AnimGenService, ServeConfig

    payload = {"a.glb": bytes(range(256)) * 9000, "a.bvh": b"HIERARCHY\n" * 1000}

    async def run():
        store, manager, job, folder = await _finished_job(tmp_path, payload)
        service = AnimGenService(store, manager, ServeConfig(data_dir=tmp_path / "store"))
        request = service_pb2.GetResultRequest(job_id=job.job_id)
        # everything is older than this: the folder goes once the header is sent
        context = ResultContext(after=lambda n: n == 1 and store.expire_results(now_ms() + 1))
        await service.GetResult(request, context)
        with pytest.raises(grpc.RpcError) as later:
            await service.GetResult(request, ResultContext())
        store.close()
        return context.sent, folder, later.value.args

    sent, folder, later = asyncio.run(run())
    got: dict[str, bytes] = {}
    for msg in sent[1:]:
        got[msg.chunk.file_name] = got.get(msg.chunk.file_name, b"") + msg.chunk.data
    assert not folder.exists()
    assert got == payload and sorted(f.file_name for f in sent[0].header.files) == sorted(payload)
    assert later[0] == grpc.StatusCode.NOT_FOUND and "--result-expiry-days" in later[1]


def test_a_result_the_client_stops_reading_is_let_go(tmp_path: Path, monkeypatch) -> None:
    """A client that opens GetResult and stops reading with its connection open (a frozen editor) had held the
    result's message and its open files for as long as the connection lived: the call now ends after RESULT_IDLE_S
    without the client taking a message, its files closed."""
    import grpc
    import pytest

    from animgen_server import server as srv

    monkeypatch.setattr(srv, "RESULT_IDLE_S", 0.2)

    def open_files(folder: Path) -> list[str]:
        """This process's open files in the folder (Linux's /proc)."""
        targets = []
        for fd in Path("/proc/self/fd").iterdir():
            with contextlib.suppress(OSError):  # an fd closed while listing
                targets.append(os.readlink(fd))
        return [t for t in targets if str(folder) in t]

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("counts open files through Linux's /proc")

    async def run():
        store, manager, job, folder = await _finished_job(tmp_path, {"a.glb": bytes(2_000_000), "a.bvh": b"H\n"})
        service = srv.AnimGenService(store, manager, srv.ServeConfig(data_dir=tmp_path / "store"))
        context = ResultContext(stall=2)  # takes the header and one chunk, then nothing
        with pytest.raises(grpc.RpcError) as e:
            await asyncio.wait_for(service.GetResult(service_pb2.GetResultRequest(job_id=job.job_id), context), 10)
        still_open = open_files(folder)
        store.close()
        return e.value.args, len(context.sent), still_open

    (code, details), sent, still_open = asyncio.run(run())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "no result data for 0.2 s" in details
    assert sent == 2 and still_open == []


def test_a_queued_job_whose_inputs_finished_meanwhile_is_served_from_the_cache(tmp_path: Path) -> None:
    """Two clients start the same video with the same options while the only worker is busy: the second does not
    run it again once the first has finished, nor waits for the job queued between them, which takes the worker."""
    E = service_pb2

    class OneSlot(Recorder):
        def free_slots(self) -> int:
            return 1 - len(self.specs)

    async def run():
        store, backend, manager, upload = await _started(tmp_path, OneSlot())
        first = manager.create(upload, E.GenerateOptions(), "key-1")
        between = manager.create(upload, E.GenerateOptions(smoothing=0.2), "key-2")
        second = manager.create(upload, E.GenerateOptions(), "key-1")  # no result yet: queued behind the first
        assert second.state == E.JOB_STATE_QUEUED
        (store.results_dir / first.job_id).mkdir()
        (store.results_dir / first.job_id / "a.json").write_text("{}")
        backend.specs.clear()  # the worker is free again
        backend.sink(BackendEvent(first.job_id, "progress", stage="refine", stage_kind="warning", message="hidden"))
        backend.sink(BackendEvent(first.job_id, "done", files={"json": "a.json"}))
        done = manager.get(second.job_id)
        store.close()
        return first, done, [s.job_id for s in backend.specs], between.job_id

    first, done, submitted, between = asyncio.run(run())
    assert submitted == [between]  # the worker went to the other job; nothing ran a second time
    assert done.state == E.JOB_STATE_SUCCEEDED and done.cached and done.warnings == ["hidden"]
    assert done.result_dir.endswith(first.job_id) and done.files == {"json": "a.json"}


def test_expiry_deletes_only_the_stores_own_result_folders(tmp_path: Path) -> None:
    """A store copied to another data dir still names the first one's folders: expiring them is not its job."""
    store = Store(tmp_path / "copy")
    elsewhere = tmp_path / "original" / "results" / "j1"
    elsewhere.mkdir(parents=True)
    old = now_ms() - 40 * 24 * 3600 * 1000
    store.add_job(JobRow(job_id="j1", upload_id="u", video_name="a.mp4", video_path="", cache_key="k", options=b"",
                         state=SUCCEEDED, created_ms=old, updated_ms=old, result_dir=str(elsewhere)))
    assert store.expire_results(now_ms()) == 0 and elsewhere.is_dir()
    store.close()


def test_an_upload_that_stops_sending_is_ended_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    import grpc
    import pytest

    from animgen_server import server as srv

    class Context:
        async def abort(self, code, details):
            raise grpc.RpcError(code, details)

    async def stalls():
        data = b"x" * 100
        yield service_pb2.UploadVideoRequest(header=service_pb2.UploadHeader(
            file_name="a.mp4", size_bytes=1000, sha256=hashlib.sha256(data).hexdigest()))
        yield service_pb2.UploadVideoRequest(chunk=data)
        await asyncio.sleep(60)  # then nothing: a client that hangs with its connection open

    monkeypatch.setattr(srv, "UPLOAD_IDLE_S", 0.2)

    async def run():
        store = Store(tmp_path / "store")
        manager = JobManager(store, Recorder(), Limits())
        service = srv.AnimGenService(store, manager, srv.ServeConfig(data_dir=tmp_path / "store"))
        with pytest.raises(grpc.RpcError) as e:
            await asyncio.wait_for(service.UploadVideo(stalls(), Context()), 10)
        left = list(store.uploads_dir.iterdir())
        store.close()
        return e.value.args, left

    (code, details), left = asyncio.run(run())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "no upload data for 0.2 s" in details
    assert left == []  # the part file is gone


class OneSlot(Recorder):
    """One worker: free again when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.free = 1

    def free_slots(self) -> int:
        return self.free

    def submit(self, spec: JobSpec) -> None:
        super().submit(spec)
        self.free = 0


def test_a_job_whose_end_the_store_cannot_take_still_ends(tmp_path: Path) -> None:
    """A full disk refuses the store's writes: the job left the running set but stayed RUNNING in the store, its
    watchers waited for ever and the queue stalled. Now it ends FAILED for its watchers (a result the store cannot
    list is none); the queued job waits at the head of the queue; and once the store takes writes again, the
    server's catch-up records the end and starts the next job."""
    import subprocess

    import pytest

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (it needs root): no disk to fill")

    async def run():
        store, backend, manager, upload = await _started(disk, OneSlot())
        job = manager.create(upload, service_pb2.GenerateOptions(), "key-1")
        queued = manager.create(upload, service_pb2.GenerateOptions(smoothing=0.2), "key-2")
        watch = manager.watch(job.job_id)
        await anext(watch)  # the current state: the watcher is attached
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(bytes(1 << 16))
            except OSError:
                pass
        backend.free = 1
        backend.sink(BackendEvent(job.job_id, "done", files={"json": "a.json"}))
        events = [ev async for ev in watch]
        seen, waiting = manager.get(job.job_id), list(manager.queue)
        filler.unlink()
        manager.catch_up()
        stored, started = store.get_job(job.job_id), store.get_job(queued.job_id)
        store.close()
        return events, seen, waiting, stored, started, [s.job_id for s in backend.specs]

    try:
        events, seen, waiting, stored, started, submitted = asyncio.run(run())
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # lazy: a failed run may hold files
    assert events[-1].type == service_pb2.EVENT_TYPE_FAILED
    assert seen.state == jobs.FAILED and "could not record the result (database or disk is full)" in seen.error
    assert waiting == [started.job_id]
    assert stored.state == jobs.FAILED and stored.error == seen.error
    assert started.state == jobs.RUNNING and submitted == [seen.job_id, started.job_id]


def test_result_names_are_plain_and_never_a_windows_device():
    """A result's stem: no dots or path characters (clients take the suffix after the first dot), and never a name
    Windows keeps for a device (a Windows server cannot write con.glb, aux.json or COM1.bvh)."""
    from animgen_server.convert import safe_stem

    assert [safe_stem(n) for n in ("con.mp4", "Nul.MOV", "COM1.mkv", "console.mp4", "a/b/take 1.v2.mp4", "...")] \
        == ["con_", "Nul_", "COM1_", "console", "take_1_v2", "video"]


def test_a_store_moved_or_copied_keeps_its_own_files(tmp_path: Path) -> None:
    """A store keeps its files' paths relative to its folder: moved, its jobs and uploads are found; a copy expires
    its own uploads, never the original's. A store written with absolute paths (before) is read the same way."""
    import shutil
    import sqlite3

    store = Store(tmp_path / "a")
    video_file = store.uploads_dir / "u1.bin"
    video_file.write_bytes(b"video")
    store.add_upload(UploadRow("u1", "walk.mp4", 5, "s", str(video_file), now_ms()))
    (store.results_dir / "j1").mkdir()
    (store.results_dir / "j1" / "walk.json").write_text("{}")
    store.add_job(JobRow("j1", "u1", "walk.mp4", str(video_file), "key", b"", SUCCEEDED, now_ms(), now_ms(),
                         result_dir=str(store.results_dir / "j1"), files={"json": "walk.json"}))
    store.close()
    db = sqlite3.connect(tmp_path / "a" / "animgen.db")  # as a store written before paths were relative
    db.execute("UPDATE uploads SET path=?", (str(video_file),))
    db.commit()
    db.close()

    shutil.move(tmp_path / "a", tmp_path / "moved")
    moved = Store(tmp_path / "moved")
    upload = moved.get_upload("u1")
    assert upload is not None and Path(upload.path).read_bytes() == b"video"
    hit = moved.find_cached("key")
    assert hit is not None and Path(hit.result_dir) == moved.results_dir / "j1"
    assert Path(hit.video_path) == moved.uploads_dir / "u1.bin"
    moved.close()

    shutil.copytree(tmp_path / "moved", tmp_path / "copy")
    copy = Store(tmp_path / "copy")
    assert copy.expire_uploads(now_ms() + 1) == 1 and copy.expire_results(now_ms() + 10_000) == 1
    copy.close()
    assert (tmp_path / "moved" / "uploads" / "u1.bin").is_file()
    assert (tmp_path / "moved" / "results" / "j1" / "walk.json").is_file()
    assert not (tmp_path / "copy" / "uploads" / "u1.bin").exists()


def test_a_job_that_ends_keeps_its_last_progress(tmp_path: Path) -> None:
    """Progress is written to the store now and then; a job cancelled or failed between two writes ended with the
    last written one, so its final event went backwards (0.33 -> 0.31)."""
    E = service_pb2

    async def run():
        store, backend, manager, upload = await _started(tmp_path, Recorder())
        job = manager.create(upload, E.GenerateOptions(), "key-1")
        watcher = manager.watch(job.job_id)
        for k in range(1, 34):  # quicker than PERSIST_EVERY_S: only the first is written
            backend.sink(BackendEvent(job.job_id, "progress", stage="pose", stage_kind="progress",
                                      fraction=k / 100, overall=k / 100))
        backend.sink(BackendEvent(job.job_id, "cancelled", message="cancelled"))
        events = [ev async for ev in watcher]
        stored = store.get_job(job.job_id)
        store.close()
        return events, stored

    events, stored = asyncio.run(run())
    assert events[-1].type == E.EVENT_TYPE_CANCELLED
    assert events[-1].progress == pytest.approx(0.33) and stored.progress == pytest.approx(0.33)
