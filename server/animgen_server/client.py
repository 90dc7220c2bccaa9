"""The Python client of the AnimGen service, and generate_remote() behind `animgen generate --server`."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import grpc

from animgen.v1 import service_pb2, service_pb2_grpc
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import AnimGenError, Cancelled, InputError
from animgen_ml.export import CLIENT_FORMATS, write_client_formats
from animgen_ml.files import atomic_path
from animgen_ml.pipeline import GenerateOptions, ProgressEvent
from animgen_server import address as server_address
from animgen_server import convert
from animgen_server.auth import bearer_metadata
from animgen_server.limits import CLIENT_CHUNK_BYTES, CLIENT_PING_S, MAX_MESSAGE_BYTES, RETRY_AFTER_KEY

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV, TOKEN_ENV = "ANIMGEN_SERVER", "ANIMGEN_TOKEN"
# StartJob in a batch sent at once: a stop waits for its answer (to cancel the job it starts), so it must not hang.
START_TIMEOUT_S = 30.0
# How long a run waits for room in a server's full queue (a shared server busy with other studios' CI) before it fails.
QUEUE_WAIT_S = 600.0
# How long a run that has reached the server tries to reach it again after losing it (a restart, a deploy), and how
# often it runs again a job that a stop of the server interrupted.
RECONNECT_S = 120.0
MAX_RESTARTS = 3
T = TypeVar("T")
_STAGE_KIND = {
    service_pb2.EVENT_TYPE_STAGE_STARTED: "started", service_pb2.EVENT_TYPE_STAGE_PROGRESS: "progress",
    service_pb2.EVENT_TYPE_STAGE_FINISHED: "finished", service_pb2.EVENT_TYPE_WARNING: "warning",
}


class ServiceError(AnimGenError):
    """A call the server refused; .code is the grpc.StatusCode; .retry_after_s, where the server said when to try
    again (its queue was full), else None."""

    def __init__(self, code: grpc.StatusCode, details: str, address: str = "", retry_after_s: float | None = None
                 ) -> None:
        super().__init__(f"{address + ': ' if address else ''}{details} ({code.name})")
        self.code, self.details, self.address, self.retry_after_s = code, details, address, retry_after_s


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            h.update(data)
    return h.hexdigest()


def result_suffix(file_name: str) -> str:
    """Everything after the server's base name (which never has a dot): ".glb", ".landmarks.npz", ..."""
    return file_name[file_name.index("."):] if "." in file_name else ""


def _retry_after_s(e: grpc.RpcError) -> float | None:
    """When the server said to try again (RETRY_AFTER_KEY), in seconds; None where it did not."""
    metadata = e.trailing_metadata() if callable(getattr(e, "trailing_metadata", None)) else None
    value = dict(metadata or ()).get(RETRY_AFTER_KEY)
    try:
        return max(0.0, int(value) / 1000) if value is not None else None
    except ValueError:
        return None


