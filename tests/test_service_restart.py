"""Jobs survive the server: kill -9 mid-job and restart on the same store; a full queue; SIGTERM. Results expire."""

from __future__ import annotations

import re
import signal
import time

import grpc
import pytest
from service_support import (
    CANCEL_NEVER_ANSWERED,
    FIRST_ANSWER_LOST,
    ServerProcess,
    request_ids,
    start_job_hook,
    status_of,
)

from animgen.v1 import service_pb2
from animgen_ml.errors import Cancelled
from animgen_ml.pipeline import GenerateOptions
from animgen_server import convert
from animgen_server.client import AnimGenClient, ServiceError

S = service_pb2


def _opts(smoothing: float) -> S.GenerateOptions:
    return convert.options_to_proto(GenerateOptions(generator="analytic", smoothing=smoothing, formats=("json",)))


def test_kill9_restart_keeps_results_and_queue(tmp_path, videos):
    server = ServerProcess(tmp_path / "data", "--workers", "1", "--max-queued", "1").start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            short = c.upload(videos / "sports2d_run_sideview.mp4")
            done = c.start(short.upload_id, _opts(0.5))
            assert c.wait(done.job_id).state == S.JOB_STATE_SUCCEEDED
            before, _ = c.result(done.job_id)
            warned = [e.message for e in c.watch(done.job_id) if e.type == S.EVENT_TYPE_WARNING]
            assert warned  # the runner leaves the picture for a while

            long = c.upload(videos / "motionbert_boxing.mp4")
            cut = c.start(long.upload_id, _opts(0.5), request_id="cut-1")
            for ev in c.watch(cut.job_id):
                if ev.type == S.EVENT_TYPE_STAGE_PROGRESS:
                    break
            queued = c.start(short.upload_id, _opts(0.2), request_id="queued-1")
            assert queued.state == S.JOB_STATE_QUEUED
            # One job runs, one waits (--max-queued 1): the next is refused.
            assert status_of(lambda: c.start(short.upload_id, _opts(0.3))) == grpc.StatusCode.RESOURCE_EXHAUSTED
        server.kill9()

        server.start()
        with AnimGenClient(server.address, timeout=60) as c:
            jobs = {j.job_id: j for j in c.list()}
            assert jobs[done.job_id].state == S.JOB_STATE_SUCCEEDED
            after, _ = c.result(done.job_id)
            assert after.rotations.tolist() == before.rotations.tolist()
            assert [e.message for e in c.watch(done.job_id) if e.type == S.EVENT_TYPE_WARNING] == warned
            assert list(jobs[done.job_id].warnings) == warned  # ListJobs (and GetResult's job) carry them too
            assert jobs[cut.job_id].state == S.JOB_STATE_INTERRUPTED and jobs[cut.job_id].error.endswith("run it again")
            events = list(c.watch(cut.job_id))
            assert [e.type for e in events] == [S.EVENT_TYPE_STATE, S.EVENT_TYPE_INTERRUPTED]
            # The queued job resumed by itself; its request id, asked again after the restart, still names it.
            assert c.wait(queued.job_id).state == S.JOB_STATE_SUCCEEDED
            assert c.start(short.upload_id, _opts(0.2), request_id="queued-1").job_id == queued.job_id
            # StartJob again on the interrupted inputs runs that same job again: here another client's first.
            other = c.start(long.upload_id, _opts(0.5), request_id="other-1")
            assert other.job_id == cut.job_id and other.state in (S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING)
            # The first id still names it (its client's answer lost in the stop), and is still its own: with
            # another video it is refused.
            assert status_of(lambda: c.start(short.upload_id, _opts(0.5), request_id="cut-1")) == \
                grpc.StatusCode.INVALID_ARGUMENT
            again = c.start(long.upload_id, _opts(0.5), request_id="cut-1")
            assert again.job_id == cut.job_id and again.state in (S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING)
            assert len(c.list()) == len(jobs)  # no second job
            assert c.cancel(again.job_id).state == S.JOB_STATE_CANCELLED
        assert not [p for p in (tmp_path / "data" / "results").iterdir() if p.name.startswith(".")]
    finally:
        rc = server.stop(signal.SIGTERM)
    assert rc == 0, server.output()
    assert "animgen server stopped" in server.output()


