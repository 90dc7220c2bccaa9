"""The Ray backend: every job is one Ray task on a Ray cluster, behind the same Backend seam as the local pool.

- Files, not bytes: a job reads its video and writes its results by path (JobSpec.video, JobSpec.result_dir),
  so every Ray node must see the server's --data-dir at the same path (NFS or similar). The driver never holds
  a video or a result in memory.
- Models load once per worker process: Ray keeps its worker processes between tasks, and `_warm_worker`
  imports the stages and loads the network into module globals on the first task a process runs.
- Progress: the task pushes its events to a small `_EventHub` actor; the server polls the hub and turns them
  into BackendEvents on its event loop. The push answers whether the job was cancelled.
- Cancel: the hub flags the job, the task stops at its next progress report (its worker stays warm); a task
  still running CANCEL_GRACE_S later is killed with ray.cancel(force=True).
- A worker process or node that dies: Ray runs the task again once (MAX_RETRIES); when that one dies too
  the job fails with a message that says so. The job store stays the single source of truth: the backend
  only reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from animgen_server.backend import Backend, BackendEvent, EventSink, JobSpec

log = logging.getLogger("animgen.ray")
CANCEL_GRACE_S = 3.0
MAX_RETRIES = 1  # runs of a job after its worker died (Ray "system failures" only; a pipeline error is final)
POLL_S = 0.1
LOST_AFTER_S = 15.0  # the cluster unreachable this long: running jobs fail
RUNNING_ON = "running on Ray node"  # the first event of every run of a job: where it runs

# ---- inside a Ray worker process ----

_warm: dict[str, str | None] = {}  # set once per worker process: {"network": name or None}


def _warm_worker() -> str | None:
    """Imports the stages and loads the network once per worker process; returns the network's name."""
    if "network" not in _warm:
        from animgen_server.worker import warm_up

        _warm["network"] = warm_up()
    return _warm["network"]


def _is_warm() -> bool:
    """Whether this worker process has loaded the models (a function, so that tasks read this module's state:
    a remote function's own globals are a pickled copy)."""
    return "network" in _warm


@ray.remote(num_cpus=0)
def _probe() -> tuple[str | None, int, str]:
    """Warms one worker process and says what it loaded."""
    return _warm_worker(), os.getpid(), ray.get_runtime_context().get_node_id()


class _HubConn:
    """What worker._run sends progress through: pushes each event to the hub and learns of a cancel."""

    def __init__(self, hub, job_id: str) -> None:
        self.hub, self.job_id, self.cancelled = hub, job_id, False

    def send(self, event: BackendEvent) -> None:
        if ray.get(self.hub.push.remote(event)):
            self.cancelled = True


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _run_job(spec: JobSpec, hub) -> BackendEvent:
    """One job in a Ray worker: the same code path as a local worker (worker._run), with progress via the hub."""
    from animgen_ml import pipeline
    from animgen_ml.errors import AnimGenError, Cancelled
    from animgen_server.worker import _run

    _warm_worker()
    if not Path(spec.video).is_file():
        node = ray.get_runtime_context().get_node_id()[:8]
        return BackendEvent(spec.job_id, "failed", message=f"{spec.name}: the upload is not visible on Ray node "
                                                           f"{node}; every node needs the server's --data-dir at the "
                                                           "same path")
    conn = _HubConn(hub, spec.job_id)
    node = ray.get_runtime_context().get_node_id()[:8]
    conn.send(BackendEvent(spec.job_id, "progress", message=f"{RUNNING_ON} {node} pid {os.getpid()}"))
    return _run(spec, conn, lambda: conn.cancelled, pipeline, AnimGenError, Cancelled)


@ray.remote(num_cpus=0)
class _EventHub:
    """Progress events from running jobs, waiting for the driver, and the set of cancelled jobs."""

    def __init__(self) -> None:
        self.events: list[BackendEvent] = []
        self.cancelled: set[str] = set()

    def push(self, event: BackendEvent) -> bool:
        self.events.append(event)
        return event.job_id in self.cancelled

    def cancel(self, job_id: str) -> None:
        self.cancelled.add(job_id)

    def forget(self, job_id: str) -> None:
        self.cancelled.discard(job_id)

    def drain(self) -> list[BackendEvent]:
        out, self.events = self.events, []
        return out


