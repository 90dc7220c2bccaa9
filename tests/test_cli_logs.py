"""What a user sees on the terminal: our progress and summary, not MediaPipe's native log lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ANIMGEN = [sys.executable, "-m", "animgen_server.cli"]


@pytest.mark.parametrize("native_logs", [False, True])
def test_native_log_lines_stay_off_the_terminal(videos: Path, tmp_path: Path, native_logs: bool) -> None:
    env = dict(os.environ)
    env.pop("ANIMGEN_NATIVE_LOGS", None)
    if native_logs:
        env["ANIMGEN_NATIVE_LOGS"] = "1"
    run = subprocess.run([*ANIMGEN, "generate", str(videos / "sports2d_run_sideview.mp4"), "-o", str(tmp_path),
                          "--generator", "analytic"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "wrote glb" in run.stdout + run.stderr  # our own output still arrives
    assert ("inference_feedback_manager" in run.stderr) == native_logs
