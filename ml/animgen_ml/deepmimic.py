"""DeepMimic motion files (xbpeng/DeepMimic `data/motions/humanoid3d_*.txt`) as HumanoidClips, for training.

A file is JSON {"Loop": "wrap" | "none", "Frames": [[duration, root position (3), root rotation (w, x, y, z),
then local rotations: chest, neck, right hip, right knee, right ankle, right shoulder, right elbow, left hip, left
knee, left ankle, left shoulder, left elbow], ...]}: quaternions (w, x, y, z) for ball joints, one angle about
the joint's z axis for knees and elbows. Metres, y up; the character faces +x with its right side at +z.
The skeleton below is the humanoid3d character's (`data/characters/humanoid3d.txt`); the head, toes and hands,
which the character has no joints for, sit where its head sphere, foot box and wrist are.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from animgen_ml import mocap
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

# name (as map_bones reads it), parent, offset from the parent (m), value layout: "q" quaternion, "z" angle, "" none
_JOINTS = [
    ("Hips", -1, (0.0, 0.0, 0.0), ""),
    ("Chest", 0, (0.0, 0.236151, 0.0), "q"),
    ("Neck", 1, (0.0, 0.223894, 0.0), "q"),
    ("Head", 2, (0.0, 0.1, 0.0), ""),
    ("RightUpLeg", 0, (0.0, 0.0, 0.084887), "q"),
    ("RightLeg", 4, (0.0, -0.421546, 0.0), "z"),
    ("RightFoot", 5, (0.0, -0.40987, 0.0), "q"),
    ("RightToeBase", 6, (0.12, -0.045, 0.0), ""),  # the ball of the foot box, at the sole
    ("RightArm", 1, (-0.02405, 0.2435, 0.18311), "q"),
    ("RightForeArm", 8, (0.0, -0.274788, 0.0), "z"),
    ("RightHand", 9, (0.0, -0.258947, 0.0), ""),
    ("LeftUpLeg", 0, (0.0, 0.0, -0.084887), "q"),
    ("LeftLeg", 11, (0.0, -0.421546, 0.0), "z"),
    ("LeftFoot", 12, (0.0, -0.40987, 0.0), "q"),
    ("LeftToeBase", 13, (0.12, -0.045, 0.0), ""),
    ("LeftArm", 1, (-0.02405, 0.2435, -0.18311), "q"),
    ("LeftForeArm", 15, (0.0, -0.274788, 0.0), "z"),
    ("LeftHand", 16, (0.0, -0.258947, 0.0), ""),
]
# The file's order of the joints with values.
_ORDER = ["Chest", "Neck", "RightUpLeg", "RightLeg", "RightFoot", "RightArm", "RightForeArm",
          "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftArm", "LeftForeArm"]
_VALUES = 1 + 3 + 4 + sum(4 if kind == "q" else 1 for name, _, _, kind in _JOINTS if name in _ORDER)
MIN_S = 4.0  # shorter clips are repeated (loops) or held still at both ends to this long (a training window: 3.2 s)


def _wxyz(a: np.ndarray) -> np.ndarray:
    return R.normalize(a[..., [1, 2, 3, 0]])


def read_frames(path: str | Path) -> tuple[np.ndarray, float, bool]:
    """(frames (T, 44), fps, loops) of a DeepMimic motion file; InputError naming the file and the problem."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        frames = np.asarray(d["Frames"], dtype=float)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a DeepMimic motion file ({e})") from e
    if frames.ndim != 2 or frames.shape[1] != _VALUES or len(frames) < 2:
        raise InputError(f"{path}: expected frames of {_VALUES} values (the humanoid3d character), got "
                         f"{frames.shape}")
    dt = float(np.median(frames[:-1, 0]))
    if not dt > 0:
        raise InputError(f"{path}: frame durations are not positive")
    return frames, 1.0 / dt, d.get("Loop") == "wrap"


def repeat_loop(frames: np.ndarray, min_frames: int) -> np.ndarray:
    """A looping clip played over and over: its last frame is its first moved on, so each repeat starts there,
    moved and turned (about y) as far as the loop moves and turns the root."""
    out = frames
    while len(out) < min_frames:
        anchor = out[-1]
        v = R.apply(R.multiply(_wxyz(anchor[4:8]), R.conjugate(_wxyz(frames[0, 4:8]))), np.array([1.0, 0.0, 0.0]))
        heading = R.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.arctan2(-v[2], v[0]))
        nxt = frames[1:].copy()
        step = R.apply(heading, frames[1:, 1:4] - frames[0, 1:4])
        nxt[:, [1, 3]] = anchor[[1, 3]] + step[:, [0, 2]]  # the height is the loop's own
        nxt[:, 4:8] = R.multiply(heading, _wxyz(frames[1:, 4:8]))[:, [3, 0, 1, 2]]
        out = np.concatenate([out, nxt])
    return out


def hold_ends(frames: np.ndarray, min_frames: int) -> np.ndarray:
    """A clip held still on its first and last frames (half the missing time each) to min_frames."""
    pad = max(min_frames - len(frames), 0)
    return np.concatenate([np.repeat(frames[:1], pad // 2, 0), frames, np.repeat(frames[-1:], pad - pad // 2, 0)])


def load_clip(path: str | Path, fps: float = 30.0) -> HumanoidClip:
    """A DeepMimic motion on our skeleton (mocap.motion_to_clip), at least MIN_S long."""
    frames, src_fps, loops = read_frames(path)
    n = int(np.ceil(MIN_S * src_fps))
    frames = repeat_loop(frames, n) if loops else hold_ends(frames, n)
    T, J = len(frames), len(_JOINTS)
    local = R.identity((T, J))
    local[:, 0] = _wxyz(frames[:, 4:8])
    col = 8
    for name in _ORDER:
        j = next(i for i, jt in enumerate(_JOINTS) if jt[0] == name)
        if _JOINTS[j][3] == "q":
            local[:, j] = _wxyz(frames[:, col:col + 4])
            col += 4
        else:
            local[:, j] = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), frames[:, col])
            col += 1
    parents = np.array([p for _, p, _, _ in _JOINTS])
    offsets = np.array([o for _, _, o, _ in _JOINTS])
    pos, rot = np.zeros((T, J, 3)), np.zeros((T, J, 4))
    rest = np.zeros((J, 3))
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j], rot[:, j] = frames[:, 1:4], local[:, j]
        else:
            rest[j] = rest[p] + offsets[j]
            pos[:, j] = pos[:, p] + R.apply(rot[:, p], np.broadcast_to(offsets[j], (T, 3)))
            rot[:, j] = R.multiply(rot[:, p], local[:, j])
    return mocap.motion_to_clip([n for n, _, _, _ in _JOINTS], parents, rest, pos, rot, src_fps, str(path),
                                fps=fps, units="m")
