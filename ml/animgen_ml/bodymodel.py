"""How the 33 BlazePose landmarks (and the 21 hand points) attach to the HumanoidClip skeleton.

Joints: shoulder/elbow/wrist are the UpperArm/LowerArm/Hand joints, hip/knee/ankle the UpperLeg/LowerLeg/Foot
joints. Every other landmark is a fixed offset in one bone's frame, given here for the default skeleton and
scaled with the actor: face points with the head (Neck + Head length), hand points with the forearm, foot
points with the foot (Toes offset). The solver inverts exactly this model, and synthetic training data is
made with it, so the two always agree.

Spaces: glTF (+Y up, faces +Z, left is +X, metres). MediaPipe world: hip-centred, x image right, y down,
z away from the camera; for a camera on the +Z side looking at -Z that is (X, -Y, -Z) of glTF. A camera yaw
puts the camera at angle `yaw` (radians) about +Y from the +Z axis, still looking at the person.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.landmarks import LM, POSE_LANDMARKS

# Landmark -> (bone, offset in that bone's frame for the default skeleton, scale group). Left side only:
# "right_*" landmarks mirror X. Offsets from skeleton.py's default: Head joint at 1.53 m, ankle at 0.05 m.
_LEFT_ATTACH: dict[str, tuple[str, tuple[float, float, float], str]] = {
    "nose": ("Head", (0.0, 0.07, 0.10), "head"),
    "left_eye_inner": ("Head", (0.015, 0.10, 0.09), "head"),
    "left_eye": ("Head", (0.032, 0.10, 0.085), "head"),
    "left_eye_outer": ("Head", (0.045, 0.10, 0.08), "head"),
    "left_ear": ("Head", (0.075, 0.08, 0.0), "head"),
    "mouth_left": ("Head", (0.025, 0.035, 0.09), "head"),
    "left_shoulder": ("LeftUpperArm", (0.0, 0.0, 0.0), "joint"),
    "left_elbow": ("LeftLowerArm", (0.0, 0.0, 0.0), "joint"),
    "left_wrist": ("LeftHand", (0.0, 0.0, 0.0), "joint"),
    # Palm down in the T-pose, thumb forward (+Z): knuckles of index / little finger, thumb tip.
    "left_pinky": ("LeftHand", (0.08, 0.0, -0.03), "hand"),
    "left_index": ("LeftHand", (0.09, 0.0, 0.03), "hand"),
    "left_thumb": ("LeftHand", (0.06, -0.01, 0.07), "hand"),
    "left_hip": ("LeftUpperLeg", (0.0, 0.0, 0.0), "joint"),
    "left_knee": ("LeftLowerLeg", (0.0, 0.0, 0.0), "joint"),
    "left_ankle": ("LeftFoot", (0.0, 0.0, 0.0), "joint"),
    # The sole is at ankle - 0.06 m: heel behind the ankle, toe tip 5 cm past the Toes joint.
    "left_heel": ("LeftFoot", (0.0, -0.06, -0.06), "foot"),
    "left_foot_index": ("LeftToes", (0.0, 0.0, 0.05), "foot"),
}

# Default lengths that the scale groups are measured against.
DEFAULT_HEAD = 0.24  # |Neck offset| + |Head offset|
DEFAULT_FOREARM = 0.25  # |LeftHand offset|
DEFAULT_TOES = float(np.hypot(0.06, 0.13))  # |LeftToes offset|


def _mirror_name(name: str) -> str:
    return name.replace("left", "@").replace("right", "left").replace("@", "right")


def _attach_table() -> list[tuple[str, tuple[float, float, float], str]]:
    table = []
    for name in POSE_LANDMARKS:
        if name in _LEFT_ATTACH:
            table.append(_LEFT_ATTACH[name])
        else:
            bone, (x, y, z), group = _LEFT_ATTACH[_mirror_name(name)]
            table.append((bone.replace("Left", "Right"), (-x, y, z), group))
    return table


_ATTACH = _attach_table()


def scale_groups(bones: list[str], rest_offsets: np.ndarray) -> dict[str, float]:
    """Actor scale of each landmark group relative to the default skeleton."""
    i = {b: k for k, b in enumerate(bones)}
    off = np.asarray(rest_offsets, dtype=np.float64)
    head = float(np.linalg.norm(off[i["Neck"]]) + np.linalg.norm(off[i["Head"]]))
    forearm = float(0.5 * (np.linalg.norm(off[i["LeftHand"]]) + np.linalg.norm(off[i["RightHand"]])))
    toes = float(0.5 * (np.linalg.norm(off[i["LeftToes"]]) + np.linalg.norm(off[i["RightToes"]])))
    return {"joint": 0.0, "head": head / DEFAULT_HEAD, "hand": forearm / DEFAULT_FOREARM, "foot": toes / DEFAULT_TOES}


def attachments(bones: list[str], rest_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pose landmark: the bone index it hangs from (33,) and its offset in that bone's frame (33, 3)."""
    index = {b: k for k, b in enumerate(bones)}
    scales = scale_groups(bones, rest_offsets)
    idx = np.array([index[bone] for bone, _, _ in _ATTACH], dtype=np.int64)
    offs = np.array([np.asarray(o) * (scales[g] if g != "joint" else 1.0) for _, o, g in _ATTACH])
    return idx, offs


