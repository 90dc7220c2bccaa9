"""How `animgen serve` takes its settings: a flag, else its environment variable, else the default. A bad
environment value stops `animgen serve` with one line naming the variable, and no other command. What a job may
ask for is bounded by what the server can send back, and its cached results by what made them."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from conftest import weights_like_shipped
from service_support import ServerProcess

from animgen.v1 import service_pb2
from animgen_ml.model import identity
from animgen_ml.pipeline import GenerateOptions
from animgen_server.client import AnimGenClient, ServiceError
from animgen_server.convert import options_key

BAD_ENV = {"ANIMGEN_WORKERS": "two", "ANIMGEN_MAX_QUEUED": "many"}


def animgen(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animgen_server.cli", *map(str, args)], capture_output=True,
                          text=True, env=dict(os.environ, **env), timeout=120)


def test_environment_sets_limits_and_a_flag_overrides_it(tmp_path: Path):
    env = {"ANIMGEN_WORKERS": "2", "ANIMGEN_MAX_QUEUED": "3", "ANIMGEN_MAX_VIDEO_SECONDS": "42"}
    server = ServerProcess(tmp_path / "data", "--max-queued", "5", env=env).start()
    try:
        with AnimGenClient(server.address, timeout=30) as c:
            limits = c.info().limits
    finally:
        assert server.stop() == 0
    assert (limits.max_concurrent_jobs, limits.max_queued_jobs, limits.max_video_seconds) == (2, 5, 42.0)
    assert limits.max_upload_bytes == 500 * 1024 * 1024  # neither given: the default


def test_bad_environment_value_stops_serve_by_name(tmp_path: Path):
    data = tmp_path / "data"
    proc = animgen("serve", "--port", "0", "--data-dir", data, env=BAD_ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == ["animgen: error: --workers (environment variable ANIMGEN_WORKERS="
                                                "'two') must be a whole number"]
    assert not data.exists()  # nothing was set up
    # A flag given instead of the bad variable is used; the next bad one is named.
    proc = animgen("serve", "--port", "0", "--data-dir", data, "--workers", "1", env=BAD_ENV)
    assert proc.returncode == 1 and "ANIMGEN_MAX_QUEUED='many'" in proc.stderr, proc.stderr


def test_bad_serve_environment_leaves_other_commands_alone(tmp_path: Path):
    proc = animgen("generate", tmp_path / "missing.mp4", "-o", tmp_path / "out", env=BAD_ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "missing.mp4: file not found" in proc.stderr and "ANIMGEN_" not in proc.stderr
    assert animgen("jobs", "--help", env=BAD_ENV).returncode == 0


def test_a_clip_too_large_to_send_is_refused_at_start(tmp_path: Path, videos: Path):
    """GetResult sends the clip in one message: a job whose clip could not be sent (a long video at a high frame
    rate, slowed down, with fingers) is refused when it starts, not after it ran."""
    long = tmp_path / "long.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "1", "-i", videos / "sports2d_dumbbell_lateral_raise.mp4",
                    "-t", "30", "-c", "copy", long], check=True)
    server = ServerProcess(tmp_path / "data").start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            upload = c.upload(long).upload_id
            with pytest.raises(ServiceError) as e:
                c.start(upload, service_pb2.GenerateOptions(hands=True, fps=240, speed=0.1))
            assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "long.mp4: the clip would have about 72" in e.value.details and "lower fps" in e.value.details
            assert e.value.retry_after_s is None  # unlike a full queue's, trying again would not help
            job = c.start(upload, service_pb2.GenerateOptions(generator=service_pb2.GENERATOR_ANALYTIC))
            c.cancel(job.job_id)  # the same video at its own rate is taken
    finally:
        assert server.stop() == 0


def test_new_weights_are_a_new_cache_key(tmp_path: Path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    assert identity(a) != identity(b) and identity(a) == identity(a)
    assert "none" in identity(tmp_path / "missing.npz")
    opts = GenerateOptions()
    assert options_key("ab" * 32, opts, identity(a), "v.mp4") != options_key("ab" * 32, opts, identity(b), "v.mp4")
    # The clip and its warnings carry the video's name: a copy under another name is not served the first's result.
    assert options_key("ab" * 32, opts, identity(a), "v.mp4") != options_key("ab" * 32, opts, identity(a), "w.mp4")


def test_serve_refuses_a_taken_port_and_bad_limits_in_one_line(tmp_path: Path):
    first = ServerProcess(tmp_path / "first").start(wait_ready=False)
    try:
        port = first.address.rsplit(":", 1)[1]
        # A second server on the same port would take half the calls (SO_REUSEPORT): it is refused.
        log = tmp_path / "second.log"
        taken = animgen("serve", "--port", port, "--data-dir", tmp_path / "second", "--log-file", log, env={})
        assert taken.returncode == 1 and "Traceback" not in taken.stderr
        why = f"animgen serve: cannot listen on 127.0.0.1:{port} (the port in use"
        assert f"animgen: error: {why}" in taken.stderr
        # Also in the log file, where the engines' Start local server tells its users to look.
        assert f"ERROR animgen.server: {why}" in log.read_text()
        # A second server on the same store would mark the first one's running jobs INTERRUPTED and take its queue.
        shared = animgen("serve", "--port", "0", "--data-dir", tmp_path / "first", env={})
        assert shared.returncode == 1 and "Traceback" not in shared.stderr
        assert first.proc is not None
        assert (f"animgen: error: {tmp_path / 'first'}: the store is in use by another animgen serve "
                f"(pid {first.proc.pid})") in shared.stderr
    finally:
        assert first.stop() == 0
    # A store a newer AnimGen has laid out otherwise (store.LAYOUT) is refused in one line, not served from.
    with contextlib.closing(sqlite3.connect(tmp_path / "first" / "animgen.db")) as db:
        db.execute("PRAGMA user_version = 99")
    newer = animgen("serve", "--port", "0", "--data-dir", tmp_path / "first", env={})
    assert newer.returncode == 1 and "Traceback" not in newer.stderr
    assert f"animgen: error: {tmp_path / 'first'}: this store was written by a newer AnimGen (store layout 99;" in \
        newer.stderr
    # A flag's bad value is a usage error (exit 2), a variable's or the machine's refusal exit 1.
    for args, env, code, named in (
            (["--result-expiry-days", "inf"], {}, 2, "animgen serve: error: --result-expiry-days must be between"),
            (["--max-video-seconds", "nan"], {}, 2, "--max-video-seconds must be between"),
            (["--upload-expiry-hours", "1e13"], {}, 2, "--upload-expiry-hours must be between"),
            (["--workers", "0"], {}, 2, "animgen serve: error: --workers must be between 1 and 256, got 0"),
            (["--port", "70000"], {}, 2, "--port must be 0..65535, got 70000"),
            ([], {"ANIMGEN_MAX_UPLOAD_MB": "inf"}, 1, "--max-upload-mb (environment variable ANIMGEN_MAX_UPLOAD_MB="),
            ([], {"ANIMGEN_WORKERS": "0"}, 1, "--workers (environment variable ANIMGEN_WORKERS='0') must be between 1"),
            (["--host", "999.1.1.1"], {}, 1, "cannot listen on 999.1.1.1:0")):
        proc = animgen("serve", "--data-dir", tmp_path / "bad", *(["--port", "0"] if "--port" not in args else []),
                       *args, env=env)
        lines = [x for x in proc.stderr.splitlines() if x.startswith("animgen")]  # gRPC logs its own lines first
        assert proc.returncode == code and "Traceback" not in proc.stderr and len(lines) == 1, proc.stderr
        assert named in lines[0], proc.stderr


def test_options_arrive_as_the_client_gave_them():
    """Fractional options cross the wire as float32 (29.97 -> 29.969999313354492): the server must run with the
    client's values, or its clip differs from a local run's."""
    from animgen_server.convert import options_from_proto, options_to_proto

    given = GenerateOptions(fps=29.97, speed=1.1, smoothing=0.7, keyframe_tolerance_degrees=0.3,
                            keyframe_tolerance_mm=0.7, start=0.1, end=2.35, crop=(640, 0, 640, 720))
    assert options_from_proto(options_to_proto(given)) == given
    assert options_from_proto(options_to_proto(GenerateOptions())).crop is None  # unset: the whole picture


def test_log_file_takes_the_log(tmp_path: Path, videos: Path):
    """--log-file: for a parent that cannot keep reading a pipe (the Unity Editor across script reloads)."""
    log = tmp_path / "logs" / "serve.log"
    log.parent.mkdir()
    server = ServerProcess(tmp_path / "data", "--log-file", str(log)).start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            job = c.start(c.upload(videos / "sports2d_run_sideview.mp4").upload_id,
                          service_pb2.GenerateOptions(generator=service_pb2.GENERATOR_ANALYTIC))
            c.wait(job.job_id)
    finally:
        assert server.stop() == 0
    text = log.read_text()
    assert "listening on 127.0.0.1:" in text and "ready: 1 local worker(s)" in text and f"job {job.job_id}" in text
    assert f"job {job.job_id}" not in server.output()  # not on stderr any more
    bad = animgen("serve", "--port", "0", "--data-dir", tmp_path / "d2", "--log-file", tmp_path / "no" / "x.log",
                  env={})
    assert bad.returncode == 2 and "--log-file" in bad.stderr and "Traceback" not in bad.stderr


def test_server_info_names_the_network_before_the_workers_are_ready(tmp_path: Path):
    """A client that asks as soon as the port opens (Unity's and Unreal's Check) hears the generator jobs will get."""
    server = ServerProcess(tmp_path / "data").start(wait_ready=False)
    try:
        with AnimGenClient(server.address, timeout=30) as c:
            info = c.info()
    finally:
        assert server.stop() == 0
    assert info.default_generator == service_pb2.GENERATOR_NETWORK
    assert [m.name for m in info.models] == ["analytic", "network"]


def test_serve_runs_the_given_model(tmp_path: Path, videos: Path):
    """`animgen serve --model`: the workers run these weights, GetServerInfo names them, and bad ones stop serve
    before anything is set up."""
    mine = weights_like_shipped(tmp_path / "mine.npz", "mine", scale=0.7)
    server = ServerProcess(tmp_path / "data", "--workers", "1", "--model", str(mine)).start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            assert {m.name: m.version for m in c.info().models}["network"] == "mine"  # the file's name
            job = c.start(c.upload(videos / "sports2d_run_sideview.mp4").upload_id,
                          service_pb2.GenerateOptions(formats=[service_pb2.OUTPUT_FORMAT_JSON]))
            assert c.wait(job.job_id).state == service_pb2.JOB_STATE_SUCCEEDED
            clip, _ = c.result(job.job_id)
    finally:
        assert server.stop() == 0
    assert clip.metadata["model"] == "mine"
    proc = animgen("serve", "--port", "0", "--data-dir", tmp_path / "other", "--model", tmp_path / "none.npz", env={})
    assert proc.returncode == 2 and proc.stderr.strip() == f"animgen serve: error: --model {tmp_path / 'none.npz'}: " \
                                                           "no such file"
    assert not (tmp_path / "other").exists()
    # Named by $ANIMGEN_WEIGHTS, as any bad environment value: one line, exit 1 (its workers had died and been
    # replaced for ever, each with a traceback).
    log = tmp_path / "serve.log"
    proc = animgen("serve", "--port", "0", "--data-dir", tmp_path / "other", "--log-file", log,
                   env={"ANIMGEN_WEIGHTS": str(tmp_path)})
    said = f"environment variable ANIMGEN_WEIGHTS={tmp_path}: a folder"
    assert proc.returncode == 1 and proc.stderr.strip() == f"animgen: error: {said}", proc.stderr
    assert not (tmp_path / "other").exists()
    # The log file, where the engines' Start local server sends its users, says it too.
    assert log.read_text().strip().endswith(f"ERROR animgen.server: {said}"), log.read_text()