class AnimGenClient:
    def __init__(self, address: str | None = None, *, token: str | None = None, tls_ca: str | Path | None = None,
                 timeout: float | None = None, ping_s: float = CLIENT_PING_S) -> None:
        self.address = server_address.dialled(address or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS)
        if (why := server_address.problem(self.address)) is not None:
            source = "" if address else f" (environment variable {ADDRESS_ENV})"
            raise InputError(f"the server address{source} {why}")
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        opts = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.keepalive_time_ms", int(ping_s * 1000)),
                ("grpc.keepalive_timeout_ms", int(ping_s * 1000 / 3)),
                ("grpc.http2.ping_timeout_ms", int(ping_s * 1000 / 3)),  # newer gRPC waits this long for the ack
                # gRPC's own brakes on pings while no data comes: none after two, then one a minute at most.
                ("grpc.http2.max_pings_without_data", 0),
                ("grpc.http2.min_time_between_pings_ms", int(ping_s * 1000)),
                # A restarted server is reached again within seconds (gRPC's own backoff grows to 2 minutes).
                ("grpc.max_reconnect_backoff_ms", 5000)]
        if tls_ca is not None:
            try:
                roots = Path(tls_ca).read_bytes()
            except OSError as e:
                raise InputError(f"--tls-ca {tls_ca}: {e.strerror or e}") from None
            creds = grpc.ssl_channel_credentials(root_certificates=roots)
            self.channel = grpc.secure_channel(self.address, creds, options=opts)
        else:
            self.channel = grpc.insecure_channel(self.address, options=opts)
        self.stub = service_pb2_grpc.AnimGenStub(self.channel)
        self.metadata = bearer_metadata(token)
        self.timeout = timeout

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> AnimGenClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except grpc.RpcError as e:
            code = e.code() if callable(getattr(e, "code", None)) else grpc.StatusCode.UNKNOWN
            details = e.details() if callable(getattr(e, "details", None)) else str(e)
            if code == grpc.StatusCode.UNAVAILABLE:
                details = f"cannot reach the AnimGen server ({details}); is `animgen serve` running there?"
            raise ServiceError(code, details, self.address, _retry_after_s(e)) from None

    def upload(self, video: str | Path, progress: Callable[[int, int], None] | None = None,
               chunk_bytes: int = CLIENT_CHUNK_BYTES) -> service_pb2.UploadVideoResponse:
        video = Path(video)
        if not video.is_file():
            raise InputError(f"{video}: video file not found")
        size = video.stat().st_size
        if size == 0:
            raise InputError(f"{video}: the file is empty")
        digest = sha256_of(video)

        def messages():
            # A video the server already stores (a CI run again) is answered after the header, and not sent again.
            yield service_pb2.UploadVideoRequest(header=service_pb2.UploadHeader(
                file_name=video.name, size_bytes=size, sha256=digest, may_answer_early=True))
            sent = 0
            with open(video, "rb") as f:
                while data := f.read(chunk_bytes):
                    sent += len(data)
                    yield service_pb2.UploadVideoRequest(chunk=data)
                    if progress:
                        progress(sent, size)

        with self._errors():
            return self.stub.UploadVideo(messages(), metadata=self.metadata, timeout=self.timeout)

    def start(self, upload_id: str, options: service_pb2.GenerateOptions | None = None,
              timeout: float | None = None) -> service_pb2.Job:
        with self._errors():
            return self.stub.StartJob(service_pb2.StartJobRequest(upload_id=upload_id, options=options),
                                      metadata=self.metadata, timeout=timeout or self.timeout)

    def watch(self, job_id: str) -> Iterator[service_pb2.JobEvent]:
        """Every event of the job, the current state first, until its final event."""
        with self._errors():
            yield from self.stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), metadata=self.metadata)

    def wait(self, job_id: str) -> service_pb2.Job:
        last = None
        for ev in self.watch(job_id):
            last = ev
        assert last is not None  # a watch starts with the job's current state (an unknown job raises)
        return last.job

    def result(self, job_id: str, out_base: str | Path | None = None,
               formats: list[service_pb2.OutputFormat] | None = None) -> tuple[HumanoidClip, dict[str, Path]]:
        """The clip, and the files written as out_base + suffix (atomically, each checked against its sha256);
        files are keyed like pipeline.Result.files (glb, bvh, json, npz, report, preview; target)."""
        stream = self.stub.GetResult(service_pb2.GetResultRequest(job_id=job_id, formats=formats or []),
                                     metadata=self.metadata)
        written: dict[str, Path] = {}
        with self._errors():
            first = next(stream)
            header = first.header
            clip = convert.clip_from_proto(header.clip)
            by_name = {f.file_name: f for f in header.files}
            current = None  # (ResultFile, open file, hasher, atomic context, final path)
            with contextlib.ExitStack() as stack:
                for msg in stream:
                    if out_base is None:
                        continue
                    c = msg.chunk
                    if current is None or current[0].file_name != c.file_name:
                        if current is not None:
                            self._close_file(current, written)
                        rf = by_name[c.file_name]
                        final = Path(f"{out_base}{result_suffix(rf.file_name)}")
                        ctx = atomic_path(final)
                        tmp = stack.enter_context(ctx)
                        current = [rf, open(tmp, "wb"), hashlib.sha256(), final]
                        stack.callback(current[1].close)
                    current[1].write(c.data)
                    current[2].update(c.data)
                if current is not None:
                    self._close_file(current, written)
                missing = [f.file_name for f in header.files if out_base is not None
                           and Path(f"{out_base}{result_suffix(f.file_name)}") not in written.values()]
                if missing:
                    raise AnimGenError(f"{self.address}: the result stream ended before {missing[0]}")
        return clip, written

    @staticmethod
    def _close_file(current: list, written: dict[str, Path]) -> None:
        rf, f, h, final = current
        f.close()
        if h.hexdigest() != rf.sha256:
            raise AnimGenError(f"{rf.file_name}: the downloaded file does not match its sha256; fetch it again")
        key = convert.PROTO_TO_FORMAT.get(rf.format, "file")
        suffix = result_suffix(rf.file_name)
        if rf.format == service_pb2.OUTPUT_FORMAT_GLB and suffix != ".glb":
            key = "target"
        written[key] = final

    def cancel(self, job_id: str) -> service_pb2.Job:
        with self._errors():
            return self.stub.CancelJob(service_pb2.CancelJobRequest(job_id=job_id), metadata=self.metadata,
                                       timeout=self.timeout)

    def list(self, limit: int = 0, states: list[service_pb2.JobState] | None = None) -> list[service_pb2.Job]:
        with self._errors():
            return list(self.stub.ListJobs(service_pb2.ListJobsRequest(limit=limit, states=states or []),
                                           metadata=self.metadata, timeout=self.timeout).jobs)

    def info(self) -> service_pb2.ServerInfo:
        with self._errors():
            return self.stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self.metadata,
                                           timeout=self.timeout)


