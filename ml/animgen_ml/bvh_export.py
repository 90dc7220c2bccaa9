"""HumanoidClip <-> BVH (Biovision hierarchy).

Conventions of the files written here: Y up, the character faces +Z (glTF's space, unchanged), units
centimetres (import in Blender with scale 0.01 to get metres), Euler channels in ZXY order
("Zrotation Xrotation Yrotation": the joint's rotation matrix is Rz @ Rx @ Ry), angles in degrees.
Joints are the clip's bones with OFFSETs from the rest pose (a T-pose, so every rest rotation is zero);
the root (Hips) has a zero OFFSET and Xposition Yposition Zposition, its world position, then its rotations
(readers that add the channels to the OFFSET, as three.js, and those that replace it, as Blender, agree); every other
joint has three rotation channels. Leaf bones end in an End Site. One line per frame.
read_bvh_clip reads these files back (for round-trip tests); it is not a general mocap loader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip

CM_PER_M = 100.0
_ROT_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}
# End Sites give the leaf bones a length (importers draw a bone from a joint to its child or End Site).
_END_SITE = {"Head": (0.0, 0.18, 0.0), "LeftToes": (0.0, 0.0, 0.06), "RightToes": (0.0, 0.0, 0.06)}


def quat_to_euler_zxy(q: np.ndarray) -> np.ndarray:
    """Angles (z, x, y) in radians with rotation matrix Rz(z) @ Rx(x) @ Ry(y) == to_matrix(q)."""
    m = R.to_matrix(q)
    x = np.arcsin(np.clip(m[..., 2, 1], -1.0, 1.0))
    z = np.arctan2(-m[..., 0, 1], m[..., 1, 1])
    y = np.arctan2(-m[..., 2, 0], m[..., 2, 2])
    # At x = +-90 degrees z and y turn about the same axis: put it all in z.
    lock = np.abs(m[..., 2, 1]) > 1.0 - 1e-9
    z = np.where(lock, np.arctan2(m[..., 1, 0], m[..., 0, 0]), z)
    y = np.where(lock, 0.0, y)
    return np.stack([z, x, y], axis=-1)


def euler_to_quat(angles: np.ndarray, order: str) -> np.ndarray:
    """Quaternion of Euler angles (..., 3) in radians, matrix = R_order[0] @ R_order[1] @ R_order[2]."""
    q = R.identity(angles.shape[:-1])
    for i, axis in enumerate(order):
        q = R.multiply(q, R.from_axis_angle(np.broadcast_to(_AXES[axis], angles.shape), angles[..., i]))
    return q


def _end_site(clip: HumanoidClip, b: int) -> np.ndarray:
    name = clip.bones[b]
    return np.array(_END_SITE.get(name, 0.5 * clip.rest_offsets[b]), dtype=np.float64)


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in values)


def write_bvh(clip: HumanoidClip, path: str | Path) -> None:
    from animgen_ml.gltf_export import check_finite

    check_finite(clip)
    children: list[list[int]] = [[] for _ in clip.bones]
    for b, p in enumerate(clip.parents):
        if p >= 0:
            children[p].append(b)
    lines = ["HIERARCHY"]
    order: list[int] = []  # joints in file order (depth first): the order of the motion columns

    def joint(b: int, depth: int) -> None:
        order.append(b)
        pad = "  " * depth
        kind = "ROOT" if clip.parents[b] < 0 else "JOINT"
        lines.append(f"{pad}{kind} {clip.bones[b]}")
        lines.append(f"{pad}{{")
        # The root's OFFSET is zero, its position channels absolute (as CMU's files): readers differ on whether the
        # channels add to the OFFSET (three.js) or replace it (Blender), and with a zero OFFSET both are right.
        offset = clip.rest_offsets[b] if clip.parents[b] >= 0 else np.zeros(3)
        lines.append(f"{pad}  OFFSET {_fmt(offset * CM_PER_M)}")
        if clip.parents[b] < 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {' '.join(_ROT_CHANNELS)}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {' '.join(_ROT_CHANNELS)}")
        for c in children[b]:
            joint(c, depth + 1)
        if not children[b]:
            lines.extend([f"{pad}  End Site", f"{pad}  {{",
                          f"{pad}    OFFSET {_fmt(_end_site(clip, b) * CM_PER_M)}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    roots = [b for b in range(len(clip.bones)) if clip.parents[b] < 0]
    for r in roots:
        joint(r, 0)
    euler = np.degrees(quat_to_euler_zxy(clip.rotations))  # (T, B, 3)
    euler = np.degrees(np.unwrap(np.radians(euler), axis=0))  # no 360-degree jumps between frames
    T = clip.frame_count
    columns = [clip.hips * CM_PER_M] + [euler[:, b] for b in order]
    motion = np.concatenate(columns, axis=1) if T else np.zeros((0, 3 + 3 * len(order)))
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / clip.fps:.10f}"]
    lines += [_fmt(row) for row in motion]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def read_bvh_clip(path: str | Path, units_per_metre: float = CM_PER_M) -> HumanoidClip:
    """Read a BVH written by write_bvh (any Euler order per joint) back into a HumanoidClip in clip order."""
    tokens = Path(path).read_text(encoding="utf-8-sig").split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    i = 1  # after HIERARCHY
    in_end_site = False
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append([])
            i += 2
        elif tok == "End":
            in_end_site = True
            i += 2
        elif tok == "{":
            if not in_end_site:
                stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            if in_end_site:
                in_end_site = False
            else:
                stack.pop()
            i += 1
        elif tok == "OFFSET":
            if not in_end_site:
                offsets[-1] = [float(v) for v in tokens[i + 1:i + 4]]
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            raise ValueError(f"{path}: unexpected token {tok!r} in the BVH hierarchy")
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    width = sum(len(c) for c in channels)
    data = np.array(tokens[i + 6:i + 6 + frames * width], dtype=np.float64).reshape(frames, width)

    B = len(names)
    hips = np.zeros((frames, 3))
    rot = R.identity((frames, B))
    col = 0
    for b in range(B):
        ch = channels[b]
        block = data[:, col:col + len(ch)]
        col += len(ch)
        pos = [ch.index(f"{a}position") for a in "XYZ" if f"{a}position" in ch]
        if len(pos) == 3:
            hips = block[:, pos] / units_per_metre
        rot_idx = [k for k, c in enumerate(ch) if c.endswith("rotation")]
        if rot_idx:
            order = "".join(ch[k][0] for k in rot_idx)
            rot[:, b] = euler_to_quat(np.radians(block[:, rot_idx]), order)
    # Back to the clip's bone order (parents first, HumanBodyBones order) so that it compares with the clip.
    known = [b for b in skeleton.ALL_BONES if b in names]
    perm = [names.index(b) for b in known]
    return HumanoidClip(bones=known, rest_offsets=np.array(offsets)[perm] / units_per_metre, fps=1.0 / frame_time,
                        hips=hips, rotations=rot[:, perm], contacts=np.zeros((frames, 2), bool),
                        confidence=np.ones((frames, len(known))), name=Path(path).stem)
