"""`animgen generate --server`: a video run on an AnimGen server, as a local run would make it (generate_remote), and
what keeps such runs going: a full queue waited out, a server that restarts reached again, videos sent at once
stopped together (InFlight)."""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import grpc

from animgen.v1 import service_pb2
from animgen_ml.errors import AnimGenError, Cancelled
from animgen_ml.export import CLIENT_FORMATS, write_client_formats
from animgen_ml.pipeline import GenerateOptions, ProgressEvent, ProgressFn
from animgen_server import convert
from animgen_server.client import AnimGenClient, ServiceError

# StartJob in a batch sent at once: a stop waits for its answer (to cancel the job it starts), so it must not hang.
START_TIMEOUT_S = 30.0
# How long a run waits for room in a server's full queue (a shared server busy with other studios' CI) before it fails.
QUEUE_WAIT_S = 600.0
# How long a run waits for a server it has reached and then lost (a restart, a deploy), from when it lost it, and how
# often it runs again a job that a stop of the server interrupted.
RECONNECT_S = 120.0
MAX_RESTARTS = 3
# How long a stop waits for each of its calls (the cancel, StartJob asked again for the job to cancel): a server that
# does not answer must not hold the run. A cancel unanswered by then was received: the server answers it once the job's
# worker has stopped, which may take longer. Unreal waits as long (Unity's cancel, 30 s; its window does not wait).
STOP_WAIT_S = 5.0
# Said where a server went for good while a StartJob was unanswered (Unity and Unreal say the same).
MAY_HAVE_MADE_JOB = "the server may have made the job before it went: `animgen jobs` lists it once the server is back"
_STAGE_KIND = {
    service_pb2.EVENT_TYPE_STAGE_STARTED: "started", service_pb2.EVENT_TYPE_STAGE_PROGRESS: "progress",
    service_pb2.EVENT_TYPE_STAGE_FINISHED: "finished", service_pb2.EVENT_TYPE_WARNING: "warning",
}
# The servers this process has had an answer from, each with since when it has not been reachable (None while it is):
# one outage for every video and thread of the run, so that a server that stays down fails the rest of a folder once
# its wait is over, not after a wait of its own for each video. A later video's first call waits out a restart as every
# call does; a first contact that fails (a wrong address, TLS, a proxy) fails at once.
_servers: dict[str, float | None] = {}
_servers_lock = threading.Lock()
T = TypeVar("T")


class InFlight:
    """The connections and jobs of videos converted at once, each in its own thread (`animgen generate DIR --server
    --jobs N`). A stop (Ctrl-C, SIGTERM) reaches the main thread only: stop() has the server cancel every job, all at
    once on a connection of its own (`cancel_jobs`), and closes the threads' connections, which ends their calls. A
    connection asking StartJob is left open: the job it starts is cancelled by its thread once it has its id."""

    def __init__(self, cancel_jobs: Callable[[list[str]], list[str]]) -> None:
        self._cancel_jobs = cancel_jobs
        self._lock = threading.Lock()
        self._jobs: dict[AnimGenClient, str | None] = {}  # connection -> its job ("" before one; None: starting it)
        self.stopping = False
        self.not_cancelled: list[str] = []  # jobs the server could not be told to cancel (it is down)

    def opened(self, client: AnimGenClient) -> None:
        self._set(client, "")

    def starting(self, client: AnimGenClient) -> None:
        self._set(client, None)

    def _set(self, client: AnimGenClient, job: str | None) -> None:
        with self._lock:
            if self.stopping:
                raise Cancelled("stopped")
            self._jobs[client] = job

    def started(self, client: AnimGenClient, job_id: str) -> None:
        """The job now runs; one started as the stop came is cancelled here, since stop() did not know it."""
        with self._lock:
            self._jobs[client] = job_id
            stopping = self.stopping
        if stopping:
            left = self._cancel_jobs([job_id])
            with self._lock:
                self.not_cancelled += left
            raise Cancelled(f"job {job_id} was cancelled")

    def closed(self, client: AnimGenClient) -> None:
        with self._lock:
            self._jobs.pop(client, None)

    def stop(self) -> None:
        """Cancels every job and closes the connections; the jobs the server could not be told to cancel go to
        not_cancelled (so do those a thread starts as the stop comes)."""
        with self._lock:
            self.stopping = True
            jobs = [j for j in self._jobs.values() if j]
        try:
            left = self._cancel_jobs(jobs)
            with self._lock:
                self.not_cancelled += left
        finally:
            self.close()

    def close(self) -> None:
        """Closes the connections not asking StartJob (those end their threads' calls); again is harmless."""
        with self._lock:
            held = [c for c, job in self._jobs.items() if job is not None]
        for client in held:
            with contextlib.suppress(Exception):
                client.close()