# ---- in the server ----

@dataclass
class _Running:
    spec: JobSpec
    ref: ray.ObjectRef
    cancel_deadline: float | None = None
    forced: bool = False


def connect(address: str | None) -> None:
    """ray.init on an existing cluster (ADDRESS or "auto"), or a private one-machine cluster for "local"."""
    if ray.is_initialized():
        return
    from animgen_ml import model

    kwargs: dict = dict(logging_level=logging.WARNING, log_to_driver=False, configure_logging=False)
    if os.environ.get(model.WEIGHTS_ENV):  # --model: Ray's workers do not inherit this process's environment
        kwargs["runtime_env"] = {"env_vars": {model.WEIGHTS_ENV: os.environ[model.WEIGHTS_ENV]}}
    if address in (None, "", "local"):
        ray.init(include_dashboard=False, **kwargs)
        return
    check_reachable(address)
    ray.init(address=address, **kwargs)


def check_reachable(address: str | None) -> None:
    """Raises ConnectionError (one line) when nothing listens at a HOST:PORT Ray address: ray.init would retry
    an unreachable head for minutes."""
    host, _, port = (address or "").rpartition(":")
    if address and host and port.isdigit() and "://" not in address:
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise ConnectionError(f"Ray address {address}: no Ray head node answers there ({e.strerror or e}); "
                                  "start one with `ray start --head`") from None


