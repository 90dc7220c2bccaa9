"""`animgen generate --summary FILE.json`: what a run did with each video, in a file that CI reads instead of the
log: which videos were converted, skipped as up to date, failed or cancelled, their files, frames and warnings."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from animgen_ml import __version__
from animgen_ml.errors import AnimGenError
from animgen_ml.files import atomic_path

# A video's status: converted; skipped (its outputs were up to date); failed; cancelled (the run was stopped first).
STATUSES = ("converted", "skipped", "failed", "cancelled")


@dataclass
class VideoResult:
    video: str
    status: str  # one of STATUSES
    frames: int = 0  # landmark frames (the video's frames in [start, end)); 0 where not known (an older server)
    seconds: float = 0.0  # converting it
    error: str = ""
    warnings: list[str] = field(default_factory=list)  # a skipped video's are those of the run that made its files
    outputs: dict[str, Path] = field(default_factory=dict)  # format -> path
    detected: float | None = None  # share of the frames with a person; None where not known
    node: str = ""  # the Ray node and worker process that converted it (--ray)
    pid: int = 0
    cold: bool = False  # that worker process loaded the models for it (the first video it converted)

    def to_dict(self) -> dict:
        out = {"video": self.video, "status": self.status, "outputs": {f: str(p) for f, p in self.outputs.items()},
               "warnings": self.warnings, "error": self.error or None, "frames": self.frames or None,
               "detected": None if self.detected is None else round(self.detected, 4),
               "seconds": round(self.seconds, 3) if self.status == "converted" else None}
        if self.node:
            out["ray_worker"] = f"{self.node}/{self.pid}"
        return out


TO_STDOUT = "-"  # `--summary -`: the summary is the run's standard output (its result lines go to stderr)


def write(path: str | Path, rows: list[VideoResult], options: dict) -> None:
    """The summary of a run: AnimGen's version, the options, a count per status and a record per video, in the order
    given. Written aside and renamed, so a reader never sees half of it; or, for TO_STDOUT, to standard output."""
    counts = {s: sum(r.status == s for r in rows) for s in STATUSES}
    doc = {"animgen": __version__, "options": options, "counts": counts, "videos": [r.to_dict() for r in rows]}
    if str(path) == TO_STDOUT:
        sys.stdout.write(json.dumps(doc, indent=1, default=str) + "\n")
        sys.stdout.flush()
        return
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    except OSError as e:  # a full disk: said as the run's one error line, not a traceback
        raise AnimGenError(f"--summary {path}: cannot be written ({e.strerror or e})") from None
