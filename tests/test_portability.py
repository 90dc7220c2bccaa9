"""What Windows does differently, exercised here where the difference can be made: text in a locale that is not
UTF-8 (Windows' code pages), text files opened without naming their encoding, and an event loop without signal
handlers (Windows' own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from service_support import ServerProcess

pytestmark = pytest.mark.slow

VIDEO = "gvhmr_tennis.mp4"


def test_a_non_ascii_name_in_a_locale_that_cannot_show_it(videos: Path, tmp_path: Path):
    """ffprobe writes UTF-8 whatever the locale; read in the locale's code page, its report of `tänzer ü.mp4` was a
    UnicodeDecodeError ("internal error"), and the name printed to a pipe in that code page another. ASCII here
    stands for a Windows code page: strict, and without most characters."""
    video = tmp_path / "tänzer ü.mp4"
    video.symlink_to(videos / VIDEO)
    env = dict(os.environ, LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")
    proc = subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", video, "--end", "1",
                           "-o", tmp_path / "out", "--format", "json"], capture_output=True, env=env, timeout=300)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert (tmp_path / "out" / "tänzer ü.json").is_file()


def test_text_files_are_read_and_written_as_utf8(videos: Path, tmp_path: Path):
    """Python warns (-X warn_default_encoding) wherever a text file or pipe takes the locale's encoding, which on
    Windows is a code page: made errors here, none may come from animgen's own code. Two runs: the second reads the
    first's up-to-date note."""
    script = ("import sys, warnings\n"
              "warnings.filterwarnings('error', category=EncodingWarning, module='animgen')\n"
              "from animgen_server.cli import main\n"
              "args = sys.argv[1:]\n"
              "sys.exit(main(args) or main(args))\n")
    proc = subprocess.run([sys.executable, "-X", "warn_default_encoding", "-c", script, "generate",
                           videos / VIDEO, "--end", "1", "-o", tmp_path / "out", "--format", "all"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours = [x for x in proc.stderr.splitlines() if "EncodingWarning" in x and "/animgen_" in x]
    assert not ours and "up to date" in proc.stdout + proc.stderr, ours


def test_serve_stops_in_order_where_the_event_loop_has_no_signal_handlers(tmp_path: Path):
    """Windows' event loops raise NotImplementedError from add_signal_handler: `animgen serve` died there, just after
    saying it was listening, so a Unity "Start local server" got no server. Made so here with a sitecustomize."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import asyncio.unix_events as u\n"
        "def add_signal_handler(self, sig, callback, *args):\n"
        "    raise NotImplementedError\n"
        "u._UnixSelectorEventLoop.add_signal_handler = add_signal_handler\n", encoding="utf-8")
    path = os.pathsep.join([str(shim), *filter(None, [os.environ.get("PYTHONPATH")])])
    server = ServerProcess(tmp_path / "data", env={"PYTHONPATH": path}).start()
    assert server.stop() == 0, server.output()
    assert "Traceback" not in server.output()
