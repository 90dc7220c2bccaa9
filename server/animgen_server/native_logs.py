"""Keeping MediaPipe's native log lines out of the command line's and the server's output."""

from __future__ import annotations

import os
import sys


def quiet_native_logs() -> None:
    """MediaPipe and TensorFlow Lite log from native threads straight to file descriptor 2 ("W0000 ... Feedback
    manager requires ..."), through any Python-level redirection. Python's own stderr moves to a copy of fd 2 and
    fd 2 goes to /dev/null. ANIMGEN_NATIVE_LOGS=1 keeps the native logs."""
    if os.environ.get("ANIMGEN_NATIVE_LOGS", "") not in ("", "0"):
        return
    try:
        sys.stderr.flush()
        python_stderr = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        return
    # open(), not io.FileIO: on a Windows console it gives the console's own writer, which shows any character;
    # UTF-8 bytes through a plain file descriptor came out in the console's code page (mojibake).
    stream = open(python_stderr, "w", encoding=sys.stderr.encoding or "utf-8",  # noqa: SIM115 - the new stderr
                  errors="backslashreplace", buffering=1)
    stream.reconfigure(write_through=True)
    sys.stderr = stream