def test_a_result_unused_for_the_expiry_period_is_deleted(tmp_path, videos):
    # 0.0001 days is 8.6 s (9): the result is fetched at once, then expires and GetResult says so.
    server = ServerProcess(tmp_path / "data", "--result-expiry-days", "0.0001").start()
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            assert c.info().limits.result_expiry_seconds == 9
            up = c.upload(videos / "sports2d_run_sideview.mp4")
            job = c.start(up.upload_id, _opts(0.5))
            assert c.wait(job.job_id).state == S.JOB_STATE_SUCCEEDED
            clip, _ = c.result(job.job_id)
            assert clip.frame_count > 0
            deadline = time.monotonic() + 60
            with pytest.raises(ServiceError, match="--result-expiry-days") as gone:
                while time.monotonic() < deadline:
                    c.result(job.job_id)
                    time.sleep(1)
            assert gone.value.code == grpc.StatusCode.NOT_FOUND
            assert [j.state for j in c.list() if j.job_id == job.job_id] == [S.JOB_STATE_SUCCEEDED]
            # The cache forgot it: the same inputs run again.
            again = c.start(up.upload_id, _opts(0.5))
            assert not again.cached and again.job_id != job.job_id
            c.cancel(again.job_id)
        assert not (tmp_path / "data" / "results" / job.job_id).exists()
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert "removed 1 expired result(s)" in server.output()


def test_a_full_disk_fails_uploads_and_jobs_by_name(tmp_path, videos):
    """The store's disk fills: an upload is refused as RESOURCE_EXHAUSTED, not UNKNOWN with a traceback; a job ends
    FAILED for its watchers even when the store cannot take its end (it stayed RUNNING for ever, its watch open and
    the queue stuck), and that end is written once there is room again."""
    import subprocess

    store = tmp_path / "store"
    store.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(store)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (it needs root): no disk to fill")
    server = ServerProcess(store, "--workers", "1")
    try:
        server.start()
        with AnimGenClient(server.address, timeout=60) as c:
            up = c.upload(videos / "sports2d_run_sideview.mp4")
            job = c.start(up.upload_id, convert.options_to_proto(GenerateOptions(generator="analytic",
                                                                                 formats=("json", "preview"))))
            filler = store / "filler"
            _fill(filler)  # while the job runs: its results have no room
            with pytest.raises(ServiceError) as refused:
                c.upload(videos / "motionbert_boxing.mp4")
            assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "the server cannot store the upload (No space left on device)" in refused.value.details
            with pytest.raises(ServiceError) as refused:
                c.start(up.upload_id, _opts(0.43))
            assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "the server cannot write its store (database or disk is full)" in refused.value.details
            ended = c.wait(job.job_id)
            assert ended.state == S.JOB_STATE_FAILED and ("disk is full" in ended.error
                                                          or "could not record" in ended.error), ended
            filler.unlink()
            again = c.start(up.upload_id, _opts(0.41))
            assert c.wait(again.job_id).state == S.JOB_STATE_SUCCEEDED
            listed = {j.job_id: j.state for j in c.list()}
            assert listed[job.job_id] == S.JOB_STATE_FAILED
    finally:
        try:
            if server.proc is not None:
                assert server.stop() == 0, server.output()
        finally:
            subprocess.run(["umount", "--lazy", str(store)], check=True)


