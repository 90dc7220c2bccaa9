"""The service on one shared real server (2 workers): uploads, status codes, round trip, cache, re-attach,
cancel, a bounded load test. Real clients on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import ServerProcess, cpu_ticks, status_of

from animgen.v1 import clip_pb2, service_pb2, service_pb2_grpc
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import AnimGenError, InputError
from animgen_ml.landmarks import Landmarks
from animgen_ml.pipeline import STAGES, GenerateOptions
from animgen_server import convert
from animgen_server.client import AnimGenClient, ServiceError
from animgen_server.remote import generate_remote

SHORT = "sports2d_run_sideview.mp4"  # 47 frames, 480x352
LONG = "motionbert_boxing.mp4"  # 10 s: long enough to catch mid-run
OVER_LIMIT = "sports2d_dumbbell_lateral_raise.mp4"  # 18 s, over the server's 12 s limit
Code = grpc.StatusCode
FAST = GenerateOptions(generator="analytic", formats=("glb", "json"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("server"), "--workers", "2", "--max-upload-mb", "4",
                      "--max-video-seconds", "12", "--max-queued", "16").start()
    yield s
    rc = s.stop()
    assert rc == 0, s.output()
    assert "animgen server stopped" in s.output()


@pytest.fixture(scope="module")
def client(server):
    with AnimGenClient(server.address, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def short_upload(client, videos):
    return client.upload(videos / SHORT)


def _raw_upload(server, messages) -> grpc.StatusCode:
    with grpc.insecure_channel(server.address) as ch:
        stub = service_pb2_grpc.AnimGenStub(ch)
        return status_of(lambda: stub.UploadVideo(iter(messages), timeout=30))


def _header(data: bytes, name="v.mp4", size=None, sha=None):
    return service_pb2.UploadVideoRequest(header=service_pb2.UploadHeader(
        file_name=name, size_bytes=len(data) if size is None else size,
        sha256=hashlib.sha256(data).hexdigest() if sha is None else sha))


def _chunk(data: bytes):
    return service_pb2.UploadVideoRequest(chunk=data)


def _no_leftovers(server) -> None:
    left = [p.name for p in (server.data_dir / "uploads").iterdir() if p.name.startswith(".")]
    assert left == [], f"partial uploads left behind: {left}"


# ---- server basics ----

def test_health_reflection_and_info(server, client):
    with grpc.insecure_channel(server.address) as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="animgen.v1.AnimGen"))
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        req = reflection_pb2.ServerReflectionRequest(list_services="")
        out = next(reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(iter([req])))
        names = {s.name for s in out.list_services_response.service}
        assert {"animgen.v1.AnimGen", "grpc.health.v1.Health"} <= names
    info = client.info()
    assert info.protocol_version == "animgen.v1" and info.backend == "local" and not info.auth_required
    assert info.limits.max_upload_bytes == 4 * 1024 * 1024
    assert info.limits.max_video_seconds == 12 and info.limits.max_concurrent_jobs == 2
    assert info.limits.max_queued_jobs == 16 and info.limits.max_chunk_bytes < 4 * 1024 * 1024
    assert set(info.output_formats) == set(convert.FORMAT_TO_PROTO.values())
    assert "analytic" in {m.name for m in info.models}


# ---- uploads: every bad input, nothing left behind ----

def test_upload_bad_inputs(server):
    data = os.urandom(300_000)
    assert _raw_upload(server, [_chunk(data)]) == Code.INVALID_ARGUMENT  # no header
    assert _raw_upload(server, []) == Code.INVALID_ARGUMENT  # nothing at all
    assert _raw_upload(server, [_header(data), _chunk(data[:1000])]) == Code.INVALID_ARGUMENT  # short
    assert _raw_upload(server, [_header(data, size=100), _chunk(data)]) == Code.INVALID_ARGUMENT  # too long
    bad_sha = hashlib.sha256(b"other").hexdigest()
    assert _raw_upload(server, [_header(data, sha=bad_sha), _chunk(data)]) == Code.INVALID_ARGUMENT
    assert _raw_upload(server, [_header(data, sha="XYZ"), _chunk(data)]) == Code.INVALID_ARGUMENT
    assert _raw_upload(server, [_header(data, name=""), _chunk(data)]) == Code.INVALID_ARGUMENT
    for name in ("/", "..", "dir/..", "x" * 2000):  # no file named (the store's path had named the video), or too long
        assert _raw_upload(server, [_header(data, name=name), _chunk(data)]) == Code.INVALID_ARGUMENT, name
    assert _raw_upload(server, [_header(data), _header(data)]) == Code.INVALID_ARGUMENT
    big = 5 * 1024 * 1024  # over the 4 MiB limit: refused on the header, before any data
    assert _raw_upload(server, [_header(b"", size=big, sha="0" * 64)]) == Code.RESOURCE_EXHAUSTED
    _no_leftovers(server)


def test_client_names_an_empty_video_as_a_local_run_does(client, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(InputError, match=r"empty\.mp4: the file is empty"):
        client.upload(empty)


def test_upload_oversized_chunk_is_refused(server):
    data = os.urandom(3_500_000)  # one message over the 3 MiB chunk limit
    code = _raw_upload(server, [_header(data), _chunk(data)])
    assert code in (Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED)  # ours, or gRPC's message-size cap
    _no_leftovers(server)


def test_client_disconnect_mid_upload_leaves_nothing(server, client):
    data = os.urandom(2_000_000)
    gate = threading.Event()

    def messages():
        yield _header(data)
        yield _chunk(data[:500_000])
        gate.set()
        time.sleep(30)  # the client goes away before sending the rest
        yield _chunk(data[500_000:])

    before = len(list((server.data_dir / "uploads").iterdir()))
    with grpc.insecure_channel(server.address) as ch:
        fut = service_pb2_grpc.AnimGenStub(ch).UploadVideo.future(messages())
        gate.wait(10)
        time.sleep(0.5)
        assert any(p.name.startswith(".part") for p in (server.data_dir / "uploads").iterdir())
        fut.cancel()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.name.startswith(".") for p in (server.data_dir / "uploads").iterdir()):
        time.sleep(0.1)
    _no_leftovers(server)
    assert len(list((server.data_dir / "uploads").iterdir())) == before
    assert client.info().protocol_version == "animgen.v1"  # still serving


# ---- jobs: bad input ----

def test_the_same_video_sent_again_is_stored_once(server, client, short_upload, videos, tmp_path):
    """A CI job that sends its videos on every run filled the store with copies (three tries of a 147 MB video
    kept 437 MB for a day). The same file under the same name reuses the upload; another name is another upload
    (jobs run under the uploaded name)."""
    uploads = server.data_dir / "uploads"
    before = sorted(p.name for p in uploads.iterdir())
    again = client.upload(videos / SHORT)
    assert again.upload_id == short_upload.upload_id and sorted(p.name for p in uploads.iterdir()) == before
    renamed = tmp_path / "another_name.mp4"
    renamed.write_bytes((videos / SHORT).read_bytes())
    other = client.upload(renamed)
    assert other.upload_id != short_upload.upload_id and len(list(uploads.iterdir())) == len(before) + 1
    assert again.already_stored and not other.already_stored


def test_a_video_the_server_stores_is_not_sent_again(server, videos):
    """A client that may be answered early (UploadHeader.may_answer_early) sends a stored video's header only: a CI run
    again re-sent every video. Without the flag, or with another size, the data goes as before."""
    data = (videos / "hybrik_taiji.mp4").read_bytes()  # 2.6 MB: three 1 MiB chunks
    chunks = [data[i: i + (1 << 20)] for i in range(0, len(data), 1 << 20)]

    def upload(early: bool, size: int = len(data)) -> tuple[service_pb2.UploadVideoResponse, list[int]]:
        """The answer, and the bytes of each chunk asked for before it came."""
        sent: list[int] = []

        def messages():
            yield service_pb2.UploadVideoRequest(header=service_pb2.UploadHeader(
                file_name="taiji.mp4", size_bytes=size, sha256=hashlib.sha256(data).hexdigest(),
                may_answer_early=early))
            for c in chunks:
                time.sleep(0.3)  # a slow link: an answer after the header comes before the first chunk is asked for
                sent.append(len(c))
                yield service_pb2.UploadVideoRequest(chunk=c)

        with grpc.insecure_channel(server.address) as ch:
            answer = service_pb2_grpc.AnimGenStub(ch).UploadVideo(messages(), timeout=30)
        return answer, list(sent)

    first, sent = upload(early=True)  # not stored yet: all of it goes
    assert sum(sent) == len(data) and not first.already_stored
    again, sent = upload(early=True)
    assert again.upload_id == first.upload_id and again.already_stored and again.size_bytes == len(data)
    assert sum(sent) <= len(chunks[0]), sent  # nothing, or at most the chunk in flight
    kept, sent = upload(early=False)
    assert kept.upload_id == first.upload_id and kept.already_stored and sum(sent) == len(data)  # sent, kept once
    # Another size is another file: sent in full (and refused here, its data being short of what it says).
    assert status_of(lambda: upload(early=True, size=len(data) + 1)) == Code.INVALID_ARGUMENT

def test_start_job_bad_inputs(server, client, short_upload, shared_data):
    uid = short_upload.upload_id
    assert status_of(lambda: client.start("nope")) == Code.NOT_FOUND
    p = server.data_dir.parent / "junk.mp4"
    p.write_bytes((b"this is not a video\n" * 10_000)[:200_000])  # random bytes now and then probe as a stream
    junk = client.upload(p)
    e = _error(lambda: client.start(junk.upload_id))
    assert e.code == Code.INVALID_ARGUMENT and "junk.mp4" in e.details and "decode" in e.details
    assert str(server.data_dir) not in e.details  # ffprobe's own words named the store's file
    # The pipeline's own probe judges the upload: a still image is refused by name, without the store's path.
    still = server.data_dir.parent / "still.mp4"
    still.write_bytes(next((shared_data / "images" / "single_person").glob("*.jpg")).read_bytes())
    e = _error(lambda: client.start(client.upload(still).upload_id))
    assert e.code == Code.INVALID_ARGUMENT and "still image" in e.details and str(server.data_dir) not in e.details
    bad = [  # each refused naming its wire field
        (service_pb2.GenerateOptions(smoothing=2.0), "options.smoothing"),
        (service_pb2.GenerateOptions(generator=42), "options.generator"),
        (service_pb2.GenerateOptions(formats=[99]), "options.formats"),
        (service_pb2.GenerateOptions(fps=0.5), "options.fps"),
        (service_pb2.GenerateOptions(speed=float("nan")), "options.speed"),
        (service_pb2.GenerateOptions(start_seconds=3, end_seconds=2), "options.end_seconds (2.0) must be after "
                                                                      "options.start_seconds"),
        (service_pb2.GenerateOptions(keyframe_tolerance_mm=-1), "options.keyframe_tolerance_mm"),
        (service_pb2.GenerateOptions(start_seconds=100), "start_seconds"),  # past the end of the video
        (service_pb2.GenerateOptions(crop=service_pb2.CropRegion(x=0, y=0, width=10, height=64)), "options.crop"),
        (service_pb2.GenerateOptions(crop=service_pb2.CropRegion(x=0, y=0, width=5000, height=64)),
         "options.crop: it reaches outside the"),  # the upload's picture
        (service_pb2.GenerateOptions(target=clip_pb2.TargetSkeleton(name="t")), "options.target"),  # no bones
        (service_pb2.GenerateOptions(target=clip_pb2.TargetSkeleton(bones=[clip_pb2.TargetBone(name="a", parent=3)])),
         "options.target"),
    ]
    for opts, field in bad:
        e = _error(lambda o=opts: client.start(uid, o))
        assert e.code == Code.INVALID_ARGUMENT, (opts, e)
        assert field in e.details, e.details


def test_start_job_asked_again_with_its_request_id_makes_no_second_job(client, short_upload):
    """A StartJob whose answer was lost is asked again under the same request id: the server answers with the job
    the first call made. Without an id each call makes a job; the same id with other options, or a malformed id, is
    refused by name."""
    uid, opts = short_upload.upload_id, service_pb2.GenerateOptions(smoothing=0.37)
    first = client.start(uid, opts, request_id="a1b2-c3_d4")
    again = client.start(uid, opts, request_id="a1b2-c3_d4")
    assert again.job_id == first.job_id
    assert [j.job_id for j in client.list() if j.job_id == first.job_id] == [first.job_id]
    unnamed = [client.start(uid, opts).job_id for _ in range(2)]
    assert len(set(unnamed) | {first.job_id}) == 3
    e = _error(lambda: client.start(uid, service_pb2.GenerateOptions(smoothing=0.38), request_id="a1b2-c3_d4"))
    assert e.code == Code.INVALID_ARGUMENT and "request_id 'a1b2-c3_d4' started a job" in e.details
    e = _error(lambda: client.start(uid, opts, request_id="not an id"))
    assert e.code == Code.INVALID_ARGUMENT and "request_id must be" in e.details
    for job_id in (first.job_id, *unnamed):
        client.cancel(job_id)


def test_video_over_duration_limit(server, client, videos, tmp_path):
    up = client.upload(videos / OVER_LIMIT)
    e = _error(lambda: client.start(up.upload_id, convert.options_to_proto(FAST)))
    assert e.code == Code.RESOURCE_EXHAUSTED and "12 s" in e.details
    # Trimmed under the limit, it is accepted.
    job = client.start(up.upload_id, convert.options_to_proto(GenerateOptions(generator="analytic", end=2.0)))
    assert job.state in (service_pb2.JOB_STATE_QUEUED, service_pb2.JOB_STATE_RUNNING)
    client.cancel(job.job_id)
    # `animgen generate --server` says so before it uploads anything.
    before = len(list((server.data_dir / "uploads").iterdir()))
    with pytest.raises(AnimGenError, match=r"18\.\d s to process; the server at .* takes at most 12 s: trim it"):
        generate_remote(server.address, videos / OVER_LIMIT, tmp_path / "x", FAST)
    assert len(list((server.data_dir / "uploads").iterdir())) == before


def test_unknown_ids(client):
    assert status_of(lambda: list(client.watch("nope"))) == Code.NOT_FOUND
    assert status_of(lambda: client.start("u" * 20000)) == Code.NOT_FOUND  # not echoed whole (metadata too large)
    assert status_of(lambda: list(client.watch("j" * 20000))) == Code.NOT_FOUND
    assert status_of(lambda: client.result("nope")) == Code.NOT_FOUND
    assert status_of(lambda: client.cancel("nope")) == Code.NOT_FOUND
    assert status_of(lambda: client.list(limit=-1)) == Code.INVALID_ARGUMENT


def _error(call) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


# ---- the real pipeline through the server ----

def test_round_trip_equals_local_run(server, client, short_upload, videos, tmp_path):
    from animgen_ml import pipeline

    job = client.start(short_upload.upload_id, convert.options_to_proto(FAST))
    assert not job.cached
    # Asked too early: FAILED_PRECONDITION (the job has only just started).
    assert status_of(lambda: client.result(job.job_id)) == Code.FAILED_PRECONDITION
    events = list(client.watch(job.job_id))
    types = [e.type for e in events]
    assert types[0] == service_pb2.EVENT_TYPE_STATE and types[-1] == service_pb2.EVENT_TYPE_DONE, events[-1]
    started = [e.stage for e in events if e.type == service_pb2.EVENT_TYPE_STAGE_STARTED]
    finished = [e.stage for e in events if e.type == service_pb2.EVENT_TYPE_STAGE_FINISHED]
    # Stages finish in pipeline order; every stage seen starting also finishes (the watch began mid-pose).
    assert finished == [s for s in STAGES if s in finished] and finished[-1] == "export" and "generate" in finished
    assert set(started) <= set(finished) and started == [s for s in finished if s in started]
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    warned = [e.message for e in events if e.type == service_pb2.EVENT_TYPE_WARNING]
    assert any("no person detected" in w for w in warned), warned  # the runner leaves the picture for a while
    assert not [w for w in warned if "uploads" in w]  # the video is named as the client sent it, not as stored

    clip, files = client.result(job.job_id, tmp_path / "remote" / "run")
    assert set(files) == {"glb", "json"} and all(p.is_file() for p in files.values())
    assert files["json"].name == "run.json" and files["glb"].name == "run.glb"

    local = pipeline.run(videos / SHORT, tmp_path / "local" / "run", FAST)
    remote = HumanoidClip.load_json(files["json"])
    assert remote.bones == local.clip.bones and remote.frame_count == local.clip.frame_count > 0
    assert remote.name == local.clip.name == "sports2d_run_sideview"
    for name in ("hips", "rotations", "contacts", "confidence", "rest_offsets"):
        np.testing.assert_array_equal(getattr(remote, name), getattr(local.clip, name), err_msg=name)
    # The clip message carries the same clip in float32.
    np.testing.assert_allclose(clip.rotations, local.clip.rotations, atol=1e-6)
    np.testing.assert_allclose(clip.hips, local.clip.hips, atol=1e-6)

    # The same video and options again: served from the cache at once.
    again = client.start(short_upload.upload_id, convert.options_to_proto(FAST))
    assert again.cached and again.state == service_pb2.JOB_STATE_SUCCEEDED and again.job_id != job.job_id
    _, files2 = client.result(again.job_id, tmp_path / "cached" / "run")
    assert files2["json"].read_bytes() == files["json"].read_bytes()
    # Watched after the end, the job and its cached copy tell the same warnings, once each, after the state.
    E = service_pb2
    for job_id in (job.job_id, again.job_id):
        later = list(client.watch(job_id))
        assert [e.type for e in later] == [E.EVENT_TYPE_STATE, *[E.EVENT_TYPE_WARNING] * len(warned), E.EVENT_TYPE_DONE]
        assert [e.message for e in later[1:-1]] == warned
    # Only some formats.
    _, only = client.result(job.job_id, tmp_path / "only" / "x", formats=[service_pb2.OUTPUT_FORMAT_GLB])
    assert set(only) == {"glb"}
    # A format the job never made is named, not answered with no file.
    missing = _error(lambda: client.result(job.job_id, tmp_path / "bvh" / "x", formats=[E.OUTPUT_FORMAT_BVH]))
    assert missing.code == Code.NOT_FOUND and "made no OUTPUT_FORMAT_BVH" in str(missing), missing
    # The workers ran MediaPipe, but the server's log holds only its own lines (ANIMGEN_NATIVE_LOGS=1 keeps them).
    if not os.environ.get("ANIMGEN_NATIVE_LOGS"):
        assert "XNNPACK" not in server.output() and "W0000" not in server.output()


def test_generate_remote_writes_the_local_files(server, videos, tmp_path):
    seen = []
    opts = GenerateOptions(generator="analytic", smoothing=0.4, formats=("glb", "bvh", "json", "npz", "vrma"))
    files, job = generate_remote(server.address, videos / SHORT, tmp_path / "out" / "clip", opts,
                                 progress=seen.append)
    names = {"glb": "clip.glb", "bvh": "clip.bvh", "json": "clip.json", "npz": "clip.landmarks.npz",
             "vrma": "clip.vrma"}  # the service has no VRM Animation: the client writes it from the clip
    assert {k: p.name for k, p in files.items()} == names
    assert not [p for p in (tmp_path / "out").iterdir() if p.name not in names.values()]  # no temporary files
    kinds = [(e.stage, e.kind) for e in seen]
    assert ("generate", "finished") in kinds and kinds[-1] == ("export", "finished")
    overall = [e.overall for e in seen if e.kind != "warning"]
    assert overall == sorted(overall)
    # The finished job says how many frames the pose stage read and in how many it found the person.
    lm = Landmarks.load(files["npz"])
    assert job.frames == lm.frame_count > 0 and job.detected_share == pytest.approx(lm.detection_rate, abs=1e-6)
    # Served from the cache the second time: the progress still ends complete, and the job says the same.
    seen.clear()
    _, again = generate_remote(server.address, videos / SHORT, tmp_path / "again" / "clip", opts,
                               progress=seen.append)
    assert seen[-1].overall == 1.0
    assert again.cached and (again.frames, again.detected_share) == (job.frames, job.detected_share)
    assert (tmp_path / "again" / "clip.bvh").read_bytes() == files["bvh"].read_bytes()
    # Asked for a VRM Animation alone, the client writes that file only.
    only, _ = generate_remote(server.address, videos / SHORT, tmp_path / "vrma" / "clip",
                              replace(opts, formats=("vrma",)))
    assert list(only) == ["vrma"] and [p.name for p in (tmp_path / "vrma").iterdir()] == ["clip.vrma"]
    assert only["vrma"].read_bytes() == files["vrma"].read_bytes()


def test_reattach_cancel_and_worker_stops(server, client, videos):
    up = client.upload(videos / LONG)
    job = client.start(up.upload_id, convert.options_to_proto(GenerateOptions(generator="analytic", smoothing=0.31)))
    first = []
    for ev in client.watch(job.job_id):  # the first client leaves once the pose stage is under way
        first.append(ev)
        if ev.type == service_pb2.EVENT_TYPE_STAGE_PROGRESS:
            break
    # A second client re-attaches: the current state comes first.
    with AnimGenClient(server.address) as other:
        it = other.watch(job.job_id)
        ev = next(it)
        assert ev.type == service_pb2.EVENT_TYPE_STATE and ev.job.state == service_pb2.JOB_STATE_RUNNING
        assert ev.job.progress > 0
        ev = next(it)
        assert ev.type == service_pb2.EVENT_TYPE_STAGE_PROGRESS
        busy = [p for p in server.worker_pids() if _busy(p)]
        t0 = time.monotonic()
        cancelled = client.cancel(job.job_id)
        assert cancelled.state == service_pb2.JOB_STATE_CANCELLED, cancelled
        assert time.monotonic() - t0 < 6
        rest = list(it)
        assert rest[-1].type == service_pb2.EVENT_TYPE_CANCELLED
    assert status_of(lambda: client.result(job.job_id)) == Code.FAILED_PRECONDITION
    # The worker really stopped: no more CPU spent by any worker.
    assert busy, "no worker was busy while the job ran"
    time.sleep(0.5)
    ticks = {p: cpu_ticks(p) for p in server.worker_pids()}
    time.sleep(1.5)
    spent = {p: cpu_ticks(p) - t for p, t in ticks.items()}
    assert all(s <= 10 for s in spent.values()), f"workers still busy after cancel (ticks in 1.5 s): {spent}"
    listed = {j.job_id: j.state for j in client.list()}
    assert listed[job.job_id] == service_pb2.JOB_STATE_CANCELLED


class _FreezingProxy:
    """A TCP proxy to the server that can stop passing bytes while it holds both sides open: a connection gone
    dead without a FIN or RST, as when a laptop sleeps or a NAT forgets it."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.frozen = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                near, _ = self.listener.accept()
                far = socket.create_connection(self.target)
                self.sockets += [near, far]
                for a, b in ((near, far), (far, near)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                if self.frozen.is_set():  # bytes wait in the kernel, unread; both sockets stay open
                    time.sleep(0.05)
                    continue
                src.settimeout(0.05)
                try:
                    data = src.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return
                dst.sendall(data)

    def close(self) -> None:
        for s in [self.listener, *self.sockets]:
            s.close()


def test_a_watch_over_a_dead_connection_ends_with_unavailable(server, client, videos):
    """The client pings while a call is open: a watch whose connection goes silent ends in about a ping period and
    its timeout (1 s and 1/3 s here; 30 s and 10 s by default), where it used to wait for ever."""
    up = client.upload(videos / LONG)
    job = client.start(up.upload_id, convert.options_to_proto(GenerateOptions(generator="analytic", smoothing=0.37)))
    proxy = _FreezingProxy(server.address)
    outcome: list = []

    def watch() -> None:
        with AnimGenClient(proxy.address, ping_s=1.0) as far:
            try:
                for ev in far.watch(job.job_id):
                    if ev.type == service_pb2.EVENT_TYPE_STATE:
                        proxy.frozen.set()
                        outcome.append(time.monotonic())
            except ServiceError as e:
                outcome.append(e)

    try:
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        t.join(30)
        assert not t.is_alive(), "the watch still waits on a dead connection"
        frozen_at, error = outcome
        assert isinstance(error, ServiceError) and error.code == Code.UNAVAILABLE, error
        assert time.monotonic() - frozen_at < 10
    finally:
        proxy.close()
        client.cancel(job.job_id)


def test_sigterm_to_a_remote_generate_cancels_its_job(server, client, videos, tmp_path):
    """A CI job's time limit sends SIGTERM: `animgen generate --server` stops as on Ctrl-C and cancels its job, which
    had run on to the end, holding a worker."""
    import signal
    import sys

    earlier = {j.job_id for j in client.list()}
    proc = subprocess.Popen([sys.executable, "-m", "animgen_server.cli", "generate", str(videos / LONG), "--server",
                             server.address, "-o", str(tmp_path), "--generator", "analytic", "--smoothing", "0.29"],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    job = None
    while job is None and time.monotonic() < deadline:  # the job is running on the server
        job = next((j for j in client.list() if j.state == service_pb2.JOB_STATE_RUNNING
                    and j.job_id not in earlier), None)
        time.sleep(0.2)
    assert job is not None, "the job never ran"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "animgen: terminated" in err, err
    assert {j.job_id: j.state for j in client.list()}[job.job_id] == service_pb2.JOB_STATE_CANCELLED


def _busy(pid: int) -> bool:
    t = cpu_ticks(pid)
    time.sleep(0.3)
    return cpu_ticks(pid) - t > 5


def test_load_eight_clients_at_once(server, videos):
    """8 clients upload and watch at once (2 workers): every job completes, nothing is lost."""
    results, errors = {}, []

    def one(i: int) -> None:
        try:
            with AnimGenClient(server.address, timeout=120) as c:
                up = c.upload(videos / SHORT)
                opts = GenerateOptions(generator="analytic", smoothing=round(0.1 * i, 2), formats=("json",))
                job = c.start(up.upload_id, convert.options_to_proto(opts))
                last = c.wait(job.job_id)
                clip, _ = c.result(job.job_id)
                results[i] = (last.state, last.cached, clip.frame_count)
        except Exception as e:  # noqa: BLE001 - collected and reported below
            errors.append(f"client {i}: {e!r}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert len(results) == 8
    assert all(s == service_pb2.JOB_STATE_SUCCEEDED and n > 0 for s, _, n in results.values()), results
    print(f"8 jobs through 2 workers in {time.monotonic() - t0:.1f} s")


def test_job_on_video_without_a_person_fails_clearly(client, tmp_path):
    from conftest import require_tool

    video = tmp_path / "empty_room.mp4"
    subprocess.run([require_tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=160x120:d=1:r=10",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    up = client.upload(video)
    job = client.start(up.upload_id, convert.options_to_proto(FAST))
    events = list(client.watch(job.job_id))
    assert events[-1].type == service_pb2.EVENT_TYPE_FAILED
    assert events[-1].job.state == service_pb2.JOB_STATE_FAILED
    # Its name, not the store's path.
    assert events[-1].job.error.startswith("empty_room.mp4: no person was found in any frame: if the person is small")
    e = _error(lambda: client.result(job.job_id))
    assert e.code == Code.FAILED_PRECONDITION and "no person" in e.details


def test_cli_generate_jobs_cancel_through_the_server(server, videos, tmp_path):
    import sys

    def animgen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "animgen_server.cli", *args], capture_output=True, text=True,
                              timeout=300)

    run = ["generate", str(videos / SHORT), "-o", str(tmp_path), "--generator", "analytic", "--smoothing", "0.45",
           "--format", "glb", "--quiet", "--summary", str(tmp_path / "summary.json")]
    out = animgen(*run, "--server", server.address)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sports2d_run_sideview.glb").is_file()
    # Up to date for the same server again, not for a run here (other weights may make it), nor the other way round.
    for where, status in ((["--server", server.address], "skipped"), ([], "converted"), ([], "skipped"),
                          (["--server", server.address], "converted")):
        again = animgen(*run, *where)
        assert again.returncode == 0, again.stderr
        assert json.loads((tmp_path / "summary.json").read_text())["videos"][0]["status"] == status, (where, status)
    # The --summary of a run on a server: the job's warnings as the log gave them, the files written here.
    [row] = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["videos"]
    assert row["status"] == "converted" and row["outputs"] == {"glb": str(tmp_path / "sports2d_run_sideview.glb")}
    video = str(videos / SHORT)
    assert row["warnings"] and [f"warning: {w if video in w else f'{video}: {w}'}" for w in row["warnings"]] == \
        [ln for ln in out.stderr.splitlines() if ln.startswith("warning: ")]
    # The frames the server's pose stage read and the share with a person, as the job gave them and the log says.
    assert row["frames"] > 30 and 0.5 < row["detected"] <= 1, row
    said = re.search(r"^  frames: (\d+) in; person detected in ([\d.]+)%$", out.stdout, re.M)
    assert said and int(said[1]) == row["frames"] and float(said[2]) == pytest.approx(100 * row["detected"], abs=0.06)
    listed = animgen("jobs", "--server", server.address)
    assert listed.returncode == 0 and "SUCCEEDED" in listed.stdout and SHORT in listed.stdout, listed
    assert f"{SHORT} ({row['frames']} frames, person in {100 * row['detected']:.0f}%)" in listed.stdout, listed.stdout
    job_id = listed.stdout.splitlines()[1].split()[0]
    assert "    warning: " in listed.stdout  # the runner leaves the picture: the job's warnings are listed under it
    # Cancelling a finished job changes nothing (exit 1 says it is not cancelled); an unknown one is an error.
    done = animgen("cancel", job_id, "--server", server.address)
    assert done.returncode == 1 and "SUCCEEDED" in done.stdout
    unknown = animgen("cancel", "nope", "--server", server.address)
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr and len(unknown.stderr.splitlines()) == 1
    # A failure reads as a local run's: the video as given on the command line, once, then the reason.
    from conftest import require_tool

    empty = tmp_path / "empty_room.mp4"
    subprocess.run([require_tool("ffmpeg"), "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=160x120:d=1:r=10",
                    "-pix_fmt", "yuv420p", str(empty)], check=True)
    failed = animgen("generate", str(empty), "--server", server.address, "-o", str(tmp_path), "--quiet",
                     "--summary", str(tmp_path / "summary.json"))
    assert failed.returncode == 1
    said = f"{empty}: no person was found in any frame: if the person is small in the picture, a crop around them"
    assert f"animgen: error: {said}" in failed.stderr, failed.stderr
    [row] = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["videos"]
    assert row["status"] == "failed" and row["error"].startswith(said), row
    too_many = animgen("jobs", "--server", server.address, "--limit", "99999999999")
    assert too_many.returncode == 2 and "--limit: must be between 1 and 1000" in too_many.stderr
    no_ca = animgen("jobs", "--server", server.address, "--tls-ca", str(tmp_path / "missing.pem"))
    assert no_ca.returncode == 1 and "Traceback" not in no_ca.stderr and "missing.pem" in no_ca.stderr
    down = animgen("jobs", "--server", "127.0.0.1:1")
    assert down.returncode == 1 and "animgen serve" in down.stderr


def test_a_server_address_grpc_would_misread_is_refused_by_name(monkeypatch):
    """gRPC dials 127.0.0.1:99999 as port 34463 and looks http://HOST:PORT up as a host name: such an address is a
    usage error naming --server before any work, and the client refuses it from $ANIMGEN_SERVER too. A host alone is
    dialled on the service's port, as the engines dial it."""
    import sys

    from animgen_server import address as server_address
    from animgen_server.client import ADDRESS_ENV

    cases = [(["generate", "clip.mp4"], bad) for bad in ("127.0.0.1:99999", "http://127.0.0.1:50051", "127.0.0.1:",
                                                         "127.0.0.1:0", "::1")]
    for command, bad in [*cases, (["jobs"], "127.0.0.1:99999"), (["cancel", "job"], "http://127.0.0.1:50051")]:
        run = subprocess.run([sys.executable, "-m", "animgen_server.cli", *command, "--server", bad],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, (command, bad, run.stderr)
        assert f"argument --server: {bad!r} is not HOST:PORT with a port from 1 to 65535" in run.stderr
    for good, dialled in (("127.0.0.1:50051", "127.0.0.1:50051"), ("localhost:1", "localhost:1"),
                          ("[::1]:65535", "[::1]:65535"), ("render-farm.local", "render-farm.local:50051"),
                          ("[::1]", "[::1]:50051")):
        assert server_address.argument(good) == dialled
        with AnimGenClient(good) as client:
            assert client.address == dialled
    monkeypatch.setenv(ADDRESS_ENV, "farm:65536")
    with pytest.raises(InputError, match=r"environment variable ANIMGEN_SERVER\) 'farm:65536' is not HOST:PORT"):
        AnimGenClient()


def test_target_character_through_the_server(server, videos, shared_data, tmp_path):
    """`--target character.glb --server` writes what a local run writes: the character, mesh and all, under the same
    name, even for a rig under a scaled, turned armature node (Quaternius). An engine instead sends its skeleton's
    rest pose (TargetSkeleton) and the server retargets onto it; bones no table knows map through its bone_map."""
    import pygltflib
    from export_helpers import validate

    from animgen_ml import pipeline, retarget

    character = shared_data / "characters" / "quaternius_male_casual.glb"
    opts = GenerateOptions(generator="analytic", formats=("json",), target=str(character))
    remote = generate_remote(server.address, videos / SHORT, tmp_path / "remote" / "clip", opts)[0]["target"]
    local = pipeline.run(videos / SHORT, tmp_path / "local" / "clip", opts).files["target"]
    assert remote.name == local.name == "clip.quaternius_male_casual.glb"
    (report,) = validate(remote)
    assert report["errors"] == 0, report["messages"]
    assert len(pygltflib.GLTF2().load(str(remote)).meshes) == len(pygltflib.GLTF2().load(str(character)).meshes) > 0

    def keys(path: Path) -> dict[tuple[str, str], np.ndarray]:
        g = pygltflib.GLTF2().load(str(path))
        blob = g.binary_blob()

        def values(i: int) -> np.ndarray:
            a = g.accessors[i]
            width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[a.type]
            start = g.bufferViews[a.bufferView].byteOffset + (a.byteOffset or 0)
            return np.frombuffer(blob, np.float32, a.count * width, start).reshape(a.count, width)

        anim = g.animations[0]
        return {(g.nodes[c.target.node].name, c.target.path): values(anim.samplers[c.sampler].output)
                for c in anim.channels}

    theirs, ours = keys(local), keys(remote)
    assert theirs.keys() == ours.keys() and len(ours) > 20
    worst = max(np.abs(ours[k] - theirs[k]).max() for k in ours)
    assert worst < 1e-4  # the same motion on the same character (the clip crossed the wire in float32)

    # An engine's skeleton: Xbot's joints renamed b0, b1, ..., in metres. Standing, its shape maps it; lying at rest
    # (its root turned 90 degrees about X) nothing does until the plugin sends a bone map.
    message, bone_map = _engine_skeleton(shared_data)
    fast = GenerateOptions(generator="analytic", formats=("json",))
    with AnimGenClient(server.address, timeout=60) as up:
        uid = up.upload(videos / SHORT).upload_id
        standing = up.start(uid, convert.options_to_proto(fast, target=message))
        assert up.wait(standing.job_id).state == service_pb2.JOB_STATE_SUCCEEDED
        root = message.bones[0].rest_rotation
        lying = R.multiply(R.from_axis_angle([1.0, 0.0, 0.0], np.pi / 2), np.array([root.x, root.y, root.z, root.w]))
        message.bones[0].rest_rotation.CopyFrom(clip_pb2.Quaternion(x=lying[0], y=lying[1], z=lying[2], w=lying[3]))
        e = _error(lambda: up.start(uid, convert.options_to_proto(fast, target=message)))
        assert e.code == Code.INVALID_ARGUMENT and e.details.startswith("options.target: cannot map"), e.details
        assert e.details.endswith("or map them in options.target.bone_map"), e.details
        message.bone_map.update(bone_map)
        job = up.start(uid, convert.options_to_proto(fast, target=message))
        assert up.wait(job.job_id).state == service_pb2.JOB_STATE_SUCCEEDED
        _, got = up.result(job.job_id, tmp_path / "mapped")
    mapped = retarget.load_glb_skeleton(got["target"])[0]
    assert set(mapped.names) == {f"b{i}" for i in range(len(message.bones))}
    assert mapped.bone_map["Hips"] == message.bone_map["Hips"]


def _engine_skeleton(shared_data: Path) -> tuple[clip_pb2.TargetSkeleton, dict[str, str]]:
    """Xbot's rest pose as an engine plugin sends it: joints renamed b0, b1, ..., in metres; and the bone map that
    maps it (HumanBodyBones name -> b<i>), which the plugin sends in its bone_map."""
    from animgen_ml import retarget
    from animgen_ml.bonemap import map_bones

    xbot = retarget.load_glb_skeleton(shared_data / "characters" / "Xbot_threejs.glb")[0]
    message = clip_pb2.TargetSkeleton(name="engine_rig")
    for i, (p, t, q) in enumerate(zip(xbot.parents, xbot.rest_translation * xbot.base_scale, xbot.rest_rotation,
                                      strict=True)):
        message.bones.add(name=f"b{i}", parent=int(p), rest_translation=clip_pb2.Vector3(x=t[0], y=t[1], z=t[2]),
                          rest_rotation=clip_pb2.Quaternion(x=q[0], y=q[1], z=q[2], w=q[3]))
    auto = map_bones(xbot.names, xbot.parents, fingers=False)
    return message, {bone: f"b{xbot.names.index(n)}" for bone, n in auto.items()}


def _bone_index(message: clip_pb2.TargetSkeleton, name: str) -> int:
    return [b.name for b in message.bones].index(name)


def test_an_engine_gets_the_clip_on_its_skeleton_with_the_feet_planted(server, videos, shared_data, tmp_path):
    """GetResult(target_motion) sends, after the header, the clip on the job's target skeleton as its target file
    plays it: planted feet locked on that skeleton's own legs. A plugin that retargets the clip itself scales the
    motion by leg length, and the planted ankles float or sink where the skeleton's feet differ from the actor's
    (jumping jacks on Xbot: 4.3 mm from their rest height on average, 1.3 locked) and slide more."""
    from animgen_ml import retarget

    message, bone_map = _engine_skeleton(shared_data)
    message.bone_map.update(bone_map)
    with AnimGenClient(server.address, timeout=120) as c:
        uid = c.upload(videos / "romp_fitness_jumping_jacks.mp4").upload_id
        opts = GenerateOptions(formats=("json",), end=3.0)
        job = c.start(uid, convert.options_to_proto(opts, target=message))
        assert c.wait(job.job_id).state == service_pb2.JOB_STATE_SUCCEEDED
        plain = c.start(uid, convert.options_to_proto(opts))
        assert c.wait(plain.job_id).state == service_pb2.JOB_STATE_SUCCEEDED
        stream = list(c.stub.GetResult(service_pb2.GetResultRequest(job_id=job.job_id, target_motion=True),
                                       metadata=c.metadata, timeout=120))
        with pytest.raises(grpc.RpcError) as info:
            list(c.stub.GetResult(service_pb2.GetResultRequest(job_id=plain.job_id, target_motion=True),
                                  metadata=c.metadata, timeout=60))
        assert info.value.code() == Code.FAILED_PRECONDITION and "had no options.target" in info.value.details()
    kinds = [m.WhichOneof("payload") for m in stream]
    assert kinds[:2] == ["header", "target_motion"] and set(kinds[2:]) == {"chunk"}
    clip = convert.clip_from_proto(stream[0].header.clip)
    m = stream[1].target_motion
    T, J = m.frame_count, len(m.bones)
    assert T == clip.frame_count and list(m.bones) == [b.name for b in message.bones] and m.feet_locked
    assert m.frame_rate == pytest.approx(clip.fps) and 0.5 < m.hips_scale < 2.0
    rot, trans = convert.target_motion_arrays(m)
    assert np.abs(np.linalg.norm(rot, axis=-1) - 1.0).max() < 1e-5
    assert 20 <= len(m.turning) < J and m.moving == _bone_index(message, message.bone_map["Hips"])

    sk = retarget.load_glb_skeleton(convert.write_target_skeleton(message, tmp_path))[0]
    alone = retarget.retarget(clip, sk)  # a plugin's own retarget: no foot locking on the target's legs
    feet = [sk.names.index(message.bone_map[f"{side}Foot"]) for side in ("Left", "Right")]
    rest = sk.forward(sk.rest_rotation[None], sk.rest_translation[None])[0][0, feet]
    planted = clip.contacts
    assert planted.mean() > 0.5

    def figures(rotations: np.ndarray, translations: np.ndarray) -> tuple[float, float]:
        """Planted ankles: mean distance from their rest height, and mean step over the floor (mm)."""
        ankles = sk.forward(rotations, translations)[0][:, feet]
        step = np.linalg.norm(np.diff(ankles[..., [0, 2]], axis=0), axis=-1)
        return (float(np.abs(ankles[..., 1] - rest[:, 1])[planted].mean() * 1000),
                float(step[planted[1:] & planted[:-1]].mean() * 1000))

    (height, slide), (height_alone, slide_alone) = figures(rot, trans), figures(alone.rotations, alone.translations)
    assert height < 3.0 and height < 0.5 * height_alone, (height, height_alone)
    assert slide < slide_alone, (slide, slide_alone)


def test_a_result_the_client_stops_reading_is_let_go_by_the_real_server(videos, tmp_path):
    """A client that opens GetResult, takes the first message and reads no more with its connection open (a frozen
    editor) had held the result for as long as the connection lived. The server, its limit of 5 minutes a message
    shortened to 2 s, ends the call; another call gets the whole result."""
    srv = ServerProcess(tmp_path / "store", first="import animgen_server.server as s\ns.RESULT_IDLE_S = 2.0").start()
    try:
        generate_remote(srv.address, videos / SHORT, tmp_path / "out", GenerateOptions(
            formats=("glb", "bvh", "json", "preview")))
        with AnimGenClient(srv.address) as client:
            job_id = client.list()[0].job_id
        # No window growth: flow control stops the server once 64 KiB are in flight and unread.
        channel = grpc.insecure_channel(srv.address, options=[("grpc.http2.bdp_probe", 0),
                                                              ("grpc.max_receive_message_length", 64 << 20)])
        stub = service_pb2_grpc.AnimGenStub(channel)
        stream = stub.GetResult(service_pb2.GetResultRequest(job_id=job_id))
        assert next(stream).WhichOneof("payload") == "header"
        time.sleep(5.0)
        with pytest.raises(grpc.RpcError) as e:
            for _ in stream:  # what was in flight, then the server's word
                pass
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "no result data for 2 s" in e.value.details()
        whole = list(stub.GetResult(service_pb2.GetResultRequest(job_id=job_id)))
        assert whole[0].header.files and sum(len(m.chunk.data) for m in whole[1:]) == sum(
            f.size_bytes for f in whole[0].header.files)
        channel.close()
    finally:
        srv.stop()


def test_a_folder_sent_at_once_runs_on_the_servers_workers_and_a_stop_cancels_every_job(server, client, videos,
                                                                                        tmp_path):
    """`--jobs 2`: two videos of a folder run on the server's two workers at once, the summary in the folder's order;
    SIGTERM (a CI time limit) cancels both running jobs, and both videos are cancelled in the summary."""
    import signal
    import sys

    from conftest import require_tool

    def cut(src: Path, start: float, seconds: float, dst: Path) -> None:
        subprocess.run([require_tool("ffmpeg"), "-v", "error", "-ss", str(start), "-t", str(seconds), "-i", str(src),
                        "-c:v", "libx264", "-an", str(dst)], check=True)

    def animgen(*args: str) -> list[str]:
        return [sys.executable, "-m", "animgen_server.cli", "generate", *args, "--server", server.address,
                "--generator", "analytic", "--format", "json", "--quiet"]

    takes = tmp_path / "takes"
    takes.mkdir()
    for i, start in enumerate((0.0, 2.0, 4.0)):  # three takes, none another's, so that none comes from the cache
        cut(videos / LONG, start, 1.5, takes / f"take{i}.mp4")
    earlier = {j.job_id for j in client.list()}
    done = subprocess.run(animgen(str(takes), "-o", str(tmp_path / "out"), "--jobs", "2", "--smoothing", "0.27",
                                  "--summary", str(tmp_path / "run.json")), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert [(Path(v["video"]).name, v["status"]) for v in summary["videos"]] == \
        [(f"take{i}.mp4", "converted") for i in range(3)]
    assert all((tmp_path / "out" / f"take{i}.json").is_file() for i in range(3))
    jobs = sorted((j for j in client.list() if j.job_id not in earlier), key=lambda j: j.created_unix_ms)
    assert len(jobs) == 3 and all(j.state == service_pb2.JOB_STATE_SUCCEEDED for j in jobs)
    # Sent one after the other, each job would start after the one before had ended.
    assert jobs[1].created_unix_ms < jobs[0].updated_unix_ms, [(j.created_unix_ms, j.updated_unix_ms) for j in jobs]
    # Without --jobs, a folder's run says what the server could do (the results come from its cache now).
    one = subprocess.run([a for a in animgen(str(takes), "-o", str(tmp_path / "again"), "--smoothing", "0.27")
                          if a != "--quiet"], capture_output=True, text=True, timeout=300)
    assert one.returncode == 0 and (f"note: the server at {server.address} runs 2 jobs at once; --jobs 2 sends it "
                                    "this folder's videos 2 at a time") in one.stderr, one.stderr

    # A stop with two jobs running: both are cancelled on the server.
    for i in range(2):
        cut(videos / LONG, 0.5 * i, 9.0, takes / f"long{i}.mp4")
    for i in range(3):
        (takes / f"take{i}.mp4").unlink()
    earlier = {j.job_id for j in client.list()}
    proc = subprocess.Popen(animgen(str(takes), "-o", str(tmp_path / "stopped"), "--jobs", "2", "--smoothing", "0.26",
                                    "--summary", str(tmp_path / "stopped.json")), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    running: list = []
    while len(running) < 2 and time.monotonic() < deadline:
        running = [j for j in client.list() if j.job_id not in earlier and j.state == service_pb2.JOB_STATE_RUNNING]
        time.sleep(0.2)
    assert len(running) == 2, "the two jobs never ran at once"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "animgen: terminated" in err, err
    # The cancels were sent as the run stopped; each job ends once its worker has stopped.
    deadline, states = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        states = {j.job_id: j.state for j in client.list()}
        if all(states[j.job_id] == service_pb2.JOB_STATE_CANCELLED for j in running):
            break
        time.sleep(0.2)
    assert [states[j.job_id] for j in running] == [service_pb2.JOB_STATE_CANCELLED] * 2
    stopped = json.loads((tmp_path / "stopped.json").read_text(encoding="utf-8"))
    assert [v["status"] for v in stopped["videos"]] == ["cancelled", "cancelled"], stopped
    assert "Traceback" not in err and "internal error" not in err, err


def test_a_full_queue_is_waited_out_and_a_queued_job_is_said(tmp_path, videos):
    """A server whose queue is full answers StartJob RESOURCE_EXHAUSTED with when to try again; `animgen generate
    --server` says so once, tries again until there is room, says its job is queued while the worker is busy, and
    converts the video once it runs. A job someone else cancels fails the run, saying so."""
    import sys

    def generate(log: Path, *args: str) -> subprocess.Popen:
        with open(log, "w") as err:  # a file, read as it grows: communicate() reads stdout alone
            return subprocess.Popen([sys.executable, "-m", "animgen_server.cli", "generate", str(videos / SHORT),
                                     "--server", srv.address, "--generator", "analytic", "--format", "json", *args],
                                    stdout=subprocess.PIPE, stderr=err, text=True)

    def said(proc: subprocess.Popen, log: Path, text: str) -> None:
        deadline = time.monotonic() + 90
        while text not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert text in log.read_text(), log.read_text()

    srv = ServerProcess(tmp_path / "data", "--workers", "1", "--max-queued", "1", "--max-video-seconds", "30").start()
    try:
        with AnimGenClient(srv.address, timeout=60) as c:
            fast = convert.options_to_proto(FAST)
            busy = c.start(c.upload(videos / OVER_LIMIT).upload_id, fast)  # 18 s of video on the one worker
            waiting = c.start(c.upload(videos / LONG).upload_id, fast)  # the one place in the queue
            assert waiting.state == service_pb2.JOB_STATE_QUEUED
            with pytest.raises(ServiceError) as e:
                c.start(c.upload(videos / SHORT).upload_id, fast)
            assert e.value.code == Code.RESOURCE_EXHAUSTED and e.value.retry_after_s == 5.0, e.value
            assert "the queue is full (1 jobs waiting)" in e.value.details

            log = tmp_path / "first.log"
            proc = generate(log, "-o", str(tmp_path / "out"), "--summary", str(tmp_path / "run.json"))
            said(proc, log, f"{SHORT}: the server's queue is full; trying again every 5 s for up to 10 min")
            c.cancel(waiting.job_id)  # room in the queue: the next try queues the job behind the busy one
            said(proc, log, f"{SHORT}: queued on the server: waiting for a free worker")
            c.cancel(busy.job_id)
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, log.read_text()
            assert log.read_text().count("queue is full") == 1, log.read_text()  # said once, however many tries
            assert (tmp_path / "out" / "sports2d_run_sideview.json").is_file() and "frames: 47 in" in out
            row = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["videos"][0]
            assert row["status"] == "converted" and not [w for w in row["warnings"] if "queue" in w]  # not the clip's

            busy = c.start(c.upload(videos / OVER_LIMIT).upload_id, fast)
            log = tmp_path / "second.log"
            proc = generate(log, "-o", str(tmp_path / "again"), "--smoothing", "0.3", "--quiet")
            deadline, queued = time.monotonic() + 90, []
            while not queued and time.monotonic() < deadline:
                queued = [j for j in c.list() if j.state == service_pb2.JOB_STATE_QUEUED]
                time.sleep(0.1)
            assert [j.video_name for j in queued] == [SHORT]
            c.cancel(queued[0].job_id)
            proc.communicate(timeout=60)
            c.cancel(busy.job_id)
    finally:
        assert srv.stop() == 0
    assert proc.returncode == 1, log.read_text()
    assert f"animgen: error: {videos / SHORT}: job {queued[0].job_id} was cancelled on the server (by `animgen " \
           "cancel` or another client)" in log.read_text(), log.read_text()


def test_jobs_is_for_a_server(tmp_path):
    import sys

    for args, said in ((["--jobs", "0", "--server", "127.0.0.1:1"], "--jobs must be between 1 and 64, got 0"),
                       (["--jobs", "2"], "--jobs sends videos to a --server at once")):
        done = subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and said in done.stderr, done.stderr


class _Connection:
    """Stands for a thread's AnimGenClient in InFlight's bookkeeping: only its close() is called."""

    def __init__(self, fail: bool = False) -> None:
        self.closed, self.fail = 0, fail

    def close(self) -> None:
        self.closed += 1
        if self.fail:
            raise ValueError("Cannot invoke RPC on closed channel!")


def test_a_stop_cancels_every_job_of_a_batch_sent_at_once_whenever_it_comes():
    """InFlight (generate DIR --server --jobs N): a stop cancels the running jobs in one request and closes their
    connections; a job whose StartJob was being asked is cancelled by its thread once it has its id (its connection
    is left open for that); a thread that has not begun does not begin; a connection that fails to close, or was
    closed already, does not stop the stop. Jobs the server could not be told of (down) are kept to be said."""
    from animgen_ml.errors import Cancelled
    from animgen_server.remote import InFlight

    asked: list[list[str]] = []

    def cancel(ids: list[str]) -> list[str]:  # the server: down by the time job-2 is started
        asked.append(ids)
        return [i for i in ids if i == "job-2"]

    in_flight = InFlight(cancel)
    running, uploading, starting, gone = _Connection(), _Connection(fail=True), _Connection(), _Connection()
    for c in (running, uploading, starting, gone):
        in_flight.opened(c)
    in_flight.starting(running)
    in_flight.started(running, "job-1")
    in_flight.starting(starting)
    in_flight.closed(gone)
    in_flight.stop()
    assert asked == [["job-1"]] and in_flight.not_cancelled == []
    assert (running.closed, uploading.closed, starting.closed, gone.closed) == (1, 1, 0, 0)
    with pytest.raises(Cancelled):  # StartJob answers after the stop: that job is cancelled at once
        in_flight.started(starting, "job-2")
    assert asked == [["job-1"], ["job-2"]] and in_flight.not_cancelled == ["job-2"]
    with pytest.raises(Cancelled):  # a video not begun is not sent
        in_flight.opened(_Connection())
    in_flight.close()  # again, as the stop's last step does: harmless
