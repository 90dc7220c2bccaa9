"""The local backend's worker processes, driven directly: a cancel that comes with the job stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from animgen_ml.pipeline import GenerateOptions
from animgen_server.backend import BackendEvent, JobSpec
from animgen_server.worker import LocalBackend


async def _submit_and_cancel(video: Path, result_dir: Path) -> list[BackendEvent]:
    events: list[BackendEvent] = []
    ended = asyncio.Event()

    def sink(ev: BackendEvent | None) -> None:
        if ev is not None:
            events.append(ev)
            if ev.kind in ("done", "failed", "cancelled"):
                ended.set()

    backend = LocalBackend(1)
    await backend.start(sink)
    try:
        backend.submit(JobSpec("job", str(video), str(result_dir), "clip",
                               GenerateOptions(generator="analytic", formats=("json",))))
        backend.cancel("job")  # before the worker has read the job
        await asyncio.wait_for(ended.wait(), 60)
    finally:
        await backend.close()
    return events


def test_a_cancel_that_comes_with_the_job_stops_it(videos: Path, tmp_path: Path):
    # The worker had cleared its cancel flag on reading the job, so a cancel sent between the job and that read was
    # lost and the job ran to its end: a Cancel pressed right after Generate did nothing (and the server's own
    # restart test saw a cancelled job succeed).
    events = asyncio.run(_submit_and_cancel(videos / "sports2d_run_sideview.mp4", tmp_path / "result"))
    assert events[-1].kind == "cancelled", events[-1]
    assert not (tmp_path / "result").exists()
