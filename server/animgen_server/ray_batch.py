"""`animgen generate DIR --ray ADDRESS`: every video of a folder is one Ray task on a cluster.

Each task runs the same pipeline.run with the same options as a local run, reading the video and writing
the outputs by path: every node needs the input folder and -o folder at the same paths (a shared
filesystem). Up-to-date outputs are skipped on the driver before anything is submitted. At the end: one
line per video and the throughput (videos/min, frames/s).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import ray

from animgen_server.ray_backend import MAX_RETRIES, _is_warm, _warm_worker, connect
from animgen_server.run_summary import TO_STDOUT, VideoResult


@ray.remote(num_cpus=1, max_retries=MAX_RETRIES)
def _convert(video: str, out_base: str, options) -> VideoResult:
    """One video in a Ray worker: pipeline.run exactly as `animgen generate` runs it locally."""
    from animgen_ml import pipeline
    from animgen_ml.errors import AnimGenError

    cold = not _is_warm()
    _warm_worker()
    node = ray.get_runtime_context().get_node_id()[:8]
    if not Path(video).is_file():
        return VideoResult(video, "failed", node=node, pid=os.getpid(),
                           error=f"{video}: not visible on Ray node {node} (share the folder at the same path)")
    t0 = time.perf_counter()
    try:
        result = pipeline.run(video, out_base, options)
    except AnimGenError as e:
        return VideoResult(video, "failed", node=node, pid=os.getpid(), error=str(e))
    except Exception as e:  # noqa: BLE001 - a bug fails this video, not the batch
        return VideoResult(video, "failed", node=node, pid=os.getpid(),
                           error=f"internal error ({type(e).__name__}: {e})")
    return VideoResult(video, "converted", result.landmarks.frame_count, time.perf_counter() - t0,
                       warnings=list(result.warnings), outputs=result.files, detected=result.landmarks.detection_rate,
                       node=node, pid=os.getpid(), cold=cold)


def run_batch(bases: dict[Path, Path], options, address: str, force: bool = False,
              quiet: bool = False, summary: str | None = None) -> int:
    """Converts the videos on the Ray cluster at `address`, each to its outputs' base (cmd_generate.out_bases);
    returns the exit code (0 ok, 1 any failed, 2 no cluster there). summary: where to write the run's --summary
    (run_summary), however it ends once it has begun."""
    from animgen_server.cmd_generate import name_file, write_summary

    videos = list(bases)
    results: dict[str, VideoResult] = {}

    def rows() -> list[VideoResult]:  # as a local run gives them: each video as given, each error naming it
        out = []
        for v in videos:
            r = results.get(str(v.absolute()), VideoResult(str(v), "cancelled"))
            out.append(replace(r, video=str(v), error=name_file(v, r.error) if r.error else ""))
        return out

    try:
        code = _run(bases, options, address, force, quiet, results, table_to=sys.stderr if summary == TO_STDOUT
                    else sys.stdout)
    except BaseException:  # stopped (Ctrl-C, SIGTERM): what was done, and the rest cancelled
        write_summary(summary, rows(), options, stopping=True)
        raise
    if code != 2:
        write_summary(summary, rows(), options)
    return code


def _run(bases: dict[Path, Path], options, address: str, force: bool, quiet: bool,
         results: dict[str, VideoResult], table_to) -> int:
    """table_to: where the table of results goes (stderr where the summary is the standard output)."""
    from animgen_ml.errors import InputError
    from animgen_server.cmd_generate import (
        forget_made,
        inputs_id,
        make_output_folder,
        name_file,
        note_made,
        output_clashes,
        skipped,
        up_to_date,
    )

    todo: list[Path] = []
    made_from: dict[str, dict] = {}  # each video as it was when submitted
    base_of: dict[str, Path] = {}  # each video (absolute) -> its outputs' base
    clashes = output_clashes(bases, options)
    for v, base in bases.items():
        clash = clashes.get(v)
        v, base = v.absolute(), base.absolute()
        base_of[str(v)] = base
        if clash:
            results[str(v)] = VideoResult(str(v), "failed", error=clash)
            print(f"{v.name}: failed: {clash}", file=sys.stderr)
        elif not force and up_to_date(v, base, options):
            results[str(v)] = skipped(v, base, options)
        else:
            try:
                make_output_folder(base.parent)
            except InputError as e:
                results[str(v)] = VideoResult(str(v), "failed", error=name_file(v, str(e)))
                print(f"{v.name}: failed: {e}", file=sys.stderr)
                continue
            made_from[str(v)] = inputs_id(v, options)
            forget_made(base)
            todo.append(v)
    t0 = time.perf_counter()
    if todo:
        try:
            connect(address)
        except Exception as e:  # noqa: BLE001 - a bad address is a usage problem: one line
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"animgen generate: error: --ray {address}: cannot connect to the Ray cluster: {why}",
                  file=sys.stderr)
            return 2
        if not quiet:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            print(f"ray: {len(todo)} video(s) on {cpus} CPU(s) of {address}, "
                  f"{len(results)} up to date", file=sys.stderr)
        pending = {_convert.remote(str(v), str(base_of[str(v)]), options): str(v) for v in todo}
        while pending:
            try:
                done, _ = ray.wait(list(pending), num_returns=1)
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop what runs on the cluster too
                for ref in pending:
                    ray.cancel(ref, force=True)
                print(f"animgen generate: {len(pending)} video(s) not converted", file=sys.stderr)
                raise  # the CLI says interrupted or terminated, with its exit code
            for ref in done:
                video = pending.pop(ref)
                try:
                    r = ray.get(ref)
                except ray.exceptions.RayError as e:
                    r = VideoResult(video, "failed", error=f"Ray: {type(e).__name__}: {str(e).splitlines()[0]}")
                if r.status == "converted":
                    try:
                        note_made(base_of[video], options, Path(video), made_from[video], r.warnings,
                                  frames=r.frames, detected=r.detected)
                    except InputError as e:  # the video changed while the cluster read it
                        r = replace(r, status="failed", error=str(e))
                results[video] = r
                if not quiet or r.status == "failed":
                    line = f"{r.frames} frames in {r.seconds:.1f} s on node {r.node}" if r.status == "converted" \
                        else r.error
                    print(f"{Path(video).name}: {r.status}: {line}", file=sys.stderr)
                for w in r.warnings:
                    print(f"warning: {name_file(Path(video).name, w)}", file=sys.stderr)
    wall = time.perf_counter() - t0
    rows = [results[str(v.absolute())] for v in bases]
    print(summary_table(rows, wall), file=table_to)
    return 1 if any(r.status == "failed" for r in rows) else 0


def summary_table(rows: list[VideoResult], wall: float) -> str:
    name_w = max([len("VIDEO")] + [len(Path(r.video).name) for r in rows])
    lines = [f"{'VIDEO':{name_w}}  {'STATUS':9}  {'FRAMES':>6}  {'SECONDS':>7}  {'FPS':>6}  WORKER (node/pid)"]
    for r in rows:
        fps = f"{r.frames / r.seconds:6.1f}" if r.seconds > 0 else f"{'-':>6}"
        secs = f"{r.seconds:7.1f}" if r.status == "converted" else f"{'-':>7}"
        extra = f"  {r.error}" if r.error else ""
        worker = f"{r.node}/{r.pid}" if r.pid else ""
        lines.append(f"{Path(r.video).name:{name_w}}  {r.status:9}  {r.frames:6d}  {secs}  {fps}  {worker}{extra}")
    done = [r for r in rows if r.status == "converted"]
    frames = sum(r.frames for r in done)
    per_min = 60 * len(done) / wall if wall > 0 and done else 0.0
    frames_s = frames / wall if wall > 0 and done else 0.0
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("converted", "skipped", "failed")}
    lines.append(f"{counts['converted']} converted, {counts['skipped']} up to date, {counts['failed']} failed in "
                 f"{wall:.1f} s: {per_min:.1f} videos/min, {frames_s:.1f} frames/s")
    if done:
        lines.append(f"models loaded by {sum(r.cold for r in done)} worker process(es) for {len(done)} video(s)")
    return "\n".join(lines)
