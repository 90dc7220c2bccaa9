"""Ray benchmark on this machine: batch throughput with 1 vs 2 Ray worker processes (ratio printed), and the
Ray backend's overhead against the local process pool for one video (the same JobSpec through the Backend
seam, warm workers, no gRPC).

    nice .venv/bin/python benchmarks/bench_ray.py [--videos N] [--end SEC] [--repeats 3]

Each setting runs on a fresh one-node Ray cluster (ray.init(num_cpus=N)); the batch is run twice and the
second (warm) pass is the figure: its worker processes have the stages and MediaPipe loaded already.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray

from animgen_ml import pipeline
from animgen_ml.pipeline import GenerateOptions
from animgen_ml.shared_data import require_shared_data
from animgen_server import ray_batch
from animgen_server.backend import Backend, BackendEvent, JobSpec
from animgen_server.ray_backend import RayBackend
from animgen_server.worker import LocalBackend

BATCH = ("sports2d_run_sideview.mp4", "mmhuman3d_3dpw_basketball.mp4", "motionbert_boxing.mp4",
         "sports2d_walk_gym.mp4", "pymaf_ballet_pirouette.mp4", "motionbert_walk_toward_camera.mp4")
ONE = "sports2d_run_sideview.mp4"


def batch_pass(videos: list[Path], out: Path, options: GenerateOptions) -> tuple[float, int]:
    """(wall seconds, frames) of one forced batch on the connected cluster, quiet."""
    t0 = time.perf_counter()
    refs = [ray_batch._convert.remote(str(v), str(out / v.stem), options) for v in videos]
    results = ray.get(refs)
    wall = time.perf_counter() - t0
    bad = [r for r in results if r.status != "converted"]
    if bad:
        raise SystemExit(f"bench_ray: {bad[0].video}: {bad[0].error}")
    return wall, sum(r.frames for r in results)


def throughput(workers: int, videos: list[Path], options: GenerateOptions, tmp: Path) -> dict:
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        cold, frames = batch_pass(videos, tmp / f"cold{workers}", options)
        warm, _ = batch_pass(videos, tmp / f"warm{workers}", options)
    finally:
        ray.shutdown()
    return {"workers": workers, "cold_s": cold, "warm_s": warm, "frames": frames,
            "videos_per_min": 60 * len(videos) / warm, "fps": frames / warm}


async def backend_latency(backend: Backend, spec: JobSpec, repeats: int) -> list[float]:
    """Seconds from submit to the "done" event, per run, after one warm-up run."""
    done: asyncio.Queue[BackendEvent] = asyncio.Queue()

    def sink(ev: BackendEvent | None) -> None:
        if ev is not None and ev.kind in ("done", "failed", "cancelled"):
            done.put_nowait(ev)

    await backend.start(sink)
    times = []
    try:
        for i in range(repeats + 1):
            s = JobSpec(f"{spec.job_id}{i}", spec.video, f"{spec.result_dir}{i}", spec.stem, spec.options)
            t0 = time.perf_counter()
            backend.submit(s)
            ev = await done.get()
            if ev.kind != "done":
                raise SystemExit(f"bench_ray: {backend.name} job {ev.kind}: {ev.message}")
            if i:
                times.append(time.perf_counter() - t0)
    finally:
        await backend.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=len(BATCH), help=f"videos in the batch (max {len(BATCH)})")
    ap.add_argument("--end", type=float, default=3.0, help="use the first SEC seconds of each video (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="single-video runs per backend (default 3)")
    args = ap.parse_args()
    data = require_shared_data() / "videos" / "monocular"
    videos = [data / n for n in BATCH[: max(1, args.videos)]]
    options = GenerateOptions(generator="analytic", formats=("glb",), end=args.end)

    with tempfile.TemporaryDirectory(prefix="bench_ray_") as d:
        tmp = Path(d)
        print(f"batch: {len(videos)} videos, first {args.end:g} s of each, analytic generator, glb")
        rows = [throughput(n, videos, options, tmp) for n in (1, 2)]
        for r in rows:
            print(f"  {r['workers']} worker(s): warm {r['warm_s']:6.1f} s ({r['videos_per_min']:5.1f} videos/min, "
                  f"{r['fps']:5.1f} frames/s); cold first pass {r['cold_s']:.1f} s; {r['frames']} frames")
        print(f"  speed-up 2 vs 1 workers: {rows[0]['warm_s'] / rows[1]['warm_s']:.2f}x")

        one = GenerateOptions(generator="analytic", formats=("glb",))
        spec = JobSpec("bench", str(data / ONE), str(tmp / "results" / "job"), "clip", one)
        (tmp / "results").mkdir()
        pipeline.run(data / ONE, tmp / "inproc", one)  # warm-up: imports and model files, as in a warm worker
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            pipeline.run(data / ONE, tmp / "inproc", one)
        inproc = (time.perf_counter() - t0) / args.repeats
        local = asyncio.run(backend_latency(LocalBackend(1), spec, args.repeats))
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        remote = asyncio.run(backend_latency(RayBackend(None, 1), spec, args.repeats))
        lm, rm = statistics.median(local), statistics.median(remote)
        print(f"one video ({ONE}, warm workers, median of {args.repeats}):")
        print(f"  in-process pipeline.run {inproc:.3f} s; local pool {lm:.3f} s; Ray backend {rm:.3f} s")
        print(f"  Ray overhead vs local pool: {rm - lm:+.3f} s ({rm / lm:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
