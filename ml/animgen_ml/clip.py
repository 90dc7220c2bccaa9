"""HumanoidClip: the one result format, in memory and as JSON (DESIGN.md, "The HumanoidClip contract")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from animgen_ml import skeleton

JSON_FORMAT = "animgen.HumanoidClip/1"


@dataclass
class HumanoidClip:
    """Motion on the HumanoidClip skeleton, in glTF space (+Y up, faces +Z, metres, xyzw quaternions)."""

    bones: list[str]
    rest_offsets: np.ndarray  # (B, 3) from the parent; Hips: its rest position
    fps: float
    hips: np.ndarray  # (T, 3) world Hips position
    rotations: np.ndarray  # (T, B, 4) local rotations from the T-pose rest
    contacts: np.ndarray  # (T, 2) bool: left, right foot planted
    confidence: np.ndarray  # (T, B) in [0, 1]
    root_motion: np.ndarray | None = None  # (T, 3) horizontal motion removed by "in place"
    name: str = "clip"
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        B = len(self.bones)
        T = len(self.hips)
        checks = {
            "rest_offsets": (self.rest_offsets, (B, 3)),
            "hips": (self.hips, (T, 3)),
            "rotations": (self.rotations, (T, B, 4)),
            "contacts": (self.contacts, (T, 2)),
            "confidence": (self.confidence, (T, B)),
        }
        if self.root_motion is not None:
            checks["root_motion"] = (self.root_motion, (T, 3))
        for name, (arr, shape) in checks.items():
            if np.shape(arr) != shape:
                raise ValueError(f"HumanoidClip.{name} has shape {np.shape(arr)}, expected {shape}")
        if not self.fps > 0:
            raise ValueError(f"HumanoidClip.fps must be positive, got {self.fps}")
        self.parents = skeleton.parents_of(self.bones)

    @property
    def frame_count(self) -> int:
        return len(self.hips)

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    def index(self, bone: str) -> int:
        return self.bones.index(bone)

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """World joint positions (T, B, 3) and rotations (T, B, 4)."""
        return skeleton.forward_kinematics(self.parents, self.rest_offsets, self.hips, self.rotations)

    def to_dict(self) -> dict:
        return {
            "format": JSON_FORMAT,
            "name": self.name,
            "fps": float(self.fps),
            "bones": [
                {"name": b, "parent": int(p), "rest_offset": [float(v) for v in o]}
                for b, p, o in zip(self.bones, self.parents, self.rest_offsets, strict=True)
            ],
            "hips": self.hips.tolist(),
            "rotations": self.rotations.tolist(),
            "contacts": self.contacts.astype(bool).tolist(),
            "confidence": self.confidence.tolist(),
            "root_motion": None if self.root_motion is None else self.root_motion.tolist(),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict) -> HumanoidClip:
        if d.get("format") != JSON_FORMAT:
            raise ValueError(f"not a HumanoidClip JSON (format {d.get('format')!r}, expected {JSON_FORMAT!r})")
        bones = [b["name"] for b in d["bones"]]
        B = len(bones)

        def arr(key: str, shape_tail: tuple[int, ...], dtype=np.float64) -> np.ndarray:
            a = np.asarray(d[key], dtype=dtype)
            return a.reshape((-1,) + shape_tail) if a.size == 0 else a

        return cls(
            bones=bones,
            rest_offsets=np.asarray([b["rest_offset"] for b in d["bones"]], dtype=np.float64).reshape(B, 3),
            fps=float(d["fps"]),
            hips=arr("hips", (3,)),
            rotations=arr("rotations", (B, 4)),
            contacts=arr("contacts", (2,), bool),
            confidence=arr("confidence", (B,)),
            root_motion=None if d.get("root_motion") is None else arr("root_motion", (3,)),
            name=d.get("name", "clip"),
            metadata=dict(d.get("metadata", {})),
        )

    def save_json(self, path: str | Path) -> None:
        # repr-exact floats: the JSON round-trips bit for bit.
        Path(path).write_text(json.dumps(self.to_dict(), separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load_json(cls, path: str | Path) -> HumanoidClip:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def empty_clip(bones: list[str], frames: int, fps: float, rest_offsets: np.ndarray | None = None) -> HumanoidClip:
    """A clip standing in the rest pose: handy for tests and as a starting point."""
    from animgen_ml import rotations as R

    offsets = skeleton.default_rest_offsets(bones) if rest_offsets is None else rest_offsets
    return HumanoidClip(
        bones=list(bones),
        rest_offsets=offsets,
        fps=fps,
        hips=np.tile(offsets[0], (frames, 1)),
        rotations=R.identity((frames, len(bones))),
        contacts=np.ones((frames, 2), dtype=bool),
        confidence=np.ones((frames, len(bones))),
    )
