"""The analytic solver: cleaned landmarks -> HumanoidClip, in closed form, vectorised over frames.

It inverts bodymodel.py. World rotations come from frames of two measured vectors matched to the same two
vectors in the rest pose: a primary one kept exactly (a bone direction, the hip or shoulder line) and a
secondary one that fixes the twist (a hinge normal, the torso axis, the palm or foot plane).

- Hips: hip line (x) and torso axis (hip centre -> shoulder centre). UpperChest: shoulder line and torso axis.
  Spine, Chest and UpperChest share the rotation between the two in equal thirds; Shoulders stay at rest
  (the shoulder landmarks are the UpperArm joints, so clavicle motion cannot be told from chest motion).
- Neck and Head share the head's rotation (ear line, and the face's forward direction) in halves.
- Arms and legs: the upper bone's twist from the elbow / knee hinge plane when the limb is bent (faded to a
  pure swing below 25 degrees of bend), the lower bone swings to the wrist / ankle, and the twist of the
  palm (wrist, index, pinky) or foot (heel, foot_index, ankle) about the lower bone goes to the forearm /
  shin (to the thigh, and half to the upper arm, as the limb straightens); the hand / foot keeps the swing. The
  forearm's twist where the palm is unsure comes from the sure frames around it (_steady_twist).
  Toes stay at rest (no landmark sees them bend).
- Fingers: each phalanx swings to its measured direction in its parent's frame (no twist).
- Root: MediaPipe world points are hip-centred, so translation comes from the image: per frame the
  camera-space position of the hip centre that projects the metric world points onto their image points
  (a pinhole with an assumed 55-degree field of view; linear least squares); the lowest foot point is then
  put on y = 0 with a ground height that follows the per-frame minimum slowly (rolling minimum over a
  second, then averaged), so that a jump shorter than that stays in the air.
- Foot contacts: contacts.detect on the solved clip (heel or toe low and slow), as the refine stage finds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from animgen_ml import bodymodel, contacts, skeleton, twists
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.fingers import settle as settle_fingers
from animgen_ml.landmarks import LM, Landmarks
from animgen_ml.pose import PACE_S
from animgen_ml.smooth import gaussian_lowpass

_MP_TO_GLTF = np.array([1.0, -1.0, -1.0])
_FACE_FRONT = [LM[n] for n in ("nose", "left_eye", "right_eye", "mouth_left", "mouth_right")]
_HINGE_FADE = (np.radians(5.0), np.radians(25.0))  # bend below which a limb's hinge plane is not trusted


@dataclass
class _Body:
    """The first half of a solve, on each frame's own landmarks (frames without a person hold the last good one's)."""
    good: np.ndarray  # (T,) frames with a person
    src: np.ndarray  # (T,) the landmark frame each frame holds
    P: np.ndarray  # (T, 33, 3) world points in glTF axes, hip-centred, in the camera's frame
    image: np.ndarray  # (T, 33, 3)
    vis: np.ndarray  # (T, 33)
    bones: list[str]
    offsets: np.ndarray  # (B, 3) the actor's rest offsets
    rest: np.ndarray  # (33, 3) the landmarks of the actor's rest pose

    def hips_track(self, landmarks: Landmarks, hips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The camera-anchored root track (T, 3) and the Hips joint's offset from the hip centre (T, 3), given the
        Hips' world rotations (T, 4)."""
        ul = self.offsets[self.bones.index("LeftUpperLeg")]
        hips_rel = -R.apply(hips, np.array([0.0, ul[1], 0.0]))  # the Hips joint from the hip centre
        track = _root_track(self.P, self.image, self.vis, landmarks.width, landmarks.height)
        track[:, [0, 2]] = carry_across(bridge_undetected(track[:, [0, 2]], self.good), landmarks.times,
                                        landmarks.switches)
        return track, hips_rel


