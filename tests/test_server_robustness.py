"""The server and its client where something goes wrong once or on purpose: a probe killed, workers that cannot
start, a moved store, a hostile server's file names, a stop with open watches. Real servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import grpc
import pytest
from conftest import require_tool, weights_like_shipped
from service_support import ServerProcess, _alive
from test_service_api import _engine_skeleton

from animgen.v1 import clip_pb2, service_pb2, service_pb2_grpc
from animgen_ml.errors import AnimGenError
from animgen_ml.pipeline import GenerateOptions
from animgen_server import convert
from animgen_server.client import AnimGenClient, ServiceError

S = service_pb2
Code = grpc.StatusCode
SHORT = "sports2d_run_sideview.mp4"
LONG = "motionbert_boxing.mp4"
FAST = GenerateOptions(generator="analytic", formats=("glb", "json"))

# GetResult of a job on a video named hostile*.mp4 sends its .glb under a name that climbs out of the client's folder.
HOSTILE_NAMES = """
from animgen_server import server as _server
_messages = _server._result_messages
def _hostile(header, motion, names, handles):
    if not header.job.video_name.startswith("hostile"):
        yield from _messages(header, motion, names, handles)
        return
    bad = lambda n: n.replace(".glb", ".d/../../evil.glb")
    for f in header.files:
        f.file_name = bad(f.file_name)
    for msg in _messages(header, motion, names, handles):
        if msg.WhichOneof("payload") == "chunk":
            msg.chunk.file_name = bad(msg.chunk.file_name)
        yield msg
_server._result_messages = _hostile
"""


@pytest.fixture(scope="module")
def rig(shared_data) -> clip_pb2.TargetSkeleton:
    """Xbot's rest pose and bone map as an engine plugin sends them."""
    message, bone_map = _engine_skeleton(shared_data)
    message.bone_map.update(bone_map)
    return message


def _error(call) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


@pytest.fixture(scope="module")
def ffprobe_once_killed(tmp_path_factory) -> tuple[Path, Path]:
    """A folder with an `ffprobe` that kills itself (SIGKILL, as the OOM killer would) once while the file `armed`
    exists, and runs the real one otherwise; and that file's path."""
    folder = tmp_path_factory.mktemp("bin")
    armed = folder / "armed"
    (folder / "ffprobe").write_text(f'#!/bin/sh\nif [ -e "{armed}" ]; then rm -f "{armed}"; kill -9 $$; fi\n'
                                    f'exec {require_tool("ffprobe")} "$@"\n')
    (folder / "ffprobe").chmod(0o755)
    return folder, armed


