"""Writing outputs safely: a file is written aside and renamed into place, so an existing output is never
replaced by a partial one."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def read_only(path: Path) -> bool:
    """An existing file that must not be replaced: no write permission for its owner (as version control leaves a
    file not checked out), or none for us. The rename that replaces an output needs only the folder's."""
    if not path.exists():
        return False
    return not path.stat().st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)


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
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
