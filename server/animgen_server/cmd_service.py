"""`animgen serve`, `animgen jobs`, `animgen cancel`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from pathlib import Path

from animgen_ml.errors import AnimGenError, InputError, UsageError
from animgen_server import address as server_address
from animgen_server.auth import check_token
from animgen_server.cli import add_model_option, check_weights
from animgen_server.limits import LIMIT_DEFAULTS, Limits, limit_value

DEFAULT_DATA_DIR = Path(os.environ.get("ANIMGEN_DATA_DIR", "~/.animgen/server"))


def _server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=None, metavar="HOST[:PORT]", type=server_address.argument,
                   help="the AnimGen server (default $ANIMGEN_SERVER or 127.0.0.1:50051; port 50051 when only a host "
                        "is given)")
    p.add_argument("--token", default=None, help="bearer token (default $ANIMGEN_TOKEN)")
    p.add_argument("--tls-ca", default=None, metavar="PEM", help="CA certificate: connect with TLS")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the AnimGen gRPC server",
                       description="Serve AnimGen over gRPC: uploads, jobs in worker processes, results.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=50051, help="port (0 picks a free one; default 50051)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                   help="store: database, uploads, results (default $ANIMGEN_DATA_DIR, else ~/.animgen/server)")
    p.add_argument("--workers", type=int, default=None,
                   help="jobs that run at once, each in its own process ($ANIMGEN_WORKERS; default 1)")
    p.add_argument("--token", default=None,
                   help="require 'authorization: Bearer TOKEN' on every call but health (default $ANIMGEN_TOKEN)")
    add_model_option(p)
    p.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate chain: serve TLS")
    p.add_argument("--tls-key", type=Path, default=None, help="PEM private key for --tls-cert")
    p.add_argument("--max-upload-mb", type=float, default=None,
                   help="largest upload, MiB ($ANIMGEN_MAX_UPLOAD_MB; default 500)")
    p.add_argument("--max-video-seconds", type=float, default=None,
                   help="longest video to process, after trimming ($ANIMGEN_MAX_VIDEO_SECONDS; default 600)")
    p.add_argument("--max-queued", type=int, default=None,
                   help="jobs that may wait for a worker ($ANIMGEN_MAX_QUEUED; default 64)")
    p.add_argument("--upload-expiry-hours", type=float, default=None,
                   help="uploads not used by a pending job are deleted after this ($ANIMGEN_UPLOAD_EXPIRY_HOURS; "
                        "default 24)")
    p.add_argument("--result-expiry-days", type=float, default=None,
                   help="a result no job has made or reused for this long is deleted; the cache forgets it "
                        "($ANIMGEN_RESULT_EXPIRY_DAYS; default 30)")
    p.add_argument("--backend", default="local", choices=["local", "ray"],
                   help="where jobs run: local worker processes (default) or a Ray cluster (see --ray-address)")
    p.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS"), metavar="ADDRESS",
                   help="--backend ray: the cluster's head HOST:PORT, auto, or local (a one-machine cluster); "
                        "default $RAY_ADDRESS")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="the least a log line must be to be written (default INFO: each job's start and end)")
    p.add_argument("--log-file", type=Path, default=None, metavar="FILE",
                   help="write the log to FILE (appended) instead of stderr: for a parent process that cannot keep "
                        "reading a pipe, such as the Unity Editor across script reloads")
    p.set_defaults(handler=serve_cmd)

    p = sub.add_parser("jobs", help="list the jobs of an AnimGen server",
                       description="List an AnimGen server's jobs, newest first: id, state, progress, when it was "
                                   "made and its video; once done, its frames and how often a person was found, its "
                                   "error and its warnings.")
    _server_args(p)
    p.add_argument("--limit", type=_job_count, default=20,
                   help="how many, newest first (default 20; a server lists at most 1000)")
    p.set_defaults(handler=jobs_cmd)

    p = sub.add_parser("cancel", help="cancel a job on an AnimGen server",
                       description="Cancel a queued or running job on an AnimGen server (a job that has ended is "
                                   "left as it is).")
    p.add_argument("job", help="the job id (see `animgen jobs`)")
    _server_args(p)
    p.set_defaults(handler=cancel_cmd)


def _job_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= n <= 1000:  # what a server lists at most (server.MAX_LIST_LIMIT)
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000, got {n}")
    return n


def serve_cmd(args: argparse.Namespace) -> int:
    # The log first: the engines' Start local server sends its users to the log file when a start fails.
    try:
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            **({"filename": args.log_file, "encoding": "utf-8"} if args.log_file else {}))
    except OSError as e:
        raise UsageError(f"--log-file {args.log_file}: {e.strerror or e}") from None
    logging.getLogger("grpc").setLevel(logging.WARNING)
    try:
        for dest in LIMIT_DEFAULTS:  # flags not given come from the environment, else the built-in defaults
            setattr(args, dest, limit_value(dest, getattr(args, dest)))
        check_weights(args)
        return _serve(args)
    except AnimGenError as e:
        # The console has it (cli.main prints it); the log file gets it too (a port already taken, a bad
        # $ANIMGEN_WEIGHTS had left it empty).
        if args.log_file:
            logging.getLogger("animgen.server").error("%s", e)
        raise


def _serve(args: argparse.Namespace) -> int:
    from animgen_server.server import ServeConfig, serve

    token = args.token if args.token is not None else os.environ.get("ANIMGEN_TOKEN") or None
    try:
        check_token(token, "--token" if args.token is not None else "$ANIMGEN_TOKEN")
    except InputError as e:
        raise (UsageError(str(e)) if args.token is not None else e) from None
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: file not found")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    try:
        limits = Limits(
            max_upload_bytes=round(args.max_upload_mb * 1024 * 1024), max_video_seconds=args.max_video_seconds,
            max_concurrent_jobs=args.workers, max_queued_jobs=args.max_queued,
            upload_expiry_seconds=round(args.upload_expiry_hours * 3600),
            result_expiry_seconds=round(args.result_expiry_days * 86400)).check()
    except ValueError as e:
        raise InputError(str(e)) from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    config = ServeConfig(host=args.host, port=args.port, data_dir=args.data_dir, workers=args.workers, token=token,
                         tls_cert=args.tls_cert, tls_key=args.tls_key, limits=limits, backend=args.backend)
    try:
        backend = None
        if args.backend == "ray":
            from animgen_server.ray_backend import RayBackend

            backend = RayBackend(args.ray_address, args.workers)
        asyncio.run(serve(config, backend))
    except OSError as e:
        raise InputError(f"animgen serve: {e}") from None
    return 0


def _client(args: argparse.Namespace):
    from animgen_server.client import AnimGenClient

    return AnimGenClient(args.server, token=args.token, tls_ca=args.tls_ca, timeout=30)


def jobs_cmd(args: argparse.Namespace) -> int:
    from animgen.v1 import service_pb2

    with _client(args) as c:
        jobs = c.list(limit=args.limit)
    if not jobs:
        print("no jobs")
        return 0
    print(f"{'JOB':32}  {'STATE':11}  {'PROGRESS':>8}  {'CREATED':19}  VIDEO")
    for j in jobs:
        state = service_pb2.JobState.Name(j.state).removeprefix("JOB_STATE_")
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(j.created_unix_ms / 1000))
        # A finished job's frames and how often the person was found: the first thing to look at for a poor clip.
        seen = f" ({j.frames} frames, person in {100 * j.detected_share:.0f}%)" if j.frames else ""
        extra = seen + (" (cached)" if j.cached else (f"  {j.error}" if j.error else ""))
        print(f"{j.job_id:32}  {state:11}  {j.progress:8.0%}  {created:19}  {j.video_name}{extra}")
        for w in j.warnings:
            print(f"    warning: {w}")
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    from animgen.v1 import service_pb2

    with _client(args) as c:
        job = c.cancel(args.job)
    print(f"{job.job_id}: {service_pb2.JobState.Name(job.state).removeprefix('JOB_STATE_')}")
    return 0 if job.state == service_pb2.JOB_STATE_CANCELLED else 1