@pytest.fixture(scope="module")
def server(tmp_path_factory, ffprobe_once_killed):
    folder, _ = ffprobe_once_killed
    s = ServerProcess(tmp_path_factory.mktemp("server"), "--workers", "1", first=HOSTILE_NAMES,
                      env={"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}).start()
    yield s
    assert s.stop() == 0, s.output()


@pytest.fixture(scope="module")
def client(server):
    with AnimGenClient(server.address, timeout=60) as c:
        yield c


def test_a_probe_killed_once_does_not_make_the_video_unreadable_for_good(client, ffprobe_once_killed, videos):
    """ffprobe killed by a signal (the OOM killer) had its failure kept with the upload: the same file sent again came
    back as that upload, "not a video that can be decoded", for as long as the server kept it."""
    _, armed = ffprobe_once_killed
    up = client.upload(videos / SHORT)
    armed.touch()
    e = _error(lambda: client.start(up.upload_id, convert.options_to_proto(FAST)))
    assert e.code == Code.INVALID_ARGUMENT and not armed.exists()  # the probe was the one killed
    again = client.upload(videos / SHORT)
    assert again.upload_id == up.upload_id and again.already_stored
    job = client.start(again.upload_id, convert.options_to_proto(FAST))
    assert client.wait(job.job_id).state == S.JOB_STATE_SUCCEEDED


def test_get_result_names_an_unknown_format(client, videos):
    """An OutputFormat number the server does not know had answered UNKNOWN with a Python ValueError."""
    up = client.upload(videos / SHORT)
    job = client.start(up.upload_id, convert.options_to_proto(FAST))
    assert client.wait(job.job_id).state == S.JOB_STATE_SUCCEEDED
    e = _error(lambda: client.result(job.job_id, formats=[99]))
    assert e.code == Code.INVALID_ARGUMENT and "formats: unknown value 99" in e.details, e


def test_an_upload_message_with_no_payload_is_said_as_such(server):
    data = os.urandom(1000)
    header = S.UploadVideoRequest(header=S.UploadHeader(file_name="v.mp4", size_bytes=len(data),
                                                        sha256=hashlib.sha256(data).hexdigest()))
    with grpc.insecure_channel(server.address) as ch, pytest.raises(grpc.RpcError) as info:
        service_pb2_grpc.AnimGenStub(ch).UploadVideo(iter([header, S.UploadVideoRequest()]), timeout=30)
    assert info.value.code() == Code.INVALID_ARGUMENT
    assert "no payload" in info.value.details() and "header" not in info.value.details().split(":")[0]


def test_a_result_file_name_that_leaves_the_output_folder_is_refused(client, videos, tmp_path):
    """The client wrote out_base + the server's suffix unchecked: ".d/../../evil.glb" landed beside the output
    folder."""
    hostile = tmp_path / "hostile.mp4"
    shutil.copyfile(videos / SHORT, hostile)
    job = client.start(client.upload(hostile).upload_id, convert.options_to_proto(FAST))
    assert client.wait(job.job_id).state == S.JOB_STATE_SUCCEEDED
    out = tmp_path / "out"
    (out / "clip.d").mkdir(parents=True)  # a folder of that name makes the path resolve
    with pytest.raises(AnimGenError, match=r"named 'hostile\.d/\.\./\.\./evil\.glb', which is not a plain file name"):
        client.result(job.job_id, out / "clip")
    assert not (tmp_path / "evil.glb").exists() and sorted(p.name for p in out.iterdir()) == ["clip.d"]


def test_a_refused_start_job_writes_no_target(server, client, videos, rig):
    """StartJob wrote targets/<hash>/rig.glb before it checked the rest of the call: every refused call left one."""
    up = client.upload(videos / SHORT)
    targets = server.data_dir / "targets"
    before = sorted(p.name for p in targets.iterdir())
    for opts in (GenerateOptions(generator="analytic", start=100.0), GenerateOptions(generator="analytic", fps=0.5)):
        msg = convert.options_to_proto(opts, target=rig)
        assert _error(lambda m=msg: client.start(up.upload_id, m)).code == Code.INVALID_ARGUMENT
    assert sorted(p.name for p in targets.iterdir()) == before


def test_unused_targets_expire_and_come_back_when_asked_for(tmp_path, videos, rig):
    """targets/ only grew: no expiry looked at it. A target no queued or running job needs goes after the upload
    expiry; GetResult's motion on the target writes it again."""
    server = ServerProcess(tmp_path / "data", "--upload-expiry-hours", "0.001").start()  # 3.6 s
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            up = c.upload(videos / SHORT)
            job = c.start(up.upload_id, convert.options_to_proto(FAST, target=rig))
            assert c.wait(job.job_id).state == S.JOB_STATE_SUCCEEDED
            targets = tmp_path / "data" / "targets"
            assert len(list(targets.iterdir())) == 1
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and list(targets.iterdir()):
                time.sleep(0.5)
            assert list(targets.iterdir()) == []
            stream = list(c.stub.GetResult(S.GetResultRequest(job_id=job.job_id, target_motion=True),
                                           metadata=c.metadata, timeout=60))
            assert stream[1].WhichOneof("payload") == "target_motion"
    finally:
        assert server.stop() == 0, server.output()
    assert "removed 1 expired target(s)" in server.output()


def test_a_moved_store_still_finds_its_target_results(tmp_path, videos, rig):
    """The cache key held the stored target's absolute path: a store moved (as the README allows) ran its target
    jobs again, and StartJob made new jobs instead of running its interrupted ones again."""
    opts = convert.options_to_proto(FAST, target=rig)
    server = ServerProcess(tmp_path / "a").start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            first = c.start(c.upload(videos / SHORT).upload_id, opts)
            assert c.wait(first.job_id).state == S.JOB_STATE_SUCCEEDED
    finally:
        assert server.stop() == 0, server.output()
    shutil.move(tmp_path / "a", tmp_path / "b")
    server = ServerProcess(tmp_path / "b").start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            again = c.start(c.upload(videos / SHORT).upload_id, opts)
            assert again.cached and again.state == S.JOB_STATE_SUCCEEDED
    finally:
        assert server.stop() == 0, server.output()


def test_workers_that_cannot_start_end_serve_with_the_reason(tmp_path):
    """A worker that failed to start was started again for ever: serve never became ready nor exited, and its
    clients waited "queued"."""
    weights = weights_like_shipped(tmp_path / "w.npz", "gone")
    server = ServerProcess(tmp_path / "data", "--model", str(weights))
    server.start(wait_ready=False)
    weights.unlink()  # the workers load it after "listening"
    assert server.proc is not None
    try:
        rc = server.proc.wait(120)
    finally:
        server.stop(signal.SIGKILL)
    out = server.output()
    assert rc == 1, out
    assert "the workers failed to start: worker 0 died 3 times before it was ready" in out
    assert "w.npz" in out.splitlines()[-1] and "server ready" not in out


def test_a_worker_that_keeps_dying_once_serving_is_started_again_after_a_wait(tmp_path):
    """Once the server serves, a replacement that cannot start is started again after a doubling wait, and why is
    logged; the server keeps answering and stops in order."""
    weights = weights_like_shipped(tmp_path / "w.npz", "gone")
    server = ServerProcess(tmp_path / "data", "--model", str(weights)).start()
    try:
        weights.unlink()
        (worker,) = [p for p in server.worker_pids()
                     if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
        os.kill(worker, signal.SIGKILL)
        line = server.wait_for("2 time(s) in a row: starting it again in 2 s", 60)
        assert "network weights not found" in line
        time.sleep(1)
        assert server.output().count("before it was ready") == 2  # not one a second
        with AnimGenClient(server.address, timeout=10) as c:
            assert c.info().protocol_version == "animgen.v1"
    finally:
        assert server.stop() == 0, server.output()
    assert not _alive(worker)


def test_a_stop_ends_a_watch_on_a_queued_job_cleanly(tmp_path, videos):
    """A watched QUEUED job at a stop: the watch was cut off by the stop's grace period, 3 s later, with "Exception not
    handled" and CancelledError tracebacks in the log. It ends at once with UNAVAILABLE, and the job stays queued."""
    server = ServerProcess(tmp_path / "data", "--workers", "1").start()
    ended: list[BaseException | None] = []
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            running = c.start(c.upload(videos / LONG).upload_id, convert.options_to_proto(FAST))
            for ev in c.watch(running.job_id):
                if ev.type == S.EVENT_TYPE_STAGE_PROGRESS:
                    break
            queued = c.start(c.upload(videos / SHORT).upload_id, convert.options_to_proto(FAST))
            assert queued.state == S.JOB_STATE_QUEUED

            def watch() -> None:
                try:
                    list(c.watch(queued.job_id))
                    ended.append(None)
                except ServiceError as e:
                    ended.append(e)

            t = threading.Thread(target=watch)
            t.start()
            time.sleep(1)
            t0 = time.monotonic()
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            t.join(30)
            took = time.monotonic() - t0
    finally:
        assert server.stop() == 0, server.output()
    out = server.output()
    assert "Exception not handled" not in out and "CancelledError" not in out, out
    assert isinstance(ended[0], ServiceError) and ended[0].code == Code.UNAVAILABLE and queued.job_id in str(ended[0])
    assert took < 2.5, took
