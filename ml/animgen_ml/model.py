"""The neural animation generator: a temporal convolutional network from landmarks to HumanoidClip.

Per frame in: MediaPipe world points (hip-centred, camera-aligned, metres), image points relative to the hip
centre in torso units, the hip centre's image motion and scale change (root-motion cues), visibilities.
Per frame out: a 6-D WORLD rotation for each of the 22 body bones in the camera's yaw frame (world rather
than local rotations: an error in the spine does not swing the arms; local ones follow by division), the
clearance (height of the lowest heel or toe above the floor: the hips height follows from the legs, so feet
that stand stand on the floor), the hips' horizontal velocity in that frame, and two foot-contact logits.
Dilated 1-D convolutions (an 81-frame receptive field, centred) run over a whole clip in one pass.

Inference is numpy only: the network is trained in torch (network.py) and shipped as plain arrays (.npz), so
generating a clip neither imports torch nor needs it installed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from animgen_ml import despike, limits, skeleton, twists
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.contacts import from_probability, runs, sole_points
from animgen_ml.errors import InputError
from animgen_ml.landmarks import LM, MIRROR, Landmarks
from animgen_ml.smooth import gaussian_lowpass, local_linear_lowpass

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_NAME = "animgen_tcn"
WEIGHTS_ENV = "ANIMGEN_WEIGHTS"  # weights of `animgen train` to run instead of the shipped ones (`--model`)
TRAIN_FPS = 30.0  # the mocap is resampled to this rate for training
BONES = list(skeleton.BODY_BONES)
PARENTS = skeleton.parents_of(BONES)
N_FEATURES = 33 * 3 + 33 * 2 + 3 + 33
N_OUT = len(BONES) * 6 + 3 + 2


def _pixels(lm: Landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Image points in pixels (T, 33, 2), the hips' centre (T, 2), the torso's length (T,) and its median."""
    px = np.nan_to_num(lm.image[..., :2].astype(np.float64)) * np.array([lm.width, lm.height], dtype=np.float64)
    hip = 0.5 * (px[:, LM["left_hip"]] + px[:, LM["right_hip"]])
    sh = 0.5 * (px[:, LM["left_shoulder"]] + px[:, LM["right_shoulder"]])
    torso = np.maximum(np.linalg.norm(sh - hip, axis=-1), 1e-3)
    return px, hip, torso, max(float(np.median(torso)), 1e-3)


def _velocity(hip: np.ndarray, scale: float) -> np.ndarray:
    """(T, 2) the hips' image motion from each frame to the next, in torso lengths (the first frame's: the second's)."""
    vel = np.zeros((len(hip), 2))
    if len(hip) > 1:
        vel[1:] = np.diff(hip, axis=0) / scale
        vel[0] = vel[1]
    return vel


def features(lm: Landmarks) -> np.ndarray:
    """(T, N_FEATURES) camera-independent network input from (cleaned) Landmarks."""
    T = lm.frame_count
    world = np.nan_to_num(lm.world.astype(np.float64))
    px, hip, torso, scale = _pixels(lm)
    rel = (px - hip[:, None]) / scale
    vel = _velocity(hip, scale)
    logsize = np.log(torso / scale)[:, None]
    vis = np.nan_to_num(lm.visibility.astype(np.float64))
    # Columns: world 0:99, image relative to the hips 99:165, hips velocity 165:167, log size 167, visibility
    # 168:201 (mirror_features relies on this layout).
    out = np.concatenate([world.reshape(T, -1), rel.reshape(T, -1), vel, logsize, vis], axis=1)
    return np.clip(out, -10, 10).astype(np.float32)


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """The network (network.export's arrays) on one clip's features x (T, N_FEATURES): rot6 (T, B, 6),
    clearance (T,), velocity (T, 2), contact logits (T, 2). Each dilated convolution is three matrix products over
    the frames shifted by -d, 0, +d, with the ends repeated (torch's replicate padding)."""
    T, B = len(x), len(BONES)
    h = np.maximum(x @ params["inp.w"] + params["inp.b"], 0.0)
    for i, d in enumerate(params["dilations"].tolist()):
        taps = params[f"block{i}.taps"]
        pad = np.concatenate([np.repeat(h[:1], d, 0), h, np.repeat(h[-1:], d, 0)])
        y = pad[:T] @ taps[0] + h @ taps[1] + pad[2 * d:] @ taps[2] + params[f"block{i}.b"]
        h = h + np.maximum(y, 0.0) @ params[f"block{i}.mix.w"] + params[f"block{i}.mix.b"]
    out = h @ params["out.w"] + params["out.b"]
    return {"rot6": out[:, : B * 6].reshape(T, B, 6), "clearance": out[:, B * 6],
            "velocity": out[:, B * 6 + 1: B * 6 + 3], "contact_logits": out[:, B * 6 + 3:]}


