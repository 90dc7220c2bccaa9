"""The HumanoidClip skeleton: Unity HumanBodyBones names, parents and a default T-pose rest.

Space is glTF's: right-handed, +Y up, the character faces +Z, so its left side is +X. In the rest pose
every rotation is identity: arms along +-X, legs down -Y, feet forward +Z.
"""

from __future__ import annotations

import numpy as np

from animgen_ml import rotations as R

_SIDES = ("Left", "Right")
_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
_PHALANGES = ("Proximal", "Intermediate", "Distal")

# (bone, parent) for the 22 body bones, parents first.
_BODY: list[tuple[str, str | None]] = [
    ("Hips", None),
    ("Spine", "Hips"),
    ("Chest", "Spine"),
    ("UpperChest", "Chest"),
    ("Neck", "UpperChest"),
    ("Head", "Neck"),
]
for _s in _SIDES:
    _BODY += [
        (f"{_s}Shoulder", "UpperChest"),
        (f"{_s}UpperArm", f"{_s}Shoulder"),
        (f"{_s}LowerArm", f"{_s}UpperArm"),
        (f"{_s}Hand", f"{_s}LowerArm"),
    ]
for _s in _SIDES:
    _BODY += [
        (f"{_s}UpperLeg", "Hips"),
        (f"{_s}LowerLeg", f"{_s}UpperLeg"),
        (f"{_s}Foot", f"{_s}LowerLeg"),
        (f"{_s}Toes", f"{_s}Foot"),
    ]

_FINGER_BONES: list[tuple[str, str]] = []
for _s in _SIDES:
    for _f in _FINGERS:
        for _i, _p in enumerate(_PHALANGES):
            parent = f"{_s}Hand" if _i == 0 else f"{_s}{_f}{_PHALANGES[_i - 1]}"
            _FINGER_BONES.append((f"{_s}{_f}{_p}", parent))

BODY_BONES: tuple[str, ...] = tuple(b for b, _ in _BODY)
FINGER_BONES: tuple[str, ...] = tuple(b for b, _ in _FINGER_BONES)
ALL_BONES: tuple[str, ...] = BODY_BONES + FINGER_BONES
_PARENT_NAME = {b: p for b, p in _BODY + _FINGER_BONES}

# Default rest offsets from the parent (metres) for a person about 1.75 m tall.
_BODY_OFFSETS = {
    "Hips": (0.0, 0.95, 0.0),
    "Spine": (0.0, 0.10, 0.0),
    "Chest": (0.0, 0.12, 0.0),
    "UpperChest": (0.0, 0.12, 0.0),
    "Neck": (0.0, 0.14, 0.0),
    "Head": (0.0, 0.10, 0.0),
    "LeftShoulder": (0.03, 0.10, 0.0),
    "LeftUpperArm": (0.14, 0.0, 0.0),
    "LeftLowerArm": (0.28, 0.0, 0.0),
    "LeftHand": (0.25, 0.0, 0.0),
    "LeftUpperLeg": (0.09, -0.06, 0.0),
    "LeftLowerLeg": (0.0, -0.42, 0.0),
    "LeftFoot": (0.0, -0.42, 0.0),
    "LeftToes": (0.0, -0.06, 0.13),
}
# Finger phalanx lengths (metres) and where each finger leaves the hand (+X is along the left hand).
_FINGER_BASE = {
    "Thumb": (0.025, -0.01, 0.03),
    "Index": (0.09, 0.0, 0.03),
    "Middle": (0.095, 0.0, 0.01),
    "Ring": (0.09, 0.0, -0.01),
    "Little": (0.08, 0.0, -0.03),
}
_FINGER_LEN = {"Thumb": 0.035, "Index": 0.035, "Middle": 0.038, "Ring": 0.035, "Little": 0.028}


def _mirror(v: tuple[float, float, float]) -> tuple[float, float, float]:
    return (-v[0], v[1], v[2])


def _default_offset(bone: str) -> tuple[float, float, float]:
    if bone in _BODY_OFFSETS:
        return _BODY_OFFSETS[bone]
    if bone.startswith("Right") and "Left" + bone[5:] in _BODY_OFFSETS:
        return _mirror(_BODY_OFFSETS["Left" + bone[5:]])
    side = "Left" if bone.startswith("Left") else "Right"
    rest = bone[len(side):]
    finger = next(f for f in _FINGERS if rest.startswith(f))
    phalanx = rest[len(finger):]
    if phalanx == "Proximal":
        v = _FINGER_BASE[finger]
    elif finger == "Thumb":  # the thumb points forward and out along the left hand's +X, +Z
        v = (_FINGER_LEN[finger] * 0.7, 0.0, _FINGER_LEN[finger] * 0.7)
    else:
        v = (_FINGER_LEN[finger], 0.0, 0.0)
    return v if side == "Left" else _mirror(v)


def bone_names(fingers: bool = False) -> list[str]:
    """Bones of a HumanoidClip, parents before children; fingers after the 22 body bones."""
    return list(ALL_BONES if fingers else BODY_BONES)


def parents_of(bones: list[str]) -> np.ndarray:
    """Parent index per bone (-1 for the root); raises if a parent is missing or comes later."""
    index = {b: i for i, b in enumerate(bones)}
    out = np.full(len(bones), -1, dtype=np.int32)
    for i, b in enumerate(bones):
        if b not in _PARENT_NAME:
            raise ValueError(f"unknown HumanBodyBones name: {b!r}")
        p = _PARENT_NAME[b]
        if p is None:
            continue
        if p not in index or index[p] >= i:
            raise ValueError(f"bone {b!r} needs its parent {p!r} before it")
        out[i] = index[p]
    return out


def default_rest_offsets(bones: list[str]) -> np.ndarray:
    """(B, 3) rest offsets from each bone's parent for a default-sized person."""
    return np.array([_default_offset(b) for b in bones], dtype=np.float64)


def forward_kinematics(
    parents: np.ndarray, offsets: np.ndarray, hips: np.ndarray, local_rot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, B, 3) and world rotations (T, B, 4, xyzw).

    offsets: (B, 3) or (T, B, 3); hips: (T, 3) world Hips position; local_rot: (T, B, 4).
    """
    T, B = local_rot.shape[:2]
    offsets = np.broadcast_to(offsets, (T, B, 3))
    pos = np.zeros((T, B, 3))
    rot = np.zeros((T, B, 4))
    for b in range(B):
        p = parents[b]
        if p < 0:
            rot[:, b] = local_rot[:, b]
            pos[:, b] = hips
        else:
            rot[:, b] = R.multiply(rot[:, p], local_rot[:, b])
            pos[:, b] = pos[:, p] + R.apply(rot[:, p], offsets[:, b])
    return pos, rot


def rest_positions(parents: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(B, 3) joint positions in the T-pose rest (Hips at its rest offset)."""
    offsets = np.asarray(offsets, dtype=np.float64)
    pos = offsets.copy()  # nothing turns at rest: each joint is its parent's plus its offset (parents come first)
    for b, p in enumerate(parents):
        if p >= 0:
            pos[b] += pos[p]
    return pos