def _fill(path) -> None:
    """Write zeros to `path` until its disk is full."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(1 << 20))
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.mark.parametrize("stop", ["kill9", "sigterm"])
def test_a_run_rides_out_a_restart_of_the_server(tmp_path, videos, stop):
    """The server goes away while `animgen generate --server` follows its job, and comes back on the same address (a
    crash and restart, a deploy): the run reaches it again, runs the job the stop interrupted again, converts the
    video, and says each warning once."""
    import json
    import subprocess
    import sys

    server = ServerProcess(tmp_path / "data", "--workers", "1").start()
    port = server.address.rsplit(":", 1)[1]
    server.args[server.args.index("--port") + 1] = port  # comes back where the client knows it
    video = videos / "motionbert_boxing.mp4"  # 10 s: long enough to be stopped mid-run
    log = tmp_path / "stderr.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "animgen_server.cli", "generate", str(video), "--server",
                                 server.address, "-o", str(tmp_path / "out"), "--generator", "analytic", "--format",
                                 "json", "--summary", str(tmp_path / "run.json")],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        with AnimGenClient(server.address, timeout=60) as c:
            deadline, running = time.monotonic() + 90, []
            while not running and time.monotonic() < deadline:
                running = [j for j in c.list() if j.state == S.JOB_STATE_RUNNING and j.progress > 0]
                time.sleep(0.1)
            assert running, server.output()
        if stop == "kill9":
            server.kill9()
        else:
            assert server.stop(signal.SIGTERM) == 0
        time.sleep(3)  # a restart takes a while: the run keeps trying meanwhile
        server.start()
        out, _ = proc.communicate(timeout=180)
        with AnimGenClient(server.address, timeout=60) as c:
            [job] = c.list()
    finally:
        rc = server.stop(signal.SIGTERM)
        if proc.poll() is None:
            proc.kill()
    assert rc == 0, server.output()
    lines = log.read_text().splitlines()
    assert proc.returncode == 0, lines
    name = video.name
    said = [line for line in lines if line.startswith(f"{name}: ")]
    lost, back = (said.index(f"{name}: {text}") for text in ("lost the server; trying to reach it again for up to 2 "
                                                             "min", "reached the server again"))
    assert lost < back and f"{name}: the server stopped while the job ran; running it again" in said, lines
    # The same job ran again, to the end; the files are its result.
    assert job.job_id == running[0].job_id and job.state == S.JOB_STATE_SUCCEEDED
    row = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["videos"][0]
    assert row["status"] == "converted" and row["frames"] == job.frames and "frames: " in out
    assert row["warnings"] == list(job.warnings) and len(set(row["warnings"])) == len(row["warnings"])
    warned = [line for line in lines if line.startswith("warning: ")]
    assert len(warned) == len(row["warnings"]), lines



def test_a_lost_server_is_waited_for_from_when_it_was_lost(monkeypatch):
    """`remote.reconnecting` around a call that runs long (a watch, a wait in a full queue) and then finds the server
    gone: the wait counts from then, not from the call's start; lost and back are said once each, and a second
    outage is said again; a server that stays away fails the call with its own error once the wait is over, and
    other errors are not waited on. The wait is the run's, not each video's: a later video whose server is still
    away fails at once."""
    from animgen_server import remote

    monkeypatch.setattr(remote, "RECONNECT_S", 1.0)
    monkeypatch.setattr(remote, "_servers", {})
    said: list[str] = []
    outage = remote.Outage("h:1", lambda event: said.append(event.message), None)
    down = ServiceError(grpc.StatusCode.UNAVAILABLE, "connection refused", "h:1")

    def calls(*answers):
        """A call that answers these in turn: seconds it runs before the server is gone, an error, or a result."""
        left = list(answers)

        def step():
            answer = left.pop(0)
            if isinstance(answer, float):
                time.sleep(answer)
                raise down
            if isinstance(answer, ServiceError):
                raise answer
            return answer
        return step

    t0 = time.monotonic()
    assert remote.reconnecting(calls(1.5, "done"), outage) == "done"  # lost after longer than the wait
    assert 1.5 < time.monotonic() - t0 < 5
    lost = "lost the server; trying to reach it again for up to"
    assert [m[:len(lost)] for m in said] == [lost, "reached the server again"]
    assert remote.reconnecting(calls(1.2, "again"), outage) == "again"
    assert said[2:] == said[:2]  # a second outage is said again
    refused = ServiceError(grpc.StatusCode.NOT_FOUND, "no job")
    t0 = time.monotonic()
    with pytest.raises(ServiceError) as e:
        remote.reconnecting(calls(refused), outage)
    assert e.value is refused and time.monotonic() - t0 < 0.5
    gave_up = "h:1: connection refused (tried to reach it again for 0.0166667 min) (UNAVAILABLE)"
    with pytest.raises(ServiceError) as e:
        remote.reconnecting(calls(*[down] * 10), outage)
    assert str(e.value) == gave_up and said[-1].startswith(lost)
    t0, later = time.monotonic(), []
    with pytest.raises(ServiceError) as e:  # the next video: the server has been away the whole wait already
        remote.reconnecting(calls(down, "never"), remote.Outage("h:1", lambda event: later.append(event), None))
    assert str(e.value) == gave_up and time.monotonic() - t0 < 0.5 and later == []  # no wait promised


def test_a_call_that_times_out_is_no_answer_from_the_server(monkeypatch):
    """A connection still being made times out too, so DEADLINE_EXCEEDED neither ends an outage nor says the server
    is back, as Unity and Unreal count it: StartJob lost with the server, then timing out, then answered says "reached
    the server again" at the answer; a call whose timeout ends it leaves the outage counting from when it began."""
    from animgen_server import remote

    monkeypatch.setattr(remote, "RECONNECT_S", 0.5)
    monkeypatch.setattr(remote, "_servers", {})
    down = ServiceError(grpc.StatusCode.UNAVAILABLE, "connection refused", "h:1")
    slow = ServiceError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", "h:1")

    class Server:
        """StartJob's answers in turn."""
        address = "h:1"

        def __init__(self, *answers) -> None:
            self.answers = list(answers)

        def start(self, upload_id, msg, request_id=None, timeout=None):
            answer = self.answers.pop(0)
            if isinstance(answer, ServiceError):
                raise answer
            return answer

    said: list[str] = []
    job = service_pb2.Job(job_id="j1", state=service_pb2.JOB_STATE_RUNNING)
    run = remote._Run(Server(down, slow, job), "walk.mp4", service_pb2.GenerateOptions(),
                      lambda event: said.append(event.message), None)
    run._start("u1")
    assert run.job == job
    assert said[0].startswith("lost the server") and len(said) == 3
    assert said[1:] == ["the server took over 30 s to start the job; asking again", "reached the server again"]
    said.clear()
    server = Server(down, slow)
    with pytest.raises(ServiceError) as e:
        remote.reconnecting(lambda: server.start("u1", None), remote.Outage("h:1", lambda ev: said.append(ev.message),
                                                                             None))
    assert e.value is slow and len(said) == 1 and said[0].startswith("lost the server")
    assert remote._servers["h:1"] is not None  # still away: the next call's wait goes on from then


