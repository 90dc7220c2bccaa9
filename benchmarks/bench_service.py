"""Service benchmark: the same video through the server and locally (ratio, target <= 1.05x), upload throughput
on loopback (target >= 200 MB/s), server memory idle and with 8 jobs in flight.

    .venv/bin/python benchmarks/bench_service.py [--video PATH] [--repeats 3] [--upload-mb 256]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from service_support import ServerProcess  # noqa: E402

from animgen_ml import pipeline  # noqa: E402
from animgen_ml.pipeline import GenerateOptions  # noqa: E402
from animgen_ml.shared_data import require_shared_data  # noqa: E402
from animgen_server import convert  # noqa: E402
from animgen_server.client import AnimGenClient, ServiceError  # noqa: E402

OPTIONS = GenerateOptions(generator="analytic", formats=("glb", "json"))


def variant(video: Path, i: int, folder: Path) -> Path:
    """The video with an MP4 'free' box of i bytes appended: decodes the same, hashes differently, so that
    repeated runs are not served from the server's cache."""
    out = folder / f"{video.stem}_{i}{video.suffix}"
    out.write_bytes(video.read_bytes() + (8 + i).to_bytes(4, "big") + b"free" + b"\0" * i)
    return out


def rss_kib(pid: int) -> int:
    m = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) if m else 0


def tree_rss_mib(server: ServerProcess) -> tuple[float, float]:
    """(server process RSS, server + workers RSS), MiB."""
    assert server.proc is not None
    main = rss_kib(server.proc.pid)
    total = main + sum(rss_kib(p) for p in server.worker_pids())
    return main / 1024, total / 1024


def remote_run(client: AnimGenClient, video: Path, out_base: Path) -> float:
    t0 = time.perf_counter()
    up = client.upload(video)
    job = client.start(up.upload_id, convert.options_to_proto(OPTIONS))
    state = client.wait(job.job_id).state
    client.result(job.job_id, out_base)
    assert state == 3, f"job ended in state {state}"
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=None, help="default: the data kit's sports2d_run_sideview.mp4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--upload-mb", type=int, default=256)
    args = ap.parse_args()
    video = args.video or require_shared_data() / "videos" / "monocular" / "sports2d_run_sideview.mp4"

    with tempfile.TemporaryDirectory(prefix="animgen-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        # ---- local vs server, the same video and options; best of N, each in a warm process ----
        pipeline.run(video, tmp / "warm" / "x", OPTIONS)  # pay the imports and model loads once
        local = []
        for i in range(args.repeats):
            t0 = time.perf_counter()
            pipeline.run(variant(video, i, tmp), tmp / "local" / f"r{i}", OPTIONS)
            local.append(time.perf_counter() - t0)
        server = ServerProcess(tmp / "data", "--workers", "1", "--max-upload-mb", str(args.upload_mb + 64),
                               "--max-queued", "64").start()
        try:
            with AnimGenClient(server.address, timeout=600) as c:
                idle = tree_rss_mib(server)
                remote_run(c, variant(video, 1000, tmp), tmp / "remote" / "warm")  # the worker's first job
                remote = [remote_run(c, variant(video, 100 + i, tmp), tmp / "remote" / f"r{i}")
                          for i in range(args.repeats)]
                # ---- upload throughput: a random blob (refused at StartJob, but the upload is what we time) ----
                blob = tmp / "blob.mp4"
                with open(blob, "wb") as f:
                    for _ in range(args.upload_mb):
                        f.write(os.urandom(1 << 20))
                t0 = time.perf_counter()
                blob_upload = c.upload(blob)
                upload_s = time.perf_counter() - t0
                h0 = time.perf_counter()
                from animgen_server.client import sha256_of

                sha256_of(blob)
                hash_s = time.perf_counter() - h0
                refused = "accepted?!"
                try:
                    c.start(blob_upload.upload_id)
                except ServiceError as e:
                    refused = e.code.name
            # ---- memory with 8 jobs in flight (2 workers) ----
            server.stop()
            server = ServerProcess(tmp / "data8", "--workers", "2", "--max-queued", "64").start()
            idle2 = tree_rss_mib(server)
            peak = [0.0, 0.0]
            with AnimGenClient(server.address, timeout=600) as c:
                jobs = [c.start(c.upload(variant(video, 200 + i, tmp)).upload_id,
                                convert.options_to_proto(OPTIONS)).job_id for i in range(8)]
                done = threading.Event()

                def sample() -> None:
                    while not done.is_set():
                        m, t = tree_rss_mib(server)
                        peak[0], peak[1] = max(peak[0], m), max(peak[1], t)
                        time.sleep(0.1)

                th = threading.Thread(target=sample)
                th.start()
                t0 = time.perf_counter()
                states = [c.wait(j).state for j in jobs]
                eight_s = time.perf_counter() - t0
                done.set()
                th.join()
        finally:
            server.stop()

    mb = args.upload_mb * 1.048576
    print(f"video: {video.name}, options: {OPTIONS.generator}, formats {','.join(OPTIONS.formats)}")
    print(f"local pipeline.run (warm process): best {min(local):.3f} s, median {statistics.median(local):.3f} s")
    print(f"through the server (upload+start+watch+result): best {min(remote):.3f} s, "
          f"median {statistics.median(remote):.3f} s")
    print(f"ratio server/local (best): {min(remote) / min(local):.3f}x   (target <= 1.05x)")
    print(f"upload {mb:.0f} MB on loopback: {upload_s:.2f} s = {mb / upload_s:.0f} MB/s including the client's "
          f"sha256 ({hash_s:.2f} s), {mb / (upload_s - hash_s):.0f} MB/s on the wire   (target >= 200 MB/s); "
          f"StartJob on it: {refused}")
    print(f"RSS idle (1 worker): server {idle[0]:.0f} MiB, server+workers {idle[1]:.0f} MiB")
    print(f"RSS idle (2 workers): server {idle2[0]:.0f} MiB, server+workers {idle2[1]:.0f} MiB")
    print(f"RSS peak with 8 jobs in flight (2 workers): server {peak[0]:.0f} MiB, server+workers {peak[1]:.0f} MiB; "
          f"all {'SUCCEEDED' if all(s == 3 for s in states) else states} in {eight_s:.1f} s")


if __name__ == "__main__":
    main()