def pose_landmarks_world(bones: list[str], rest_offsets: np.ndarray, hips: np.ndarray,
                         rotations: np.ndarray) -> np.ndarray:
    """(T, 33, 3) landmark positions in glTF world space, by forward kinematics."""
    parents = skeleton.parents_of(list(bones))
    pos, rot = skeleton.forward_kinematics(parents, rest_offsets, hips, rotations)
    return landmarks_from_world(bones, rest_offsets, pos, rot)


def landmarks_from_world(bones: list[str], rest_offsets: np.ndarray, pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """(T, 33, 3) landmarks from world joint positions (T, B, 3) and world rotations (T, B, 4)."""
    idx, offs = attachments(bones, rest_offsets)
    return pos[:, idx] + R.apply(rot[:, idx], offs[None])


def clip_pose_landmarks(clip) -> np.ndarray:
    """(T, 33, 3) glTF world landmarks of a HumanoidClip."""
    return pose_landmarks_world(clip.bones, clip.rest_offsets, clip.hips, clip.rotations)


def rest_landmarks(bones: list[str], rest_offsets: np.ndarray) -> np.ndarray:
    """(33, 3) landmarks in the T-pose rest (Hips at its rest offset)."""
    idx, offs = attachments(bones, rest_offsets)
    return skeleton.rest_positions(skeleton.parents_of(list(bones)), rest_offsets)[idx] + offs


def hip_centre(points: np.ndarray) -> np.ndarray:
    """(..., 3) midpoint of the two hip landmarks of (..., 33, 3) points."""
    return 0.5 * (points[..., LM["left_hip"], :] + points[..., LM["right_hip"], :])


def _yaw_quat(yaw: float) -> np.ndarray:
    return R.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.asarray(yaw))


_TO_MP = np.array([1.0, -1.0, -1.0])


def to_mediapipe_world(points_gltf: np.ndarray, yaw: float = 0.0, centre: np.ndarray | None = None) -> np.ndarray:
    """glTF world points (T, N, 3) -> MediaPipe world convention, seen by a camera at `yaw`.

    centre: (T, 3) origin to subtract; default the hip centre of the 33 pose landmarks (N must be 33).
    """
    c = hip_centre(points_gltf) if centre is None else centre
    p = points_gltf - c[:, None, :]
    p = R.apply(R.conjugate(_yaw_quat(yaw)), p)  # into the camera's frame
    return p * _TO_MP


