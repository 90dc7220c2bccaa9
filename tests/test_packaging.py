"""The package as `pip install` lays it out, not the editable checkout the other tests run: what a studio installs
carries the weights, the model card and the generated protocol code, and generates from them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

# What a build reads; tests, renders and engine plugins are not part of the Python package.
SOURCES = ("pyproject.toml", "README.md", "ml", "server")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built from a copy of the sources (a build in place would write build/ and egg-info into the
    checkout) and installed into a folder of its own; the dependencies come from this environment."""
    root = tmp_path_factory.mktemp("pkg")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(REPO / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
                           "--target", root / "site", src], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root / "site"


def run_installed(site: Path, cwd: Path, *args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)


def test_installed_package_holds_what_it_loads(installed: Path, tmp_path: Path):
    proc = run_installed(installed, tmp_path, "-c", (
        "import animgen_ml, animgen_server, animgen.v1.service_pb2_grpc as g\n"
        "from animgen_ml import model\n"
        "print(animgen_ml.__file__); print(animgen_server.__file__); print(g.__file__); print(model.weights_path())\n"
        "print(model.load_model().name)"))
    assert proc.returncode == 0, proc.stderr
    *files, name = proc.stdout.split()
    # each module and the weights come from the installed copy, not from the checkout
    assert all(Path(f).resolve().is_relative_to(installed.resolve()) for f in files), files
    assert name and (installed / "animgen_ml" / "weights").is_dir()
    card = list((installed / "animgen_ml" / "weights").glob("*.md"))
    assert card, "the model card is not in the package"


def test_installed_package_generates_a_clip(installed: Path, videos: Path, tmp_path: Path):
    video = videos / "gvhmr_tennis.mp4"
    proc = run_installed(installed, tmp_path, "-m", "animgen_server.cli", "generate", video, "--end", "1",
                         "-o", tmp_path / "out", "--format", "all")
    assert proc.returncode == 0, proc.stderr
    for suffix in (".glb", ".bvh", ".json", ".landmarks.npz", ".report.html", ".preview.mp4"):
        out = tmp_path / "out" / f"gvhmr_tennis{suffix}"
        assert out.is_file() and out.stat().st_size > 0, suffix
    # by the shipped network, not the analytic fallback that runs where the weights are missing (and says so)
    assert "weights are missing" not in proc.stderr
    metadata = json.loads((tmp_path / "out" / "gvhmr_tennis.json").read_text(encoding="utf-8"))["metadata"]
    assert metadata["generator"] == "network", metadata