def test_the_next_video_waits_for_a_server_restarted_between_videos_and_an_unknown_one_fails_at_once(tmp_path, videos):
    """A folder's run: the server stops after one video and is back a few seconds later; the next video's first call
    waits for it, as every call of a run on a server it has reached does. A server never reached (a wrong address)
    fails at once."""
    import threading

    from animgen_server.remote import generate_remote

    options = GenerateOptions(generator="analytic", formats=("json",))
    server = ServerProcess(tmp_path / "data", "--workers", "1").start()
    port = server.address.rsplit(":", 1)[1]
    server.args[server.args.index("--port") + 1] = port
    said: list[str] = []
    try:
        generate_remote(server.address, videos / "sports2d_run_sideview.mp4", tmp_path / "first", options)
        assert server.stop(signal.SIGTERM) == 0
        threading.Timer(3.0, server.start).start()
        files, job = generate_remote(server.address, videos / "motionbert_walk_toward_camera.mp4", tmp_path / "next",
                                     options, progress=lambda e: said.append(e.message) if e.kind == "notice" else None)
        assert job.state == S.JOB_STATE_SUCCEEDED and files["json"].is_file()
    finally:
        time.sleep(0.5)
        server.wait_for("server ready", 60)
        assert server.stop(signal.SIGTERM) == 0
    assert said[0].startswith("lost the server") and said[1] == "reached the server again", said
    t0 = time.monotonic()
    with pytest.raises(ServiceError) as e:
        generate_remote("127.0.0.1:1", videos / "sports2d_run_sideview.mp4", tmp_path / "never", options)
    assert e.value.code == grpc.StatusCode.UNAVAILABLE and time.monotonic() - t0 < 10, e.value


