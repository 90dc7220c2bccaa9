"""Test support for the service suites: a real `animgen serve` subprocess on loopback, and helpers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc

READY_TIMEOUT_S = 120


class ServerProcess:
    """`python -m animgen_server.cli serve --port 0 ...` with its output collected; .address once listening.
    first: Python run in the server's process before it serves (a limit too long to wait for in a test, shortened)."""

    def __init__(self, data_dir: Path, *args: str, env: dict[str, str] | None = None, first: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.args = ["--port", "0", "--data-dir", str(data_dir), "--log-level", "INFO", *args]
        self.env = dict(os.environ, **(env or {}))
        self.first = first
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.address = ""

    def start(self, wait_ready: bool = True) -> ServerProcess:
        self.lines = []
        serve = (["-c", f"{self.first}\nimport sys\nfrom animgen_server.cli import main\n"
                  "sys.exit(main(['serve', *sys.argv[1:]]))"] if self.first else ["-m", "animgen_server.cli", "serve"])
        self.proc = subprocess.Popen([sys.executable, *serve, *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env)
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for("listening on", 30)
        self.address = line.split("listening on ")[1].split()[0]
        if wait_ready:
            self.wait_for("server ready", READY_TIMEOUT_S)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> str:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self.proc.poll() is not None and not any(text in x for x in self.lines):
                time.sleep(0.2)
                raise RuntimeError(f"the server exited ({self.proc.returncode}) before {text!r}:\n{self.output()}")
            time.sleep(0.05)
        raise TimeoutError(f"no {text!r} from the server in {timeout} s:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        """The server's child processes (its workers), from /proc."""
        assert self.proc is not None
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:
                pids.append(int(stat.parent.name))
        return pids

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL the server alone (as a crash would); its orphaned workers notice and stop."""
        workers = self.worker_pids()
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.1)
        assert not [p for p in workers if _alive(p)], "the killed server's workers did not stop"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cpu_ticks(pid: int) -> int:
    """User + system CPU ticks a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def status_of(call) -> grpc.StatusCode:
    """The status code a failing call raised (as a ServiceError or a raw RpcError)."""
    try:
        call()
    except grpc.RpcError as e:
        return e.code()
    except Exception as e:  # noqa: BLE001
        code = getattr(e, "code", None)
        if code is None:
            raise
        return code
    raise AssertionError("the call succeeded")


def start_job_hook(first: str, later: str = "pass") -> str:
    """Python for ServerProcess(first=...): the server's StartJob makes its job as ever, then, before it answers, runs
    `first` (an async statement: `await asyncio.sleep(3)`, `await context.abort(...)`) on its first call and `later`
    on the others; each call prints its request id (request_ids reads them)."""
    return f"""
import asyncio, grpc
from animgen_server import server as _server
_start, _calls = _server.AnimGenService.StartJob, []
async def _hooked(self, request, context):
    print(f"StartJob request_id={{request.request_id!r}}", flush=True)
    job = await _start(self, request, context)
    _calls.append(request.request_id)
    if len(_calls) == 1:
        {first}
    else:
        {later}
    return job
_server.AnimGenService.StartJob = _hooked
"""


# The first StartJob's answer is lost after the job was made, as a dropped connection, or a server gone, would lose it.
FIRST_ANSWER_LOST = start_job_hook(
    'await context.abort(grpc.StatusCode.UNAVAILABLE, "connection dropped after the job was made")')


def request_ids(server: ServerProcess) -> list[str]:
    """The request ids of the StartJob calls of a server hooked by start_job_hook, in order."""
    return re.findall(r"^StartJob request_id='([^']*)'$", server.output(), re.M)



# CancelJob prints the job it was asked to cancel, and never answers (a server wedged, or a worker slow to stop).
CANCEL_NEVER_ANSWERED = """
import asyncio
from animgen_server import server as _server
async def _never_answered(self, request, context):
    print(f"CancelJob job_id={request.job_id!r}", flush=True)
    await asyncio.sleep(3600)
_server.AnimGenService.CancelJob = _never_answered
"""
