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

    def lerp(x: np.ndarray) -> np.ndarray:
        w = a.reshape((-1,) + (1,) * (x.ndim - 1))
        return (1 - w) * x[i0] + w * x[i1]

    rot = R.make_continuous(clip.rotations)
    rots = R.slerp(rot[i0], rot[i1], np.broadcast_to(a[:, None], rot[i0].shape[:2]))
    nearest = np.rint(times).astype(int)
    return replace(clip, fps=fps, hips=lerp(clip.hips), rotations=rots, contacts=clip.contacts[nearest],
                   confidence=lerp(clip.confidence),
                   root_motion=None if clip.root_motion is None else lerp(clip.root_motion))


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
    deg = np.degrees(R.angle_between(rot[-1], rot[0]))
    body = _body_bones(clip)
    j = body[int(np.argmax(deg[body]))]
    return clip.bones[j], float(deg[j])


LOOP_STARTS = 200  # loop_span tries at most this many starts, evenly spread over a longer take
SEEN_IN_LOOP = 0.9  # the share of a loop's frames loop_span wants a person in, where it is told which


def loop_span(clip: HumanoidClip, within_deg: float, min_s: float = 0.5,
              seen: np.ndarray | None = None) -> tuple[int, int] | None:
    """(first, last) frames of the longest loop in the clip, at least min_s long, that closes within within_deg
    (_loop_end): from the clip's own start where a loop from there closes, else from wherever one does (a take that
    begins standing, then walks). None if no stretch of the clip comes back. seen (T,): the frames with a person;
    a loop then begins and ends on them and has one in SEEN_IN_LOOP of its frames, so that it is the filmed motion,
    not poses the generator held or made up while nobody was there."""
    rot, least = _body_world(clip), int(np.ceil(min_s * clip.fps))
    if (end := _loop_end(rot, 0, least, within_deg, seen)) is not None:
        return 0, end
    best = None
    for start in range(1, clip.frame_count, -(-clip.frame_count // LOOP_STARTS)):
        if best is not None and clip.frame_count - 2 - start <= best[1] - best[0]:
            break  # no later start leaves room for a longer loop
        end = _loop_end(rot, start, least, within_deg, seen)
        if end is not None and (best is None or end - start > best[1] - best[0]):
            best = (start, end)
    return best


def _body_bones(clip: HumanoidClip) -> list[int]:
    """The indices of the clip's body bones (fingers left out)."""
    return [clip.index(b) for b in clip.bones if b in skeleton.BODY_BONES]


def _body_world(clip: HumanoidClip) -> np.ndarray:
    """(T, body bones, 4) the body bones' world rotations."""
    return clip.world()[1][:, _body_bones(clip)]


def _loop_end(rot: np.ndarray, start: int, least: int, within_deg: float,
              seen: np.ndarray | None = None) -> int | None:
    """The last frame, at least `least` frames after `start` and before the clip's last, for a loop from `start` to
    end on (as its last frame, which loop makes the first), given the body bones' world rotations (T, B, 4): its pose
    and the next frame's are those of `start` and the frame after within within_deg, the most any bone differs, so
    that the motion comes back moving the same way and not only to the same pose; and it has left that pose by more
    than within_deg on the way, so that a pose held still is no loop. The last such frame keeps the most of the take.
    With seen (T,) bool, the four frames compared have a person, as do SEEN_IN_LOOP of the loop's. None if there is
    none."""
    first = start + least
    if len(rot) - 1 <= first:
        return None
    deg = lambda a, b: np.degrees(R.angle_between(a, b)).max(axis=-1)  # noqa: E731  the bone that differs most
    gap = np.maximum(deg(rot[first:-1], rot[start:start + 1]), deg(rot[first + 1:], rot[start + 1:start + 2]))
    left = np.maximum.accumulate(deg(rot[start:-1], rot[start:start + 1]))[first - start:]  # how far it has gone
    ok = (gap <= within_deg) & (left > within_deg)
    if seen is not None:
        if not (seen[start] and seen[start + 1]):
            return None
        share = np.cumsum(seen[start:-1])[first - start:] / np.arange(first - start + 1, len(rot) - start)
        ok &= seen[first:-1] & seen[first + 1:] & (share >= SEEN_IN_LOOP)
    good = np.flatnonzero(ok)
    return first + int(good[-1]) if len(good) else None


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


def loop(clip: HumanoidClip, blend_s: float = LOOP_BLEND_S, keep_path: bool = False) -> HumanoidClip:
    """Make the last pose the first: an engine plays the last key and the first at the same instant of a loop.
    Over the last blend_s a correction grows smoothly from nothing to what takes the last pose to the first: each
    bone's rotation and the Hips' height are offset, not pulled to a still pose, so the motion keeps its speed
    into the seam (pulled to the first pose, every loop slowed to a stop there). Horizontally the Hips keep their
    overall travel (one cycle's root motion) and their sway about it is blended out over the first and the last
    blend_s, so that the root leaves the seam as fast as it arrives (blended at the end only, a run's hips arrived
    at 4.5 m/s and left at 1.6). keep_path: the Hips' path over the floor is left as it is, for a loop whose path
    already runs on through its seam (one looped, then edited as a loop): blended again, it took planted feet with
    it."""
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
    if not keep_path:
        s = np.linspace(0.0, 1.0, T)[:, None]
        travel = hips[0, [0, 2]] + s * (hips[-1, [0, 2]] - hips[0, [0, 2]])
        hips[:, [0, 2]] -= np.maximum(w, w[::-1])[:, None] * (hips[:, [0, 2]] - travel)
    contacts = clip.contacts.copy()
    contacts[-1] = clip.contacts[0]  # the same instant of the loop
    return replace(clip, hips=hips, rotations=rot, contacts=contacts)


# Some edits (foot locking) must see a loop round its seam: they run on three cycles of it, each played on from where
# the last ended, and keep the middle one, whose ends see the same motion on either side.
def loop_frames(frames: int) -> np.ndarray:
    """Indices into a loop of `frames` frames (its last is its first) of three_cycles' frames."""
    return np.append(np.tile(np.arange(frames - 1), 3), frames - 1)


def middle_frames(frames: int) -> np.ndarray:
    """Indices into three_cycles' frames of the middle cycle, its last frame the third's first."""
    return np.arange(frames - 1, 2 * frames - 1)


def three_cycles(clip: HumanoidClip) -> HumanoidClip:
    """A loop (see loop) played three times over as one clip, each cycle on from where the last ended (the Hips'
    travel added)."""
    T = clip.frame_count
    out = _take(clip, loop_frames(T))
    hips = out.hips.copy()
    cycle = np.minimum(np.arange(len(hips)) // max(T - 1, 1), 2)  # the last frame ends the third cycle
    hips[:, [0, 2]] += cycle[:, None] * _travel(clip)
    return replace(out, hips=hips)


def middle_cycle(cycles: HumanoidClip, loop: HumanoidClip) -> HumanoidClip:
    """The middle cycle of three_cycles(loop), edited since, as a loop again where the loop's own starts."""
    out = _take(cycles, middle_frames(loop.frame_count))
    hips = out.hips.copy()
    hips[:, [0, 2]] -= _travel(loop)
    return replace(out, hips=hips)


def _travel(loop: HumanoidClip) -> np.ndarray:
    """(2,) how far one cycle of a loop takes the Hips over the floor (x, z)."""
    return loop.hips[-1, [0, 2]] - loop.hips[0, [0, 2]]


# A loop's seam is continuous in pose, not in speed: each bone turns into the seam as it did before the loop's last
# frame and out of it as after the first. Cut where the pose comes back, loops still jumped there by about the clip's
# largest frame-to-frame change (on average over bones' worst, 5.5 degrees a frame at 30 fps on 23 loops cut from
# the real videos, 14 on 54 from mocap). match_seam_speed meets the two speeds half-way, bending each side over
# LOOP_MATCH_S (0.1 / 0.17 / 0.33 s measured: alike; longer bends more of the clip); to bend a step by v (degrees a
# frame) it turns the frames near it by at most about 1.2 v at 30 fps. Speeds further apart than twice
# LOOP_MATCH_MAX_DEG_S (a cut that is no cycle: a mocap loop cut at a like pose but swinging the other way, 91 degrees
# a frame) are met only that far, so that no bone swings round to meet them (ml/EXPERIMENTS.md, "A loop's seam").
LOOP_MATCH_S = 0.17
LOOP_MATCH_MAX_DEG_S = 300.0


def match_seam_speed(clip: HumanoidClip, match_s: float = LOOP_MATCH_S) -> HumanoidClip:
    """A loop (see loop: its last frame is its first) turned so that every bone turns, and the Hips rise, as fast into
    its seam as out of it: the last step and the first are both bent to their mean, each side by a correction that
    is 0 at the seam, bends the step next to it by what it must, and dies away with no slope LOOP_MATCH_S from it.
    The seam's pose stays; the Hips' horizontal path is loop's."""
    T = clip.frame_count
    n = min(int(round(match_s * clip.fps)), (T - 1) // 2)
    if n < 2:
        return clip
    u = np.arange(1, n + 1) / n
    shape = u * (1.0 - u) ** 2 / (u[0] * (1.0 - u[0]) ** 2)  # 1 one frame from the seam, 0 with no slope at n
    rot = clip.rotations.copy()
    into = R.to_axis_angle(R.multiply(R.conjugate(rot[-2]), rot[-1]))  # each bone's last step, as a rotation vector
    out_of = R.to_axis_angle(R.multiply(R.conjugate(rot[0]), rot[1]))
    half = 0.5 * (into - out_of)
    size = np.linalg.norm(half, axis=-1, keepdims=True)
    half *= np.minimum(1.0, np.radians(LOOP_MATCH_MAX_DEG_S) / clip.fps / np.maximum(size, 1e-12))
    angle = np.linalg.norm(half, axis=-1)
    # Frames T-1-k and k both turn by shape * half: the step into the seam loses half the difference, the step out
    # of it gains it.
    for k in range(1, n + 1):
        turn = R.from_axis_angle(half, shape[k - 1] * angle)
        rot[T - 1 - k] = R.multiply(rot[T - 1 - k], turn)
        rot[k] = R.multiply(rot[k], turn)
    hips = clip.hips.copy()
    rise = 0.5 * ((hips[-1, 1] - hips[-2, 1]) - (hips[1, 1] - hips[0, 1]))
    hips[T - 1 - np.arange(1, n + 1), 1] += shape * rise
    hips[1: n + 1, 1] += shape * rise
    return replace(clip, rotations=rot, hips=hips)


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
