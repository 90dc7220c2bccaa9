"""The gRPC server (grpc.aio): uploads, jobs, results, server info, health and reflection."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import functools
import hashlib
import logging
import os
import re
import shutil
import signal
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from animgen.v1 import clip_pb2, service_pb2, service_pb2_grpc
from animgen_ml import __version__, export, model, skeleton, video
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.pose import crop_problem
from animgen_ml.video import VideoInfo
from animgen_server import convert
from animgen_server.auth import TokenInterceptor
from animgen_server.backend import Backend, make_backend
from animgen_server.jobs import JobManager, QueueFull, Stopping
from animgen_server.limits import (
    CLIENT_CHUNK_BYTES,
    MAX_MESSAGE_BYTES,
    QUEUE_RETRY_AFTER_MS,
    RETRY_AFTER_KEY,
    SERVER_MIN_PING_S,
    SERVER_PING_S,
    Limits,
)
from animgen_server.store import FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED, JobRow, Store, UploadRow, now_ms
from animgen_server.worker import CLIP_FILE

log = logging.getLogger("animgen.server")
SERVICE = "animgen.v1.AnimGen"
PROTOCOL_VERSION = "animgen.v1"
SHA_CACHE_SIZE = 4096  # result files whose sha256 GetResult remembers
UPLOAD_IDLE_S = 300.0  # the longest wait for an upload's next message
RESULT_IDLE_S = 300.0  # the longest GetResult waits for the client to take its next message
# What stops the server in order: Ctrl-C, SIGTERM (kill, a service manager) and, on Windows, Ctrl-Break.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, *((signal.SIGBREAK,) if hasattr(signal, "SIGBREAK") else ()))
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 50, 1000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    data_dir: Path = Path("~/.animgen/server")
    workers: int = 1
    token: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    limits: Limits = Limits()
    backend: str = "local"


async def probe_video(path: Path) -> tuple[VideoInfo | None, str | None]:
    """(the pipeline's own probe, None) for a video the pipeline can read, else (None, why not). In a thread:
    ffprobe takes ~0.1 s, and the other calls must not wait for it."""
    try:
        info = await asyncio.to_thread(video.probe, path)
    except InputError as e:  # the reason, without the store's file path (ffprobe's own words name it too)
        return None, str(e).removeprefix(f"{path}: ").replace(f"{path}: ", "").replace(str(path), "the video")
    if info.duration <= 0:
        return None, "its duration is unknown"
    return info, None


def _format_of(key: str, file_name: str) -> int:
    return convert.FORMAT_TO_PROTO.get(key) or (
        service_pb2.OUTPUT_FORMAT_GLB if file_name.endswith(".glb") else service_pb2.OUTPUT_FORMAT_UNSPECIFIED)


MAX_NAME_BYTES = 1024  # a file name longer than this is refused; ids echoed in messages are cut to SHOWN_ID_CHARS
SHOWN_ID_CHARS = 80


def _short(text: str) -> str:
    """An id or name as a message shows it: cut, so that a 20 KB id is not echoed into a response's metadata (gRPC
    answered RESOURCE_EXHAUSTED "metadata size exceeds hard limit" instead of the error)."""
    return text if len(text) <= SHOWN_ID_CHARS else text[:SHOWN_ID_CHARS] + "…"


def _format_names(formats: set[int]) -> str:
    return ", ".join(service_pb2.OutputFormat.Name(f) for f in sorted(formats))


def _store_errors(handler):
    """A store that cannot be written (its disk full) answers RESOURCE_EXHAUSTED, saying so, not UNKNOWN."""
    @functools.wraps(handler)
    async def run(self, request, context):
        try:
            return await handler(self, request, context)
        except sqlite3.Error as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"the server cannot write its store ({e})")

    return run


class AnimGenService(service_pb2_grpc.AnimGenServicer):
    def __init__(self, store: Store, manager: JobManager, config: ServeConfig) -> None:
        self.store, self.manager, self.config, self.limits = store, manager, config, config.limits
        self._sha_cache: dict[tuple[str, int, int], str] = {}
        self._sha_lock = threading.Lock()  # GetResult calls fill it from their threads
        self.pipeline = model.identity()  # for the result cache's key
        # The network the workers will load, for GetServerInfo before they have said (they load this package's).
        self._shipped = model.load_model().name if model.weights_available() else None

    # ---- uploads ----

    @_store_errors
    async def UploadVideo(self, request_iterator, context):
        header, part, written = None, None, 0
        digest = hashlib.sha256()
        f = None
        messages = aiter(request_iterator)
        try:
            while True:
                try:  # a client that stops sending must not hold a stream and a part file for ever
                    msg = await asyncio.wait_for(anext(messages), UPLOAD_IDLE_S)
                except StopAsyncIteration:
                    break
                except asyncio.TimeoutError:
                    await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                        f"no upload data for {UPLOAD_IDLE_S:g} s: send the video again")
                which = msg.WhichOneof("payload")
                if header is None:
                    if which != "header":
                        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                            "the first UploadVideo message must be the header (name, size, sha256)")
                    header = msg.header
                    await self._check_header(header, context)
                    if header.may_answer_early and (same := self._stored(header)):
                        log.info("upload %s: %s again, %d bytes (already stored: not sent again)", same.upload_id,
                                 header.file_name, header.size_bytes)
                        return service_pb2.UploadVideoResponse(upload_id=same.upload_id, size_bytes=same.size_bytes,
                                                               sha256=same.sha256, already_stored=True)
                    part = self.store.uploads_dir / f".part-{uuid.uuid4().hex}"
                    f = open(part, "wb")  # noqa: SIM115 - closed in finally
                    continue
                if which != "chunk":
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "only one header per upload" if which else
                                        "an UploadVideo message with no payload: each message after the header must "
                                        "hold a chunk of the video")
                n = len(msg.chunk)
                if n > self.limits.max_chunk_bytes:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"a chunk of {n} bytes is over the "
                                        f"{self.limits.max_chunk_bytes}-byte chunk limit: send smaller chunks")
                written += n
                if written > header.size_bytes:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"more data than the {header.size_bytes} "
                                        "bytes the header announced: send the file's exact size")
                digest.update(msg.chunk)
                f.write(msg.chunk)
            if header is None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "empty upload: send a header, then chunks")
            if written != header.size_bytes:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"received {written} bytes but the header "
                                    f"announced {header.size_bytes}: the upload was cut short; send it again")
            if digest.hexdigest() != header.sha256:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the data's sha256 does not match the "
                                    "header's: the file changed or was corrupted in transit; send it again")
            f.close()
            if same := self._stored(header):
                log.info("upload %s: %s again, %d bytes (kept once)", same.upload_id, header.file_name, written)
                return service_pb2.UploadVideoResponse(upload_id=same.upload_id, size_bytes=written,  # part: finally
                                                       sha256=header.sha256, already_stored=True)
            upload_id = uuid.uuid4().hex
            ext = Path(header.file_name).suffix.lower()
            path = self.store.uploads_dir / (upload_id + (ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ".bin"))
            part.rename(path)
            part = path  # removed in finally unless the store takes it: a file no row names is never expired
            self.store.add_upload(UploadRow(upload_id, header.file_name, written, header.sha256, str(path), now_ms()))
            part = None
            log.info("upload %s: %s, %d bytes", upload_id, header.file_name, written)
            return service_pb2.UploadVideoResponse(upload_id=upload_id, size_bytes=written, sha256=header.sha256)
        except OSError as e:  # the store's disk is full (or gone): said, not a traceback
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED if e.errno in (errno.ENOSPC, errno.EDQUOT)
                                else grpc.StatusCode.INTERNAL,
                                f"the server cannot store the upload ({e.strerror or e})")
        finally:  # an abort, an error or a client that went away: nothing is left behind
            if f is not None:
                with contextlib.suppress(OSError):  # a full disk fails the flush again
                    f.close()
            if part is not None:
                part.unlink(missing_ok=True)

    def _stored(self, h: service_pb2.UploadHeader) -> UploadRow | None:
        """The stored upload of this very file under this name (store.same_upload), if its size is the header's too."""
        same = self.store.same_upload(h.file_name, h.sha256, now_ms())
        return same if same is not None and same.size_bytes == h.size_bytes else None

    async def _check_header(self, h: service_pb2.UploadHeader, context) -> None:
        if not h.file_name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the upload header needs the video's file_name")
        if Path(h.file_name.replace("\\", "/")).name in ("", ".", ".."):  # the store's own path had named the video
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"the upload's file_name {_short(h.file_name)!r} names no file: give the video's name")
        if len(h.file_name.encode()) > MAX_NAME_BYTES:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the upload's file_name is "
                                f"{len(h.file_name.encode())} bytes long; at most {MAX_NAME_BYTES}")
        if h.size_bytes <= 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"header.size_bytes must be > 0, got {h.size_bytes}")
        if h.size_bytes > self.limits.max_upload_bytes:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"{h.file_name} is {h.size_bytes / 2**20:.1f} MiB; this server accepts at most "
                                f"{self.limits.max_upload_bytes / 2**20:.1f} MiB: trim or compress the video")
        if not _SHA256.fullmatch(h.sha256):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                "header.sha256 must be the file's SHA-256 as 64 lower-case hex digits")

    # ---- jobs ----

    @_store_errors
    async def StartJob(self, request, context):
        if (before := await self._started_before(request, context)) is not None:
            return convert.job_to_proto(before)
        upload = self.store.get_upload(request.upload_id)
        if upload is None or not Path(upload.path).is_file():
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no upload {_short(request.upload_id)!r} (unknown or "
                                "expired): upload the video again")
        try:  # the target's file is written last, once every other check has passed: a refused call leaves none
            target = None
            if request.options.HasField("target"):
                target = convert.target_skeleton_path(request.options.target, self.store.targets_dir)
            options = convert.options_from_proto(request.options)
        except InputError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        key = convert.options_key(upload.sha256, dataclasses.replace(options, target=target and str(target)),
                                  self.pipeline, upload.file_name)
        info, why = None, None
        # Probed again unless the result is cached: the probe goes with the job, so the worker need not probe. A failed
        # probe is not kept (the upload's probe_error stays unread): an ffprobe killed by the OOM killer had made the
        # file "not a video" for good, and a file that really is not one costs a 0.1 s probe per StartJob.
        if upload.duration is None or self.store.find_cached(key) is None:
            info, why = await probe_video(Path(upload.path))
            upload.duration = info.duration if info else None
            if self.store.get_upload(upload.upload_id) is None or not Path(upload.path).is_file():
                # expired while it was probed: no job is made on a video that is gone
                await context.abort(grpc.StatusCode.NOT_FOUND, f"no upload {_short(request.upload_id)!r} (expired): "
                                    "upload the video again")
            if info is not None:
                self.store.set_probe(upload.upload_id, info.duration)
        if why is not None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{upload.file_name}: not a video that can be "
                                f"decoded ({why}); upload an MP4, MOV, MKV, AVI or WebM file")
        start = options.start or 0.0
        if start >= upload.duration:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"options.start_seconds ({start}) is past the end "
                                f"of {upload.file_name} ({upload.duration:.2f} s)")
        length = min(upload.duration, options.end if options.end is not None else upload.duration) - start
        if length > self.limits.max_video_seconds:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"{upload.file_name}: {length:.1f} s to process; this server takes at most "
                                f"{self.limits.max_video_seconds:g} s: trim it with a start and end time (animgen "
                                f"generate: --start, --end)")
        if info is not None and options.crop is not None:  # said now, not when the job's pose stage starts
            if (why := crop_problem(options.crop, info.width, info.height)) is not None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"options.crop: {why}")
        if info is not None:  # not served from the cache: the clip must fit in GetResult's message
            frames = length * (options.fps or info.fps) / options.speed
            size = convert.clip_message_bytes(int(frames) + 1, len(skeleton.bone_names(options.hands)))
            if size > MAX_MESSAGE_BYTES:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                    f"{upload.file_name}: the clip would have about {frames:.0f} frames "
                                    f"({size / 2**20:.0f} MiB), over the {MAX_MESSAGE_BYTES // 2**20} MiB a result "
                                    "may hold: lower fps, raise speed or trim the video")
        if (before := await self._started_before(request, context)) is not None:  # asked again during the probe
            return convert.job_to_proto(before)
        if self.manager.closing:  # a job queued now would wait in the store for the next server
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the server is stopping: start the job once it is back")
        if target is not None:  # the pipeline's own check of the target reads its file
            new = not target.parent.exists()
            try:
                convert.options_from_proto(request.options,
                                           str(convert.write_target_skeleton(request.options.target,
                                                                             self.store.targets_dir)))
            except InputError as e:
                if new:
                    shutil.rmtree(target.parent, ignore_errors=True)
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        try:
            row = self.manager.create(upload, request.options, key, info, request.request_id)
        except QueueFull as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e),
                                trailing_metadata=((RETRY_AFTER_KEY, str(QUEUE_RETRY_AFTER_MS)),))
        log.info("job %s on upload %s%s", row.job_id, upload.upload_id, " (cached)" if row.cached else "")
        return convert.job_to_proto(row)

    async def _started_before(self, request, context) -> JobRow | None:
        """The job a StartJob with this request id made, as it is now (that call's answer was lost, and the client
        asks again); None for a new request id, or where the server's stop interrupted that job (it runs again)."""
        if not request.request_id:
            return None
        if not _REQUEST_ID.fullmatch(request.request_id):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request_id must be 1 to 64 letters, digits, '-' "
                                "or '_' (a UUID)")
        asked = self.store.find_request(request.request_id)
        if asked is None:
            return None
        if asked.upload_id != request.upload_id or \
                service_pb2.GenerateOptions.FromString(asked.options) != request.options:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request_id {request.request_id!r} started a job "
                                "on another upload or with other options: make a new id for each start of a job")
        row = self.manager.get(asked.job_id)
        return None if row is None or row.state == INTERRUPTED else row

    async def _job_or_abort(self, job_id: str, context):
        row = self.manager.get(job_id)
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no job {_short(job_id)!r}: list jobs with ListJobs")
        return row

    async def WatchJob(self, request, context):
        await self._job_or_abort(request.job_id, context)
        try:
            async for ev in self.manager.watch(request.job_id):
                yield ev
        except Stopping:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"the server is stopping; job {request.job_id} stays "
                                "queued: watch it again once the server is back")

    async def GetResult(self, request, context):
        row = await self._job_or_abort(request.job_id, context)
        if row.state != SUCCEEDED:
            state = service_pb2.JobState.Name(row.state)
            why = f"job {row.job_id} is {state}"
            if row.state == FAILED:
                why += f" ({row.error}); there is no result"
            elif row.state in (QUEUED, RUNNING):
                why += f" ({row.progress:.0%}); watch it with WatchJob and ask again when it is DONE"
            else:
                why += "; there is no result (run it again)"
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, why)
        folder = Path(row.result_dir)
        days = self.limits.result_expiry_seconds / 86400
        gone = (f"the result of job {row.job_id} was deleted, unused for {days:g} days (--result-expiry-days); "
                "upload the video and start it again")
        wanted = set(request.formats)
        if bad := [f for f in request.formats if f not in service_pb2.OutputFormat.values()]:  # Name() would raise
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"formats: unknown value {bad[0]}; use "
                                + ", ".join(service_pb2.OutputFormat.Name(v) for v in convert.PROTO_TO_FORMAT))
        made = {_format_of(key, name) for key, name in row.files.items()}
        if missing := wanted - made:  # they had been answered with no file and no word
            await context.abort(grpc.StatusCode.NOT_FOUND, f"job {row.job_id} made no {_format_names(missing)} (it "
                                f"made {_format_names(made) or 'no files'}); start a job with that format")
        files = [(key, name) for key, name in sorted(row.files.items())
                 if not wanted or _format_of(key, name) in wanted]
        target = None
        if request.target_motion:
            options = service_pb2.GenerateOptions.FromString(row.options)
            if not options.HasField("target"):
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"job {row.job_id} had no options.target: "
                                    "there is no motion on a target to send")
            target = options
        try:  # in a thread: reading, converting and hashing a long clip takes seconds the other calls must not wait
            header, motion, handles = await asyncio.to_thread(self._open_result, row, folder, files, target)
        except InputError as e:  # the clip does not map onto the job's target (its files were made all the same)
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"job {row.job_id}: no motion on its target: {e}")
        except (OSError, ValueError) as e:
            if not folder.is_dir():
                await context.abort(grpc.StatusCode.NOT_FOUND, gone)
            why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__  # not the store's path
            await context.abort(grpc.StatusCode.INTERNAL, f"the stored result of job {row.job_id} is unreadable: {why}")
        try:  # the files are open: expiry may delete the folder meanwhile, the stream still sends what it found
            for msg in _result_messages(header, motion, [name for _, name in files], handles):
                try:  # a client that stops reading must not hold a result and its open files for ever
                    await asyncio.wait_for(context.write(msg), RESULT_IDLE_S)
                except asyncio.TimeoutError:
                    await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"the client took no result data for "
                                        f"{RESULT_IDLE_S:g} s: ask for the result again")
        finally:
            for f in handles:
                f.close()

    def _open_result(self, row, folder: Path, files: list[tuple[str, str]],
                     target: service_pb2.GenerateOptions | None = None
                     ) -> tuple[service_pb2.ResultHeader, clip_pb2.TargetMotion | None, list[BinaryIO]]:
        """The header, the clip on the target of the job's options `target` when given (as the job's target file
        plays it: the engine plugins build their own animation from it), and the result's files, opened (the caller
        closes them)."""
        handles: list[BinaryIO] = []
        try:
            for _, name in files:
                handles.append(open(folder / name, "rb"))  # closed by the caller
            clip = HumanoidClip.load_json(folder / CLIP_FILE)
            header = service_pb2.ResultHeader(job=convert.job_to_proto(row), clip=convert.clip_to_proto(clip))
            for (key, name), f in zip(files, handles, strict=True):
                header.files.add(format=_format_of(key, name), file_name=name, size_bytes=os.fstat(f.fileno()).st_size,
                                 sha256=self._sha(f))
            motion = None
            if target is not None:
                path = convert.write_target_skeleton(target.target, self.store.targets_dir)
                motion = convert.target_motion_to_proto(
                    export.target_motion(clip, convert.options_from_proto(target, str(path))))
        except BaseException:
            for f in handles:
                f.close()
            raise
        return header, motion, handles

    def _sha(self, f: BinaryIO) -> str:
        """The open file's sha256, remembered per (file, size, modification time); rewinds the file."""
        st = os.fstat(f.fileno())
        key = (f.name, st.st_size, st.st_mtime_ns)
        with self._sha_lock:
            known = self._sha_cache.get(key)
        if known is not None:
            return known
        h = hashlib.sha256()
        while data := f.read(1 << 20):
            h.update(data)
        f.seek(0)
        with self._sha_lock:
            if len(self._sha_cache) >= SHA_CACHE_SIZE:  # a long-running server must not remember every result
                self._sha_cache.pop(next(iter(self._sha_cache)))
            self._sha_cache[key] = h.hexdigest()
        return h.hexdigest()

    @_store_errors
    async def CancelJob(self, request, context):
        await self._job_or_abort(request.job_id, context)
        row = await self.manager.cancel(request.job_id)
        return convert.job_to_proto(row)

    async def ListJobs(self, request, context):
        if request.limit < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"limit must be >= 0, got {request.limit}")
        bad = [s for s in request.states if s not in range(1, 7)]
        if bad:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"states: unknown job state {bad[0]}")
        limit = min(request.limit or DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT)
        rows = self.store.list_jobs(limit, list(request.states))
        return service_pb2.ListJobsResponse(jobs=[convert.job_to_proto(self.manager.get(r.job_id) or r)
                                                  for r in rows])

    async def GetServerInfo(self, request, context):
        network = self.manager.backend.network_model if self.manager.started else self._shipped
        return server_info(self.config, network)


