"""What a user sees on the terminal: our progress and summary, not MediaPipe's native log lines."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
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


def test_progress_on_a_terminal_is_a_bar_per_stage(videos: Path, tmp_path: Path) -> None:
    # stderr is a real pseudo-terminal, 120 columns wide, as in a user's shell (a new one is 0 wide).
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([*ANIMGEN, "generate", str(videos / "mmhuman3d_3dpw_basketball.mp4"), "-o", str(tmp_path),
                             "--format", "json"], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 1.0)[0]:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    err = b"".join(chunks).decode(errors="replace")
    for stage in ("pose", "generate", "export"):
        assert re.search(rf"basketball\.mp4 {stage} *: 100%\|", err), err
    assert "\r" in err  # bars redraw in place


def test_progress_in_a_log_is_plain_lines(videos: Path, capsys: pytest.CaptureFixture) -> None:
    # Without a terminal (a CI log, a pipe) no bar: a line per report here (every_s=0), none with carriage returns.
    from animgen_ml import pipeline
    from animgen_ml.pipeline import GenerateOptions
    from animgen_server.cmd_generate import Progress

    progress = Progress("basketball", quiet=False, terminal=False, every_s=0.0)
    pipeline.run(videos / "mmhuman3d_3dpw_basketball.mp4", None, GenerateOptions(), progress=progress)
    err = capsys.readouterr().err
    assert "\r" not in err and "|" not in err
    pose = [ln for ln in err.splitlines() if ln.startswith("basketball pose")]
    assert len(pose) >= 3, err
    percents = [int(m.group(1)) for ln in pose if (m := re.match(r"basketball pose *: *(\d+)% after \d+s", ln))]
    assert len(percents) == len(pose) and percents == sorted(percents) and 0 < percents[-1] <= 100, pose



def test_a_batch_log_says_which_video_and_how_far(capsys: pytest.CaptureFixture) -> None:
    # In a folder's log each progress line gives the video's place in the batch, and each warning names the video
    # (as given), unless the warning already does.
    from animgen_ml.pipeline import ProgressEvent
    from animgen_server.cmd_generate import Progress

    progress = Progress("takes/run.mp4", quiet=False, terminal=False, every_s=0.0, position=" (2/5)")
    for event in (ProgressEvent("pose", "started"), ProgressEvent("pose", "progress", 0.5),
                  ProgressEvent("pose", "warning", message="no person detected from 1.1 s to 1.6 s"),
                  ProgressEvent("pose", "warning", message="takes/run.mp4: a person was found in only 70% of the "
                                                           "frames")):
        progress(event)
    lines = capsys.readouterr().err.splitlines()
    assert re.fullmatch(r"run\.mp4 \(2/5\) pose *: +50% after \d+s", lines[0]), lines
    assert lines[1:] == ["warning: takes/run.mp4: no person detected from 1.1 s to 1.6 s",
                         "warning: takes/run.mp4: a person was found in only 70% of the frames"]
    assert progress.warnings == ["no person detected from 1.1 s to 1.6 s",
                                 "takes/run.mp4: a person was found in only 70% of the frames"]