class InFlight:
    """The connections and jobs of videos converted at once, each in its own thread (`animgen generate DIR --server
    --jobs N`). A stop (Ctrl-C, SIGTERM) reaches the main thread only: stop() has the server cancel every job, all at
    once on a connection of its own (`cancel_jobs`), and closes the threads' connections, which ends their calls. A
    connection asking StartJob is left open: the job it starts is cancelled by its thread once it has its id."""

    def __init__(self, cancel_jobs: Callable[[list[str]], None]) -> None:
        self._cancel_jobs = cancel_jobs
        self._lock = threading.Lock()
        self._jobs: dict[AnimGenClient, str | None] = {}  # connection -> its job ("" before one; None: starting it)
        self.stopping = False

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
            self._cancel_jobs([job_id])
            raise Cancelled(f"job {job_id} was cancelled")

    def closed(self, client: AnimGenClient) -> None:
        with self._lock:
            self._jobs.pop(client, None)

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
            jobs = [j for j in self._jobs.values() if j]
        try:
            self._cancel_jobs(jobs)
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
                wait_s: float = 3.0) -> None:
    """Has the server cancel these jobs, all at once on a connection of its own, waiting at most wait_s (a server
    stops a running job's worker on the request; its answer waits for that). Errors are left unsaid: this runs as a
    run stops."""
    if not job_ids:
        return
    with contextlib.suppress(Exception), AnimGenClient(address, token=token, tls_ca=tls_ca) as control:
        calls = [control.stub.CancelJob.future(service_pb2.CancelJobRequest(job_id=j), metadata=control.metadata,
                                               timeout=wait_s) for j in job_ids]
        for call in calls:
            with contextlib.suppress(Exception):
                call.result()


