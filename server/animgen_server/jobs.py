"""The job manager: the bounded queue, dispatch to the backend, the result cache, job state in the store, and
the fan-out of job events to every watcher. Runs on the server's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from animgen.v1 import service_pb2
from animgen_ml.errors import InputError
from animgen_ml.video import VideoInfo
from animgen_server import convert
from animgen_server.backend import Backend, BackendEvent, JobSpec
from animgen_server.limits import Limits
from animgen_server.store import (
    CANCELLED,
    FAILED,
    FINAL_STATES,
    INTERRUPTED,
    INTERRUPTED_ERROR,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    JobRow,
    RequestRow,
    Store,
    UploadRow,
    now_ms,
)

log = logging.getLogger("animgen.jobs")

_STAGE_EVENT = {
    "started": service_pb2.EVENT_TYPE_STAGE_STARTED, "progress": service_pb2.EVENT_TYPE_STAGE_PROGRESS,
    "finished": service_pb2.EVENT_TYPE_STAGE_FINISHED, "warning": service_pb2.EVENT_TYPE_WARNING,
}
FINAL_EVENT = {
    SUCCEEDED: service_pb2.EVENT_TYPE_DONE, FAILED: service_pb2.EVENT_TYPE_FAILED,
    CANCELLED: service_pb2.EVENT_TYPE_CANCELLED, INTERRUPTED: service_pb2.EVENT_TYPE_INTERRUPTED,
}
FINAL_EVENT_TYPES = set(FINAL_EVENT.values())
PERSIST_EVERY_S = 0.5  # progress is written to the store at most this often per job
MAX_PENDING_EVENTS = 256  # progress events queued for one watcher that has not read them


class QueueFull(Exception):
    pass


class Stopping(Exception):
    """The server stops while a watched job has not ended (a queued job stays queued for the next server)."""


class JobManager:
    def __init__(self, store: Store, backend: Backend, limits: Limits) -> None:
        self.store, self.backend, self.limits = store, backend, limits
        self.queue: deque[str] = deque()
        self.running: dict[str, JobRow] = {}  # live rows of running jobs (progress kept in memory)
        self.unrecorded: dict[str, JobRow] = {}  # ended jobs whose end the store could not take (a full disk)
        self._persisted: dict[str, float] = {}
        self._watchers: dict[str, set[asyncio.Queue]] = {}
        self._finished: dict[str, asyncio.Event] = {}
        self._probes: dict[str, VideoInfo] = {}  # job id -> StartJob's probe of its video, until the job runs
        self.closing = False
        self.started = False  # the backend's workers are up
        # The store's jobs are taken over here, before the server answers a call: a watch must not find RUNNING a job
        # that the last server's stop cut off (it would wait for an end that never comes).
        interrupted, queued = self.store.recover()
        if interrupted:
            log.warning("jobs cut off by the last stop, now INTERRUPTED: %s", ", ".join(interrupted))
        self.queue.extend(queued)

    async def start(self) -> None:
        await self.backend.start(self._on_backend_event)
        self.started = True
        self._dispatch()

    # ---- creating jobs ----

    def create(self, upload: UploadRow, options: service_pb2.GenerateOptions, key: str,
               info: VideoInfo | None = None, request_id: str = "") -> JobRow:
        """A new job for these inputs: served from the cache when a finished result exists, else queued
        (an INTERRUPTED job with the same inputs is queued again instead). Raises QueueFull. info: the video's
        probe, handed to the backend so that the worker need not probe again; request_id: StartJob's, recorded in
        the same write as the job (a StartJob asked again with it answers with this job; a job stored without it would
        be made twice, one stored without the job would run for nobody)."""
        hit = self.store.find_cached(key)
        t = now_ms()
        opts = options.SerializeToString()
        request = RequestRow(request_id, "", upload.upload_id, opts, t) if request_id else None
        if hit is not None:
            row = JobRow(uuid.uuid4().hex, upload.upload_id, upload.file_name, upload.path, key, opts, SUCCEEDED, t,
                         t, stage="export", progress=1.0, cached=True, result_dir=hit.result_dir, files=hit.files,
                         warnings=hit.warnings, frames=hit.frames, detected=hit.detected)
            self.store.add_job(row, request)
            return row
        if self.backend.free_slots() == 0 and len(self.queue) >= self.limits.max_queued_jobs:
            raise QueueFull(f"the queue is full ({self.limits.max_queued_jobs} jobs waiting): try again when a "
                            "job has finished, or cancel one")
        again = self.store.find_job(key, INTERRUPTED)
        if again is not None:
            row = self.store.update_job(again.job_id, request, state=QUEUED, stage="", progress=0.0, error="",
                                        warnings=[], upload_id=upload.upload_id, video_path=upload.path, created_ms=t,
                                        options=opts)
        else:
            row = JobRow(uuid.uuid4().hex, upload.upload_id, upload.file_name, upload.path, key, opts, QUEUED, t, t)
            self.store.add_job(row, request)
        if info is not None:
            self._probes[row.job_id] = info
        self.queue.append(row.job_id)
        self._publish(row, service_pb2.EVENT_TYPE_QUEUED, message="queued")
        self._dispatch()
        current = self.get(row.job_id)
        assert current is not None  # just stored
        return current

    def get(self, job_id: str) -> JobRow | None:
        return self.running.get(job_id) or self.unrecorded.get(job_id) or self.store.get_job(job_id)

    # ---- running ----

    def _spec(self, row: JobRow) -> JobSpec:
        opts_msg = service_pb2.GenerateOptions.FromString(row.options)
        target = None
        if opts_msg.HasField("target"):
            target = str(convert.write_target_skeleton(opts_msg.target, self.store.targets_dir))
        options = convert.options_from_proto(opts_msg, target)
        return JobSpec(row.job_id, row.video_path, str(self.store.results_dir / row.job_id),
                       convert.safe_stem(row.video_name), options, self._probes.pop(row.job_id, None),
                       Path(row.video_name).name)

    def _dispatch(self) -> None:
        while self.queue and not self.closing and self.backend.free_slots() > 0:
            job_id = self.queue.popleft()
            row = self.store.get_job(job_id)
            if row is None or row.state != QUEUED:
                continue
            if self._served_from_cache(row):
                continue
            try:
                spec = self._spec(row)
                if not Path(row.video_path).is_file():
                    raise InputError(f"{row.video_name}: the uploaded video is gone (expired?); upload it again")
            except (InputError, OSError) as e:  # OSError: the target skeleton could not be written
                self._finish(row, FAILED, error=str(e))
                continue
            try:
                row = self.store.update_job(job_id, state=RUNNING, stage="", progress=0.0)
            except sqlite3.Error as e:  # a full disk: the job waits at the head of the queue for the next event
                log.error("job %s not started: the store cannot record it (%s)", job_id, e)
                self.queue.appendleft(job_id)
                return
            self.running[job_id] = row
            self._persisted[job_id] = time.monotonic()
            self.backend.submit(spec)
            self._publish(row, service_pb2.EVENT_TYPE_STATE, message="started")

    def _served_from_cache(self, row: JobRow) -> bool:
        """A queued job whose inputs finished while it waited (two clients, one video) ends with that result."""
        hit = self.store.find_cached(row.cache_key)
        if hit is None:
            return False
        self._finish(row, SUCCEEDED, stage="export", progress=1.0, cached=True, result_dir=hit.result_dir,
                     files=hit.files, warnings=hit.warnings, frames=hit.frames, detected=hit.detected)
        return True

    def _on_backend_event(self, ev: BackendEvent | None) -> None:
        if self.closing:
            return
        if ev is None:
            self._dispatch()
            return
        row = self.running.get(ev.job_id)
        if row is None:
            return
        if ev.kind == "progress":
            row.stage, row.progress, row.updated_ms = ev.stage, max(row.progress, ev.overall), now_ms()
            if ev.stage_kind == "warning":  # kept with the job: a later watcher, even after a restart, hears it
                row.warnings = [*row.warnings, ev.message]
            if ev.stage_kind != "progress" or time.monotonic() - self._persisted[ev.job_id] > PERSIST_EVERY_S:
                try:
                    self.store.update_job(ev.job_id, stage=row.stage, progress=row.progress, warnings=row.warnings)
                except sqlite3.Error as e:  # a full disk: the watchers still hear it, and the end is what counts
                    log.warning("job %s: progress not recorded (%s)", ev.job_id, e)
                self._persisted[ev.job_id] = time.monotonic()
            self._publish(row, _STAGE_EVENT.get(ev.stage_kind, service_pb2.EVENT_TYPE_STAGE_PROGRESS), ev.stage,
                          ev.fraction, ev.message)
            return
        del self.running[ev.job_id]
        self._persisted.pop(ev.job_id, None)
        if ev.kind == "done":
            self._finish(row, SUCCEEDED, progress=1.0, result_dir=str(self.store.results_dir / ev.job_id),
                         files=ev.files, frames=ev.frames, detected=ev.detected)
            for job_id in list(self.queue):  # its twins need not wait for a free worker
                twin = self.store.get_job(job_id)
                if twin is not None and twin.cache_key == row.cache_key and self._served_from_cache(twin):
                    self.queue.remove(job_id)
        elif ev.kind == "cancelled":
            self._finish(row, CANCELLED, error="cancelled by a client")
        else:
            self._finish(row, FAILED, error=ev.message)
        self._dispatch()

    def _finish(self, row: JobRow, state: int, **changes) -> JobRow:
        self._record_unrecorded()
        # A running job's stage and progress are kept in memory and written only now and then: the end keeps the
        # last ones (its final event had gone back to the last written progress, 0.33 -> 0.31).
        changes = {"stage": row.stage, "progress": row.progress, **changes}
        try:
            row = self.store.update_job(row.job_id, state=state, **changes)
        except sqlite3.Error as e:
            # A full disk. The job still ends, for its watchers and for the queue; until the store takes its end it
            # is kept here. A result the store cannot list is none.
            log.error("job %s: its end could not be recorded (%s)", row.job_id, e)
            if state == SUCCEEDED:
                state, changes = FAILED, {"error": f"the server could not record the result ({e})"}
            row = replace(row, state=state, updated_ms=now_ms(), **changes)
            self.unrecorded[row.job_id] = row
        if state != SUCCEEDED:  # a worker stopped just after it renamed its result into place leaves it behind
            shutil.rmtree(self.store.results_dir / row.job_id, ignore_errors=True)
        self._probes.pop(row.job_id, None)  # a job cancelled while queued never ran
        log.info("job %s %s%s", row.job_id, service_pb2.JobState.Name(state), f": {row.error}" if row.error else "")
        self._publish(row, FINAL_EVENT[state], row.stage, message=row.error or "done")
        ev = self._finished.pop(row.job_id, None)
        if ev:
            ev.set()
        return row

    def catch_up(self) -> None:
        """What a full store could not take, now that it may: the ends of finished jobs, and queued jobs' starts
        (otherwise they wait for the next job's event). The server calls this every half minute."""
        self._record_unrecorded()
        self._dispatch()

    def _record_unrecorded(self) -> None:
        """Write the ends the store could not take (see _finish), now that it may."""
        for job_id, row in list(self.unrecorded.items()):
            try:
                self.store.update_job(job_id, state=row.state, error=row.error)
            except sqlite3.Error:
                return
            del self.unrecorded[job_id]

    async def cancel(self, job_id: str, wait_s: float = 10.0) -> JobRow | None:
        row = self.get(job_id)
        if row is None:
            return None
        if row.state == QUEUED:
            if job_id in self.queue:
                self.queue.remove(job_id)
            return self._finish(row, CANCELLED, error="cancelled by a client before it started")
        if row.state == RUNNING:
            done = self._finished.setdefault(job_id, asyncio.Event())
            self.backend.cancel(job_id)
            try:
                await asyncio.wait_for(done.wait(), wait_s)
            except asyncio.TimeoutError:
                pass
            return self.get(job_id)
        return row

    # ---- watching ----

    def _publish(self, row: JobRow, etype: service_pb2.EventType, stage: str = "", stage_progress: float = 0.0,
                 message: str = "") -> None:
        watchers = self._watchers.get(row.job_id)
        if not watchers:
            return
        ev = service_pb2.JobEvent(job_id=row.job_id, type=etype, stage=stage or row.stage,
                                  stage_progress=stage_progress, progress=row.progress, message=message,
                                  job=convert.job_to_proto(row))
        for q in watchers:
            # A watcher that stopped reading must not hold every progress event of a long job in memory: past
            # MAX_PENDING_EVENTS it misses some (each carries the overall progress); states, warnings and the
            # final event always go in.
            if etype != service_pb2.EVENT_TYPE_STAGE_PROGRESS or q.qsize() < MAX_PENDING_EVENTS:
                q.put_nowait(ev)

    async def watch(self, job_id: str) -> AsyncIterator[service_pb2.JobEvent]:
        """The current state, the job's warnings so far, then every event up to and including the final one."""
        q: asyncio.Queue = asyncio.Queue()
        self._watchers.setdefault(job_id, set()).add(q)
        try:
            row = self.get(job_id)
            if row is None:
                raise KeyError(job_id)
            # Read before the first yield, as the watcher's queue was added: an event after this goes to the queue,
            # so no warning is missed or told twice.
            job, warnings = convert.job_to_proto(row), list(row.warnings)
            yield service_pb2.JobEvent(job_id=job_id, type=service_pb2.EVENT_TYPE_STATE, stage=row.stage,
                                       progress=row.progress, message=service_pb2.JobState.Name(row.state), job=job)
            for w in warnings:
                yield service_pb2.JobEvent(job_id=job_id, type=service_pb2.EVENT_TYPE_WARNING, progress=row.progress,
                                           message=w, job=job)
            if row.state in FINAL_STATES:
                yield service_pb2.JobEvent(job_id=job_id, type=FINAL_EVENT[row.state], stage=row.stage,
                                           progress=row.progress, message=row.error or "done", job=job)
                return
            while True:
                ev = await q.get()
                if ev is None:  # close(): ended here, not cut off by the server's stop with a traceback in its log
                    raise Stopping(job_id)
                yield ev
                if ev.type in FINAL_EVENT_TYPES:
                    return
        finally:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(q)
                if not watchers:
                    del self._watchers[job_id]

    # ---- housekeeping ----

    def queued_count(self) -> int:
        return len(self.queue)

    async def close(self) -> None:
        """Stops: running jobs become INTERRUPTED (StartJob runs them again), queued ones stay queued."""
        for row in list(self.running.values()):
            self._finish(row, INTERRUPTED, error=INTERRUPTED_ERROR)
        self.running.clear()
        self.closing = True
        for watchers in self._watchers.values():
            for q in watchers:
                q.put_nowait(None)
        await self.backend.close()

    def expire_uploads(self) -> int:
        return self.store.expire_uploads(now_ms() - self.limits.upload_expiry_seconds * 1000)

    def expire_targets(self) -> int:
        """Target skeleton files unused for the upload expiry that no queued or running job needs."""
        needed = set()
        for row in self.store.list_jobs(-1, [QUEUED, RUNNING]):
            opts = service_pb2.GenerateOptions.FromString(row.options)
            if opts.HasField("target"):
                with contextlib.suppress(InputError):  # one refused when it was made
                    needed.add(convert.target_skeleton_path(opts.target, self.store.targets_dir).parent.name)
        return self.store.expire_targets(now_ms() - self.limits.upload_expiry_seconds * 1000, needed)

    def expire_results(self) -> int:
        return self.store.expire_results(now_ms() - self.limits.result_expiry_seconds * 1000)

