"""Shared fixtures. The data kit in ../shared/data is reached only through animgen_ml.shared_data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from animgen_ml.shared_data import shared_data_dir

REPO = Path(__file__).resolve().parents[1]


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