# The mirror image across the camera's vertical plane: landmark and bone i become MIRROR[i] / BONE_MIRROR[i], and
# x flips sign (in MediaPipe's world points, the image, and the yaw frame of the outputs).
BONE_MIRROR = np.array([BONES.index(b.replace("Left", "@").replace("Right", "Left").replace("@", "Right"))
                        for b in BONES])
_WORLD, _REL, _VELOCITY = slice(0, 99), slice(99, 165), slice(165, 167)


def mirror_features(x: np.ndarray) -> np.ndarray:
    """features() of the mirror image of the same landmarks: world and image points (relative to the hips)
    exchanged left for right with x negated, the hips' image velocity's x negated, visibilities exchanged."""
    T = len(x)
    out = x.copy()
    world = x[:, _WORLD].reshape(T, 33, 3)[:, MIRROR] * np.array([-1.0, 1.0, 1.0], dtype=x.dtype)
    rel = x[:, _REL].reshape(T, 33, 2)[:, MIRROR] * np.array([-1.0, 1.0], dtype=x.dtype)
    out[:, _WORLD], out[:, _REL] = world.reshape(T, -1), rel.reshape(T, -1)
    out[:, 165] *= -1.0  # the hips' image velocity: x, y at 165, 166; then the log size at 167
    out[:, 168:] = x[:, 168:][:, MIRROR]
    return out


def mirror_outputs(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """forward()'s outputs turned back from the mirror image: S R S with S = diag(-1, 1, 1) for every world
    rotation (its first column becomes (x, -y, -z), its second (-x, y, z)), bones exchanged left for right, the
    root's x velocity negated, the feet's contact logits exchanged. Clearance needs nothing."""
    rot6 = out["rot6"][:, BONE_MIRROR] * np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0], dtype=out["rot6"].dtype)
    return {"rot6": rot6, "clearance": out["clearance"], "velocity": out["velocity"] * np.array([-1.0, 1.0]),
            "contact_logits": out["contact_logits"][:, ::-1]}