def generate_remote(address: str, video: str | Path, out_base: str | Path, options: GenerateOptions, *,
                    token: str | None = None, tls_ca: str | Path | None = None,
                    progress: Callable[[ProgressEvent], None] | None = None, in_flight: InFlight | None = None
                    ) -> tuple[dict[str, Path], service_pb2.Job]:
    """What `animgen generate VIDEO --server ADDRESS` does: upload, start, follow the job (progress gets the
    same ProgressEvents as a local run), then write the same files a local run writes, out_base + suffix. Returns
    the files and the finished job (its frames, detection share and warnings). Ctrl-C cancels the job on the
    server; in a thread of a batch run at once, `in_flight.stop()` does."""
    options.validate()
    # A --target character is retargeted here, after the job, as a local run does: the file is the same (mesh and
    # all), and the server needs no copy of the character. So are the formats the service has none for.
    served = tuple(f for f in options.formats if f not in CLIENT_FORMATS)
    msg = convert.options_to_proto(replace(options, target=None, formats=served or ("json",)))
    with AnimGenClient(address, token=token, tls_ca=tls_ca) as client:
        if in_flight is not None:
            in_flight.opened(client)
        try:
            return _run_remote(client, address, video, out_base, options, msg, served, progress, in_flight)
        finally:
            if in_flight is not None:
                in_flight.closed(client)


def _run_remote(client: AnimGenClient, address: str, video: str | Path, out_base: str | Path,
                options: GenerateOptions, msg: service_pb2.GenerateOptions, served: tuple[str, ...],
                progress: Callable[[ProgressEvent], None] | None, in_flight: InFlight | None
                ) -> tuple[dict[str, Path], service_pb2.Job]:
    """generate_remote's steps on an open connection."""
    name = Path(video).name

    def local(message: str) -> str:  # the server names the file it was sent; a local run names the path it was given
        return f"{video}: {message[len(name) + 2:]}" if message.startswith(f"{name}: ") else message

    limit = client.info().limits.max_video_seconds
    if limit:  # said before the upload, not after it (a 10-minute 1080p video is 150 MB to send)
        from animgen_ml.video import probe

        length = min(probe(video).duration, options.end or math.inf) - (options.start or 0.0)
        if length > limit:
            raise AnimGenError(f"{video}: {length:.1f} s to process; the server at {address} takes at most "
                               f"{limit:g} s: trim it with --start and --end")
    if in_flight is not None and in_flight.stopping:  # not begun: nothing to send
        raise Cancelled("stopped")
    up = _reconnecting(lambda: client.upload(video), progress, in_flight)

    def start() -> service_pb2.Job:
        started = _reconnecting(lambda: _start(client, up.upload_id, msg, progress, in_flight), progress, in_flight)
        if progress and started.state == service_pb2.JOB_STATE_QUEUED:
            progress(ProgressEvent("server", "waiting", 0.0, "queued on the server: its workers are busy"))
        return started

    job = start()
    reported = False
    told: set[str] = set()  # warnings said: a watch attached again, or a job run again, tells them again

    def follow() -> service_pb2.Job:
        nonlocal reported
        last = job
        for ev in client.watch(job.job_id):
            last = ev.job
            if not progress or ev.type not in _STAGE_KIND:
                continue
            if ev.type == service_pb2.EVENT_TYPE_WARNING:
                if ev.message in told:
                    continue
                told.add(ev.message)
            else:
                reported = True
            progress(ProgressEvent(ev.stage, _STAGE_KIND[ev.type], ev.stage_progress, local(ev.message)))
        return last

    try:
        for restart in range(MAX_RESTARTS + 1):
            job = _reconnecting(follow, progress, in_flight)
            if job.state != service_pb2.JOB_STATE_INTERRUPTED or restart == MAX_RESTARTS:
                break
            if progress:  # the server stopped (a restart, a deploy): StartJob runs the same job again
                progress(ProgressEvent("server", "waiting", 0.0, "the server stopped while the job ran; running it "
                                                                 "again"))
            job = start()
    except KeyboardInterrupt:
        with contextlib.suppress(AnimGenError):
            client.cancel(job.job_id)
        raise
    if job.state == service_pb2.JOB_STATE_CANCELLED:  # not by this run, which stops before its watch ends
        raise Cancelled(f"job {job.job_id} was cancelled on the server (by `animgen cancel` or another client)")
    if job.state != service_pb2.JOB_STATE_SUCCEEDED:
        raise AnimGenError(local(job.error) if job.error.startswith(f"{name}: ")
                           else f"{video}: {job.error or service_pb2.JobState.Name(job.state)}")
    if in_flight is not None and in_flight.stopping:
        raise Cancelled("stopped")
    clip, files = _reconnecting(lambda: client.result(job.job_id, out_base if served else None), progress, in_flight)
    files |= write_client_formats(clip, Path(out_base), options)
    if options.target:
        from animgen_ml.export import write_target

        files["target"] = write_target(clip, Path(out_base), options)
    if progress and not reported:  # served from the cache: no stage ran, but the run is complete
        progress(ProgressEvent("export", "finished", 1.0, "cached"))
    return files, job