def cancel_jobs(address: str, job_ids: list[str], *, token: str | None = None, tls_ca: str | Path | None = None,
                wait_s: float = STOP_WAIT_S) -> list[str]:
    """Has the server cancel these jobs, all at once on a connection of its own, waiting at most wait_s (a request
    that times out was received: STOP_WAIT_S). Returns those the server could not be told of (unreachable): a queued
    one would run for nobody when it is back. Nothing is raised: this runs as a run stops."""
    if not job_ids:
        return []
    failed = list(job_ids)
    with contextlib.suppress(Exception), AnimGenClient(address, token=token, tls_ca=tls_ca) as control:
        calls = {j: control.stub.CancelJob.future(service_pb2.CancelJobRequest(job_id=j), metadata=control.metadata,
                                                  timeout=wait_s) for j in job_ids}
        for job_id, call in calls.items():
            try:
                call.result()
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    continue
            failed.remove(job_id)
    return failed


def said_locally(video: str | Path, message: str) -> str:
    """A server's message as a local run says it: the server names the file it was sent, a local run the path it was
    given."""
    name = Path(video).name
    return f"{video}: {message[len(name) + 2:]}" if message.startswith(f"{name}: ") else message


def _notice(progress: ProgressFn | None, message: str) -> None:
    """A line about the run on the server (not a warning about the clip)."""
    if progress:
        progress(ProgressEvent("server", "notice", 0.0, message))


def generate_remote(address: str, video: str | Path, out_base: str | Path, options: GenerateOptions, *,
                    token: str | None = None, tls_ca: str | Path | None = None, progress: ProgressFn | None = None,
                    in_flight: InFlight | None = None) -> tuple[dict[str, Path], service_pb2.Job]:
    """What `animgen generate VIDEO --server ADDRESS` does: upload, start, follow the job (progress gets the
    same ProgressEvents as a local run, and notices of the server: queued, queue full, lost, reached, run again), then
    write the same files a local run writes, out_base + suffix. Returns the files and the finished job (its frames,
    detection share and warnings). Ctrl-C cancels the job on the server; in a thread of a batch run at once,
    `in_flight.stop()` does."""
    options.validate()
    # A --target character is retargeted here, after the job, as a local run does: the file is the same (mesh and
    # all), and the server needs no copy of the character. So are the formats the service has none for.
    served = tuple(f for f in options.formats if f not in CLIENT_FORMATS)
    msg = convert.options_to_proto(replace(options, target=None, formats=served or ("json",)))
    with AnimGenClient(address, token=token, tls_ca=tls_ca) as client:
        if in_flight is not None:
            in_flight.opened(client)
        try:
            return _Run(client, video, msg, progress, in_flight).run(address, out_base, options, served)
        finally:
            if in_flight is not None:
                in_flight.closed(client)


