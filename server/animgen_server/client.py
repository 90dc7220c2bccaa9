"""The Python client of the AnimGen service (remote.py runs `animgen generate --server` on it)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from animgen.v1 import service_pb2, service_pb2_grpc
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import AnimGenError, InputError
from animgen_ml.files import atomic_path
from animgen_server import address as server_address
from animgen_server import convert
from animgen_server.auth import bearer_metadata
from animgen_server.limits import CLIENT_CHUNK_BYTES, CLIENT_PING_S, MAX_MESSAGE_BYTES, RETRY_AFTER_KEY

DEFAULT_ADDRESS = "127.0.0.1:50051"
ADDRESS_ENV, TOKEN_ENV = "ANIMGEN_SERVER", "ANIMGEN_TOKEN"


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


def checked_suffix(file_name: str, address: str = "") -> str:
    """result_suffix of a file name the server sent, refused unless it is a plain suffix: out_base + a suffix that
    holds a path separator or '..' could name a file outside the output folder."""
    suffix = result_suffix(file_name)
    if any(c in suffix for c in "/\\\0") or ".." in suffix:
        raise AnimGenError(f"{address + ': ' if address else ''}the server sent a result file named {file_name!r}, "
                           "which is not a plain file name: nothing was written for it")
    return suffix


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
              timeout: float | None = None, request_id: str = "") -> service_pb2.Job:
        """StartJob. Asked again with the same request_id (its answer was lost), the server answers with the job the
        first call made instead of making a second."""
        with self._errors():
            return self.stub.StartJob(service_pb2.StartJobRequest(upload_id=upload_id, options=options,
                                                                  request_id=request_id),
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
            for name in by_name:  # before any file is written
                checked_suffix(name, self.address)
            current = None  # (ResultFile, open file, hasher, atomic context, final path)
            with contextlib.ExitStack() as stack:
                for msg in stream:
                    if out_base is None:
                        continue
                    c = msg.chunk
                    if current is None or current[0].file_name != c.file_name:
                        if current is not None:
                            self._close_file(current, written)
                        rf = by_name.get(c.file_name)
                        if rf is None:  # the header said what comes: a hostile or broken server
                            raise AnimGenError(f"{self.address}: the server sent data of {c.file_name!r}, a file its "
                                               "result header did not list")
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

    def cancel(self, job_id: str, timeout: float | None = None) -> service_pb2.Job:
        """CancelJob; timeout: this call's, in place of the client's."""
        with self._errors():
            return self.stub.CancelJob(service_pb2.CancelJobRequest(job_id=job_id), metadata=self.metadata,
                                       timeout=self.timeout if timeout is None else timeout)

    def list(self, limit: int = 0, states: list[service_pb2.JobState] | None = None) -> list[service_pb2.Job]:
        with self._errors():
            return list(self.stub.ListJobs(service_pb2.ListJobsRequest(limit=limit, states=states or []),
                                           metadata=self.metadata, timeout=self.timeout).jobs)

    def info(self) -> service_pb2.ServerInfo:
        with self._errors():
            return self.stub.GetServerInfo(service_pb2.GetServerInfoRequest(), metadata=self.metadata,
                                           timeout=self.timeout)