def _start(client: AnimGenClient, upload_id: str, msg: service_pb2.GenerateOptions,
           progress: Callable[[ProgressEvent], None] | None, in_flight: InFlight | None,
           wait_s: float = QUEUE_WAIT_S) -> service_pb2.Job:
    """StartJob. While the server's queue is full (its answer says when to try again) it tries again, for up to
    wait_s, saying so once."""
    deadline = time.monotonic() + wait_s
    said = False
    while True:
        try:
            if in_flight is None:
                return client.start(upload_id, msg)
            in_flight.starting(client)
            job = client.start(upload_id, msg, timeout=START_TIMEOUT_S)
            in_flight.started(client, job.job_id)
            return job
        except ServiceError as e:
            left = deadline - time.monotonic()
            if e.retry_after_s is None:
                raise
            if left <= 0:
                raise ServiceError(e.code, f"{e.details} (waited {wait_s / 60:g} min for room)", e.address) from None
            if in_flight is not None:
                in_flight.opened(client)  # no call open: a stop may close this connection
            if progress and not said:
                said = True
                progress(ProgressEvent("server", "waiting", 0.0, f"the server's queue is full; trying again every "
                                       f"{e.retry_after_s:g} s for up to {wait_s / 60:g} min"))
            _sleep(min(max(e.retry_after_s, 0.5), left), in_flight)


def _reconnecting(step: Callable[[], T], progress: Callable[[ProgressEvent], None] | None,
                  in_flight: InFlight | None, wait_s: float = RECONNECT_S) -> T:
    """step(), a call on a server this run has reached; where the server cannot be reached (UNAVAILABLE: it is
    restarting), tries again for up to wait_s, saying when it lost the server and when it has it again. Each step is
    one a run may repeat: the server keeps one copy of a video sent twice, a watch attached again tells the job from
    its current state, a result may be fetched again."""
    deadline = time.monotonic() + wait_s
    lost = False
    while True:
        try:
            result = step()
        except ServiceError as e:
            if e.code != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline or (
                    in_flight is not None and in_flight.stopping):
                raise
            if progress and not lost:
                progress(ProgressEvent("server", "waiting", 0.0, f"lost the server; trying to reach it again for up "
                                                                 f"to {wait_s / 60:g} min"))
            lost = True
            _sleep(min(2.0, max(0.0, deadline - time.monotonic())), in_flight)
            continue
        if progress and lost:
            progress(ProgressEvent("server", "waiting", 0.0, "reached the server again"))
        return result


def _sleep(seconds: float, in_flight: InFlight | None) -> None:
    """In half-second slices, so that a stop of a batch sent at once (which reaches the main thread only) ends it."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if in_flight is not None and in_flight.stopping:
            raise Cancelled("stopped")
        time.sleep(min(0.5, left))