def server_info(config: ServeConfig, network: str | None = None) -> service_pb2.ServerInfo:
    lim = config.limits
    info = service_pb2.ServerInfo(
        server_version=f"animgen {__version__} (grpcio {grpc.__version__}, python {sys.version.split()[0]})",
        protocol_version=PROTOCOL_VERSION,
        limits=service_pb2.Limits(
            max_upload_bytes=lim.max_upload_bytes, max_video_seconds=lim.max_video_seconds,
            max_concurrent_jobs=lim.max_concurrent_jobs, max_queued_jobs=lim.max_queued_jobs,
            upload_expiry_seconds=lim.upload_expiry_seconds, max_chunk_bytes=lim.max_chunk_bytes,
            result_expiry_seconds=lim.result_expiry_seconds),
        output_formats=list(convert.FORMAT_TO_PROTO.values()),
        generators=list(convert.GENERATOR_TO_PROTO.values()),
        auth_required=bool(config.token),
        backend=config.backend,
    )
    info.models.add(name="analytic", version=__version__,
                    description="analytic solver: bone rotations from 3D landmarks (baseline and fallback)")
    if network:
        info.models.add(name="network", version=network,
                        description="neural network generator (animgen_ml.model), loaded in every worker")
    info.default_generator = service_pb2.GENERATOR_NETWORK if network else service_pb2.GENERATOR_ANALYTIC
    return info