def _interp(a: np.ndarray, t: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, ...) values at times t onto grid (held at the ends)."""
    flat = a.reshape(len(a), -1)
    out = np.stack([np.interp(grid, t, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape((len(grid),) + a.shape[1:])


class Generator:
    """A loaded network: Landmarks in, HumanoidClip out (same frame grid as the landmarks)."""

    def __init__(self, params: dict[str, np.ndarray], info: dict) -> None:
        self.params = params
        self.info = info

    @property
    def name(self) -> str:
        """The name `animgen train --name` gave the weights: clips' metadata.model and the server's ModelInfo."""
        return self.info.get("name", DEFAULT_NAME)

    def predict(self, lm: Landmarks) -> dict[str, np.ndarray]:
        """Raw network outputs on the landmarks' own frames. The network works at TRAIN_FPS (its receptive field
        and velocities are in those frames), so other rates are resampled there and back."""
        T, fps = lm.frame_count, lm.fps
        t = np.arange(T) / fps
        if T > 1 and abs(fps - TRAIN_FPS) > 0.5:
            grid = np.arange(0.0, t[-1] + 1e-9, 1.0 / TRAIN_FPS)
            x = _interp(features(lm), t, grid)
            # The hips' image velocity is per frame: per TRAIN_FPS frame, taken between the grid's frames. Left per
            # input frame, a 60 fps video showed the network the body moving at half its speed, a 5 fps one at six
            # times; scaled up from a fast video's frames, MediaPipe's jitter grew with the rate (8x at 240 fps: the
            # hips 6 cm high and no foot contact found).
            _, hip, _, scale = _pixels(lm)
            x[:, _VELOCITY] = _velocity(_interp(hip, t, grid), scale)
        else:
            grid, x = t, features(lm)
        x = x.astype(np.float32)
        # The network on the landmarks and on their mirror image, turned back and averaged (it trained on mirrored
        # clips too): errors that are not symmetric partly cancel.
        seen, mirrored = forward(self.params, x), mirror_outputs(forward(self.params, mirror_features(x)))
        out = {k: 0.5 * (seen[k].astype(np.float64) + mirrored[k]) for k in seen}
        if grid is not t:
            out = {k: _interp(v, grid, t) for k, v in out.items()}
            out["velocity"] *= TRAIN_FPS / fps  # metres per input frame
        return out

    def generate(self, landmarks: Landmarks, fingers: bool = False) -> HumanoidClip:
        from animgen_ml import solver

        fps = landmarks.fps
        # From the solver: the actor's rest offsets (so that both generators draw the same body), limb directions
        # to blend towards and the camera-anchored root track (with fingers, the whole solved clip for them).
        # Contacts are ours.
        offsets, ref_dirs, track, solver_hips = solver.reference(landmarks, [b for b, _ in LIMBS])
        ref_xz = track[:, [0, 2]]
        solved = solver.solve(landmarks, fingers=True, find_contacts=False) if fingers else None
        out = self.predict(landmarks)
        world = blend_limbs(R.from_6d(out["rot6"]), offsets, ref_dirs, BLEND_WEIGHT, BLEND_SIGMA_S * fps)
        rot = world.copy()  # world (camera yaw frame) -> local: each bone relative to its parent
        rot[:, 1:] = R.multiply(R.conjugate(world[:, PARENTS[1:]]), world[:, 1:])
        rot = R.make_continuous(R.normalize(rot))
        vel = out["velocity"]
        # Where nobody is seen the input is a held pose: the Hips go straight along the solver's bridged track
        # (solver.bridge_undetected) instead of the network's steps, which glided and then caught up.
        seen = solver.seen_frames(landmarks)
        unseen_step = ~(seen[1:] & seen[:-1])
        # So do they across a switch to someone else (solver.carry_across), where the network's steps, seeing two
        # people, surged (0.14 m a frame after a walk at 0.06).
        for lost, found in landmarks.switches:
            unseen_step |= (landmarks.times[:-1] >= lost - SWITCH_S) & (landmarks.times[1:] <= found + SWITCH_S)
        vel[:-1][unseen_step] = np.diff(ref_xz, axis=0)[unseen_step]
        xz = np.concatenate([np.zeros((1, 2)), np.cumsum(vel[:-1], axis=0)], axis=0)
        # Before a person walks into the picture and after they walk out of it the clip stands still (hold_span):
        # the root fused over the frames between, as the fusion follows a drift to its ends, past which it had
        # carried it on (the side-view run's Hips glided 0.3 m after he left, his pose held).
        a, b = hold_span(landmarks, seen)
        xz[a:b] = fuse_root(xz[a:b], ref_xz[a:b], ROOT_SIGMA_S * fps)
        hips = np.stack([xz[:, 0], np.zeros(len(xz)), xz[:, 1]], axis=-1)  # height below, from the final pose
        contacts = from_probability(1.0 / (1.0 + np.exp(-out["contact_logits"])), fps)
        clip = HumanoidClip(bones=list(BONES), rest_offsets=offsets, fps=fps, hips=hips, rotations=rot,
                            contacts=contacts, confidence=_confidence(landmarks), name=Path(landmarks.source).stem
                            or "clip", metadata={"generator": "network", "contacts_source": "network",
                                                 "model": self.name})
        # World rotations leave thigh and upper-arm twist loosely determined; the knee and elbow hinges fix it
        # without moving a joint (held-out mocap, 16 clips: joint-angle error 40.1 -> 32.3 degrees).
        clip = limits.untwist_hinges(clip)
        clip = twists.canonical_twists(neutral_where_unseen(clavicles_at_rest(clip)))
        hips = clip.hips.copy()
        low = sole_height(clip)  # the lowest sole below the Hips (hips y is 0 here)
        hips[:, 1] = out["clearance"] - low
        # The clearance learned each training source's own floor, and those differ (one source's planted soles:
        # median -1.6 cm), so the feet sat about 2 cm under the floor: the lowest sole's median height over the
        # frames the network marks planted is put at y = 0 (held-out mocap: 70.6 % of frames had a sole more than
        # 1 cm under the floor, now 9.6 %).
        planted = contacts.any(axis=1)
        if planted.sum() >= 3:
            hips[:, 1] -= np.median(out["clearance"][planted])
        hips[:, 1] += flight_rise(track, solver_hips, clip.rotations[:, 0], hips[:, 1], hips[:, 1] + low, planted,
                                  fps)
        # An arm that flicks out and back while its landmarks are unsure is a guess: bridged (ml/EXPERIMENTS.md, "An
        # arm that flicks while unseen").
        rot = despike.bridge(clip.rotations, despike.sureness(clip.confidence, clip.parents), fps, _ARMS)
        clip = hold_outside(replace(clip, hips=hips, rotations=rot), a, b)
        return clip if solved is None else _with_solver_fingers(clip, solved)


# The network's root path is its velocity summed, which drifts; the solver's root track is found from where the
# body appears in the image, anchored to the camera but jittery. The path takes its slow part (Gaussian, this many
# seconds) from the solver and its quick part from the network. Chosen on training data: root path error
# (metrics.root_path_error) at 0.5 / 1 / 2 s was 114 / 97 / 89 mm on 93 training clips through the noise model and
# 103 / 106 / 122 mm on 100 rendered training takes (real MediaPipe); without it, 162 and 184 mm.
# The difference is low-passed by a local linear fit, so that near the clip's ends a steady drift (the network's
# speed a share off) is followed to the end rather than held: with held ends a clip of a few seconds took most of
# its travel from the network (a 1.6 s side-view run 3.39 m against the track's 3.87; ml/EXPERIMENTS.md, "Where a
# short clip's root goes").
ROOT_SIGMA_S = 1.0
SWITCH_S = 0.2  # the network's steps this near a switch to someone else are the carried track's


# A torso (shoulders and hips) this near the picture's left or right edge, or past it, on the first or last frame with
# a person: they are walking into the picture or out of it. Not the top and bottom, nor the limbs: a tight frame cuts
# off legs and hands of someone who stays (MediaPipe puts them past the edge).
WALK_EDGE = 0.05
_TORSO = [LM["left_shoulder"], LM["right_shoulder"], LM["left_hip"], LM["right_hip"]]


def hold_span(landmarks: Landmarks, seen: np.ndarray) -> tuple[int, int]:
    """(a, b): the clip moves in frames a .. b-1 and holds the frames outside. Before the first frame with a person
    and after the last the input is a held pose; where the person's torso is at the picture's side there (walking
    in, or out), the clip holds too. Where it is inside it, MediaPipe lost someone who stayed (lying down, crouched,
    a render's first frames): the network's own motion there came nearer the truth than a hold (held-out renders:
    root path 207 against 226 mm held, root height 37 against 53)."""
    found = np.flatnonzero(seen)
    if not len(found):
        return 0, len(seen)

    def at_edge(k: int) -> bool:
        x = landmarks.image[k, _TORSO, 0]
        return bool((x.min() < WALK_EDGE) | (x.max() > 1.0 - WALK_EDGE))

    first, last = int(found[0]), int(found[-1])
    return (first if first > 0 and at_edge(first) else 0,
            last + 1 if last < len(seen) - 1 and at_edge(last) else len(seen))


def hold_outside(clip: HumanoidClip, a: int, b: int) -> HumanoidClip:
    """The frames before a and from b on hold frame a's and b-1's pose, place and contacts."""
    if a == 0 and b == clip.frame_count:
        return clip
    idx = np.clip(np.arange(clip.frame_count), a, b - 1)
    return replace(clip, hips=clip.hips[idx], rotations=clip.rotations[idx], contacts=clip.contacts[idx])


def fuse_root(network: np.ndarray, solver: np.ndarray, sigma: float) -> np.ndarray:
    """(T, 2) horizontal root path: the network's path plus the low-passed difference to the solver's (a
    complementary filter), both starting where they may; sigma in frames."""
    return network + local_linear_lowpass(solver - network, sigma)


# The network's height comes from its clearance output, which misses much of a jump's rise (hops of 20-40 cm came
# out 8-14 cm), while the solver's camera-anchored track sees the hips rise in the picture. In a flight (a stretch
# without a planted foot, up to FLIGHT_MAX_S) the Hips take the track's vertical motion relative to the line joining
# its heights at the planted frames on either side, low-passed (Gaussian, FLIGHT_SIGMA_S) against MediaPipe's jitter:
# planted feet keep the height they give, and the flight starts and ends there. Longer stretches are not flights
# (floor work, lying, a cartwheel) and keep the network's height: there the track helped some takes and hurt others.
# Chosen on training data (ml/EXPERIMENTS.md, "How high a jump goes").
FLIGHT_SIGMA_S = 0.05
FLIGHT_MAX_S = 1.0


def camera_up(solver_hips: np.ndarray, network_hips: np.ndarray) -> np.ndarray:
    """(3,) the floor's up direction in the camera's frame: the solver's Hips turn lives in the camera's frame, the
    network's in the camera's yaw frame (up is +Y), so per frame the turn between them carries +Y into the camera's
    frame; the median over frames, for a steady camera."""
    turn = R.multiply(solver_hips, R.conjugate(network_hips))
    up = np.median(R.apply(turn, np.broadcast_to([0.0, 1.0, 0.0], (len(turn), 3))), axis=0)
    return up / max(float(np.linalg.norm(up)), 1e-9)


def flight_rise(track: np.ndarray, solver_hips: np.ndarray, network_hips: np.ndarray, height: np.ndarray,
                sole: np.ndarray, planted: np.ndarray, fps: float) -> np.ndarray:
    """(T,) what to add to the network's Hips height (T,) in its flights (stretches of at most FLIGHT_MAX_S where
    no foot is planted; planted (T,)): the camera track's (T, 3) height above the network's, low-passed, less the
    straight line between its values on the frames either side (one side at a clip's end: held level), so 0
    elsewhere; never taking the lowest sole (sole (T,), its height) under the floor or further under it."""
    flight = np.zeros(len(planted), dtype=bool)
    for s, e in runs(~planted):
        flight[s:e] = e - s <= FLIGHT_MAX_S * fps
    rise = np.zeros(len(planted))
    if flight.any() and not flight.all():
        diff = gaussian_lowpass(track @ camera_up(solver_hips, network_hips) - height, FLIGHT_SIGMA_S * fps)
        t, fixed = np.arange(len(diff)), np.flatnonzero(~flight)
        rise[flight] = diff[flight] - np.interp(t[flight], fixed, diff[fixed])
    return np.maximum(rise, np.minimum(0.0, -sole))


SPINE = ("Spine", "Chest", "UpperChest")
# The analytic solver reads limb directions straight off the landmarks; the network's are smoother but biased
# (trained on synthetic noise). Limb directions move this share of the way towards the solver's, with the
# difference low-passed (Gaussian, this many seconds) so that the solver's jitter stays out.
BLEND_WEIGHT = 0.5
BLEND_SIGMA_S = 0.15
_ARMS = [BONES.index(b) for b in despike.ARM_BONES]
LIMBS = [(f"{s}{b}", f"{s}{c}") for s in ("Left", "Right")
         for b, c in (("UpperArm", "LowerArm"), ("LowerArm", "Hand"), ("UpperLeg", "LowerLeg"), ("LowerLeg", "Foot"))]


def blend_limbs(world: np.ndarray, offsets: np.ndarray, ref_dirs: np.ndarray, weight: float,
                sigma: float) -> np.ndarray:
    """World rotations (T, B, 4) with each limb bone swung part of the way to the reference's direction for it
    (ref_dirs (T, len(LIMBS), 3): the solver's unit directions); twist stays the network's. Both are in the
    camera's frame (as the solver's output is): seen from each one's own Hips instead, the two Hips' disagreement
    would add to the limbs' error (PA-MPJPE 63 -> 68 mm)."""
    bone, child = [BONES.index(b) for b, _ in LIMBS], [BONES.index(c) for _, c in LIMBS]
    unit = offsets[child] / np.linalg.norm(offsets[child], axis=-1, keepdims=True)
    d = R.apply(world[:, bone], np.broadcast_to(unit, (len(world), *unit.shape)))  # (T, limbs, 3), all at once
    want = d + weight * gaussian_lowpass(ref_dirs - d, sigma)
    out = world.copy()
    out[:, bone] = R.multiply(R.between(d, want), world[:, bone])
    return out


def clavicles_at_rest(clip: HumanoidClip) -> HumanoidClip:
    """Clavicles at rest, as the solver holds them; each upper arm keeps its world rotation. The training rigs
    disagree about where the clavicle joint sits and how their mocap solvers move it, so the network's clavicle is a
    rig habit rather than the actor's (held-out mocap: PA-MPJPE 63.8 -> 61.3 mm, joint angles 22.3 -> 21.1 deg)."""
    rot = clip.rotations.copy()
    for side in ("Left", "Right"):
        i, j = clip.index(f"{side}Shoulder"), clip.index(f"{side}UpperArm")
        rot[:, j] = R.multiply(rot[:, i], rot[:, j])
        rot[:, i] = R.identity(rot.shape[:1])
    return replace(clip, rotations=rot)


def spread_bend(clip: HumanoidClip, chain: tuple[str, ...]) -> HumanoidClip:
    """The bend along a chain of bones (each the parent of the next) shared equally by its bones; the last bone's
    world rotation, and so everything below it, stays."""
    idx = [clip.index(b) for b in chain]
    rot = clip.rotations.copy()
    total = rot[:, idx[0]]
    for i in idx[1:]:
        total = R.multiply(total, rot[:, i])
    part = R.make_continuous(R.slerp(R.identity(total.shape[:-1]), total, np.full(total.shape[:-1], 1 / len(idx))))
    for i in idx:
        rot[:, i] = part
    return replace(clip, rotations=rot)


def neutral_where_unseen(clip: HumanoidClip) -> HumanoidClip:
    """Where landmarks cannot say how a bend is shared, the neutral guess, as the solver makes it. MediaPipe has
    no point on the spine: the training rigs split its bend each their own way (the CC rig bends its waist most),
    so Spine, Chest and UpperChest share it evenly. Nor on the ball of the foot (foot_index is the toe tip), so
    the toes stay at rest. Nor on the neck: Neck and Head share the head's turn evenly, as in the solver.
    (Held-out mocap: toes at rest 21.08 -> 20.97 deg with the earlier weights; the even neck split 20.70 ->
    20.63 deg with the 2026-12-02 weights, PA-MPJPE 59.6 -> 59.7 mm.)"""
    clip = spread_bend(spread_bend(clip, SPINE), ("Neck", "Head"))
    rot = clip.rotations.copy()
    for side in ("Left", "Right"):
        rot[:, clip.index(f"{side}Toes")] = R.identity(rot.shape[:1])
    return replace(clip, rotations=rot)


def sole_height(clip: HumanoidClip, world: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(T,) height of the lowest heel or toe sole point (contacts.sole_points) above the clip's floor (y = 0)."""
    heel, toe = sole_points(clip, world)
    return np.minimum(heel[..., 1], toe[..., 1]).min(axis=1)


EDGE = 0.02  # a landmark this close to the picture's edge (a share of its size), or past it, is a guess


def _confidence(lm: Landmarks) -> np.ndarray:
    """Per bone: the visibility of the landmark at the bone's joint (1 for the trunk); 0 where that landmark is at or
    past the picture's edge (EDGE), where MediaPipe guesses with high visibility (the gym walk's wrist leaving the
    picture: 0.8-0.9 while the arm flicked 40 degrees up and back)."""
    joint_lm = {"LeftUpperArm": "left_shoulder", "LeftLowerArm": "left_elbow", "LeftHand": "left_wrist",
                "LeftUpperLeg": "left_hip", "LeftLowerLeg": "left_knee", "LeftFoot": "left_ankle",
                "LeftToes": "left_foot_index", "Head": "nose"}
    conf = np.ones((lm.frame_count, len(BONES)))
    image = np.nan_to_num(lm.image[..., :2], nan=-1.0)
    vis = np.nan_to_num(lm.visibility) * np.all((image >= EDGE) & (image <= 1.0 - EDGE), axis=-1)
    for i, b in enumerate(BONES):
        name = joint_lm.get(b.replace("Right", "Left"))
        if name:
            conf[:, i] = vis[:, LM[name.replace("left", "right") if b.startswith("Right") else name]]
    return np.clip(conf, 0.0, 1.0)


def _with_solver_fingers(clip: HumanoidClip, full: HumanoidClip) -> HumanoidClip:
    """The clip with the solver's finger bones (if it solved any) appended."""
    extra = [b for b in full.bones if b not in clip.bones]
    if not extra:
        return clip
    idx = [full.bones.index(b) for b in extra]
    return HumanoidClip(
        bones=clip.bones + extra, rest_offsets=np.concatenate([clip.rest_offsets, full.rest_offsets[idx]]),
        fps=clip.fps, hips=clip.hips, rotations=np.concatenate([clip.rotations, full.rotations[:, idx]], axis=1),
        contacts=clip.contacts, confidence=np.concatenate([clip.confidence, full.confidence[:, idx]], axis=1),
        name=clip.name, metadata=clip.metadata)


def weights_path(name: str | None = None) -> Path:
    """weights/<name>.npz; with no name, the file $ANIMGEN_WEIGHTS names when set, else the shipped network."""
    if name is None and os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV])
    return WEIGHTS_DIR / f"{name or DEFAULT_NAME}.npz"


