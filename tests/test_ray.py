"""The Ray backend on a real Ray cluster on loopback: a head node and one extra worker node (`ray start`), one
CPU each. A batch over a folder of real videos against the local run (identical clips), and the server with
`--backend ray`: a round trip, a cancel, and worker processes killed mid-job (retried once, then failed)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_tool
from service_support import ServerProcess

from animgen.v1 import service_pb2
from animgen_ml.clip import HumanoidClip
from animgen_ml.pipeline import GenerateOptions
from animgen_server import convert
from animgen_server.client import AnimGenClient
from animgen_server.ray_backend import CANCEL_GRACE_S, MAX_RETRIES, RUNNING_ON

RAY = str(Path(sys.executable).parent / "ray")
SHORT = "sports2d_run_sideview.mp4"  # 47 frames, 480x352
TALL = "mmhuman3d_3dpw_basketball.mp4"  # 40 frames, 1080x1920
LONG = "motionbert_boxing.mp4"  # 12 s: long enough to catch mid-run
FAST = GenerateOptions(generator="analytic", formats=("json",))
# The test cluster's own token (Ray's token authentication), whatever ~/.ray holds.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
ENV = dict(os.environ, **RAY_ENV)
FINAL = {service_pb2.EVENT_TYPE_DONE, service_pb2.EVENT_TYPE_FAILED, service_pb2.EVENT_TYPE_CANCELLED,
         service_pb2.EVENT_TYPE_INTERRUPTED}
STUCK_S = 120  # a job that has not ended by then is stuck


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([RAY, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node, 1 CPU each, on 127.0.0.1; `ray stop` whatever happens."""
    if not Path(RAY).is_file():
        pytest.fail(f"{RAY} not found: pip install ray (see pyproject.toml)")
    port = _free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000",
              "--disable-usage-stats"]
    try:
        head = _ray("start", "--head", f"--port={port}", "--include-dashboard=false", *common)
        assert head.returncode == 0, head.stdout + head.stderr
        node = _ray("start", f"--address=127.0.0.1:{port}", *common)
        assert node.returncode == 0, node.stdout + node.stderr
        yield f"127.0.0.1:{port}"
    finally:
        _ray("stop", "--force", timeout=60)