def _result_messages(header: service_pb2.ResultHeader, motion: clip_pb2.TargetMotion | None, names: list[str],
                     handles: list[BinaryIO]) -> Iterator[service_pb2.GetResultResponse]:
    """GetResult's stream: the header, the motion on the target when asked for, then each file in chunks, read as
    they are sent."""
    yield service_pb2.GetResultResponse(header=header)
    if motion is not None:
        yield service_pb2.GetResultResponse(target_motion=motion)
    for name, f in zip(names, handles, strict=True):
        offset = 0
        while data := f.read(CLIENT_CHUNK_BYTES):
            yield service_pb2.GetResultResponse(chunk=service_pb2.FileChunk(file_name=name, offset=offset, data=data))
            offset += len(data)


async def serve(config: ServeConfig, backend: Backend | None = None) -> None:
    """Runs until SIGTERM/SIGINT. Prints 'listening on HOST:PORT' once bound and 'ready' once the workers are."""
    config.limits.check()
    store = Store(config.data_dir)
    backend = backend or make_backend(config.backend, config.workers)
    manager = JobManager(store, backend, config.limits)
    interceptors = [TokenInterceptor(config.token)] if config.token else []
    server = grpc.aio.server(interceptors=interceptors, options=[
        ("grpc.max_receive_message_length", config.limits.max_chunk_bytes + 64 * 1024),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),  # gRPC's default on Linux lets a second server take the same port and half the calls
        # Clients' pings (limits.CLIENT_PING_S) are welcome; gRPC's default would end their connection for them.
        ("grpc.http2.min_ping_interval_without_data_ms", int(SERVER_MIN_PING_S * 1000)),
        ("grpc.keepalive_time_ms", int(SERVER_PING_S * 1000)),
        ("grpc.keepalive_timeout_ms", int(SERVER_PING_S * 1000 / 3)),
        ("grpc.http2.ping_timeout_ms", int(SERVER_PING_S * 1000 / 3)),
        ("grpc.http2.max_pings_without_data", 0),
    ])
    service_pb2_grpc.add_AnimGenServicer_to_server(AnimGenService(store, manager, config), server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    for name in ("", SERVICE):
        await health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    reflection.enable_server_reflection(
        [SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME], server)
    address = f"{config.host}:{config.port}"
    try:
        if config.tls_cert or config.tls_key:
            if not (config.tls_cert and config.tls_key):
                raise ValueError("--tls-cert and --tls-key go together")
            pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
            port = server.add_secure_port(address, grpc.ssl_server_credentials([pair]))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # gRPC's "Failed to bind" (its log above says why)
        port = 0
    if port == 0:
        store.close()  # and its lock
        tls = ", a certificate or key that is not PEM or does not match" if config.tls_cert else ""
        raise OSError(f"cannot listen on {address} (the port in use, a host that is not this machine's{tls}?)")
    await server.start()
    listening = (f"listening on {config.host}:{port} ({'TLS' if config.tls_cert else 'plaintext'}, "
                 f"{'token required' if config.token else 'no token'}, data in {store.root})")
    print(f"animgen server {listening}", flush=True)
    log.info(listening)  # a --log-file holds it too

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    restore = {}  # plain handlers put in place of the loop's, given back when serving ends
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' event loops: a plain handler hands the stop to the loop
            restore[sig] = signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    try:
        starting = asyncio.create_task(manager.start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
        expiry = None
        if starting.done():
            failed = starting.exception()
            if failed is not None:  # workers failed to start: stop serving, then report why
                stopping.cancel()
                await server.stop(grace=None)
                await manager.close()
                store.close()
                raise failed
            for name in ("", SERVICE):
                await health.set(name, health_pb2.HealthCheckResponse.SERVING)
            print(f"animgen server ready: {config.workers} {config.backend} worker(s)", flush=True)
            log.info("ready: %d %s worker(s)", config.workers, config.backend)
            expiry = asyncio.create_task(_expire_loop(manager))
            await stopping
        log.info("stopping")
        await health.enter_graceful_shutdown()
        if expiry:
            expiry.cancel()
        starting.cancel()
        await manager.close()
        await server.stop(grace=3)
        store.close()
        print("animgen server stopped", flush=True)
    finally:  # a signal after the loop has closed must not call into it
        for sig, handler in restore.items():
            signal.signal(sig, handler)


CATCH_UP_S = 30.0  # how often the server retries what a full store could not take (JobManager.catch_up)


async def _expire_loop(manager: JobManager) -> None:
    lim = manager.limits
    period = max(1.0, min(600.0, lim.upload_expiry_seconds / 4, lim.result_expiry_seconds / 4))
    last = -period
    while True:
        try:
            manager.catch_up()
            if time.monotonic() - last >= period:
                last = time.monotonic()
                for what, expire in (("upload", manager.expire_uploads), ("result", manager.expire_results),
                                     ("target", manager.expire_targets)):
                    if n := expire():
                        log.info("removed %d expired %s(s)", n, what)
        except Exception:  # noqa: BLE001 - housekeeping must not take the server down
            log.exception("housekeeping failed")
        await asyncio.sleep(min(period, CATCH_UP_S))
