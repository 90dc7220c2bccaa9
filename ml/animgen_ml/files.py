"""Writing outputs safely: a file is written aside and renamed into place, so an existing output is never
replaced by a partial one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from animgen_ml.errors import AnimGenError


def read_only(path: Path) -> bool:
    """An existing file that must not be replaced: no write permission for its owner (as version control leaves a
    file not checked out), or none for us. The rename that replaces an output needs only the folder's."""
    if not path.exists():
        return False
    return not path.stat().st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)


REPLACE_TRIES = 5  # over about 2 s: Windows refuses a rename while a virus scanner or indexer has either file open


def replace_retrying(src: str | Path, dst: str | Path) -> None:
    """os.replace; on Windows tried again for a moment where it is refused, then said as an error that names the
    file (there a file open in another program, a player showing the preview, cannot be replaced)."""
    tries = REPLACE_TRIES if os.name == "nt" else 1
    for attempt in range(tries):
        try:
            os.replace(src, dst)
            return
        except PermissionError as e:
            if attempt == tries - 1:
                if os.name != "nt":
                    raise
                raise AnimGenError(f"{dst}: cannot be replaced ({e.strerror}): close it in any program that has it "
                                   "open, or write elsewhere") from None
            time.sleep(0.2 * (attempt + 1))


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path`; on success it is renamed onto `path`, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A short fixed prefix, not the file's name: a name near the file system's 255-byte limit must still fit.
    fd, tmp = tempfile.mkstemp(prefix=".animgen-", suffix=".part" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes a private file (0600); outputs are ordinary files. A fixed mode, not the umask:
        # reading the umask means setting it, which races other threads.
        os.chmod(tmp, 0o644)
        replace_retrying(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