class _Run:
    """One video's run on an open connection."""

    def __init__(self, client: AnimGenClient, video: str | Path, msg: service_pb2.GenerateOptions,
                 progress: ProgressFn | None, in_flight: InFlight | None) -> None:
        self.client, self.video, self.msg, self.progress, self.in_flight = client, video, msg, progress, in_flight
        self.outage = Outage(client.address, progress, in_flight)
        self.job: service_pb2.Job | None = None  # as soon as StartJob answers: a stop cancels it
        # (upload id, request id) of a StartJob sent and not answered: the server may have made its job.
        self.asked: tuple[str, str] | None = None
        self.told: set[str] = set()  # warnings said: a watch attached again, or a job run again, tells them again

    def run(self, address: str, out_base: str | Path, options: GenerateOptions, served: tuple[str, ...]
            ) -> tuple[dict[str, Path], service_pb2.Job]:
        video, client, in_flight = self.video, self.client, self.in_flight
        with _servers_lock:
            reached = client.address in _servers
        info = reconnecting(client.info, self.outage) if reached else client.info()
        self.outage.reached()
        if limit := info.limits.max_video_seconds:  # said before the upload, not after it (1080p: 15 MB a minute)
            from animgen_ml.video import probe

            length = min(probe(video).duration, options.end or math.inf) - (options.start or 0.0)
            if length > limit:
                raise AnimGenError(f"{video}: {length:.1f} s to process; the server at {address} takes at most "
                                   f"{limit:g} s: trim it with --start and --end")
        if in_flight is not None and in_flight.stopping:  # not begun: nothing to send
            raise Cancelled("stopped")
        up = reconnecting(lambda: client.upload(video), self.outage)
        try:
            self._start(up.upload_id)
            for restart in range(MAX_RESTARTS + 1):
                job = reconnecting(self._follow, self.outage)
                if job.state != service_pb2.JOB_STATE_INTERRUPTED:
                    break
                if restart == MAX_RESTARTS:
                    raise AnimGenError(f"{video}: the server stopped while the job ran, {MAX_RESTARTS + 1} times; "
                                       "run it again once the server stays up")
                _notice(self.progress, "the server stopped while the job ran; running it again")
                self._start(up.upload_id)  # the same job: the server runs an interrupted one again
        except ServiceError as e:
            if self.job is None or Outage.answered(e):
                raise
            # Given up on a server that went (frozen, gone) with the job on it: said with its id, as Ctrl-C says it.
            raise ServiceError(e.code, f"{e.details}; job {self.job.job_id} was left on the server: `animgen cancel "
                               f"{self.job.job_id}` cancels it once it can be reached", e.address) from None
        except KeyboardInterrupt:
            self._cancel()
            raise
        if job.state == service_pb2.JOB_STATE_CANCELLED:  # not by this run, which stops before its watch ends
            raise Cancelled(f"job {job.job_id} was cancelled on the server (by `animgen cancel` or another client)")
        if job.state != service_pb2.JOB_STATE_SUCCEEDED:
            raise AnimGenError(said_locally(video, job.error) if job.error.startswith(f"{Path(video).name}: ")
                               else f"{video}: {job.error or service_pb2.JobState.Name(job.state)}")
        if in_flight is not None and in_flight.stopping:
            raise Cancelled("stopped")
        clip, files = reconnecting(lambda: client.result(job.job_id, out_base if served else None), self.outage)
        files |= write_client_formats(clip, Path(out_base), options)
        if options.target:
            from animgen_ml.export import write_target

            files["target"] = write_target(clip, Path(out_base), options)
        if self.progress and job.cached:  # served from the cache: no stage ran, but the run is complete
            self.progress(ProgressEvent("export", "finished", 1.0, "cached"))
        return files, job

    def _start(self, upload_id: str) -> None:
        """StartJob, under a request id of this start's own: asked again after an answer that was lost (the server
        went, a call of a batch timed out), the server answers with the job it made instead of making a second.
        While the server's queue is full (its answer says when to try again) it tries again, for up to QUEUE_WAIT_S
        in all, saying so once; while the server cannot be reached, as `reconnecting` does. A batch's stop that comes
        while a try is unanswered has the job it may have made cancelled (a single run's Ctrl-C: `_cancel`)."""
        try:
            self._tries(upload_id, uuid.uuid4().hex)
        except (Cancelled, ServiceError) as e:
            if self.in_flight is not None and self.in_flight.stopping and self.asked is not None:
                if (job := self._ask_again()) is not None:
                    self.in_flight.started(self.client, job.job_id)  # cancels it, as a stop does
            elif self.asked is not None and isinstance(e, ServiceError) and e.code == grpc.StatusCode.UNAVAILABLE:
                # The server went for good with a StartJob unanswered: the job it may have made would run for
                # nobody once it is back.
                raise ServiceError(e.code, f"{e.details}; {MAY_HAVE_MADE_JOB}", e.address) from None
            raise
        self.outage.reached()
        assert self.job is not None  # answered
        if self.job.state == service_pb2.JOB_STATE_QUEUED:
            _notice(self.progress, "queued on the server: waiting for a free worker")

    def _tries(self, upload_id: str, request_id: str) -> None:
        """_start's tries, all under request_id; self.asked is set while one may have made a job unanswered."""
        client, in_flight = self.client, self.in_flight
        deadline = time.monotonic() + QUEUE_WAIT_S
        said_full = said_slow = False
        while True:
            try:
                if in_flight is not None:
                    in_flight.starting(client)  # a stop before the call: none is sent
                self.asked = (upload_id, request_id)
                self.job = client.start(upload_id, self.msg, request_id=request_id,
                                        timeout=START_TIMEOUT_S if in_flight is not None else None)
                self.asked = None
                if in_flight is not None:
                    in_flight.started(client, self.job.job_id)
                return
            except ServiceError as e:
                lost = not Outage.answered(e)
                if not lost:
                    self.asked = None  # refused: no job was made
                if in_flight is not None and not lost:
                    # No call open: a stop may close this connection. One whose answer was lost stays open for the
                    # stop's asking again (_start).
                    in_flight.opened(client)
                if e.code == grpc.StatusCode.UNAVAILABLE:
                    self.outage.lost(e)
                    continue
                left = deadline - time.monotonic()
                if e.code == grpc.StatusCode.DEADLINE_EXCEEDED:  # no answer (Outage.answered)
                    if left <= 0:
                        raise ServiceError(e.code, f"{e.details} (asked for {QUEUE_WAIT_S / 60:g} min; the server "
                                           "may have made the job: `animgen jobs` lists it)", e.address) from None
                    if not said_slow:
                        said_slow = True
                        _notice(self.progress, f"the server took over {START_TIMEOUT_S:g} s to start the job; asking "
                                               "again")
                    continue
                self.outage.reached()  # it answered
                if e.retry_after_s is None:
                    raise
                if left <= 0:
                    raise ServiceError(e.code, f"{e.details} (waited {QUEUE_WAIT_S / 60:g} min for room)",
                                       e.address) from None
                every = max(e.retry_after_s, 0.5)  # a server that says 0 is not asked again in a busy loop
                if not said_full:
                    said_full = True
                    _notice(self.progress, f"the server's queue is full; trying again every {every:g} s for up to "
                                           f"{QUEUE_WAIT_S / 60:g} min")
                _sleep(min(every, left), in_flight)

    def _follow(self) -> service_pb2.Job:
        """The job's events until its final one, said as a local run says them; each warning once."""
        assert self.job is not None
        last = self.job
        for ev in self.client.watch(last.job_id):
            self.outage.reached()
            last = ev.job
            if not self.progress or ev.type not in _STAGE_KIND:
                continue
            if ev.type == service_pb2.EVENT_TYPE_WARNING:
                if ev.message in self.told:
                    continue
                self.told.add(ev.message)
            self.progress(ProgressEvent(ev.stage, _STAGE_KIND[ev.type], ev.stage_progress,
                                        said_locally(self.video, ev.message)))
        return last

    def _cancel(self) -> None:
        """Ctrl-C: the job is cancelled on the server; where it cannot be (the server unreachable), said with its id,
        since a queued job would run for nobody once the server is back. While a StartJob is unanswered (a first
        start, or one again after an interruption), its job is the one asked for again under its request id."""
        if self.asked is not None:
            self.job = self._ask_again()
        if self.job is None:
            return
        try:
            self.client.cancel(self.job.job_id, timeout=STOP_WAIT_S)
        except AnimGenError as e:
            # As cancel_jobs counts it: a server that answers, or takes longer than STOP_WAIT_S, was told.
            if isinstance(e, ServiceError) and e.code != grpc.StatusCode.UNAVAILABLE:
                return
            if self.progress:  # a warning, which --quiet keeps: the job would run for nobody
                self.progress(ProgressEvent("server", "warning", 0.0, f"could not cancel job {self.job.job_id} on the "
                                            f"server: `animgen cancel {self.job.job_id}` does, once it can be reached"))

    def _ask_again(self) -> service_pb2.Job | None:
        """The job an unanswered StartJob (self.asked) may have made, asked for under its request id (and made now,
        if that call never reached the server), for a stop to cancel. None where the server refuses (no job under the
        id), or cannot answer: then said as a warning, since that job would run for nobody."""
        assert self.asked is not None
        upload_id, request_id = self.asked
        self.asked = None
        try:
            return self.client.start(upload_id, self.msg, timeout=STOP_WAIT_S, request_id=request_id)
        except ServiceError as e:
            if Outage.answered(e):
                return None
        except (AnimGenError, ValueError):  # ValueError: a connection closed by the stop
            pass
        if self.progress:
            self.progress(ProgressEvent("server", "warning", 0.0, "the server may have started a job on "
                                        f"{Path(self.video).name} as the run stopped: `animgen jobs` lists the "
                                        "server's jobs, `animgen cancel JOB` cancels one"))
        return None