def _body(landmarks: Landmarks, fingers: bool) -> _Body:
    T = landmarks.frame_count
    if T == 0:
        raise InputError(f"{landmarks.source or 'landmarks'}: no frames to solve")
    good = seen_frames(landmarks)
    if not good.any():
        raise InputError(f"{landmarks.source or 'landmarks'}: no person was found in any frame")
    src = _hold_index(good)
    P = landmarks.world[src] * _MP_TO_GLTF  # glTF axes, hip-centred, in the camera's frame
    vis = np.where(good[:, None], np.nan_to_num(landmarks.visibility[src]), 0.0)
    bones = skeleton.bone_names(fingers)
    offsets = estimate_rest_offsets(P[good], vis[good], bones)
    return _Body(good, src, P, landmarks.image[src], vis, bones, offsets, bodymodel.rest_landmarks(bones, offsets))


def seen_frames(landmarks: Landmarks) -> np.ndarray:
    """(T,) the frames with a person: detected, with finite points."""
    return landmarks.detected & np.all(np.isfinite(landmarks.world), axis=(1, 2)) \
        & np.all(np.isfinite(landmarks.image[..., :2]), axis=(1, 2))


# Each limb bone's direction as the solver sets it: from the landmark at its joint to the one at its child's.
LIMB_LANDMARKS = {f"{side}{bone}": (f"{s}_{a}", f"{s}_{b}") for side, s in (("Left", "left"), ("Right", "right"))
                  for bone, a, b in (("UpperArm", "shoulder", "elbow"), ("LowerArm", "elbow", "wrist"),
                                     ("UpperLeg", "hip", "knee"), ("LowerLeg", "knee", "ankle"))}


