"""A folder through a server with two workers: `animgen generate DIR --server --jobs 1` against `--jobs 2` (wall
time, ratio printed). One at a time, a client leaves all but one of the server's workers idle.

    .venv/bin/python benchmarks/bench_server_jobs.py [--videos 4] [--repeats 2]

Each pass sends fresh copies of the videos (bench_service.variant: the same frames, another hash), so that none is
served from the server's cache.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_service import variant  # noqa: E402
from service_support import ServerProcess  # noqa: E402

from animgen_ml.shared_data import require_shared_data  # noqa: E402

VIDEOS = ("sports2d_run_sideview.mp4", "mmhuman3d_3dpw_basketball.mp4", "sports2d_walk_gym.mp4",
          "romp_fitness_jumping_jacks.mp4")


def one_pass(server: ServerProcess, videos: list[Path], jobs: int, tmp: Path, n: int) -> float:
    folder = tmp / f"pass{n}"
    folder.mkdir()
    for v in videos:
        variant(v, n, folder)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", str(folder), "--server",
                           server.address, "--jobs", str(jobs), "-o", str(tmp / f"out{n}"), "--format", "json",
                           "--quiet"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_server_jobs: {done.stderr.strip()}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=4, choices=range(1, len(VIDEOS) + 1), metavar=f"1..{len(VIDEOS)}")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    monocular = require_shared_data() / "videos" / "monocular"
    videos = [monocular / name for name in VIDEOS[: a.videos]]
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "store", "--workers", "2").start()
        try:
            n = 0
            times: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(a.repeats):
                for jobs in (1, 2):  # alternated, so that load from other work falls on both
                    n += 1
                    times[jobs].append(one_pass(server, videos, jobs, Path(tmp), n))
        finally:
            server.stop()
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"{len(videos)} videos, server with 2 workers, medians of {a.repeats}:")
    print(f"  --jobs 1: {one:6.1f} s   --jobs 2: {two:6.1f} s   speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
