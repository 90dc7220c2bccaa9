"""Shared fixtures. The data kit in ../shared/data is reached only through animgen_ml.shared_data."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from animgen_ml.shared_data import shared_data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _shipped_weights() -> None:
    """Tests expect the shipped network: a developer's exported $ANIMGEN_WEIGHTS stays out of them (and of the
    servers and commands they start)."""
    os.environ.pop("ANIMGEN_WEIGHTS", None)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("the shared data kit (../shared/data) is absent: set ANIMGEN_SHARED_DATA to run this test")
    return d


@pytest.fixture(scope="session")
def videos(shared_data: Path) -> Path:
    return shared_data / "videos" / "monocular"


def require_tool(name: str) -> str:
    """Path of a system tool the test needs; `make test` installs them all (scripts/install-system-deps.sh)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps`")
    return path


def weights_like_shipped(path: Path, name: str, scale: float = 1.0, drop_inputs: int = 0) -> Path:
    """Weights for --model: the shipped arrays with their input layer scaled (another network; drop_inputs makes one
    of another version) and their info renamed."""
    from animgen_ml import model

    with np.load(model.weights_path()) as blob:
        arrays = {k: blob[k] for k in blob.files if k != "info"}
        info = json.loads(str(blob["info"]))
    arrays["inp.w"] = arrays["inp.w"][drop_inputs:] * scale
    np.savez(path, info=np.array(json.dumps(dict(info, name=name))), **arrays)
    return path


def failed_serve_log(folder: Path) -> dict[str, str]:
    """A real `animgen serve --log-file` log of two starts that failed, for the engines' "the local server ended"
    message: one refused its port number (70000), then one found its port taken. Returns the environment the NUnit
    and GoogleTest suites read it from: the log, and its size after the first start (where the second's lines begin),
    and the taken port."""
    animgen = str(Path(sys.executable).parent / "animgen")
    log, store = folder / "serve.log", folder / "failed-serve"

    def serve(port: int) -> subprocess.CompletedProcess:
        args = ["serve", "--port", str(port), "--data-dir", str(store), "--log-file", str(log)]
        return subprocess.run([animgen, *args], capture_output=True, text=True, timeout=120)

    bad = serve(70000)
    assert bad.returncode == 2, bad.stderr  # a bad flag: a command line that cannot run
    start = log.stat().st_size
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = serve(port)
    assert busy.returncode == 1, busy.stderr
    return {"ANIMGEN_FAILED_SERVE_LOG": str(log), "ANIMGEN_FAILED_SERVE_START": str(start),
            "ANIMGEN_FAILED_SERVE_PORT": str(port)}