def _animgen(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animgen_server.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def _assert_same_clip(a: HumanoidClip, b: HumanoidClip) -> None:
    assert a.bones == b.bones and a.fps == b.fps
    for name in ("rest_offsets", "hips", "rotations", "contacts", "confidence"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), f"{name} differs"


# ---- batch: animgen generate DIR --ray ----

def test_batch_on_ray_matches_local_and_skips_up_to_date(cluster, videos, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in (SHORT, TALL):
        os.symlink(videos / name, src / name)
    # A trimmed copy: a different video file (its own frames) in the same batch.
    trim = subprocess.run([require_tool("ffmpeg"), "-v", "error", "-i", str(videos / SHORT), "-t", "1.0",
                           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(src / "run_trimmed.mp4")])
    assert trim.returncode == 0
    flags = ["--generator", "analytic", "--format", "json,bvh", "-q"]

    ray_run = _animgen("generate", str(src), "-o", str(tmp_path / "ray"), "--ray", cluster, *flags,
                       "--summary", str(tmp_path / "ray.json"))
    assert ray_run.returncode == 0, ray_run.stdout + ray_run.stderr
    assert "3 converted, 0 up to date, 0 failed" in ray_run.stdout, ray_run.stdout
    assert "videos/min" in ray_run.stdout and "frames/s" in ray_run.stdout
    # 3 videos on 2 one-CPU nodes: both nodes work, and a worker process that loaded the models runs another video.
    workers = [line.split()[-1] for line in ray_run.stdout.splitlines() if " converted " in line]
    assert len(workers) == 3 and len({w.split("/")[0] for w in workers}) == 2, ray_run.stdout
    loads = int(ray_run.stdout.split("models loaded by ")[1].split()[0])
    assert loads < 3 and loads == len(set(workers)), ray_run.stdout
    local = _animgen("generate", str(src), "-o", str(tmp_path / "local"), *flags, "--summary",
                     str(tmp_path / "local.json"))
    assert local.returncode == 0, local.stderr
    # Their --summary: the same videos, frames and warnings; the Ray one names each video's worker.
    ray_rows, local_rows = (json.loads((tmp_path / f"{k}.json").read_text(encoding="utf-8"))["videos"]
                            for k in ("ray", "local"))
    assert [(Path(r["video"]).name, r["status"], r["frames"], r["warnings"]) for r in ray_rows] == \
        [(Path(r["video"]).name, r["status"], r["frames"], r["warnings"]) for r in local_rows]
    assert sorted(r["ray_worker"] for r in ray_rows) == sorted(workers)
    assert all(Path(p).is_file() for r in ray_rows for p in r["outputs"].values())

    for stem in ("mmhuman3d_3dpw_basketball", "run_trimmed", "sports2d_run_sideview"):
        a = HumanoidClip.load_json(tmp_path / "ray" / f"{stem}.json")
        b = HumanoidClip.load_json(tmp_path / "local" / f"{stem}.json")
        _assert_same_clip(a, b)
        assert (tmp_path / "ray" / f"{stem}.bvh").read_bytes() == (tmp_path / "local" / f"{stem}.bvh").read_bytes()
    frames = HumanoidClip.load_json(tmp_path / "ray" / "run_trimmed.json").frame_count
    assert 25 <= frames <= 32, f"the 1 s copy should have ~30 frames, has {frames}"

    # Again: everything up to date, nothing submitted; a broken video fails alone with a one-line reason.
    (src / "broken.mp4").write_bytes(b"not a video")
    again = _animgen("generate", str(src), "-o", str(tmp_path / "ray"), "--ray", cluster, *flags,
                     "--summary", str(tmp_path / "again.json"))
    assert again.returncode == 1, again.stdout + again.stderr
    assert "0 converted, 3 up to date, 1 failed" in again.stdout, again.stdout
    rows = json.loads((tmp_path / "again.json").read_text(encoding="utf-8"))["videos"]
    assert [r["status"] for r in rows] == ["failed", "skipped", "skipped", "skipped"]
    assert [r["warnings"] for r in rows[1:]] == [r["warnings"] for r in ray_rows]
    assert "broken.mp4" in again.stderr


def test_batch_bad_ray_address_is_a_usage_error(videos, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    os.symlink(videos / SHORT, src / SHORT)
    r = _animgen("generate", str(src), "-o", str(tmp_path / "out"), "--ray", f"127.0.0.1:{_free_port()}",
                 "--generator", "analytic", "-q", timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--ray" in r.stderr and "cannot connect" in r.stderr
    assert not list((tmp_path / "out").glob("*.glb"))


# ---- the server with --backend ray ----

def test_serve_bad_ray_address_is_a_one_line_error(tmp_path):
    r = _animgen("serve", "--backend", "ray", "--ray-address", f"127.0.0.1:{_free_port()}", "--port", "0",
                 "--data-dir", str(tmp_path / "srv"), timeout=60)
    assert r.returncode != 0
    lines = (r.stdout + r.stderr).strip().splitlines()
    assert len(lines) == 1 and "no Ray head node answers" in lines[0], lines


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("ray_server"), "--backend", "ray", "--ray-address", cluster,
                      "--workers", "2", env=RAY_ENV).start()
    yield s
    rc = s.stop()
    assert rc == 0, s.output()
    assert "animgen server stopped" in s.output()


@pytest.fixture(scope="module")
def client(server):
    with AnimGenClient(server.address, timeout=60) as c:
        yield c


def _events(client: AnimGenClient, job_id: str, on_event=None) -> list[service_pb2.JobEvent]:
    """Every event of the job up to its final one; fails if the job has not ended in STUCK_S."""
    out = []
    stream = client.stub.WatchJob(service_pb2.WatchJobRequest(job_id=job_id), timeout=STUCK_S)
    for ev in stream:
        out.append(ev)
        if on_event:
            on_event(ev)
        if ev.type in FINAL:
            break
    return out


def _start(client, video: Path, options: GenerateOptions) -> service_pb2.Job:
    up = client.upload(video)
    return client.start(up.upload_id, convert.options_to_proto(options, None))


def _no_partial_results(server) -> None:
    left = [p.name for p in (server.data_dir / "results").iterdir() if p.name.startswith(".tmp-")] \
        if (server.data_dir / "results").is_dir() else []
    assert left == [], f"partial results left behind: {left}"


def test_server_round_trip_matches_local(server, client, videos, tmp_path):
    from animgen_ml import pipeline

    info = client.info()
    assert info.backend == "ray" and info.limits.max_concurrent_jobs == 2
    job = _start(client, videos / SHORT, FAST)
    events = _events(client, job.job_id)
    assert events[-1].type == service_pb2.EVENT_TYPE_DONE, events[-1]
    assert any(e.message.startswith(RUNNING_ON) for e in events), "no event from the Ray worker"
    stages = {e.stage for e in events if e.type == service_pb2.EVENT_TYPE_STAGE_FINISHED}
    assert {"pose", "generate", "export"} <= stages, stages
    clip, files = client.result(job.job_id, tmp_path / "remote")
    assert clip.frame_count == 47
    # The JSON file keeps full precision (the wire clip is float32): it equals a local run's, array for array.
    local = pipeline.run(videos / SHORT, tmp_path / "local", FAST)
    _assert_same_clip(HumanoidClip.load_json(files["json"]), local.clip)


def test_server_cancel_stops_the_ray_task(server, client, videos):
    job = _start(client, videos / LONG, FAST)
    for ev in client.stub.WatchJob(service_pb2.WatchJobRequest(job_id=job.job_id), timeout=STUCK_S):
        if ev.stage == "pose" and ev.progress > 0.05:
            break
    t0 = time.monotonic()
    cancelled = client.cancel(job.job_id)
    assert cancelled.state == service_pb2.JOB_STATE_CANCELLED, cancelled
    assert time.monotonic() - t0 < 10
    _no_partial_results(server)
    # The slot is free again: a new job runs to the end.
    again = _start(client, videos / SHORT, GenerateOptions(generator="analytic", formats=("json",), smoothing=0.3))
    assert _events(client, again.job_id)[-1].type == service_pb2.EVENT_TYPE_DONE


def test_server_cancel_kills_a_hung_worker(server, client, videos):
    """A worker that cannot stop by itself (SIGSTOPped: no progress reports) is killed with ray.cancel(force=True)
    after the grace period; the job ends CANCELLED and the next job runs."""
    job = _start(client, videos / LONG, GenerateOptions(generator="analytic", formats=("json",), smoothing=0.1))
    pid = 0
    for ev in client.stub.WatchJob(service_pb2.WatchJobRequest(job_id=job.job_id), timeout=STUCK_S):
        if ev.message.startswith(RUNNING_ON):
            pid = int(ev.message.split()[-1])
        if pid and ev.stage == "pose" and ev.stage_progress > 0.05:
            break
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        cancelled = client.cancel(job.job_id)  # the server waits up to 10 s for the end
        assert cancelled.state == service_pb2.JOB_STATE_CANCELLED, cancelled
        assert CANCEL_GRACE_S <= time.monotonic() - t0 < 10
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "the hung worker process is still there"
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    _no_partial_results(server)
    again = _start(client, videos / SHORT, GenerateOptions(generator="analytic", formats=("json",), smoothing=0.1))
    assert _events(client, again.job_id)[-1].type == service_pb2.EVENT_TYPE_DONE


def _kill_each_run(client, job_id: str, runs_to_kill: int) -> tuple[list[service_pb2.JobEvent], list[int]]:
    """Follows the job; SIGKILLs the Ray worker process of each of its first `runs_to_kill` runs mid-pose."""
    killed: list[int] = []
    current = [0]

    def on_event(ev) -> None:
        if ev.message.startswith(RUNNING_ON):
            current[0] = int(ev.message.split()[-1])
        elif current[0] and current[0] not in killed and len(killed) < runs_to_kill and ev.stage == "pose" \
                and ev.type == service_pb2.EVENT_TYPE_STAGE_PROGRESS and ev.stage_progress > 0.1:
            assert "ray::" in Path(f"/proc/{current[0]}/cmdline").read_bytes().decode(errors="replace")
            os.kill(current[0], signal.SIGKILL)
            killed.append(current[0])

    return _events(client, job_id, on_event), killed


def test_server_worker_killed_mid_job_is_retried_then_fails(server, client, videos):
    options = GenerateOptions(generator="analytic", formats=("json",), end=4.0)
    # Killed once: Ray runs the job again in a new worker process and it succeeds.
    job = _start(client, videos / LONG, options)
    events, killed = _kill_each_run(client, job.job_id, runs_to_kill=1)
    assert len(killed) == 1
    assert events[-1].type == service_pb2.EVENT_TYPE_DONE, events[-1]
    pids = [int(e.message.split()[-1]) for e in events if e.message.startswith(RUNNING_ON)]
    assert len(pids) == 2 and pids[1] != killed[0], pids
    assert client.result(job.job_id)[0].frame_count > 100

    # Killed on every run: after MAX_RETRIES retries the job FAILS, with a reason; it is not lost.
    job = _start(client, videos / LONG, GenerateOptions(generator="analytic", formats=("json",), end=4.0,
                                                        smoothing=0.2))
    events, killed = _kill_each_run(client, job.job_id, runs_to_kill=1 + MAX_RETRIES)
    assert len(killed) == 1 + MAX_RETRIES
    assert events[-1].type == service_pb2.EVENT_TYPE_FAILED, events[-1]
    assert "died" in events[-1].message
    row = [j for j in client.list(limit=10) if j.job_id == job.job_id][0]
    assert row.state == service_pb2.JOB_STATE_FAILED
    _no_partial_results(server)
    assert "worker died" in server.output()