@pytest.mark.parametrize("answer", ["lost", "late"])
def test_a_start_whose_answer_does_not_come_runs_one_job(tmp_path, videos, monkeypatch, answer):
    """The server makes the job, but StartJob's answer is lost (UNAVAILABLE, as a dropped connection or a server gone
    loses it), or comes after the deadline a batch sent at once gives it (a stop waits for that answer): the run asks
    again under the same request id, is answered with that job, and converts; the server ran one job, not two."""
    from animgen_server import remote

    monkeypatch.setattr(remote, "START_TIMEOUT_S", 1.0)
    hook = FIRST_ANSWER_LOST if answer == "lost" else start_job_hook("await asyncio.sleep(3)")
    server = ServerProcess(tmp_path / "data", "--workers", "1", first=hook).start()
    said: list[str] = []
    try:
        files, job = remote.generate_remote(server.address, videos / "sports2d_run_sideview.mp4", tmp_path / "out",
                                            GenerateOptions(generator="analytic", formats=("json",)),
                                            progress=lambda e: said.append(e.message) if e.kind == "notice" else None,
                                            in_flight=remote.InFlight(lambda ids: ids) if answer == "late" else None)
        with AnimGenClient(server.address, timeout=60) as c:
            listed = c.list()
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert job.state == S.JOB_STATE_SUCCEEDED and files["json"].is_file()
    assert [j.job_id for j in listed] == [job.job_id], listed
    assert said[0] == {"lost": "lost the server; trying to reach it again for up to 2 min",
                       "late": "the server took over 1 s to start the job; asking again"}[answer], said
    asked = request_ids(server)
    assert len(asked) >= 2 and len(set(asked)) == 1 and re.fullmatch(r"[0-9a-f]{32}", asked[0]), asked



def test_a_server_gone_for_good_with_start_job_unanswered_says_it_may_have_made_the_job(tmp_path, videos, monkeypatch):
    """The server makes the job and is killed before it answers, and stays away past the wait: the run's error says
    the job may have been made, and where to find it; back on its store, the server has it."""
    from animgen_server import remote

    monkeypatch.setattr(remote, "RECONNECT_S", 3.0)
    monkeypatch.setattr(remote, "_servers", {})
    killed = start_job_hook('__import__("os").kill(__import__("os").getpid(), 9)')
    server = ServerProcess(tmp_path / "data", "--workers", "1", first=killed).start()
    try:
        with pytest.raises(ServiceError) as e:
            remote.generate_remote(server.address, videos / "sports2d_run_sideview.mp4", tmp_path / "out",
                                   GenerateOptions(generator="analytic", formats=("json",)))
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        assert str(e.value).endswith(f"(tried to reach it again for 0.05 min); {remote.MAY_HAVE_MADE_JOB} "
                                     "(UNAVAILABLE)"), e.value
        server.first = ""
        server.start()
        with AnimGenClient(server.address, timeout=60) as c:
            assert [j.video_name for j in c.list()] == ["sports2d_run_sideview.mp4"]
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()

def test_a_batch_stopped_while_start_job_is_unanswered_cancels_the_job_it_made(tmp_path, videos, monkeypatch):
    """A video of a batch sent at once (`--jobs`) whose StartJob times out after the server made the job, and the
    stop comes before it is answered: the job is asked for under the request id and cancelled, not left to run for
    nobody."""
    import threading

    from animgen_server import remote

    monkeypatch.setattr(remote, "START_TIMEOUT_S", 1.0)
    hook = start_job_hook("await asyncio.sleep(30)", "await asyncio.sleep(2)")  # every try times out; asked again: 2 s
    server = ServerProcess(tmp_path / "data", "--workers", "1", first=hook).start()
    in_flight = remote.InFlight(lambda ids: remote.cancel_jobs(server.address, ids))
    said: list[str] = []
    ended: list[BaseException] = []

    def run() -> None:
        try:
            remote.generate_remote(server.address, videos / "sports2d_dumbbell_lateral_raise.mp4", tmp_path / "out",
                                   GenerateOptions(generator="analytic", formats=("json",)),
                                   progress=lambda e: said.append(e.message), in_flight=in_flight)
        except BaseException as e:  # noqa: BLE001 - what ended the thread is the test's to see
            ended.append(e)

    thread = threading.Thread(target=run)
    try:
        thread.start()
        server.wait_for(" on upload ", 60)  # the job is made; its StartJob answers in 30 s, and each later try in 2
        in_flight.stop()
        thread.join(60)
        with AnimGenClient(server.address, timeout=60) as c:
            listed = c.list()
    finally:
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert not thread.is_alive() and len(ended) == 1 and isinstance(ended[0], Cancelled), (ended, said)
    [job] = listed
    assert job.state == S.JOB_STATE_CANCELLED and str(ended[0]) == f"job {job.job_id} was cancelled", (listed, said)
    assert in_flight.not_cancelled == [] and not any("may have started" in m for m in said), said
    assert len(set(request_ids(server))) == 1