def reference(landmarks: Landmarks, limbs: list[str]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the network takes from the solver, without solving a clip (which cost the network more than its own
    layers): the body bones' rest offsets (B, 3), the unit directions (T, len(limbs), 3) of the given limb bones
    (LIMB_LANDMARKS), the Hips' camera-anchored track (T, 3; its x and z are solve's, its height is before solve
    puts the feet on the ground) and the Hips' world rotations (T, 4), all in the camera's frame."""
    body = _body(landmarks, fingers=False)
    hips = _hips_rotation(body.P, body.rest)
    root, hips_rel = body.hips_track(landmarks, hips)
    ends = np.array([[LM[a], LM[b]] for a, b in (LIMB_LANDMARKS[limb] for limb in limbs)])
    directions = _unit(body.P[:, ends[:, 1]] - body.P[:, ends[:, 0]])
    return body.offsets, directions, root + hips_rel, hips


def solve(landmarks: Landmarks, fingers: bool = False, find_contacts: bool = True) -> HumanoidClip:
    """One clip frame per landmark frame, at landmarks.fps. Frames without a person hold the last good pose
    (the first good one before it) with confidence 0. find_contacts=False leaves the contacts all False, for a
    caller with its own (the network)."""
    T, fps = landmarks.frame_count, landmarks.fps
    name = Path(landmarks.source).stem if landmarks.source else "clip"
    body = _body(landmarks, fingers)
    good, src, vis, bones, offsets = body.good, body.src, body.vis, body.bones, body.offsets
    # A held frame is its source frame again, as sure of its palm as that one was.
    world = _solve_world_rotations(body.P, body.rest, bones, offsets, np.nan_to_num(landmarks.visibility[src]), fps)
    # The hands in world space (pose.py places them at the world wrists): their image points are in units of the
    # frame's width and height, which would stretch every finger on a frame that is not square.
    hands = {"Left": landmarks.left_hand_world, "Right": landmarks.right_hand_world}
    finger_ok = {}
    if fingers:
        for side, h in hands.items():
            finger_ok[side] = _solve_fingers(world, h, src, good, bones, offsets, side)
    local = _to_local(world, bones)
    for side, seen in finger_ok.items():
        local = settle_fingers(local, bones, offsets, side, seen, fps)
    root, hips_rel = body.hips_track(landmarks, world[:, bones.index("Hips")])
    hips = root + hips_rel
    pts = bodymodel.pose_landmarks_world(bones, offsets, hips, local)
    ground = np.zeros(T)
    ground[good] = _ground(pts[good], fps)  # from seen frames only; held frames keep their source's ground
    ground = ground[src]
    hips[:, 1] -= ground
    pts[..., 1] -= ground[:, None]
    confidence = _confidence(vis, bones, finger_ok, good)
    clip = HumanoidClip(bones=bones, rest_offsets=offsets, fps=fps, hips=hips, rotations=local,
                        contacts=np.zeros((T, 2), dtype=bool), confidence=confidence, name=name,
                        metadata={"generator": "analytic"})
    clip = twists.canonical_twists(clip)
    if find_contacts:
        clip.contacts = contacts.detect(clip).foot  # as the refine stage finds them on any clip
    return clip


def bridge_undetected(path: np.ndarray, good: np.ndarray) -> np.ndarray:
    """(T, k) path with the frames without a person (good False) on a straight line between the frames with one
    around them, held before the first and after the last. Held in a gap, the root had stood still and then jumped
    to where the person reappeared (1.75 m in a frame), or glided and caught up at 4 m/s."""
    if good.all() or not good.any():
        return path
    t, seen = np.arange(len(path)), np.flatnonzero(good)
    return np.stack([np.interp(t, seen, path[seen, c]) for c in range(path.shape[1])], axis=1)


def carry_across(path: np.ndarray, times: np.ndarray, switches: tuple[tuple[float, float], ...]) -> np.ndarray:
    """(T, k) path carried across each switch (last seen, found: seconds; Landmarks.switches) at the pace it had over
    PACE_S before it, every frame from the one found on moved by what that leaves of the jump. At a cut between
    two shots, or where MediaPipe took someone else, the root had gone metres in a few frames to the new person's
    place in the picture (after the root's low-pass, over a second: 0.2 m a frame); it goes on from the first's."""
    out = path.copy()
    half = 0.5 * float(np.median(np.diff(times))) if len(times) > 1 else 0.0  # the grid's times round the video's
    for lost, found in switches:
        a = int(np.searchsorted(times, lost + half)) - 1  # the frame of the one lost
        b = int(np.searchsorted(times, found - half))  # the frame of the one found
        if not 0 <= a < b < len(out):
            continue
        p = min(max(a - 1, 0), int(np.searchsorted(times, times[a] - PACE_S - 1e-6)))
        pace = (out[a] - out[p]) / max(float(times[a] - times[p]), 1e-6)
        line = out[a] + pace * (times[a:b + 1] - times[a])[:, None]
        out[b:] += line[-1] - out[b]
        out[a:b] = line[:-1]
    return out


HELD_STILL_M_S = 0.2  # a stretch without a person whose bridged root goes faster than this is travelled


def carried_unseen(path: np.ndarray, good: np.ndarray, fps: float) -> np.ndarray:
    """(T,) the frames without a person (good False) in a stretch the bridged root path (T, 2) travels along: the
    held pose there plants no foot, or foot locking would pin it while the Hips go on (the legs stretched to reach).
    Where the root stays (a lying body MediaPipe loses), the held pose keeps its contacts."""
    out = np.zeros(len(good), dtype=bool)
    for s, e in contacts.runs(~good):  # frames s .. e-1 without a person
        a, b = max(s - 1, 0), min(e, len(good) - 1)
        out[s:e] = np.linalg.norm(path[b] - path[a]) * fps > HELD_STILL_M_S * max(b - a, 1)
    return out


def _hold_index(good: np.ndarray) -> np.ndarray:
    """Per frame, the index of the last good frame (the first good one for leading bad frames)."""
    idx = np.where(good, np.arange(len(good)), -1)
    idx = np.maximum.accumulate(idx)
    return np.where(idx < 0, int(np.argmax(good)), idx)


def _dist(P: np.ndarray, a: str, b: str) -> np.ndarray:
    return np.linalg.norm(P[:, LM[a]] - P[:, LM[b]], axis=-1)


def _robust_length(P: np.ndarray, vis: np.ndarray, pairs: list[tuple[str, str]]) -> float:
    """Median length over frames (and over the given pairs, e.g. left and right) where both ends are seen."""
    vals = []
    for a, b in pairs:
        d = _dist(P, a, b)
        seen = (vis[:, LM[a]] > 0.5) & (vis[:, LM[b]] > 0.5)
        vals.append(d[seen] if seen.sum() >= 3 else d)
    return float(np.median(np.concatenate(vals)))


def estimate_rest_offsets(P: np.ndarray, vis: np.ndarray, bones: list[str]) -> np.ndarray:
    """Rest offsets of the actor from landmark distances (glTF points (T, 33, 3)); left and right share one
    length. Proportions inside a group (torso, head, fingers) keep the default skeleton's."""
    off = skeleton.default_rest_offsets(bones)
    i = {b: k for k, b in enumerate(bones)}

    def both(a: str, b: str) -> list[tuple[str, str]]:
        return [(f"left_{a}", f"left_{b}"), (f"right_{a}", f"right_{b}")]

    upper_arm = _robust_length(P, vis, both("shoulder", "elbow"))
    forearm = _robust_length(P, vis, both("elbow", "wrist"))
    thigh = _robust_length(P, vis, both("hip", "knee"))
    shin = _robust_length(P, vis, both("knee", "ankle"))
    foot = _robust_length(P, vis, both("ankle", "foot_index"))
    hip_half = 0.5 * _robust_length(P, vis, [("left_hip", "right_hip")])
    shoulder_half = 0.5 * _robust_length(P, vis, [("left_shoulder", "right_shoulder")])
    ears = _robust_length(P, vis, [("left_ear", "right_ear")])
    mid_sh = 0.5 * (P[:, LM["left_shoulder"]] + P[:, LM["right_shoulder"]])
    torso = float(np.median(np.linalg.norm(mid_sh - bodymodel.hip_centre(P), axis=-1)))

    default_torso = -off[i["LeftUpperLeg"], 1] + sum(off[i[b], 1] for b in ("Spine", "Chest", "UpperChest")) \
        + off[i["LeftShoulder"], 1]
    s_torso = torso / default_torso
    s_shoulder = shoulder_half / (off[i["LeftShoulder"], 0] + off[i["LeftUpperArm"], 0])
    s_head = ears / 0.15
    s_hand = forearm / bodymodel.DEFAULT_FOREARM
    s_foot = foot / float(np.hypot(0.06, 0.18))
    sh0, ua0, ul0 = off[i["LeftShoulder"]].copy(), off[i["LeftUpperArm"]].copy(), off[i["LeftUpperLeg"]].copy()
    for side, sgn in (("Left", 1.0), ("Right", -1.0)):
        off[i[f"{side}Shoulder"]] = [sgn * sh0[0] * s_shoulder, sh0[1] * s_torso, 0.0]
        off[i[f"{side}UpperArm"]] = [sgn * ua0[0] * s_shoulder, 0.0, 0.0]
        off[i[f"{side}LowerArm"]] = [sgn * upper_arm, 0.0, 0.0]
        off[i[f"{side}Hand"]] = [sgn * forearm, 0.0, 0.0]
        off[i[f"{side}UpperLeg"]] = [sgn * hip_half, ul0[1] * s_torso, 0.0]
        off[i[f"{side}LowerLeg"]] = [0.0, -thigh, 0.0]
        off[i[f"{side}Foot"]] = [0.0, -shin, 0.0]
        off[i[f"{side}Toes"]] = off[i[f"{side}Toes"]] * s_foot
    for b in ("Spine", "Chest", "UpperChest"):
        off[i[b]] *= s_torso
    for b in ("Neck", "Head"):
        off[i[b]] *= s_head
    for b in bones:
        if b in skeleton.FINGER_BONES:
            off[i[b]] *= s_hand
    sole = 0.06 * s_foot  # the heel / toe-tip points sit this far below the ankle
    off[i["Hips"]] = [0.0, -off[i["LeftUpperLeg"], 1] + thigh + shin + sole, 0.0]
    return off


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) with columns: primary, secondary made orthogonal to it, their cross."""
    e1 = _unit(primary)
    e2 = _unit(secondary - np.sum(secondary * e1, axis=-1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def _match(primary: np.ndarray, secondary: np.ndarray, rest_primary: np.ndarray,
           rest_secondary: np.ndarray) -> np.ndarray:
    """World rotation taking the rest pair of vectors onto the measured pair (primary exact)."""
    m = _frame(primary, secondary) @ np.swapaxes(_frame(rest_primary, rest_secondary), -1, -2)
    return R.from_matrix(m)


def _power(q: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """q^t: the same axis, t times the angle (t a number or one per frame)."""
    rv = R.to_axis_angle(q)
    return R.from_axis_angle(rv, np.linalg.norm(rv, axis=-1) * t)


def _twist(q: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The part of q that turns about `axis` (unit, in q's own frame); identity where undefined."""
    proj = np.sum(q[..., :3] * axis, axis=-1, keepdims=True) * axis
    tw = np.concatenate([proj, q[..., 3:]], axis=-1)
    n = np.linalg.norm(tw, axis=-1, keepdims=True)
    return np.where(n > 1e-9, tw / np.maximum(n, 1e-12), R.identity(q.shape[:-1]))


