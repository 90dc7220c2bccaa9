"""How `animgen serve` takes its settings: a flag, else its environment variable, else the default. A bad
environment value stops `animgen serve` with one line naming the variable, and no other command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service_support import ServerProcess

from animgen_server.client import AnimGenClient

BAD_ENV = {"ANIMGEN_WORKERS": "two", "ANIMGEN_MAX_QUEUED": "many"}


def animgen(*args: str | Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animgen_server.cli", *map(str, args)], capture_output=True,
                          text=True, env=dict(os.environ, **env), timeout=120)


def test_environment_sets_limits_and_a_flag_overrides_it(tmp_path: Path):
    env = {"ANIMGEN_WORKERS": "2", "ANIMGEN_MAX_QUEUED": "3", "ANIMGEN_MAX_VIDEO_SECONDS": "42"}
    server = ServerProcess(tmp_path / "data", "--max-queued", "5", env=env).start()
    try:
        with AnimGenClient(server.address, timeout=30) as c:
            limits = c.info().limits
    finally:
        assert server.stop() == 0
    assert (limits.max_concurrent_jobs, limits.max_queued_jobs, limits.max_video_seconds) == (2, 5, 42.0)
    assert limits.max_upload_bytes == 500 * 1024 * 1024  # neither given: the default


def test_bad_environment_value_stops_serve_by_name(tmp_path: Path):
    data = tmp_path / "data"
    proc = animgen("serve", "--port", "0", "--data-dir", data, env=BAD_ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == ["animgen: error: environment variable ANIMGEN_WORKERS='two' is not "
                                                "a valid int"]
    assert not data.exists()  # nothing was set up
    # A flag given instead of the bad variable is used; the next bad one is named.
    proc = animgen("serve", "--port", "0", "--data-dir", data, "--workers", "1", env=BAD_ENV)
    assert proc.returncode == 1 and "ANIMGEN_MAX_QUEUED='many'" in proc.stderr, proc.stderr


def test_bad_serve_environment_leaves_other_commands_alone(tmp_path: Path):
    proc = animgen("generate", tmp_path / "missing.mp4", "-o", tmp_path / "out", env=BAD_ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "missing.mp4: file not found" in proc.stderr and "ANIMGEN_" not in proc.stderr
    assert animgen("jobs", "--help", env=BAD_ENV).returncode == 0