class RayBackend(Backend):
    name = "ray"

    def __init__(self, address: str | None, workers: int) -> None:
        check_reachable(address)  # before the server starts: a bad address is a one-line error, exit 2
        self.address, self._n = address, workers
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._hub: Any = None  # the _EventHub actor (Ray types an actor handle's methods as Never)
        self._runs: dict[str, int] = {}  # job -> runs started (a second one: Ray retried it)

    @property
    def capacity(self) -> int:
        return self._n

    def free_slots(self) -> int:
        return 0 if self._hub is None else self._n - len(self._running)

    async def start(self, sink: EventSink) -> None:
        self._sink, self._loop = sink, asyncio.get_running_loop()
        # Off the main thread, so that ray.init leaves the server's SIGTERM handler (a graceful stop) alone.
        await asyncio.to_thread(self._connect)
        self._poller = threading.Thread(target=self._poll_loop, name="animgen-ray-poller", daemon=True)
        self._poller.start()

    def _new_hub(self):
        """The hub lives on the server's own node: it goes down only with the server."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        return _EventHub.options(scheduling_strategy=here).remote()

    def _connect(self) -> None:
        connect(self.address)
        self._hub = self._new_hub()
        self.network_model, pid, node = ray.get(_probe.remote())
        cpus = int(ray.cluster_resources().get("CPU", 0))
        log.info("Ray cluster at %s: %d node(s), %d CPU(s); %d job(s) at once; network: %s",
                 self.address or "local", len([n for n in ray.nodes() if n["Alive"]]), cpus, self._n,
                 self.network_model or "none (analytic solver)")
        if cpus < self._n:
            log.warning("the Ray cluster has %d CPU(s) for %d jobs at once: jobs will wait in Ray", cpus, self._n)

    def submit(self, spec: JobSpec) -> None:
        if self.free_slots() <= 0:
            raise RuntimeError("no free slot")  # the job manager never does this
        ref = _run_job.remote(spec, self._hub)
        with self._lock:
            self._running[spec.job_id] = _Running(spec, ref)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            r = self._running.get(job_id)
            if r is None or r.cancel_deadline is not None:
                return
            r.cancel_deadline = time.monotonic() + CANCEL_GRACE_S
        self._hub.cancel.remote(job_id)

    # ---- the poller thread: hub events and finished tasks -> the event loop ----

    def _poll_loop(self) -> None:
        failing_since = None
        while not self._stop.is_set():
            try:
                self._poll_once()
                failing_since = None
            except Exception as e:  # noqa: BLE001 - a lost connection must not stop the poller silently
                if self._stop.is_set():
                    return
                log.exception("polling the Ray cluster failed; trying again")
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > LOST_AFTER_S:  # jobs end, they do not hang in RUNNING
                    with self._lock:
                        running = list(self._running.values())
                    for r in running:
                        self._post(BackendEvent(r.spec.job_id, "failed", message=f"lost the Ray cluster at "
                                                f"{self.address} ({type(e).__name__}); start the job again"))
                time.sleep(1.0)

    def _poll_once(self) -> None:
        with self._lock:
            refs = {r.ref: r for r in self._running.values()}
        ready: list[ray.ObjectRef] = []
        if refs:
            ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=POLL_S)
        else:
            time.sleep(POLL_S)
        # A task pushes its last event (synchronously) before it returns: drain after the wait loses nothing.
        try:
            for ev in ray.get(self._hub.drain.remote(), timeout=10):
                self._post(ev)
        except ray.exceptions.RayError as e:  # progress is lost, results are not: jobs still end
            log.error("the progress hub failed (%s): starting a new one", type(e).__name__)
            self._hub = self._new_hub()
        for ref in ready:
            r = refs[ref]
            self._post(self._final_event(r))
            self._hub.forget.remote(r.spec.job_id)
        now = time.monotonic()
        for r in refs.values():
            if r.ref not in ready and r.cancel_deadline and now > r.cancel_deadline and not r.forced:
                log.warning("job %s did not stop in %.0f s: killing its Ray task", r.spec.job_id, CANCEL_GRACE_S)
                r.forced = True
                ray.cancel(r.ref, force=True)

    def _final_event(self, r: _Running) -> BackendEvent:
        job = r.spec.job_id
        try:
            return ray.get(r.ref)
        except ray.exceptions.TaskCancelledError:
            return BackendEvent(job, "cancelled", message="cancelled (Ray task stopped)")
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.OwnerDiedError,
                ray.exceptions.ObjectLostError) as e:
            if r.forced:
                return BackendEvent(job, "cancelled", message="cancelled (Ray worker stopped)")
            return BackendEvent(job, "failed", message=f"the Ray worker died ({type(e).__name__}) and the "
                                f"{MAX_RETRIES} retry died too; the job can be started again")
        except ray.exceptions.RayError as e:
            return BackendEvent(job, "failed", message=f"Ray error: {type(e).__name__}: {str(e).splitlines()[0]}")
        finally:
            final = Path(r.spec.result_dir)  # what a killed task had written so far (shared filesystem)
            shutil.rmtree(final.parent / f".tmp-{final.name}", ignore_errors=True)

    def _post(self, ev: BackendEvent) -> None:
        assert self._loop is not None  # start() sets it before it starts the poller
        self._loop.call_soon_threadsafe(self._deliver, ev)

    def _deliver(self, ev: BackendEvent) -> None:
        """On the event loop: events of jobs still running; a final event frees the slot."""
        if self._stop.is_set() or ev.job_id not in self._running:
            return
        if ev.message.startswith(RUNNING_ON):
            self._runs[ev.job_id] = self._runs.get(ev.job_id, 0) + 1
            if self._runs[ev.job_id] > 1:
                log.warning("job %s: its Ray worker died; Ray runs it again (%s)", ev.job_id, ev.message)
        if ev.kind in ("done", "failed", "cancelled"):
            self._runs.pop(ev.job_id, None)
            with self._lock:
                del self._running[ev.job_id]
        if self._sink:
            self._sink(ev)

    async def close(self) -> None:
        self._stop.set()
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for r in running:
            with contextlib.suppress(Exception):
                ray.cancel(r.ref, force=True)
        if self._poller:
            await asyncio.to_thread(self._poller.join, 3)
        with contextlib.suppress(Exception):
            ray.shutdown()
