"""The local backend: a pool of long-lived worker processes (spawn context) that run animgen_ml.pipeline.

Each worker owns a duplex pipe (jobs in, events out) and a cancel Event. Cancelling sets the Event, which
pipeline.run checks at every progress report; a worker that has not stopped within CANCEL_GRACE_S is
killed and replaced. A worker that dies fails its job and is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing as mp
import os
import shutil
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

from animgen_ml.errors import AnimGenError
from animgen_server.backend import Backend, BackendEvent, EventSink, JobSpec

log = logging.getLogger("animgen.worker")
CANCEL_GRACE_S = 5.0
# A worker that dies this many times in a row before it is ready fails the server's start (its weights gone, a broken
# install): respawned for ever, the server had never become ready nor exited. Once serving, such a worker is started
# again after a wait that doubles up to RESPAWN_MAX_S, so that it does not spin.
START_TRIES = 3
RESPAWN_MAX_S = 30.0
CLIP_FILE = "_clip.json"  # the clip as the job made it, for GetResult (a stem never starts with "_")
# Stage modules imported before a worker says it is ready, so that the first job does not pay for them.
_WARM_MODULES = ("animgen_ml.pose", "animgen_ml.clean", "animgen_ml.generate", "animgen_ml.solver",
                 "animgen_ml.smooth", "animgen_ml.refine", "animgen_ml.export", "mediapipe")


def warm_up() -> str | None:
    """Imports the stages and loads the network (once per process); its name (as clips' metadata.model gives it),
    or None without weights. Used by these workers and by the Ray backend's."""
    import importlib

    for name in _WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from animgen_ml import model

    if not model.weights_available():
        return None
    return model.load_model().name


def _worker_main(index: int, conn: Connection, cancel: mp.synchronize.Event) -> None:
    """A worker process: warm up, say ready, then run jobs until told to stop (None) or the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the server, which stops us in order
    from animgen_server.native_logs import quiet_native_logs

    quiet_native_logs()  # the server's log shows its own lines and our Python logging, not MediaPipe's
    try:
        from animgen_ml import pipeline
        from animgen_ml.errors import AnimGenError, Cancelled

        network = warm_up()
    except BaseException as e:  # the server says why the worker did not start, not only its exit code
        with contextlib.suppress(Exception):
            conn.send(("failed", f"{type(e).__name__}: {e}"))
        raise
    server = mp.parent_process()
    # Stop a job when asked, and also when the server is gone (killed: nobody would take the result). The parent's
    # sentinel works on every platform; a changed getppid() never happens on Windows.
    should_stop = lambda: cancel.is_set() or (server is not None and not server.is_alive())  # noqa: E731
    conn.send(("ready", os.getpid(), network))
    while True:
        try:
            spec: JobSpec | None = conn.recv()
        except (EOFError, OSError):
            return
        if spec is None:
            return
        try:
            conn.send(_run(spec, conn, should_stop, pipeline, AnimGenError, Cancelled))
        except (BrokenPipeError, OSError):
            return


class _Sender(Protocol):
    """What _run reports progress through: a worker's pipe, or the Ray backend's _HubConn."""

    def send(self, event: BackendEvent, /) -> None: ...


def _run(spec: JobSpec, conn: _Sender, should_stop, pipeline, AnimGenError, Cancelled) -> BackendEvent:
    from animgen_ml.files import replace_retrying

    final = Path(spec.result_dir)
    tmp = final.parent / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    last = [0.0]

    def named(message: str) -> str:  # the client knows its video by name; the store's path means nothing to it
        return message.replace(spec.video, spec.name) if spec.name else message

    def progress(e) -> None:
        now = time.monotonic()
        # Per-frame progress is thinned to ~20 per second; stage boundaries and warnings always go.
        if e.kind == "progress" and now - last[0] < 0.05:
            return
        last[0] = now
        conn.send(BackendEvent(spec.job_id, "progress", e.stage, e.kind, float(e.fraction), float(e.overall),
                               named(e.message)))

    try:
        result = pipeline.run(spec.video, tmp / spec.stem, spec.options, progress=progress, cancel=should_stop,
                              info=spec.info, name=spec.name or None)
        result.clip.save_json(tmp / CLIP_FILE)
        files = {key: Path(p).name for key, p in result.files.items()}
        shutil.rmtree(final, ignore_errors=True)
        try:
            replace_retrying(tmp, final)
        except (OSError, AnimGenError) as e:  # the client knows nothing of the server's folders: said without them
            return BackendEvent(spec.job_id, "failed", message="the server could not store the result (its results "
                                f"folder is held by another program, {type(e).__name__}); run the job again")
        lm = result.landmarks
        return BackendEvent(spec.job_id, "done", overall=1.0, files=files, frames=lm.frame_count,
                            detected=lm.detection_rate)
    except Cancelled:
        return BackendEvent(spec.job_id, "cancelled", message="cancelled")
    except AnimGenError as e:
        return BackendEvent(spec.job_id, "failed", message=named(str(e)))
    except Exception as e:  # noqa: BLE001 - a bug in a stage must fail the job, not the worker
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):  # not a bug: said as what it is
            return BackendEvent(spec.job_id, "failed", message=f"the server's disk is full ({e.strerror})")
        traceback.print_exc()
        return BackendEvent(spec.job_id, "failed",
                            message=named(f"internal error in the pipeline: {type(e).__name__}: {e}"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    conn: Connection
    cancel: mp.synchronize.Event
    ready: bool = False
    error: str = ""  # why it failed to start, as it said before it died
    job: str | None = None
    result_dir: str = ""
    cancel_deadline: float | None = None


class LocalBackend(Backend):
    name = "local"

    def __init__(self, workers: int) -> None:
        self._n = workers
        self._ctx = mp.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._sink: EventSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._all_ready = asyncio.Event()
        self._early_deaths: dict[int, int] = {}  # worker index -> deaths in a row before it was ready
        # Pipes of replaced workers, closed by the reader thread between two waits: closed by the event loop, a pipe's
        # descriptor could be the replacement's new pipe by the time the reader, inside wait(), read the old one, and
        # it read half a message of the new worker ("invalid load key") and died.
        self._retired: list[Connection] = []
        self._retired_lock = threading.Lock()
        self._start_failed: str | None = None

    @property
    def capacity(self) -> int:
        return self._n

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers.values() if w.process.pid]

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        for i in range(self._n):
            self._spawn(i)
        self._reader = threading.Thread(target=self._read_loop, name="animgen-worker-reader", daemon=True)
        self._reader.start()
        self._watchdog = asyncio.create_task(self._cancel_watchdog())
        await self._all_ready.wait()
        if self._start_failed is not None:
            raise AnimGenError(f"the workers failed to start: {self._start_failed}")

    def _spawn(self, index: int) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        cancel = self._ctx.Event()
        p = self._ctx.Process(target=_worker_main, args=(index, child, cancel), name=f"animgen-worker-{index}",
                              daemon=True)
        p.start()
        child.close()
        self._workers[index] = _Worker(index, p, parent, cancel)

    def free_slots(self) -> int:
        return sum(1 for w in self._workers.values() if w.ready and w.job is None)

    def submit(self, spec: JobSpec) -> None:
        w = next((w for w in self._workers.values() if w.ready and w.job is None), None)
        if w is None:
            raise RuntimeError("no idle worker")  # the job manager never does this
        w.job, w.result_dir = spec.job_id, spec.result_dir
        # Cleared here, before the job goes: cleared by the worker once it had the job, a cancel that came between the
        # two was lost and the job ran to its end (a Cancel pressed right after Generate).
        w.cancel.clear()
        w.conn.send(spec)

    def cancel(self, job_id: str) -> None:
        for w in self._workers.values():
            if w.job == job_id and w.cancel_deadline is None:
                w.cancel.set()
                w.cancel_deadline = time.monotonic() + CANCEL_GRACE_S

    async def _cancel_watchdog(self) -> None:
        """Kills workers that ignore a cancel (a long stage that reports no progress)."""
        while not self._stop.is_set():
            await asyncio.sleep(0.5)
            for w in list(self._workers.values()):
                if w.job and w.cancel_deadline and time.monotonic() > w.cancel_deadline:
                    log.warning("worker %d did not stop job %s in %.0f s: killing it", w.index, w.job, CANCEL_GRACE_S)
                    job, w.job = w.job, None
                    self._replace(w)
                    self._emit(BackendEvent(job, "cancelled", message="cancelled (worker stopped)"))

    def _replace(self, w: _Worker, delay: float = 0.0, respawn: bool = True) -> None:
        with contextlib.suppress(Exception):
            w.process.kill()
        w.process.join(timeout=5)
        with self._retired_lock:
            self._retired.append(w.conn)
        if w.result_dir:  # what the killed job had written so far
            final = Path(w.result_dir)
            shutil.rmtree(final.parent / f".tmp-{final.name}", ignore_errors=True)
        if self._stop.is_set():
            return
        if not respawn or delay > 0:
            del self._workers[w.index]  # the reader thread must not wait on a dead process meanwhile
        if respawn and delay > 0:
            assert self._loop is not None
            self._loop.call_later(delay, self._respawn, w.index)
        elif respawn:
            self._spawn(w.index)

    def _respawn(self, index: int) -> None:
        if not self._stop.is_set() and index not in self._workers:
            self._spawn(index)

    # ---- the reader thread: pipes and process deaths -> the event loop ----

    def _read_loop(self) -> None:
        loop = self._loop
        assert loop is not None  # start() sets it before it starts this thread
        while not self._stop.is_set():
            self._close_retired()
            workers = list(self._workers.values())
            by_conn = {id(w.conn): w for w in workers}
            by_sentinel = {w.process.sentinel: w for w in workers}
            try:
                ready = wait([w.conn for w in workers] + list(by_sentinel), timeout=0.5)
            except (OSError, ValueError, TypeError):  # a pipe closed under us by close(): look again
                continue
            for obj in ready:
                if isinstance(obj, int):
                    w = by_sentinel[obj]
                    while True:  # drain what it sent before it died
                        try:
                            if not w.conn.poll():
                                break
                            msg = w.conn.recv()
                        except (EOFError, OSError, TypeError):  # TypeError: closed meanwhile by close()
                            break
                        loop.call_soon_threadsafe(self._on_message, w, msg)
                    loop.call_soon_threadsafe(self._on_death, w)
                    continue
                w = by_conn[id(obj)]
                try:
                    msg = w.conn.recv()  # obj, the pipe that is ready
                except (EOFError, OSError, TypeError):
                    continue  # the sentinel reports the death
                loop.call_soon_threadsafe(self._on_message, w, msg)

    def _close_retired(self) -> None:
        with self._retired_lock:
            retired, self._retired = self._retired, []
        for conn in retired:
            conn.close()

    def _on_message(self, w: _Worker, msg) -> None:
        if self._workers.get(w.index) is not w:
            return  # from a worker already replaced
        if isinstance(msg, tuple) and msg[0] == "failed":
            w.error = msg[1]
            return
        if isinstance(msg, tuple) and msg[0] == "ready":
            w.ready = True
            self._early_deaths[w.index] = 0
            self.network_model = msg[2]
            if all(x.ready for x in self._workers.values()):
                self._all_ready.set()
            self._emit(None)  # a worker became free: let the manager dispatch
            return
        if msg.kind in ("done", "failed", "cancelled"):
            w.job, w.cancel_deadline = None, None
        self._emit(msg)

    def _on_death(self, w: _Worker) -> None:
        if self._workers.get(w.index) is not w or self._stop.is_set():
            return
        code = w.process.exitcode
        job, w.job = w.job, None
        if w.ready:
            log.error("worker %d (pid %s) died with exit code %s", w.index, w.process.pid, code)
            self._replace(w)
        else:
            why = f"exit code {code}" + (f", {w.error}" if w.error else "")
            n = self._early_deaths[w.index] = self._early_deaths.get(w.index, 0) + 1
            if not self._all_ready.is_set() and n >= START_TRIES:  # start() raises it
                self._start_failed = f"worker {w.index} died {n} times before it was ready (last: {why})"
                log.error("%s", self._start_failed)
                self._replace(w, respawn=False)
                self._all_ready.set()
                return
            delay = 0.0 if not self._all_ready.is_set() else min(RESPAWN_MAX_S, 2.0 ** (n - 1))
            log.error("worker %d (pid %s) died before it was ready (%s), %d time(s) in a row: starting it again%s",
                      w.index, w.process.pid, why, n, f" in {delay:g} s" if delay else "")
            self._replace(w, delay)
        if job:
            self._emit(BackendEvent(job, "failed", message=f"the worker process died (exit code {code}); "
                                                          "the job can be started again"))

    def _emit(self, event: BackendEvent | None) -> None:
        if self._sink:
            self._sink(event)

    async def close(self) -> None:
        self._stop.set()
        if hasattr(self, "_watchdog"):
            self._watchdog.cancel()
        for w in self._workers.values():
            w.cancel.set()
            with contextlib.suppress(Exception):
                w.conn.send(None)
        deadline = time.monotonic() + 3
        for w in self._workers.values():
            await asyncio.to_thread(w.process.join, max(0.1, deadline - time.monotonic()))
            if w.process.is_alive():
                w.process.kill()
                w.process.join(2)
        if self._reader:  # ends within its 0.5 s wait: the pipes are closed after it, as a replaced worker's are
            await asyncio.to_thread(self._reader.join, 2)
        for w in self._workers.values():
            w.conn.close()
        self._close_retired()