def _torso_axis(P: np.ndarray) -> np.ndarray:
    """The hip centre -> shoulder centre vectors of points (..., 33, 3)."""
    shoulders = 0.5 * (P[..., LM["left_shoulder"], :] + P[..., LM["right_shoulder"], :])
    return shoulders - bodymodel.hip_centre(P)


def _hips_rotation(P: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(T, 4) the Hips' world rotations: the hip line kept exactly, the torso axis fixing the twist."""
    hip_line = P[:, LM["left_hip"]] - P[:, LM["right_hip"]]
    return _match(hip_line, _torso_axis(P), rest[LM["left_hip"]] - rest[LM["right_hip"]], _torso_axis(rest))


def _solve_world_rotations(P: np.ndarray, rest: np.ndarray, bones: list[str], offsets: np.ndarray, vis: np.ndarray,
                           fps: float) -> np.ndarray:
    """(T, B, 4) world rotations; finger bones identity relative to the hand (filled in later). vis (T, 33) and
    fps steady the forearms' twist (_steady_twist)."""
    T = len(P)
    i = {b: k for k, b in enumerate(bones)}
    W = R.identity((T, len(bones)))

    def p(name: str, pts: np.ndarray = P) -> np.ndarray:
        return pts[..., LM[name], :]

    def mid(a: str, b: str, pts: np.ndarray = P) -> np.ndarray:
        return 0.5 * (p(a, pts) + p(b, pts))

    # Torso.
    hips = _hips_rotation(P, rest)
    up, rest_up = _torso_axis(P), _torso_axis(rest)
    chest = _match(p("left_shoulder") - p("right_shoulder"), up,
                   p("left_shoulder", rest) - p("right_shoulder", rest), rest_up)
    third = _power(R.multiply(R.conjugate(hips), chest), 1.0 / 3.0)
    W[:, i["Hips"]] = hips
    W[:, i["Spine"]] = R.multiply(hips, third)
    W[:, i["Chest"]] = R.multiply(W[:, i["Spine"]], third)
    W[:, i["UpperChest"]] = R.multiply(W[:, i["Chest"]], third)
    upper_chest = W[:, i["UpperChest"]]

    # Head: ear line, and the face's front (nose, eyes, mouth) from the ears' midpoint.
    ear_mid = mid("left_ear", "right_ear")
    front = np.mean(P[:, _FACE_FRONT], axis=1) - ear_mid
    rest_front = np.mean(rest[_FACE_FRONT], axis=0) - mid("left_ear", "right_ear", rest)
    head = _match(p("left_ear") - p("right_ear"), front, p("left_ear", rest) - p("right_ear", rest), rest_front)
    half = _power(R.multiply(R.conjugate(upper_chest), head), 0.5)
    W[:, i["Neck"]] = R.multiply(upper_chest, half)
    W[:, i["Head"]] = R.multiply(W[:, i["Neck"]], half)

    for side, s in (("Left", "left"), ("Right", "right")):
        sgn = 1.0 if side == "Left" else -1.0
        W[:, i[f"{side}Shoulder"]] = upper_chest
        # Arm: hinge bends the forearm forward (+Z) from the T-pose; palm plane from wrist, index, pinky.
        knuckles = mid(f"{s}_index", f"{s}_pinky")
        palm_n = np.cross(p(f"{s}_index") - p(f"{s}_wrist"), p(f"{s}_pinky") - p(f"{s}_wrist"))
        r_kn = mid(f"{s}_index", f"{s}_pinky", rest)
        r_wr = p(f"{s}_wrist", rest)
        r_palm_n = np.cross(p(f"{s}_index", rest) - r_wr, p(f"{s}_pinky", rest) - r_wr)
        hand = _match(knuckles - p(f"{s}_wrist"), palm_n, r_kn - p(f"{s}_wrist", rest), r_palm_n)
        axis = np.array([sgn, 0.0, 0.0])
        palm = _plane_weight(P, vis, f"{s}_wrist", f"{s}_index", f"{s}_pinky")
        ua, la, hl = _limb(upper_chest, p(f"{s}_shoulder"), p(f"{s}_elbow"), p(f"{s}_wrist"), hand,
                           axis, np.cross(axis, [0.0, 0.0, 1.0]), 0.5, (palm, TWIST_SIGMA_S * fps))
        W[:, i[f"{side}UpperArm"]], W[:, i[f"{side}LowerArm"]] = ua, la
        W[:, i[f"{side}Hand"]] = R.multiply(la, hl)
        # Leg: the knee bends the shin backward (-Z); foot plane from heel, foot_index and ankle.
        foot = _match(p(f"{s}_foot_index") - p(f"{s}_heel"), p(f"{s}_ankle") - p(f"{s}_heel"),
                      p(f"{s}_foot_index", rest) - p(f"{s}_heel", rest),
                      p(f"{s}_ankle", rest) - p(f"{s}_heel", rest))
        down = np.array([0.0, -1.0, 0.0])
        ul, ll, fl = _limb(hips, p(f"{s}_hip"), p(f"{s}_knee"), p(f"{s}_ankle"), foot,
                           down, np.cross(down, [0.0, 0.0, -1.0]), 1.0)
        W[:, i[f"{side}UpperLeg"]], W[:, i[f"{side}LowerLeg"]] = ul, ll
        W[:, i[f"{side}Foot"]] = R.multiply(ll, fl)
        W[:, i[f"{side}Toes"]] = W[:, i[f"{side}Foot"]]
    for b in bones:
        if b in skeleton.FINGER_BONES:
            W[:, i[b]] = W[:, i[("Left" if b.startswith("Left") else "Right") + "Hand"]]
    return W


def _limb(parent: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, end: np.ndarray, axis: np.ndarray,
          hinge: np.ndarray, twist_to_upper: float, steady: tuple[np.ndarray, float] | None = None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World rotations of the upper and lower bone and the end's local rotation.

    a, b, c: the three joints (T, 3); end: the end effector's measured world rotation (T, 4); axis: both
    bones' rest direction; hinge: the hinge normal (upper x lower) of a bend in the rest pose; steady: how sure
    the end's plane is per frame (T,) and a time scale in frames, for _steady_twist.
    """
    d1, d2 = b - a, c - b
    swing = R.multiply(parent, R.between(axis, R.apply(R.conjugate(parent), d1)))
    n = np.cross(d1, d2)
    bend = np.arctan2(np.linalg.norm(n, axis=-1), np.sum(d1 * d2, axis=-1))
    hinged = _match(d1, n, axis, hinge)
    w = np.clip((bend - _HINGE_FADE[0]) / (_HINGE_FADE[1] - _HINGE_FADE[0]), 0.0, 1.0)
    upper = R.slerp(swing, hinged, w)
    lower0 = R.multiply(upper, R.between(axis, R.apply(R.conjugate(upper), d2)))
    rel = R.multiply(R.conjugate(lower0), end)
    tw = _twist(rel, axis)  # rel = twist * swing: the end swings in the twisted lower bone's frame
    end_local = R.multiply(R.conjugate(tw), rel)
    if steady is not None:
        tw = _steady_twist(tw, axis, *steady)
    lower = R.multiply(lower0, tw)
    # A straight limb cannot show where its twist happens: move part of it up to the upper bone.
    up_share = (1.0 - w) * twist_to_upper
    if np.any(up_share > 0):
        upper = R.multiply(upper, _power(tw, up_share))
    return upper, lower, end_local


# The twist a forearm takes from its hand comes from the palm's plane (wrist, index and pinky knuckles, 5 cm apart
# and often hidden), which turns over when seen edge-on or guessed: the forearm rolled up to 180 degrees in a frame.
# How sure a frame's plane is: the sine of the angle at the wrist over PLANE_SURE, times the three points' lowest
# visibility over VISIBILITY_SURE. A sure frame keeps its own twist; an unsure one takes the sure frames' around it
# (over TWIST_SIGMA_S), and none where no sure frame is near (ml/EXPERIMENTS.md, "Forearms that roll over").
PLANE_SURE = 0.35
VISIBILITY_SURE = 0.5
TWIST_SIGMA_S = 0.1


def _plane_weight(P: np.ndarray, vis: np.ndarray, apex: str, b: str, c: str) -> np.ndarray:
    """(T,) in [0, 1]: how sure the plane through three landmarks is."""
    u, v = P[:, LM[b]] - P[:, LM[apex]], P[:, LM[c]] - P[:, LM[apex]]
    sine = np.linalg.norm(np.cross(u, v), axis=-1) / np.maximum(
        np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12)
    seen = vis[:, [LM[apex], LM[b], LM[c]]].min(axis=1)
    return np.clip(sine / PLANE_SURE, 0.0, 1.0) * np.clip(seen / VISIBILITY_SURE, 0.0, 1.0)


def _steady_twist(tw: np.ndarray, axis: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Twists (T, 4) about the unit axis: a frame sure of its plane (weight 1, fading from 0.75) keeps its own; the
    others take the sure frames' around them (their angles as unit vectors, weighted and averaged over a Gaussian of
    sigma frames), and none where no sure frame is near."""
    angle = 2.0 * np.arctan2(tw[:, :3] @ axis, tw[:, 3])
    own = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    low = gaussian_lowpass(np.concatenate([weight[:, None] * own, weight[:, None]], axis=-1), sigma)
    near = low[:, :2] / np.maximum(low[:, 2:], 1e-9) * np.clip(low[:, 2:] / 0.25, 0.0, 1.0)
    keep = np.clip((weight - 0.75) / 0.25, 0.0, 1.0)[:, None]
    mixed = keep * own + (1.0 - keep) * near
    return R.from_axis_angle(np.broadcast_to(axis, (len(tw), 3)), np.arctan2(mixed[:, 1], mixed[:, 0]))


def _solve_fingers(W: np.ndarray, hand_pts: np.ndarray | None, src: np.ndarray, good: np.ndarray,
                   bones: list[str], offsets: np.ndarray, side: str) -> np.ndarray:
    """Fill the finger bones' world rotations in W from (T, 21, 3) MediaPipe-world hand points; frames
    without the hand keep the rest pose. Returns (T,) bool: where the hand was seen."""
    T = len(W)
    if hand_pts is None:
        return np.zeros(T, dtype=bool)
    i = {b: k for k, b in enumerate(bones)}
    H = hand_pts[src] * _MP_TO_GLTF
    seen = good & np.all(np.isfinite(H), axis=(1, 2))
    H = np.nan_to_num(H)
    hand = W[:, i[f"{side}Hand"]]
    for f, chain in enumerate(bodymodel.hand_chain(side)):
        joints = [1 + 4 * f + k for k in range(4)]
        parent = hand
        for k, b in enumerate(chain):
            child_off = offsets[i[chain[k + 1]]] if k < 2 else offsets[i[b]]
            d = H[:, joints[k + 1]] - H[:, joints[k]]
            q = R.multiply(parent, R.between(child_off, R.apply(R.conjugate(parent), d)))
            q = np.where(seen[:, None], q, parent)
            W[:, i[b]] = q
            parent = q
    return seen


def _to_local(W: np.ndarray, bones: list[str]) -> np.ndarray:
    parents = skeleton.parents_of(bones)
    local = W.copy()
    for b, p in enumerate(parents):
        if p >= 0:
            local[:, b] = R.multiply(R.conjugate(W[:, p]), W[:, b])
    return R.normalize(local)


def _moving(x: np.ndarray, n: int, fn) -> np.ndarray:
    """Centred moving window of odd length n (edges padded), fn over the window axis."""
    n = max(1, int(n) | 1)
    if n == 1 or len(x) == 1:
        return x.copy()
    pad = np.pad(x, (n // 2, n // 2), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, n)
    return fn(win, axis=-1)


def _root_track(P: np.ndarray, image: np.ndarray, vis: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, 3) hip-centre position in glTF axes, the camera at the origin looking at -Z; then shifted so
    that the first frame stands at x = z = 0 (y is fixed later by the ground).

    Per frame, the translation C that makes the pinhole projection of the hip-centred world points P + C
    land on their image points is linear in C (multiply out the division by depth), so it is one weighted
    3x3 least-squares solve per frame. The focal length is bodymodel.default_focal's assumed field of view.
    """
    f = bodymodel.default_focal(width, height)
    a = image[..., 0] * width - width / 2  # (T, 33) pixels from the image centre, x right
    b = image[..., 1] * height - height / 2  # y down
    wx, wy, wz = P[..., 0], P[..., 1], P[..., 2]
    # f*Cx + a*Cz = -a*wz - f*wx ;  f*Cy - b*Cz = b*wz - f*wy
    zeros = np.zeros_like(a)
    rows = np.concatenate([np.stack([np.full_like(a, f), zeros, a], -1),
                           np.stack([zeros, np.full_like(b, f), -b], -1)], axis=1)  # (T, 66, 3)
    rhs = np.concatenate([-a * wz - f * wx, b * wz - f * wy], axis=1)  # (T, 66)
    wt = np.tile(np.clip(vis, 0.05, 1.0), (1, 2))
    ata = np.einsum("tn,tni,tnj->tij", wt, rows, rows)
    atb = np.einsum("tn,tni,tn->ti", wt, rows, rhs)
    root = np.linalg.solve(ata + 1e-9 * np.eye(3), atb[..., None])[..., 0]
    root[:, 2] = np.minimum(_moving(root[:, 2], 5, np.median), -0.5)  # depth: noisiest; never behind the camera
    root[:, [0, 2]] -= root[0, [0, 2]]
    return root


def _ground(pts: np.ndarray, fps: float) -> np.ndarray:
    """(T,) ground height under the lowest foot point: a rolling minimum over about a second, averaged."""
    feet = [LM[n] for n in ("left_heel", "right_heel", "left_foot_index", "right_foot_index")]
    low = np.min(pts[:, feet, 1], axis=1)
    n = int(round(fps)) | 1
    return _moving(_moving(low, n, np.min), n, np.mean)


# Landmarks whose visibility limits each body bone's confidence.
_BONE_LANDMARKS = {
    "Hips": ("left_hip", "right_hip"),
    "Spine": ("left_hip", "right_hip", "left_shoulder", "right_shoulder"),
    "Neck": ("left_ear", "right_ear", "nose"),
    "Shoulder": ("left_shoulder", "right_shoulder"),
    "UpperArm": ("{s}_shoulder", "{s}_elbow"),
    "LowerArm": ("{s}_elbow", "{s}_wrist", "{s}_index", "{s}_pinky"),
    "Hand": ("{s}_wrist", "{s}_index", "{s}_pinky"),
    "UpperLeg": ("{s}_hip", "{s}_knee"),
    "LowerLeg": ("{s}_knee", "{s}_ankle", "{s}_heel", "{s}_foot_index"),
    "Foot": ("{s}_ankle", "{s}_heel", "{s}_foot_index"),
    "Toes": ("{s}_foot_index",),
}


def _confidence(vis: np.ndarray, bones: list[str], finger_ok: dict[str, np.ndarray], good: np.ndarray) -> np.ndarray:
    T = len(vis)
    out = np.zeros((T, len(bones)))
    for k, b in enumerate(bones):
        side = "Left" if b.startswith("Left") else "Right" if b.startswith("Right") else ""
        kind = b[len(side):]
        if b in skeleton.FINGER_BONES:
            out[:, k] = finger_ok.get(side, np.zeros(T, dtype=bool)).astype(float)
            continue
        key = {"Chest": "Spine", "UpperChest": "Spine", "Head": "Neck"}.get(kind, kind)
        names = [n.format(s=side.lower()) for n in _BONE_LANDMARKS[key]]
        out[:, k] = np.min(vis[:, [LM[n] for n in names]], axis=1)
    out[~good] = 0.0
    return np.clip(out, 0.0, 1.0)