class Outage:
    """One video's view of its server's outages (a restart, a deploy): the server is waited for up to RECONNECT_S from
    when it was lost, by whichever video of the run lost it first (`_servers`); each video says once when it lost the
    server and once when it has it again."""

    def __init__(self, address: str, progress: ProgressFn | None, in_flight: InFlight | None) -> None:
        self.address, self.progress, self.in_flight = address, progress, in_flight
        self.said = False

    def lost(self, e: ServiceError) -> None:
        """An UNAVAILABLE answer: waits a little before the next try; raises e once the server has been away
        RECONNECT_S, or when a stop of the batch came."""
        if self.in_flight is not None and self.in_flight.stopping:
            raise e
        now = time.monotonic()
        with _servers_lock:
            since = _servers.get(self.address) or now
            _servers[self.address] = since
        if now - since >= RECONNECT_S:  # this video's, or one before it that lost the server
            raise ServiceError(e.code, f"{e.details} (tried to reach it again for {RECONNECT_S / 60:g} min)",
                               e.address) from None
        if not self.said:
            self.said = True
            _notice(self.progress, f"lost the server; trying to reach it again for up to {RECONNECT_S / 60:g} min")
        _sleep(min(2.0, since + RECONNECT_S - now), self.in_flight)

    @staticmethod
    def answered(e: ServiceError) -> bool:
        """Whether a call's error is the server's answer. UNAVAILABLE is not, nor DEADLINE_EXCEEDED, which a
        connection still being made gives too (Unity and Unreal count a timeout so): a timeout neither ends an
        outage nor says the server is back."""
        return e.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    def reached(self) -> None:
        """The server answered."""
        with _servers_lock:
            _servers[self.address] = None
        if self.said:
            self.said = False
            _notice(self.progress, "reached the server again")


def reconnecting(step: Callable[[], T], outage: Outage) -> T:
    """step(), a call a run may repeat (the server keeps one copy of a video sent twice, a watch attached again
    tells the job from its current state, a result may be fetched again), tried again while the server cannot be
    reached (UNAVAILABLE), as the outage allows."""
    while True:
        try:
            result = step()
        except ServiceError as e:
            if e.code != grpc.StatusCode.UNAVAILABLE:
                if Outage.answered(e):
                    outage.reached()  # it answered, with a refusal
                raise
            outage.lost(e)
            continue
        outage.reached()
        return result


def _sleep(seconds: float, in_flight: InFlight | None) -> None:
    """In half-second slices, so that a stop of a batch sent at once (which reaches the main thread only) ends it."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if in_flight is not None and in_flight.stopping:
            raise Cancelled("stopped")
        time.sleep(min(0.5, left))
