"""A general BVH reader: hierarchy, offsets, per-joint channel orders, frames, and vectorised forward kinematics.

Units and axes are the file's own (mocap.py detects and converts them). Euler channels are applied in the order
they are listed: "Zrotation Xrotation Yrotation" means R = Rz @ Rx @ Ry acting on column vectors, the common
reading of BVH. Position channels replace the joint's OFFSET (for the root they give its position).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from animgen_ml import rotations as R
from animgen_ml.errors import InputError

_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}


@dataclass
class Bvh:
    names: list[str]
    parents: np.ndarray  # (J,) parent index, -1 for the root
    offsets: np.ndarray  # (J, 3) rest offset from the parent, file units
    channels: list[list[str]]  # per joint, e.g. ["Xposition", ..., "Zrotation", "Xrotation", "Yrotation"]
    end_sites: dict[int, np.ndarray]  # joint index -> offset of its End Site (first one)
    frame_time: float  # seconds
    motion: np.ndarray  # (T, C) raw channel values
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def frame_count(self) -> int:
        return len(self.motion)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.flatnonzero(self.parents == j)]

    def local(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local translations (T, J, 3) and local rotations (T, J, 4 xyzw)."""
        if "local" in self._cache:
            return self._cache["local"]
        T, J = self.frame_count, len(self.names)
        trans = np.broadcast_to(self.offsets, (T, J, 3)).copy()
        rots = R.identity((T, J))
        col = 0
        for j, chans in enumerate(self.channels):
            pos_axes = [c[0].upper() for c in chans if c.lower().endswith("position")]
            if pos_axes:
                trans[:, j] = 0.0
            q = R.identity((T,))
            for c in chans:
                values = self.motion[:, col]
                col += 1
                axis = c[0].upper()
                if c.lower().endswith("position"):
                    trans[:, j, "XYZ".index(axis)] = values
                else:
                    q = R.multiply(q, R.from_axis_angle(_AXES[axis], np.deg2rad(values)))
            rots[:, j] = q
        self._cache["local"] = (trans, rots)
        return trans, rots

    def forward_kinematics(self, frames: slice | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """World joint positions (T, J, 3) and world rotations (T, J, 4), vectorised over frames."""
        trans, rots = self.local()
        if frames is not None:
            trans, rots = trans[frames], rots[frames]
        pos = np.zeros(trans.shape)
        world = np.zeros(rots.shape)
        for j, p in enumerate(self.parents):
            if p < 0:
                pos[:, j] = trans[:, j]
                world[:, j] = rots[:, j]
            else:
                pos[:, j] = pos[:, p] + R.apply(world[:, p], trans[:, j])
                world[:, j] = R.multiply(world[:, p], rots[:, j])
        return pos, world

    def rest_positions(self) -> np.ndarray:
        """(J, 3) joint positions with every channel zero (root at its OFFSET)."""
        pos = np.zeros((len(self.names), 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] if p < 0 else pos[p] + self.offsets[j]
        return pos


def read_bvh(path: str | Path) -> Bvh:
    """Parse a BVH file; raises InputError naming the file and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")  # -sig: a byte-order mark is not a token
    except OSError as e:
        raise InputError(f"{path}: cannot read BVH file ({e.strerror})") from e
    try:
        return parse_bvh(text, source=str(path))
    except (ValueError, IndexError) as e:
        raise InputError(f"{path}: not a valid BVH file ({e})") from e


_CHANNEL = re.compile(r"[XYZ](position|rotation)", re.IGNORECASE)


def parse_bvh(text: str, source: str = "") -> Bvh:
    parts = re.split(r"^\s*MOTION\s*$", text, maxsplit=1, flags=re.IGNORECASE | re.MULTILINE)
    if len(parts) < 2:
        raise ValueError("it has no MOTION section")
    head, motion_text = parts
    tokens = head.split()
    if not tokens or tokens[0].upper() != "HIERARCHY":
        raise ValueError("it does not start with HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []
    i = 1
    pending_end = False
    while i < len(tokens):
        tok = tokens[i]
        up = tok.upper()
        if up in ("ROOT", "JOINT"):
            if tokens[i + 1] in names:
                raise ValueError(f"joint name {tokens[i + 1]!r} appears twice")
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif up == "END":  # End Site
            pending_end = True
            i += 2
        elif tok == "{":
            stack.append(-2 if pending_end else len(names) - 1)
            pending_end = False
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif up == "OFFSET":
            vec = [float(v) for v in tokens[i + 1:i + 4]]
            if not np.isfinite(vec).all():  # float() takes "nan" and "inf": one such bone spoiled a whole training
                raise ValueError(f"joint {names[-1] if names else '?'!r} has an OFFSET that is not finite numbers: "
                                 f"{' '.join(tokens[i + 1:i + 4])}")
            if stack and stack[-1] == -2:
                owner = next(s for s in reversed(stack) if s >= 0)
                end_sites.setdefault(owner, np.array(vec))
            else:
                offsets[-1] = vec
            i += 4
        elif up == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2:i + 2 + n]
            bad = [c for c in channels[-1] if not _CHANNEL.fullmatch(c)]
            if bad or len(channels[-1]) != n:
                raise ValueError(f"joint {names[-1]!r} has channels {' '.join(channels[-1])!r}: each must be "
                                 "X/Y/Z and position/rotation")
            i += 2 + n
        else:
            raise ValueError(f"unexpected token {tok!r} in HIERARCHY")
    # Parents are recorded as stack entries: an End Site never owns joints, so -2 never appears.
    if not names:
        raise ValueError("no joints in HIERARCHY")
    m = re.match(r"\s*Frames:\s*(\S+)\s+Frame\s+Time:\s*(\S+)[^\n]*\n?", motion_text, re.IGNORECASE)
    if m is None:
        raise ValueError("its MOTION section lacks 'Frames:' and 'Frame Time:'")
    frames, frame_time = int(m.group(1)), float(m.group(2))
    if not 0 < frame_time <= 1:  # NaN fails too
        raise ValueError(f"Frame Time must be a number of seconds in (0, 1], got {m.group(2)}")
    n_chan = sum(len(c) for c in channels)
    if n_chan == 0:
        raise ValueError("no channels")
    # Row by row: a row with a value too many or too few would shift every later channel.
    rows = [line.split() for line in motion_text[m.end():].splitlines() if line.strip()]
    if rows and len(rows[-1]) < n_chan:
        rows.pop()  # a truncated file: keep the complete frames
    for k, row in enumerate(rows[:frames]):
        if len(row) != n_chan:
            raise ValueError(f"motion row {k + 1} has {len(row)} values where the channels need {n_chan}")
    frames = min(frames, len(rows))
    if frames < 1:
        raise ValueError("no complete frame of motion")
    motion = np.array(rows[:frames], dtype=np.float64)
    if not np.isfinite(motion).all():
        raise ValueError(f"motion row {int(np.flatnonzero(~np.isfinite(motion).all(axis=1))[0]) + 1} holds a value "
                         "that is not a finite number")
    return Bvh(names=names, parents=np.array(parents, dtype=np.int32), offsets=np.array(offsets, dtype=np.float64),
               channels=channels, end_sites=end_sites, frame_time=frame_time, motion=motion, source=source)