def from_mediapipe_world(world: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """MediaPipe world (..., 3) -> glTF directions/positions (hip-centred), undoing a camera yaw."""
    return R.apply(_yaw_quat(yaw), world * _TO_MP)


def project_to_image(points_gltf: np.ndarray, width: int, height: int, *, yaw: float = 0.0,
                     distance: float = 4.0, camera_height: float = 1.0, focal_px: float | None = None) -> np.ndarray:
    """A pinhole camera's view of glTF world points (T, N, 3), in MediaPipe's image convention.

    The camera stands `distance` metres from the world origin at angle `yaw` about +Y, at `camera_height`,
    looking horizontally at the origin. Returns normalised x, y (0..1 inside the frame) and z: depth relative
    to the hip centre in about the units of x (MediaPipe's convention), so (T, N, 3).
    """
    f = focal_px if focal_px is not None else default_focal(width, height)
    cam = np.array([np.sin(yaw) * distance, camera_height, np.cos(yaw) * distance])
    p = R.apply(R.conjugate(_yaw_quat(yaw)), points_gltf - cam)  # camera looks along -Z
    depth = -p[..., 2]
    if np.any(depth <= 0.05):
        raise ValueError("a point is behind or at the camera")
    u = width / 2 + f * p[..., 0] / depth
    v = height / 2 - f * p[..., 1] / depth
    if points_gltf.shape[-2] == 33:
        zc = depth - 0.5 * (depth[..., LM["left_hip"]] + depth[..., LM["right_hip"]])[..., None]
    else:
        zc = depth - depth[..., :1]
    z = zc * f / depth / width
    return np.stack([u / width, v / height, z], axis=-1)


def default_focal(width: int, height: int, fov_degrees: float = 55.0) -> float:
    """Focal length in pixels for a typical phone/camcorder horizontal field of view on the long side."""
    return 0.5 * max(width, height) / np.tan(np.radians(fov_degrees) / 2)


# Hand points: wrist, then per finger the three joints and the tip (thumb: cmc, mcp, ip, tip).
_FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
_PHALANGES = ("Proximal", "Intermediate", "Distal")


def hand_chain(side: str) -> list[list[str]]:
    """Per finger, its three bone names (the 20 finger points are these joints and each distal tip)."""
    return [[f"{side}{f}{p}" for p in _PHALANGES] for f in _FINGERS]


def hand_landmarks_world(bones: list[str], rest_offsets: np.ndarray, pos: np.ndarray, rot: np.ndarray,
                         side: str) -> np.ndarray | None:
    """(T, 21, 3) hand points in glTF world space from world joints (T, B, 3) and rotations (T, B, 4);
    None when the clip has no finger bones. side: "Left" or "Right". The tip continues the distal bone by its
    own rest length (the Distal offset from the Intermediate)."""
    index = {b: k for k, b in enumerate(bones)}
    if f"{side}IndexProximal" not in index:
        return None
    off = np.asarray(rest_offsets, dtype=np.float64)
    out = [pos[:, index[f"{side}Hand"]]]
    for chain in hand_chain(side):
        for b in chain:
            out.append(pos[:, index[b]])
        d = index[chain[-1]]
        out.append(pos[:, d] + R.apply(rot[:, d], off[d]))
    return np.stack(out, axis=1)



def landmarks_from_clip(clip, *, width: int = 1280, height: int = 720, yaw: float = 0.0, distance: float = 4.0,
                        camera_height: float = 1.0, times: np.ndarray | None = None):
    """Synthetic Landmarks as a camera at `yaw` would see the clip: exact world points, pinhole image points,
    visibility 1, hands when the clip has fingers. For tests and training data."""
    from animgen_ml.landmarks import Landmarks

    pos, rot = clip.world()
    pts = landmarks_from_world(clip.bones, clip.rest_offsets, pos, rot)
    T = len(pts)
    hands: dict[str, Any] = {}
    for side in ("Left", "Right"):
        h = hand_landmarks_world(clip.bones, clip.rest_offsets, pos, rot, side)
        if h is not None:  # as pose.py gives them: image points, and world points about the body's origin
            hands[f"{side.lower()}_hand"] = project_to_image(h, width, height, yaw=yaw, distance=distance,
                                                             camera_height=camera_height)
            hands[f"{side.lower()}_hand_world"] = to_mediapipe_world(h, yaw, centre=hip_centre(pts))
    return Landmarks(
        times=np.arange(T) / clip.fps if times is None else times,
        image=project_to_image(pts, width, height, yaw=yaw, distance=distance, camera_height=camera_height),
        world=to_mediapipe_world(pts, yaw),
        visibility=np.ones((T, 33)),
        detected=np.ones(T, dtype=bool),
        width=width,
        height=height,
        source="synthetic",
        **hands,
    )
