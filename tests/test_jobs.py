"""The job manager, in process: StartJob's probe of the video travels with the job to the backend."""

from __future__ import annotations

import asyncio
from pathlib import Path

from animgen.v1 import service_pb2
from animgen_ml import video
from animgen_server.backend import Backend, JobSpec
from animgen_server.jobs import JobManager
from animgen_server.limits import Limits
from animgen_server.store import Store, UploadRow, now_ms


class Recorder(Backend):
    """A backend that keeps what it is given and runs nothing (the manager is what is under test)."""

    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    @property
    def capacity(self) -> int:
        return 4

    def free_slots(self) -> int:
        return 4 - len(self.specs)

    async def start(self, sink) -> None:
        pass

    def submit(self, spec: JobSpec) -> None:
        self.specs.append(spec)

    def cancel(self, job_id: str) -> None:
        pass

    async def close(self) -> None:
        pass


def test_the_probe_goes_with_the_job(videos: Path, tmp_path: Path) -> None:
    clip = videos / "sports2d_run_sideview.mp4"
    info = video.probe(clip)

    async def run() -> list[JobSpec]:
        store, backend = Store(tmp_path / "store"), Recorder()
        manager = JobManager(store, backend, Limits())
        await manager.start()
        upload = UploadRow("u1", clip.name, clip.stat().st_size, "ab" * 32, str(clip), now_ms())
        store.add_upload(upload)
        manager.create(upload, service_pb2.GenerateOptions(), "key-1", info)
        manager.create(upload, service_pb2.GenerateOptions(smoothing=0.2), "key-2")  # probed by the worker
        store.close()
        return backend.specs

    with_probe, without = asyncio.run(run())
    assert with_probe.info == info and with_probe.video == str(clip)
    assert without.info is None