def weights_available(name: str | None = None) -> bool:
    """Whether there is a network to run. Chosen weights count even when missing: load_model then says so,
    rather than the clip silently coming from the analytic baseline."""
    return (name is None and bool(os.environ.get(WEIGHTS_ENV))) or weights_path(name).is_file()


def identity(weights: Path | None = None) -> str:
    """What makes a clip besides the video and the options: the version and the network's weights, by content
    (`animgen train` writes new ones where the old ones were). Results made under another are stale."""
    from animgen_ml import __version__

    path = weights or weights_path()
    try:
        st = path.stat()
        digest = _digest(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        digest = "none"
    return f"animgen {__version__}, weights {digest}"


@functools.lru_cache(maxsize=8)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    """A file's content hash, once per version of the file (a folder of videos asks for it twice per video)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


WEIGHTS_KEYS = ("info", "dilations", "inp.w", "inp.b", "out.w", "out.b")  # what every weights file holds


def load_file(path: str | Path) -> Generator:
    """A Generator from a weights file written by network.save (.npz: the arrays and an `info` JSON string)."""
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a weights file of `animgen train` (not an .npz archive)")
    with np.load(path, allow_pickle=False) as blob:
        missing = [k for k in WEIGHTS_KEYS if k not in blob.files]
        if missing:
            raise InputError(f"{path}: not a weights file of `animgen train` (no {', '.join(missing)})")
        try:
            params = {k: blob[k] for k in blob.files if k != "info"}
            info_text = str(blob["info"])
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:  # a damaged copy
            raise InputError(f"{path}: damaged weights file ({e})") from e
        if params["inp.w"].shape[0] != N_FEATURES or params["out.w"].shape[-1] != N_OUT:
            raise InputError(f"{path}: weights of another version of AnimGen (its network takes "
                             f"{params['inp.w'].shape[0]} inputs and gives {params['out.w'].shape[-1]} outputs, "
                             f"this one's {N_FEATURES} and {N_OUT})")
        try:
            info = json.loads(info_text)
        except ValueError as e:
            raise InputError(f"{path}: not a weights file of `animgen train` (its info is not JSON)") from e
    if not isinstance(info, dict):
        raise InputError(f"{path}: not a weights file of `animgen train` (its info is not a JSON object)")
    dilations = params["dilations"]
    if dilations.dtype.kind not in "iu" or dilations.ndim != 1 or not ((dilations >= 1) & (dilations <= 1024)).all():
        raise InputError(f"{path}: damaged weights file (dilations {dilations.tolist()!r})")
    # Run once on a few frames, so that a damaged file is named now, not as a failure of the video it is used on.
    try:
        out = forward(params, np.zeros((8, N_FEATURES), np.float32))
        finite = all(np.isfinite(v).all() for v in out.values())
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise InputError(f"{path}: damaged weights file (the network does not run: {type(e).__name__}: {e})") from e
    if not finite:
        raise InputError(f"{path}: weights that give numbers that are not finite (a training run that diverged?)")
    return Generator(params, info)


def load_model(name: str | None = None) -> Generator:
    """The generator of weights_path(name), loaded once per process."""
    return _load(str(weights_path(name).resolve()))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Generator:
    if not Path(path).is_file():
        from animgen_ml.errors import AnimGenError

        chosen = f" (${WEIGHTS_ENV}, `--model`)" if os.environ.get(WEIGHTS_ENV) else ""
        raise AnimGenError(f"{path}{chosen}: network weights not found (train them with `animgen train`)")
    t0 = time.perf_counter()
    gen = load_file(path)
    gen.info["load_seconds"] = time.perf_counter() - t0
    return gen