def _generate_in_background(server: ServerProcess, video, out, log):
    """`animgen generate VIDEO --server` as a user runs it, its stderr to log: the process, to stop."""
    import subprocess
    import sys

    with open(log, "w") as err:
        return subprocess.Popen([sys.executable, "-m", "animgen_server.cli", "generate", str(video), "--server",
                                 server.address, "-o", str(out), "--generator", "analytic", "--format", "json"],
                                stdout=subprocess.DEVNULL, stderr=err)

def test_a_stop_while_start_job_is_unanswered_cancels_the_job_it_made(tmp_path, videos):
    """A stop (SIGTERM here, which the CLI takes as Ctrl-C: a CI runner may start it with SIGINT ignored) comes after
    the server made the job and before its answer: the run asks again under the same request id, has the job's id,
    and cancels it, instead of leaving it to run for nobody."""
    server = ServerProcess(tmp_path / "data", "--workers", "1", first=start_job_hook("await asyncio.sleep(3)")).start()
    log = tmp_path / "stderr.log"
    try:
        proc = _generate_in_background(server, videos / "motionbert_boxing.mp4", tmp_path / "out", log)
        made = server.wait_for(" on upload ", 60)  # logged as the job is made, 3 s before StartJob answers
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        with AnimGenClient(server.address, timeout=60) as c:
            listed = c.list()
    finally:
        if proc.poll() is None:
            proc.kill()
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert rc == 143, log.read_text()
    [job] = listed
    assert f"job {job.job_id} on upload" in made and job.state == S.JOB_STATE_CANCELLED, (listed, log.read_text())


def test_a_stop_whose_cancel_is_never_answered_ends_within_seconds(tmp_path, videos):
    """A stop (SIGTERM, taken as Ctrl-C) of a run whose server never answers CancelJob: the run ends after the stop's
    own wait (remote.STOP_WAIT_S), not never; the server has the request, so no warning says the job was not told."""
    server = ServerProcess(tmp_path / "data", "--workers", "1", first=CANCEL_NEVER_ANSWERED).start()
    log = tmp_path / "stderr.log"
    try:
        proc = _generate_in_background(server, videos / "motionbert_boxing.mp4", tmp_path / "out", log)
        server.wait_for(" on upload ", 60)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        rc = proc.wait(timeout=60)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            proc.kill()
        assert server.stop(signal.SIGTERM) == 0, server.output()
    assert rc == 143 and 4.5 < took < 20, (rc, took, log.read_text())
    assert "CancelJob job_id=" in server.output() and "could not cancel" not in log.read_text(), log.read_text()


def test_a_run_that_gives_up_on_a_frozen_server_names_the_job_it_left(tmp_path, videos, monkeypatch):
    """A server frozen mid-job (SIGSTOP): the run gave up after its wait without naming the job it left there, which
    runs on (or waits) once the server thaws; the message names it for `animgen cancel`. The client's keepalive takes
    40 s to find the frozen server."""
    from animgen_server import remote

    monkeypatch.setattr(remote, "RECONNECT_S", 1.0)
    monkeypatch.setattr(remote, "_servers", {})
    server = ServerProcess(tmp_path / "data").start()
    jobs: list[str] = []

    def progress(event) -> None:
        if not jobs and event.kind == "progress":
            jobs.append("frozen")
            assert server.proc is not None
            server.proc.send_signal(signal.SIGSTOP)

    try:
        with pytest.raises(ServiceError) as gave_up:
            remote.generate_remote(server.address, videos / "motionbert_boxing.mp4", tmp_path / "out" / "x",
                                   GenerateOptions(generator="analytic", formats=("json",)), progress=progress)
    finally:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGCONT)
        assert server.stop() == 0, server.output()
    job = re.search(r"job ([0-9a-f]{32}) was left on the server: `animgen cancel \1` cancels it", str(gave_up.value))
    assert job is not None and gave_up.value.code == grpc.StatusCode.UNAVAILABLE, gave_up.value
    assert job[1] in server.output()  # the server's own log names that job
