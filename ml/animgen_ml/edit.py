"""Clip editing as game animators expect it (Mixamo-style): trim, speed, in place, mirror, loop, face +Z.
Each function takes a clip and returns a new one; the input is never changed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from animgen_ml import rotations as R
from animgen_ml import skeleton
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

_FLIP_X = np.array([-1.0, 1.0, 1.0])


def _opt(a: np.ndarray | None, sl) -> np.ndarray | None:
    return None if a is None else a[sl]


def trim(clip: HumanoidClip, start: float | None = None, end: float | None = None) -> HumanoidClip:
    """Frames whose time (frame / fps) lies in [start, end) seconds."""
    t = np.arange(clip.frame_count) / clip.fps
    keep = np.ones(clip.frame_count, dtype=bool)
    if start is not None:
        keep &= t >= start - 1e-9
    if end is not None:
        keep &= t < end - 1e-9
    if not keep.any():
        raise InputError(f"trim [{start}, {end}) s leaves no frame of a {clip.duration:.2f} s clip")
    return _take(clip, np.flatnonzero(keep))


def _take(clip: HumanoidClip, idx: np.ndarray) -> HumanoidClip:
    return replace(clip, hips=clip.hips[idx], rotations=clip.rotations[idx], contacts=clip.contacts[idx],
                   confidence=clip.confidence[idx], root_motion=_opt(clip.root_motion, idx))


def resample(clip: HumanoidClip, times: np.ndarray, fps: float) -> HumanoidClip:
    """The clip sampled at `times` (in source frames, fractional): linear positions, slerped rotations."""
    T = clip.frame_count
    times = np.clip(times, 0, T - 1)
    i0 = np.floor(times).astype(int)
    i1 = np.minimum(i0 + 1, T - 1)
    a = times - i0

    def lerp(x: np.ndarray | None) -> np.ndarray | None:
        if x is None:
            return None
        w = a.reshape((-1,) + (1,) * (x.ndim - 1))
        return (1 - w) * x[i0] + w * x[i1]

    rot = R.make_continuous(clip.rotations)
    rots = R.slerp(rot[i0], rot[i1], np.broadcast_to(a[:, None], rot[i0].shape[:2]))
    nearest = np.rint(times).astype(int)
    return replace(clip, fps=fps, hips=lerp(clip.hips), rotations=rots, contacts=clip.contacts[nearest],
                   confidence=lerp(clip.confidence), root_motion=lerp(clip.root_motion))


def retime(clip: HumanoidClip, factor: float = 1.0, fps: float | None = None) -> HumanoidClip:
    """Played `factor` times faster (a 2x clip lasts half as long), sampled at `fps` (default: the clip's own)."""
    if not factor > 0:
        raise InputError(f"--speed must be positive, got {factor}")
    fps = clip.fps if fps is None else float(fps)
    if (factor == 1.0 and fps == clip.fps) or clip.frame_count < 2:
        return replace(clip, fps=fps)
    step = factor * clip.fps / fps  # source frames per output frame
    n = max(1, int(round((clip.frame_count - 1) / step)) + 1)
    return resample(clip, np.arange(n) * step, fps)


def start_at_origin(clip: HumanoidClip) -> HumanoidClip:
    """The clip moved along the floor so that its Hips start above the origin (x = z = 0): a generator's path
    starts where the camera placed the person (up to 0.25 m off), and a clip played without root motion stood
    there."""
    if not clip.frame_count:
        return clip
    hips = clip.hips.copy()
    hips[:, [0, 2]] -= hips[0, [0, 2]]
    return replace(clip, hips=hips)


def in_place(clip: HumanoidClip) -> HumanoidClip:
    """Remove the horizontal Hips motion; it goes to clip.root_motion (hips + root_motion = the old hips)."""
    hips = clip.hips.copy()
    moved = np.zeros_like(hips)
    moved[:, [0, 2]] = hips[:, [0, 2]]
    hips[:, [0, 2]] = 0.0
    root = moved if clip.root_motion is None else clip.root_motion + moved
    return replace(clip, hips=hips, root_motion=root)


def _mirror_name(b: str) -> str:
    if b.startswith("Left"):
        return "Right" + b[4:]
    if b.startswith("Right"):
        return "Left" + b[5:]
    return b


def mirror(clip: HumanoidClip) -> HumanoidClip:
    """Reflect across the X = 0 plane: Left and Right swap, (x, y, z, w) -> (x, -y, -z, w)."""
    src = np.array([clip.index(_mirror_name(b)) for b in clip.bones])
    rot = clip.rotations[:, src] * np.array([1.0, -1.0, -1.0, 1.0])
    return replace(
        clip, rest_offsets=clip.rest_offsets[src] * _FLIP_X, hips=clip.hips * _FLIP_X, rotations=rot,
        contacts=clip.contacts[:, ::-1].copy(), confidence=clip.confidence[:, src],
        root_motion=None if clip.root_motion is None else clip.root_motion * _FLIP_X,
    )


LOOP_BLEND_S = 0.5  # seconds at the end of a clip over which loop makes the last pose the first


def loop_gap(clip: HumanoidClip) -> tuple[str, float]:
    """(bone, degrees): the body bone whose world rotation differs most between the last frame and the first, and
    by how much (the Hips' yaw included): what loop must blend away."""
    _, rot = clip.world()
    deg = np.degrees(R.angle(R.multiply(R.conjugate(rot[-1]), rot[0])))
    body = [clip.index(b) for b in clip.bones if b in skeleton.BODY_BONES]
    j = body[int(np.argmax(deg[body]))]
    return clip.bones[j], float(deg[j])


def seam_weights(frames: int, fps: float, blend_s: float = LOOP_BLEND_S) -> np.ndarray:
    """(T,) 0 up to the last blend_s, then rising smoothly to 1 on the last frame: how much of a loop's correction
    each frame takes."""
    w = np.zeros(frames)
    if frames < 2:
        return w
    n = min(max(2, int(round(blend_s * fps))), frames - 1)
    ramp = np.linspace(0.0, 1.0, n + 1)[1:]
    w[frames - n:] = ramp * ramp * (3 - 2 * ramp)
    return w


def loop(clip: HumanoidClip, blend_s: float = LOOP_BLEND_S) -> HumanoidClip:
    """Make the last pose the first: an engine plays the last key and the first at the same instant of a loop.
    Over the last blend_s a correction grows smoothly from nothing to what takes the last pose to the first: each
    bone's rotation and the Hips' height are offset, not pulled to a still pose, so the motion keeps its speed
    into the seam (pulled to the first pose, every loop slowed to a stop there). Horizontally the Hips keep their
    overall travel (one cycle's root motion) and their sway about it is blended out over the first and the last
    blend_s, so that the root leaves the seam as fast as it arrives (blended at the end only, a run's hips arrived
    at 4.5 m/s and left at 1.6)."""
    T = clip.frame_count
    if T < 2:
        return clip
    w = seam_weights(T, clip.fps, blend_s)
    rot = R.make_continuous(clip.rotations)
    to_first = R.multiply(R.conjugate(rot[-1]), rot[0])  # local: rot[-1] * to_first = rot[0]
    grown = R.slerp(R.identity(rot.shape[:2]), np.broadcast_to(to_first, rot.shape), np.broadcast_to(w[:, None],
                                                                                                     rot.shape[:2]))
    rot = R.multiply(rot, grown)
    hips = clip.hips.copy()
    hips[:, 1] += w * (hips[0, 1] - hips[-1, 1])
    s = np.linspace(0.0, 1.0, T)[:, None]
    travel = hips[0, [0, 2]] + s * (hips[-1, [0, 2]] - hips[0, [0, 2]])
    hips[:, [0, 2]] -= np.maximum(w, w[::-1])[:, None] * (hips[:, [0, 2]] - travel)
    contacts = clip.contacts.copy()
    contacts[-1] = clip.contacts[0]  # the same instant of the loop
    return replace(clip, hips=hips, rotations=rot, contacts=contacts)


def facing(clip: HumanoidClip, frame: int | slice = 0) -> np.ndarray:
    """The yaw-free facing direction (unit XZ vector) of a frame, or (T, 3) of a slice of them: the character's left
    (hip and shoulder lines) crossed with up."""
    pos, _ = clip.world()
    left = np.zeros(pos[frame, 0].shape)
    for a, b in (("LeftUpperLeg", "RightUpperLeg"), ("LeftUpperArm", "RightUpperArm")):
        if a in clip.bones and b in clip.bones:
            left = left + pos[frame, clip.index(a)] - pos[frame, clip.index(b)]
    fwd = np.cross(left, np.array([0.0, 1.0, 0.0]))
    fwd[..., 1] = 0.0
    return fwd / np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-12)


def rotate_about_y(clip: HumanoidClip, q: np.ndarray, pivot: np.ndarray) -> HumanoidClip:
    """Turn the whole clip by the yaw quaternion q about a vertical line through pivot (x, z used)."""
    hips = clip.hips.copy()
    p = np.array([pivot[0], 0.0, pivot[2]])
    hips = R.apply(q, hips - p) + p
    rot = clip.rotations.copy()
    rot[:, 0] = R.multiply(q, rot[:, 0])
    root = None if clip.root_motion is None else R.apply(q, clip.root_motion)
    return replace(clip, hips=hips, rotations=rot, root_motion=root)


def face_forward(clip: HumanoidClip) -> HumanoidClip:
    """Turn the clip about the vertical through the first frame's Hips so that frame 0 faces +Z."""
    f = facing(clip, 0)
    q = R.between(f, np.array([0.0, 0.0, 1.0]))
    return rotate_about_y(clip, q, clip.hips[0])
