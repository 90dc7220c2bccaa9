"""Retargeting: play a HumanoidClip on another skeleton (a character's .glb, a .bvh, or the bones an engine
plugin sends), whatever its bone names, rest pose (T or A) and bone axes.

Bones are mapped by name (bonemap.map_bones, with overrides). Each mapped target bone j of our bone b gets the
world rotation  W_j(t) = W_b(t) * A_b * G_j,  where G_j is j's rest world rotation and A_b turns j's rest
direction onto ours (the direction to the next mapped bone down the chain; for the Hips, the whole frame given
by up and left). At our rest (all W_b identity) the target therefore stands in our T-pose, and in motion each
target bone points where ours points. Unmapped target joints keep their rest local rotation. The Hips move so
that the target's pelvis (between its upper legs) moves by ours, scaled by the ratio of leg lengths.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from animgen_ml import contacts as C
from animgen_ml import edit, gltf_unused, keyframes, skeleton, skinning, vrm
from animgen_ml import rotations as R
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

# The joint below each bone that gives its direction (None: no direction; keeps its parent's correction).
DIRECTION_CHILD: dict[str, str | None] = {
    "Hips": "Spine", "Spine": "Chest", "Chest": "UpperChest", "UpperChest": "Neck", "Neck": "Head", "Head": None,
}
for _s in ("Left", "Right"):
    DIRECTION_CHILD.update({
        f"{_s}Shoulder": f"{_s}UpperArm", f"{_s}UpperArm": f"{_s}LowerArm", f"{_s}LowerArm": f"{_s}Hand",
        f"{_s}Hand": f"{_s}MiddleProximal", f"{_s}UpperLeg": f"{_s}LowerLeg", f"{_s}LowerLeg": f"{_s}Foot",
        f"{_s}Foot": f"{_s}Toes", f"{_s}Toes": None,
    })
    for _f in ("Thumb", "Index", "Middle", "Ring", "Little"):
        DIRECTION_CHILD.update({f"{_s}{_f}Proximal": f"{_s}{_f}Intermediate",
                                f"{_s}{_f}Intermediate": f"{_s}{_f}Distal", f"{_s}{_f}Distal": None})


# Bones whose rest pose stands flat on the floor: their correction only turns them about the vertical. Turned onto
# our ankle-to-toe direction, a character whose toe joint sits lower than ours relative to its ankle (Xbot: 39
# degrees below level, ours 25) had its feet pitched toes-up 14 degrees in every frame, heels in the floor.
FLAT_BONES = ("LeftFoot", "RightFoot")
MIN_FOOT_LEVEL = 0.3  # the level share of an ankle-to-toe direction that still gives the foot a heading (_heading)


@dataclass
class TargetSkeleton:
    """Joints in parent-first order, with local rest TRS (the reference pose), in glTF space.

    base_*: the world transform above the root joint(s) (a glTF armature node, a Z-up BVH's axis change).
    """

    names: list[str]
    parents: np.ndarray  # (J,) parent index, -1 for a root
    rest_translation: np.ndarray  # (J, 3) local
    rest_rotation: np.ndarray  # (J, 4) local, xyzw
    rest_scale: np.ndarray | None = None  # (J,) uniform local scale; None: 1
    base_rotation: np.ndarray = field(default_factory=lambda: R.identity())
    base_translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    base_scale: float = 1.0
    bone_map: dict[str, str] = field(default_factory=dict)  # overrides: HumanBodyBone -> target name
    name: str = "target"

    def __post_init__(self) -> None:
        self.parents = np.asarray(self.parents, dtype=np.int64)
        J = len(self.names)
        for i, p in enumerate(self.parents):
            if p >= i:
                raise InputError(f"{self.name}: bone {self.names[i]!r} comes before its parent")
        self.rest_translation = np.asarray(self.rest_translation, np.float64).reshape(J, 3)
        self.rest_rotation = R.normalize(np.asarray(self.rest_rotation, np.float64).reshape(J, 4))
        if self.rest_scale is None:
            self.rest_scale = np.ones(J)

    def forward(self, rotations: np.ndarray, translations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World positions (T, J, 3) and rotations (T, J, 4) from local (T, J, 4) and (T, J, 3)."""
        T, J = rotations.shape[:2]
        assert self.rest_scale is not None  # set by __post_init__
        pos = np.zeros((T, J, 3))
        rot = np.zeros((T, J, 4))
        scale = np.zeros(J)
        for j in range(J):
            p = self.parents[j]
            if p < 0:
                prot, ppos, pscale = np.broadcast_to(self.base_rotation, (T, 4)), self.base_translation, self.base_scale
            else:
                prot, ppos, pscale = rot[:, p], pos[:, p], scale[p]
            rot[:, j] = R.multiply(prot, rotations[:, j])
            pos[:, j] = ppos + pscale * R.apply(prot, translations[:, j])
            scale[j] = pscale * self.rest_scale[j]
        return pos, rot

    def rest_world(self) -> tuple[np.ndarray, np.ndarray]:
        pos, rot = self.forward(self.rest_rotation[None], self.rest_translation[None])
        return pos[0], rot[0]

    def rest_positions(self) -> np.ndarray:
        """(J, 3) the joints' world rest positions (what bonemap.map_bones asks for where names fail)."""
        return self.rest_world()[0]

    def world_scales(self) -> np.ndarray:
        """(J,) every joint's uniform world scale (world_scale)."""
        return np.array([self.world_scale(j) for j in range(len(self.names))])

    def world_scale(self, j: int) -> float:
        s = self.base_scale
        assert self.rest_scale is not None  # set by __post_init__
        while j >= 0:
            s *= self.rest_scale[j]
            j = self.parents[j]
        return s


@dataclass
class TargetMotion:
    skeleton: TargetSkeleton
    fps: float
    translations: np.ndarray  # (T, J, 3) local
    rotations: np.ndarray  # (T, J, 4) local
    mapping: dict[str, str]  # HumanBodyBone -> target joint name
    animated: list[int]  # joints whose local rotation is driven (mapped ones)
    hips_joint: int
    hips_scale: float = 1.0  # the target's Hips move this many times as far as ours (_leg_ratio)
    feet_locked: bool = False  # planted feet locked on the target's own legs (planted_on_target)


def from_clip_skeleton(clip: HumanoidClip, names: Mapping[str, str] | None = None) -> TargetSkeleton:
    """Our own skeleton as a target (optionally renamed), rest pose identity: handy for tests and BVH output."""
    names = names or {}
    return TargetSkeleton(names=[names.get(b, b) for b in clip.bones], parents=clip.parents.copy(),
                          rest_translation=clip.rest_offsets.copy(), rest_rotation=R.identity((len(clip.bones),)),
                          name="humanoid")


def _mapping(clip: HumanoidClip, target: TargetSkeleton, overrides: Mapping[str, str] | None) -> dict[str, int]:
    from animgen_ml.bonemap import map_bones

    fingers = any(b in skeleton.FINGER_BONES for b in clip.bones)
    m = map_bones(target.names, target.parents, {**target.bone_map, **(overrides or {})}, fingers=fingers,
                  rest=target.rest_positions)
    index = {n: i for i, n in enumerate(target.names)}
    return {b: index[n] for b, n in m.items() if b in clip.bones}


def _is_descendant(j: int, ancestor: int, parents: np.ndarray) -> bool:
    while j >= 0:
        j = int(parents[j])
        if j == ancestor:
            return True
    return False


def _corrections(clip: HumanoidClip, target: TargetSkeleton, mapping: dict[str, int],
                 t_pos: np.ndarray) -> dict[str, np.ndarray]:
    """A_b for every mapped bone: the world rotation turning the target's rest direction onto ours."""
    s_pos = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    A: dict[str, np.ndarray] = {}
    top = next((k for k in ("Neck", "UpperChest", "Chest", "Spine") if k in mapping), None)
    for b in clip.bones:  # parents first, so a bone without direction can take its parent's correction
        if b not in mapping:
            continue
        j = mapping[b]
        if b == "Hips" and top is not None and all(k in mapping for k in ("LeftUpperLeg", "RightUpperLeg")):
            # Up from the pelvis (between the upper legs) to the highest mapped spine joint: a first spine offset
            # may point mostly backwards (ACCAD's mocap: 1.4 cm up, 7 cm back), and a rig's Hips may map to a root
            # on the floor; either as "up" would tilt the whole character.
            def frame(pos, ix):
                left = pos[ix("LeftUpperLeg")] - pos[ix("RightUpperLeg")]
                return R.from_basis(left, pos[ix(top)] - 0.5 * (pos[ix("LeftUpperLeg")] + pos[ix("RightUpperLeg")]))

            ours = frame(s_pos, clip.index)
            theirs = frame(t_pos, lambda n: mapping[n])
            A[b] = R.multiply(ours, R.conjugate(theirs))
            continue
        c = DIRECTION_CHILD.get(b)
        while c is not None and (c not in mapping or not _is_descendant(mapping[c], j, target.parents)):
            c = DIRECTION_CHILD.get(c)
        if c is not None:
            theirs, ours = t_pos[mapping[c]] - t_pos[j], s_pos[clip.index(c)] - s_pos[clip.index(b)]
            if b in FLAT_BONES:  # turned about the vertical only; with no heading, by the parent's correction
                theirs, ours = _heading(theirs), _heading(ours)
                if theirs is None or ours is None:
                    c = None
        if c is not None:
            A[b] = R.between(theirs, ours)
        else:
            p = clip.parents[clip.index(b)]
            while p >= 0 and clip.bones[p] not in A:
                p = clip.parents[p]
            A[b] = A[clip.bones[p]] if p >= 0 else R.identity()
    return A


def _heading(v: np.ndarray) -> np.ndarray | None:
    """The level part of a direction; None where it is (nearly) vertical: a toe joint under the ankle."""
    level = v * [1.0, 0.0, 1.0]
    return level if np.linalg.norm(level) >= MIN_FOOT_LEVEL * np.linalg.norm(v) else None


_LEFT_LEG = ("LeftUpperLeg", "LeftLowerLeg", "LeftFoot")


def _leg_length(pos: np.ndarray, index: Callable[[str], int]) -> float:
    """The left leg's length, hip to ankle, in rest positions pos; index: a bone's row in pos."""
    up, low, foot = (pos[index(b)] for b in _LEFT_LEG)
    return float(np.linalg.norm(low - up) + np.linalg.norm(foot - low))


def _leg_ratio(clip: HumanoidClip, t_pos: np.ndarray, mapping: dict[str, int]) -> float:
    """The target's leg length over ours: how far its pelvis moves for a metre of ours (1 where its left leg does
    not map)."""
    if not all(b in mapping for b in _LEFT_LEG):
        return 1.0
    ours = _leg_length(skeleton.rest_positions(clip.parents, clip.rest_offsets), clip.index)
    return _leg_length(t_pos, mapping.__getitem__) / max(ours, 1e-9)


def retarget(clip: HumanoidClip, target: TargetSkeleton, overrides: Mapping[str, str] | None = None) -> TargetMotion:
    """The clip's motion as local rotations / translations of the target's joints."""
    mapping = _mapping(clip, target, overrides)
    if "Hips" not in mapping:
        raise InputError(f"{target.name}: no bone maps to the Hips")
    t_pos, t_rot = target.rest_world()
    A = _corrections(clip, target, mapping, t_pos)
    p_src, w_src = clip.world()
    T, J = clip.frame_count, len(target.names)
    by_joint = {j: b for b, j in mapping.items()}
    world = np.zeros((T, J, 4))
    local = np.zeros((T, J, 4))
    for j in range(J):
        p = target.parents[j]
        parent = np.broadcast_to(target.base_rotation, (T, 4)) if p < 0 else world[:, p]
        if j in by_joint:
            b = by_joint[j]
            world[:, j] = R.multiply(R.multiply(w_src[:, clip.index(b)], A[b]), t_rot[j])
            local[:, j] = R.normalize(R.multiply(R.conjugate(parent), world[:, j]))
        else:
            local[:, j] = target.rest_rotation[j]
            world[:, j] = R.multiply(parent, local[:, j])
    trans = np.broadcast_to(target.rest_translation, (T, J, 3)).copy()
    # Hips: our displacement from rest, scaled by leg length, expressed in the Hips parent's frame.
    h = mapping["Hips"]
    s_rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    k = _leg_ratio(clip, t_pos, mapping)
    hips_world = t_pos[h] + k * (clip.hips - s_rest[clip.index("Hips")])
    # The Hips' parent chain is unmapped above the Hips (else it would move), so its world transform is its
    # rest transform whatever the frame.
    p = target.parents[h]
    if p < 0:
        prot, ppos, pscale = target.base_rotation, target.base_translation, target.base_scale
    else:
        prot, ppos, pscale = t_rot[p], t_pos[p], target.world_scale(p)
    trans[:, h] = R.apply(R.conjugate(prot), hips_world - ppos) / pscale
    legs = ("LeftUpperLeg", "RightUpperLeg")
    if all(b in mapping for b in legs):
        # The pelvis (between the upper legs) follows ours, wherever the target's Hips joint sits: a rig whose
        # Hips maps to a "Root" on the floor would otherwise turn the body about the floor.
        ours = [clip.index(b) for b in legs]
        theirs = [mapping[b] for b in legs]
        want = t_pos[theirs].mean(0) + k * (p_src[:, ours].mean(1) - s_rest[ours].mean(0))
        got = target.forward(local, trans)[0][:, theirs].mean(1)
        trans[:, h] += R.apply(R.conjugate(prot), want - got) / pscale
    return TargetMotion(target, clip.fps, trans, R.make_continuous(local), {b: target.names[j] for b, j in
                        mapping.items()}, sorted(by_joint), h, hips_scale=k)


def on_target_proportions(clip: HumanoidClip, target: TargetSkeleton,
                          overrides: Mapping[str, str] | None = None) -> HumanoidClip:
    """The clip on our skeleton with the target's proportions: the same rotations, with rest offsets and a Hips
    path such that every joint lands where `retarget` puts the target's joint it maps to (what a camera filming
    the retargeted character sees). Between two mapped joints the target's chain is rigid, so the offset is the
    target's rest vector turned by the retarget's correction; the Hips joint keeps its place above the pelvis
    (a target's Hips may map to a root on the floor). Bones the target lacks (toes) keep their offsets, scaled
    by the ratio of leg lengths."""
    mapping = _mapping(clip, target, overrides)
    t_pos, _ = target.rest_world()
    A = _corrections(clip, target, mapping, t_pos)
    s_rest = skeleton.rest_positions(clip.parents, clip.rest_offsets)
    legs = ("LeftUpperLeg", "RightUpperLeg")
    if not all(b in mapping for b in ("Hips", *legs)):
        raise InputError(f"{target.name}: no bones map to the Hips and both upper legs")
    k = _leg_ratio(clip, t_pos, mapping)
    drop = clip.rest_offsets[[clip.index(b) for b in legs]].mean(0)  # Hips joint -> pelvis, ours
    t_pelvis = t_pos[[mapping[b] for b in legs]].mean(0)
    offsets = clip.rest_offsets * k
    for c in range(1, len(clip.bones)):
        b = clip.bones[clip.parents[c]]
        if clip.bones[c] not in mapping or b not in mapping:
            continue
        if b == "Hips":
            offsets[c] = drop + R.apply(A[b], t_pos[mapping[clip.bones[c]]] - t_pelvis)
        else:
            offsets[c] = R.apply(A[b], t_pos[mapping[clip.bones[c]]] - t_pos[mapping[b]])
    pos, rot = clip.world()
    # The target's pelvis follows ours scaled by k (retarget); our Hips sits `drop` above it in the Hips frame.
    pelvis = t_pelvis + k * (pos[:, [clip.index(b) for b in legs]].mean(1) - s_rest[[clip.index(b) for b in
                                                                                        legs]].mean(0))
    hips = pelvis - R.apply(rot[:, 0], np.broadcast_to(drop, pelvis.shape))
    return replace(clip, rest_offsets=offsets, hips=hips)


MAX_ANKLE_SHARE = 0.25  # a rest ankle higher than this share of the leg over y = 0: the target does not stand there


def planted_on_target(clip: HumanoidClip, target: TargetSkeleton, overrides: Mapping[str, str] | None = None,
                      reach: float | None = None, loop: bool = False) -> HumanoidClip:
    """The clip with its planted feet (clip.contacts) locked where they land on the target, for `retarget`. The
    target's legs and feet are not ours scaled (thigh to shin, hip width, the ankle's height over the sole), so
    feet planted on our skeleton slid, sank and floated on a character (Xbot, a jumping jack: 33 / 40 mm of
    slide where ours had 6 / 12). Foot locking runs on the clip on the target's proportions
    (on_target_proportions, whose joints land on the target's), with the sole under the ankle by the target's own
    rest ankle height (its floor at y = 0, as characters are authored; a target whose rest ankles are not just
    above y = 0 is left as retarget alone plays it); the legs' rotations and the Hips' path it makes come back
    onto the clip, the path scaled by the ratio of leg lengths. reach: how far in front of the ankle the character's
    foot mesh reaches (foot_reach); on a target without toe bones the foot, rigid, rolls over that point rather
    than over our toes' joint, whose front the mesh sank 3-4 cm under the floor at toe-off. loop: the clip is a loop
    (edit.loop), locked round its seam as refine locks one (edit.three_cycles), so that its ends still meet."""
    from animgen_ml import footlock

    if clip.frame_count < 2 or not clip.contacts.any():
        return clip
    mapping = _mapping(clip, target, overrides)
    t_pos, _ = target.rest_world()
    leg = _leg_length(t_pos, mapping.__getitem__)
    ankles = [float(t_pos[mapping[f"{side}Foot"], 1]) for side in C.SIDES]
    if not all(0.0 < a < MAX_ANKLE_SHARE * leg for a in ankles):  # not standing on y = 0 (a pivot at the pelvis)
        return clip
    seen = on_target_proportions(clip, target, overrides)
    offsets = seen.rest_offsets.copy()
    # The toes' joint on the floor at rest: the sole model's heel height (contacts.sole_points) is the target's ankle's.
    toes = [seen.index(f"{side}Toes") for side in C.SIDES]
    offsets[toes, 1] = -float(np.mean(ankles))
    if reach is not None and not any(f"{side}Toes" in mapping for side in C.SIDES):
        offsets[toes, 2] = reach
    seen = replace(seen, rest_offsets=offsets)
    if loop:
        cycles = edit.three_cycles(seen)
        locked, _ = footlock.lock_feet(cycles, C.FootContacts(heel=cycles.contacts, toe=cycles.contacts))
        locked = edit.middle_cycle(locked, seen)
    else:
        locked, _ = footlock.lock_feet(seen, C.FootContacts(heel=clip.contacts, toe=clip.contacts))
    locked = footlock.level_toes(locked)  # a character's toes reach past its toe joint, which ours do not model
    k = _leg_ratio(clip, t_pos, mapping)
    return replace(clip, rotations=locked.rotations, hips=clip.hips + (locked.hips - seen.hips) / k)


def joint_and_below(target: TargetSkeleton, joint: int) -> set[int]:
    """A joint and every joint under it."""
    return {j for j in range(len(target.names)) if j == joint or _is_descendant(j, joint, target.parents)}


SOLE_BAND_M = 0.005  # a foot's vertices this close to its lowest make its sole


def foot_reach(clip: HumanoidClip, target: TargetSkeleton, g, joint_nodes: list[int],
               overrides: Mapping[str, str] | None = None) -> float | None:
    """How far (m) in front of its ankle the sole of the character's foot mesh reaches when it stands in our rest pose
    (feet flat, facing +Z): the front of its vertices within SOLE_BAND_M of its lowest, both feet's mean; None where
    skinning.part_mesh reads no mesh for a foot. g, joint_nodes: as load_glb_skeleton returns them. (The front of the
    whole foot is higher: a Quaternius shoe's toe cap, 21 cm out and 3.6 cm up, where its sole reaches 13 cm; taken
    for the point the foot rolls over, it held planted shoes 1.5-3 cm up.)"""
    mapping = _mapping(clip, target, overrides)
    rest = replace(clip, hips=clip.hips[:1], rotations=R.identity((1, len(clip.bones))), contacts=clip.contacts[:1],
                   confidence=clip.confidence[:1], root_motion=None)
    motion = retarget(rest, target, overrides)
    pos, rot = target.forward(motion.rotations, motion.translations)
    scale = target.world_scales()
    reach = []
    for side in C.SIDES:
        foot = mapping.get(f"{side}Foot")
        mesh = None if foot is None else skinning.part_mesh(g, joint_nodes, joint_and_below(target, foot))
        if mesh is None:
            return None
        v = skinning.posed(mesh, pos, rot, scale)[0]
        sole = v[:, 1] < v[:, 1].min() + SOLE_BAND_M
        reach.append(float((v[sole, 2] - pos[0, foot, 2]).max()))
    return float(np.mean(reach))


def leg_meshes(target: TargetSkeleton, g, joint_nodes: list[int], mapping: Mapping[str, int]
               ) -> tuple[dict[str, skinning.PartMesh], float]:
    """Per side ("Left", "Right") the character's mesh from the lower leg down (a leg's lowest point may be a
    trouser hem as well as a shoe), where it has one, and its floor: y = 0, or the lowest of those at rest where that
    is lower (a character authored a little into the floor stays as authored)."""
    parts = {side: skinning.part_mesh(g, joint_nodes, joint_and_below(target, mapping[f"{side}LowerLeg"]))
             for side in C.SIDES if f"{side}LowerLeg" in mapping}
    meshes = {side: m for side, m in parts.items() if m is not None}
    rest_pos, rest_rot = target.rest_world()
    scale = target.world_scales()
    rest_low = [float(skinning.lowest(m, rest_pos[None], rest_rot[None], scale)[0]) for m in meshes.values()]
    return meshes, min([0.0, *rest_low])


def on_target_above_floor(clip: HumanoidClip, target: TargetSkeleton, g, joint_nodes: list[int],
                          overrides: Mapping[str, str] | None = None, loop: bool = False) -> TargetMotion:
    """retarget, with the character's own lower legs and feet (its mesh: pygltflib document g; joint_nodes[j] is
    joint j's node) kept out of its floor: y = 0, or their lowest vertex at rest where that is lower (a character
    authored a little into the floor stays as authored). Our feet are a heel point and a toe joint, and a
    character's are larger: a swinging foot's toes, pointed down, went 3 cm into the floor. Where a leg's mesh would
    go under, that foot is raised (its ankle, by two-bone IK, the foot turned as it was), smoothly, so that the
    other foot stays where it stands (raising the Hips instead floated it). loop: the clip is a loop (edit.loop: its
    last frame is its first), and the lift runs round it, so that the seam stays closed. With no mesh that
    skinning.part_mesh reads, retarget alone."""
    from animgen_ml import footlock, ik

    mapping = _mapping(clip, target, overrides)
    meshes, floor = leg_meshes(target, g, joint_nodes, mapping)
    motion = retarget(clip, target, overrides)
    if not meshes:
        return motion
    scale = target.world_scales()
    rest_pos = target.rest_world()[0]
    blend = footlock.blend_frames(clip.fps)

    def depth(motion: TargetMotion, side: str) -> np.ndarray:
        """How far to raise the foot: its depth under the floor, over a smooth envelope, except where the foot is
        planted (clip.contacts), which comes up only as far as it is itself under: spread from a toe that dips as
        the foot leaves the floor, the envelope had floated the planted frames before it by 2 cm."""
        under = np.maximum(floor - skinning.lowest(meshes[side], *target.forward(motion.rotations,
                                                                                motion.translations), scale), 0.0)
        planted = clip.contacts[:, C.SIDES.index(side)].astype(bool)
        return np.where(planted, under, footlock.smooth_envelope(under, blend, loop))

    k = _leg_ratio(clip, rest_pos, mapping)  # a height on the character is ours times k
    for _ in range(2):  # the second pass takes up what the first left: the shin tilts as the foot comes up
        pos, rot = clip.world()
        rotations = clip.rotations.copy()
        for side in meshes:
            lift = depth(motion, side) / k
            if not lift.any():
                continue
            idx = [clip.index(f"{side}{b}") for b in ("UpperLeg", "LowerLeg", "Foot", "Toes")]
            ankle = pos[:, idx[2]] + lift[:, None] * np.array([0.0, 1.0, 0.0])
            sol = ik.solve_two_bone(pos[:, idx[0]], pos[:, idx[1]], pos[:, idx[2]], ankle,
                                    pole=pos[:, idx[3]] - pos[:, idx[2]], hinge=True, soft=footlock.SOFT_REACH)
            on = lift > 0
            for b, q in zip(idx[:3], ik.apply_to_clip_chain(rot[:, idx[:3]], rot[:, clip.index("Hips")], sol),
                            strict=True):
                rotations[on, b] = q[on]
        if np.array_equal(rotations, clip.rotations):
            break
        clip = replace(clip, rotations=rotations)
        motion = retarget(clip, target, overrides)
    return motion


# ---- .glb characters ------------------------------------------------------------------------------------

def _node_matrix(node) -> np.ndarray:
    if node.matrix is not None:
        return np.asarray(node.matrix, np.float64).reshape(4, 4).T  # glTF stores column-major
    m = np.eye(4)
    s = np.asarray(node.scale if node.scale is not None else [1, 1, 1], np.float64)
    q = np.asarray(node.rotation if node.rotation is not None else [0, 0, 0, 1], np.float64)
    m[:3, :3] = R.to_matrix(q) * s
    m[:3, 3] = node.translation if node.translation is not None else [0, 0, 0]
    return m


def _trs(node) -> tuple[np.ndarray, np.ndarray, float]:
    """Translation, rotation and (uniform) scale of a node."""
    m = _node_matrix(node)
    s = np.linalg.norm(m[:3, :3], axis=0)
    return m[:3, 3].copy(), R.from_matrix(m[:3, :3] / s), float(np.mean(s))


def _as_trs(node: dict) -> None:
    """Give a node (of a document as JSON) that holds a matrix (as Assimp-made files do) the same transform as
    translation, rotation and scale, so that it can be animated."""
    matrix = node.pop("matrix", None)
    if matrix is None:
        return
    m = np.asarray(matrix, np.float64).reshape(4, 4).T  # glTF stores column-major
    scale = np.linalg.norm(m[:3, :3], axis=0)
    node["translation"] = [float(v) for v in m[:3, 3]]
    node["rotation"] = [float(v) for v in R.from_matrix(m[:3, :3] / scale)]
    node["scale"] = [float(v) for v in scale]


def _save_glb(doc: dict, blob: bytes | bytearray, path: str | Path) -> None:
    """A binary glTF file of a document (as JSON) and its binary chunk: the JSON chunk padded with spaces and the
    binary one with zeros to 4 bytes, as the GLB container asks."""
    import struct

    text = json.dumps(doc, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    chunks = [struct.pack("<I4s", len(text), b"JSON"), text]
    if blob:
        data = bytes(blob) + b"\0" * (-len(blob) % 4)
        chunks += [struct.pack("<I4s", len(data), b"BIN\0"), data]
    body = b"".join(chunks)
    Path(path).write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)


def _check_structure(g, path: Path) -> None:
    """Raises InputError for a file whose parts do not hold together, which pygltflib reads without a word: data
    cut short (a half-copied file: the output failed validation), indices to nodes that are not there, a node
    tree that loops (the walk up from a joint never ended)."""
    blob = g.binary_blob()
    for i, b in enumerate(g.buffers):
        if b.uri is None and len(blob or b"") < (b.byteLength or 0):
            raise InputError(f"{path}: the file is cut short (buffer {i} holds {len(blob or b'')} of its "
                             f"{b.byteLength} bytes)")
    for i, v in enumerate(g.bufferViews):
        if not 0 <= (v.buffer or 0) < len(g.buffers) or \
                (v.byteOffset or 0) + (v.byteLength or 0) > (g.buffers[v.buffer or 0].byteLength or 0):
            raise InputError(f"{path}: bufferView {i} lies outside its buffer")
    n = len(g.nodes)
    parent: dict[int, int] = {}
    for i, node in enumerate(g.nodes):
        for c in node.children or []:
            if not 0 <= c < n or c in parent or c == i:
                raise InputError(f"{path}: node {i} names child {c}, which is not a node or has another parent")
            parent[c] = i
    for start in range(n):
        seen, k = {start}, start
        while k in parent:
            k = parent[k]
            if k in seen:
                raise InputError(f"{path}: its node tree loops (node {start} is its own ancestor)")
            seen.add(k)
    for s in g.skins:
        bad = [j for j in s.joints if not 0 <= j < n]
        if bad:
            raise InputError(f"{path}: skin {s.name or ''!r} names joint {bad[0]}, which is not a node")


TARGET_SUFFIXES = (".glb", ".vrm")  # a VRM avatar is a glb whose extension maps its humanoid bones (vrm.py)

# Characters parsed before, by path and content: pygltflib takes about a second to parse one with many accessors (the
# Xbot's morph targets: 1426), and a run reads its --target for the check before it and for each video's file; reading
# and hashing the file takes a few milliseconds and a copy of the parse a twentieth of it. By content, so a file
# replaced under the same name, size and time is read again. Only self-contained files (.glb, .vrm): a .gltf's buffers
# lie in other files.
_PARSED: dict[tuple[str, bytes], object] = {}
_PARSED_MOST = 4
_PARSED_LOCK = threading.Lock()  # `generate --server --jobs N` writes its videos' characters from N threads


def _read_gltf(path: Path):
    """The pygltflib document of a .glb, .vrm or .gltf file, the caller's own to change."""
    import copy
    import hashlib

    import pygltflib

    if path.suffix.lower() not in TARGET_SUFFIXES:
        return pygltflib.GLTF2().load(str(path))
    data = path.read_bytes()
    key = (str(path.resolve()), hashlib.blake2b(data, digest_size=16).digest())
    with _PARSED_LOCK:
        if key not in _PARSED:
            while len(_PARSED) >= _PARSED_MOST:
                del _PARSED[next(iter(_PARSED))]  # the oldest
            parsed = pygltflib.GLTF2.load_from_bytes(data)  # as a .glb: by name, pygltflib would read a .vrm as JSON
            parsed._path, parsed._name = path.parent, path.name  # where load_binary puts them: external images
            _PARSED[key] = parsed
        parsed = _PARSED[key]
    return copy.deepcopy(parsed)


def load_glb_skeleton(path: str | Path, overrides: Mapping[str, str] | None = None):
    """(TargetSkeleton, the pygltflib document, joint node indices) of the body's skin of a .glb or .vrm: the
    largest skin whose bones map onto the humanoid's with a VRM's humanoid and these overrides, which its bone_map
    then holds (a prop, a cape or hair may have a skin of their own, a larger one too), else the largest."""
    from animgen_ml.bonemap import BoneMapError, map_bones

    path = Path(path)
    try:
        g = _read_gltf(path)
    except Exception as e:  # pygltflib raises assorted errors for a broken file
        raise InputError(f"{path}: cannot read the glTF file ({e})") from e
    _check_structure(g, path)
    if not g.skins:
        raise InputError(f"{path}: the glTF file has no skin (no skeleton to retarget onto)")
    # A VRM character names its humanoid bones' nodes (those of a skin's joints and of the nodes between them count
    # for that skin); a service client's bone map (TargetSkeleton.bone_map) travels in the scene's extras
    # (server/convert.py); the overrides come last.
    vrm_bones = {b: _node_name(g, n) for b, n in vrm.human_bones(g.extensions).items() if n < len(g.nodes)}
    scene = g.scenes[g.scene or 0] if g.scenes else None
    given = dict((scene.extras or {}).get("animgen_bone_map", {})) if scene is not None else {}
    given |= dict(overrides or {})

    def skin_map(joints: list[int]) -> dict[str, str]:
        names = {_node_name(g, j) for j in joints}
        return {b: n for b, n in vrm_bones.items() if n in names} | given

    parent_node = {c: i for i, n in enumerate(g.nodes) for c in (n.children or [])}
    skins = sorted(g.skins, key=lambda sk: -len(sk.joints))
    with np.errstate(divide="ignore", invalid="ignore"):  # a joint scaled to nothing: refused below if it counts
        for skin in skins:
            joints = _with_nodes_between(list(skin.joints), parent_node)
            bone_map = skin_map(joints)
            sk, order = _skin_skeleton(g, joints, parent_node, path.name, bone_map)
            try:
                mapped = [order[sk.names.index(n)] for n in map_bones(sk.names, sk.parents, bone_map, fingers=False,
                                                                      rest=sk.rest_positions).values()]
                break
            except BoneMapError:
                continue
        else:  # none maps: the largest, which check_target refuses naming what is missing
            joints = _with_nodes_between(list(skins[0].joints), parent_node)
            sk, order = _skin_skeleton(g, joints, parent_node, path.name, skin_map(joints))
            mapped = []
    placing = set(mapped)  # the mapped joints and every node above them place the humanoid's bones (a hidden eye
    for j in mapped:       # or prop scaled to nothing places none)
        while j in parent_node:
            j = parent_node[j]
            placing.add(j)
    for j in sorted(placing):
        m = _node_matrix(g.nodes[j])
        if not np.isfinite(m).all() or np.linalg.norm(m[:3, :3], axis=0).min() <= 1e-9:
            raise InputError(f"{path}: node {g.nodes[j].name or j!r} has a transform that is not finite or is "
                             "scaled to nothing (scale 0): the skeleton cannot be posed")
    return sk, g, order


def _node_name(g, n: int) -> str:
    return g.nodes[n].name or f"joint{n}"


def _with_nodes_between(joints: list[int], parent_node: dict[int, int]) -> list[int]:
    """A skin's joints and the nodes that are not joints but lie between two of them (an exporter may leave a bone
    without weights out of the skin; a VRM may name it a humanoid bone): they move the joints below them, so the
    skeleton holds them too, at rest unless mapped."""
    joint_set, between = set(joints), []
    for n in joints:
        path, p = [], parent_node.get(n)
        while p is not None and p not in joint_set:
            path.append(p)
            p = parent_node.get(p)
        if p is not None:  # a joint above: the path is inside the skeleton (else it is above its root)
            between += [q for q in path if q not in between]
    return joints + between


def _skin_skeleton(g, joints: list[int], parent_node: dict[int, int], name: str,
                   bone_map: dict[str, str]) -> tuple[TargetSkeleton, list[int]]:
    """The TargetSkeleton of a skin's joints, and their node indices in its (parent-first) order."""
    jset = set(joints)

    def depth(n: int) -> int:
        d = 0
        while n in parent_node:
            n, d = parent_node[n], d + 1
        return d

    order = sorted(joints, key=lambda n: (depth(n), joints.index(n)))  # a skin's joint list need not be sorted
    index = {n: i for i, n in enumerate(order)}
    parents, trans, rots, scales = [], [], [], []
    for n in order:
        p = parent_node.get(n)
        while p is not None and p not in jset:  # above the root joint (_with_nodes_between holds those between)
            p = parent_node.get(p)
        parents.append(index[p] if p is not None else -1)
        t, q, s = _trs(g.nodes[n])
        trans.append(t)
        rots.append(q)
        scales.append(s)
    # World transform above the root joint: the product of its non-joint ancestors.
    base = np.eye(4)
    p = parent_node.get(order[0])
    while p is not None:
        base = _node_matrix(g.nodes[p]) @ base
        p = parent_node.get(p)
    bs = float(np.mean(np.linalg.norm(base[:3, :3], axis=0)))
    bt, bq = base[:3, 3].copy(), R.from_matrix(base[:3, :3] / bs)
    names = [_node_name(g, n) for n in order]
    sk = TargetSkeleton(names=names, parents=np.array(parents), rest_translation=np.array(trans),
                        rest_rotation=np.array(rots), rest_scale=np.array(scales), base_rotation=bq,
                        base_translation=bt, base_scale=bs, name=name, bone_map=bone_map)
    return sk, order


NAME_THEM = ("name them as a Mixamo, Unity or Unreal rig does, give the rig a standing rest pose facing +Z, or map "
             "them in --bone-map")


def check_target(path: str | Path, overrides: Mapping[str, str] | None = None) -> None:
    """Refuses, before any work is done, a character whose skeleton cannot be mapped onto the humanoid's bones with
    these overrides (HumanBodyBone -> bone name; else a folder of videos would each run to the end and fail there)."""
    from animgen_ml.bonemap import BoneMapError, map_bones

    sk = load_glb_skeleton(path, overrides)[0]
    try:
        map_bones(sk.names, sk.parents, sk.bone_map, fingers=False, rest=sk.rest_positions)
    except BoneMapError as e:
        why = str(e).replace("bone map override:", "--bone-map:")
        if why.endswith("; pass overrides for them"):  # bones not found (not a bad bone map): say how to fix it
            why = why.removesuffix("; pass overrides for them") + "; " + NAME_THEM
        raise InputError(f"{path}: {why}") from None


def load_bvh_skeleton(path: str | Path) -> TargetSkeleton:
    """A .bvh's joints as a target: rest rotations identity, its up axis turned to +Y."""
    from animgen_ml.bvh import read_bvh

    b = read_bvh(path)
    up = skeleton_up(b.names, b.parents, b.offsets)
    k = int(np.argmax(np.abs(up)))
    axis = np.zeros(3)
    axis[k] = np.sign(up[k])
    return TargetSkeleton(names=list(b.names), parents=np.asarray(b.parents), rest_translation=b.offsets,
                          rest_rotation=R.identity((len(b.names),)),
                          base_rotation=R.between(axis, np.array([0.0, 1.0, 0.0])), name=Path(path).name)


def skeleton_up(names: list[str], parents: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Rough up direction of a rest skeleton: from the root to the joint farthest from it along the spine."""
    pos = np.zeros((len(names), 3))
    for j, p in enumerate(parents):
        pos[j] = offsets[j] + (pos[p] if p >= 0 else 0.0)
    head = next((i for i, n in enumerate(names) if "head" in n.lower()), int(np.argmax(pos[:, 1])))
    return pos[head] - pos[0]


def load_target(path: str | Path) -> TargetSkeleton:
    path = Path(path)
    if path.suffix.lower() in (*TARGET_SUFFIXES, ".gltf"):
        return load_glb_skeleton(path)[0]
    if path.suffix.lower() == ".bvh":
        return load_bvh_skeleton(path)
    raise InputError(f"{path}: a target skeleton must be a .glb, .vrm or .bvh file")


def motion_on_target(clip: HumanoidClip, sk: TargetSkeleton, g, nodes: list[int],
                     overrides: Mapping[str, str] | None = None, plant_feet: bool = False, loop: bool = False,
                     above_floor: bool = True) -> TargetMotion:
    """The clip on a target that load_glb_skeleton loaded (sk, its document g, its joints' nodes), as
    write_target_glb writes it. plant_feet: lock the clip's planted feet on the character's own legs
    (planted_on_target; loop: the clip is a loop, whose seam is then closed again by edit.loop). above_floor: where
    the character's lower legs and feet would go under its floor, the foot comes up (on_target_above_floor, round
    the loop). Without it the character plays the clip as retarget maps it (the rendered takes, whose truth is
    that)."""
    planted = clip
    if plant_feet:
        planted = planted_on_target(clip, sk, overrides, reach=foot_reach(clip, sk, g, nodes, overrides), loop=loop)
    locked = planted is not clip  # not on a target that does not stand on its floor (planted_on_target)
    if locked and loop:  # what locking left between the ends (little: it locked the loop round its seam) is closed
        planted = edit.loop(planted, keep_path=True)
    if above_floor:
        motion = on_target_above_floor(planted, sk, g, nodes, overrides, loop)
    else:
        motion = retarget(planted, sk, overrides)
    return replace(motion, feet_locked=locked)


def target_keys(motion: TargetMotion, planted: np.ndarray, meshes: Mapping[str, skinning.PartMesh], floor: float,
                tolerance: tuple[float, float]) -> dict[str, np.ndarray]:
    """Kept frames per channel ("<joint>.t": the Hips' translation, "<joint>.r": each animated joint's rotation) of
    a character's motion reduced within tolerance (degrees, mm), its feet held as keyframes.reduce_keys holds ours
    where planted (T, 2): its Foot and Toes joints, and each leg's lowest point (of meshes, its leg_meshes; else of
    those joints) against its floor."""
    sk, h = motion.skeleton, motion.hips_joint
    q = R.make_continuous(R.normalize(motion.rotations))
    # The Hips' translation is in its parent's units, which simplify takes for metres: the tolerance is scaled.
    channels: dict[str, keyframes.Channel] = {
        f"{h}.t": (motion.translations[:, h], tolerance[1] / sk.world_scale(int(sk.parents[h])), False)}
    channels.update({f"{j}.r": (q[:, j], tolerance[0], True) for j in motion.animated})
    joint = {b: sk.names.index(n) for b, n in motion.mapping.items()}
    if not all(f"{side}Foot" in joint for side in C.SIDES):
        return {ch: keyframes.simplify(v, max(tol, 1e-6), r) for ch, (v, tol, r) in channels.items()}
    ends = [[joint[f"{side}Foot"], joint.get(f"{side}Toes", joint[f"{side}Foot"])] for side in C.SIDES]
    scale = sk.world_scales()
    # Only the vertices near each leg's lowest in the full motion can be its lowest in one within a few degrees of
    # it (a foot 30 cm long, off by the tolerance at four joints, shifts their heights by at most this much): the
    # rounds then pose a few hundred vertices, not thousands.
    full = sk.forward(q, motion.translations)
    margin = 0.02 + 0.3 * 4 * np.radians(tolerance[0])
    meshes = {side: skinning.near_lowest(m, *full, scale, margin) for side, m in meshes.items()}

    def feet(kept: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """Foot and toes joints (T, side, 2, 3) and each leg's lowest height, played back from kept keys."""
        rot, trans = q, motion.translations
        if kept is not None:
            rot, trans = q.copy(), motion.translations.copy()
            trans[:, h] = keyframes.play(trans[:, h], kept[f"{h}.t"], False)
            for j in motion.animated:
                rot[:, j] = keyframes.play(q[:, j], kept[f"{j}.r"], True)
        pos, world = sk.forward(rot, trans)
        points = np.stack([pos[:, e] for e in ends], axis=1)
        low = [skinning.lowest(meshes[side], pos, world, scale) if side in meshes else points[:, s, :, 1].min(axis=1)
               for s, side in enumerate(C.SIDES)]
        return points, np.stack(low, axis=1)

    def moves(j: int) -> list[str]:
        """The channels that move joint j: the Hips' and the animated ones from j up to the Hips."""
        chain = [f"{h}.t"]
        while j >= 0:
            if j in motion.animated:
                chain.append(f"{j}.r")
            j = -1 if j == h else int(sk.parents[j])
        return chain

    return keyframes.hold_feet(channels, feet, planted, floor, [moves(e[1]) for e in ends],
                               max(tolerance[1], 1e-6) / 1000.0)


def write_target_glb(clip: HumanoidClip, target_path: str | Path, out_path: str | Path,
                     overrides: Mapping[str, str] | None = None,
                     tolerance: tuple[float, float] = (0.0, 0.0), plant_feet: bool = False, loop: bool = False,
                     above_floor: bool = True) -> TargetMotion:
    """Write the target character (mesh and all) with the clip as its only animation (motion_on_target, whose
    options these are). tolerance: the keyframe reduction's (degrees, millimetres), as for the clip's own GLB
    (keyframes.py); (0, 0) keys every frame."""
    target_path = Path(target_path)
    if target_path.suffix.lower() not in TARGET_SUFFIXES:
        raise InputError(f"{target_path}: --target must be a .glb or .vrm character to write a character .glb")
    sk, g, nodes = load_glb_skeleton(target_path, overrides)
    motion = motion_on_target(clip, sk, g, nodes, overrides, plant_feet, loop, above_floor)
    keys = None  # every frame
    if tolerance[0] > 0 or tolerance[1] > 0:
        meshes, floor = leg_meshes(sk, g, nodes, {b: sk.names.index(n) for b, n in motion.mapping.items()})
        keys = target_keys(motion, clip.contacts, meshes, floor, tolerance)
    # Written as JSON: parsing the document back into pygltflib took as long as reading the file.
    doc = json.loads(g.to_json())
    doc.pop("animations", None)  # the character's own clips would fight ours in a viewer; their keys leave the file too
    doc, kept = gltf_unused.drop_unused(doc, g.binary_blob() or b"")
    blob = bytearray(kept)
    accessors, views = doc.setdefault("accessors", []), doc.setdefault("bufferViews", [])

    def add(arr: np.ndarray, type_: str, min_max: bool = False) -> int:
        while len(blob) % 4:
            blob.append(0)
        data = np.ascontiguousarray(arr, dtype=np.float32)
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": data.nbytes})
        blob.extend(data.tobytes())
        acc = {"bufferView": len(views) - 1, "componentType": 5126, "count": len(data), "type": type_}  # FLOAT
        if min_max:
            acc["min"] = [float(v) for v in np.atleast_1d(data.min(axis=0))]
            acc["max"] = [float(v) for v in np.atleast_1d(data.max(axis=0))]
        accessors.append(acc)
        return len(accessors) - 1

    seconds = np.arange(clip.frame_count) / clip.fps
    # Every frame: one time line shared by all channels.
    every_frame = None if keys is not None else add(seconds, "SCALAR", min_max=True)
    samplers: list[dict] = []
    channels: list[dict] = []

    def channel(joint: int, prop: str, values: np.ndarray, type_: str) -> None:
        node = nodes[joint]
        _as_trs(doc["nodes"][node])  # glTF animates translation/rotation/scale, never a node's matrix
        times = every_frame
        if keys is not None:
            keep = keys[f"{joint}.{prop[0]}"]
            values, times = values[keep], add(seconds[keep], "SCALAR", min_max=True)
        samplers.append({"input": times, "output": add(values, type_), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": node, "path": prop}})

    channel(motion.hips_joint, "translation", motion.translations[:, motion.hips_joint], "VEC3")
    q = R.make_continuous(R.normalize(motion.rotations))  # continuous: interpolation takes the short way
    for j in motion.animated:
        channel(j, "rotation", q[:, j], "VEC4")
    doc["animations"] = [{"name": clip.name, "samplers": samplers, "channels": channels}]
    buffers = doc.setdefault("buffers", [])
    if not buffers:
        buffers.append({})
    buffers[0]["byteLength"] = len(blob)
    _save_glb(doc, blob, out_path)
    return motion

