"""The seam "where jobs run": the job manager hands a JobSpec to a Backend and hears back through events.

The local backend (worker.LocalBackend) runs jobs in a pool of worker processes on this machine; a Ray
backend can sit behind the same interface. A backend only runs what it is given: queueing, the store,
the cache and the event fan-out stay in the job manager.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field

from animgen_ml.pipeline import GenerateOptions
from animgen_ml.video import VideoInfo


@dataclass
class JobSpec:
    job_id: str
    video: str  # path of the uploaded video, readable by the backend
    result_dir: str  # where the results must appear (all at once, by rename); base name inside: `stem`
    stem: str
    options: GenerateOptions
    info: VideoInfo | None = None  # the video's video.probe when StartJob made it (the worker need not probe again)
    name: str = ""  # the uploaded file's own name: messages and the clip say it, never the store's path


@dataclass
class BackendEvent:
    """What a backend reports about a job, in order; the last one is done, failed or cancelled."""

    job_id: str
    kind: str  # "progress" | "done" | "failed" | "cancelled"
    stage: str = ""
    stage_kind: str = ""  # pipeline ProgressEvent.kind: started | progress | finished | warning
    fraction: float = 0.0  # of the stage
    overall: float = 0.0  # of the job
    message: str = ""
    files: dict[str, str] = field(default_factory=dict)  # done: result key -> file name in result_dir
    frames: int = 0  # done: the video's frames the pose stage read
    detected: float = 0.0  # done: the share of them with a person


EventSink = Callable[[BackendEvent | None], None]


class Backend(abc.ABC):
    """Runs jobs. Every method is called from the server's event loop, and the sink is called there too."""

    name: str = "?"
    network_model: str | None = None  # the network the workers loaded (None: analytic solver only); set by start()

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many jobs can run at once."""

    @abc.abstractmethod
    def free_slots(self) -> int:
        """How many jobs could be submitted now (workers ready and idle)."""

    @abc.abstractmethod
    async def start(self, sink: EventSink) -> None:
        """Starts the workers; returns once they can take jobs (models loaded). The sink also gets None
        whenever a slot frees up without a job event (a replaced worker became ready)."""

    @abc.abstractmethod
    def submit(self, spec: JobSpec) -> None:
        """Runs a job now; called only while fewer than `capacity` jobs run."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Stops a running job for real; a "cancelled" event follows (or "done"/"failed" if it was too late)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stops every worker (running jobs are cut off and report nothing more)."""


def make_backend(name: str, workers: int) -> Backend:
    if name == "local":
        from animgen_server.worker import LocalBackend

        return LocalBackend(workers)
    raise ValueError(f"--backend {name!r} is not available here; use local")
