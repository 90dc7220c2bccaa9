"""Retargeting: onto our own skeleton (no change), onto a renamed A-posed skeleton with arbitrary bone axes
(world bone directions kept), and onto real characters (glTF validator, Blender with the mesh animated)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace

import numpy as np
import pytest
from conftest import REPO, require_tool
from export_helpers import anonymous_xbot, make_clip

from animgen_ml import mocap, retarget, skeleton, skinning
from animgen_ml import rotations as R
from animgen_ml.errors import InputError

WALK = "mocap/accad_female1/Female1_B03_Walk1.bvh"
DIRECTION_BOUND_DEG = 0.01  # stated bound for the A-pose test (exact up to float rounding)


@pytest.fixture(scope="module")
def walk(shared_data):
    return mocap.load_clip(shared_data / WALK)


def test_own_skeleton_changes_nothing(walk):
    m = retarget.retarget(walk, retarget.from_clip_skeleton(walk))
    assert np.degrees(R.angle_between(m.rotations, walk.rotations)).max() < 1e-9
    assert np.abs(m.translations[:, 0] - walk.hips).max() < 1e-12
    assert m.animated == list(range(len(walk.bones)))


MIXAMO = {
    "Hips": "mixamorig:Hips", "Spine": "mixamorig:Spine", "Chest": "mixamorig:Spine1",
    "UpperChest": "mixamorig:Spine2", "Neck": "mixamorig:Neck", "Head": "mixamorig:Head",
}
for _s in ("Left", "Right"):
    MIXAMO.update({f"{_s}Shoulder": f"mixamorig:{_s}Shoulder", f"{_s}UpperArm": f"mixamorig:{_s}Arm",
                   f"{_s}LowerArm": f"mixamorig:{_s}ForeArm", f"{_s}Hand": f"mixamorig:{_s}Hand",
                   f"{_s}UpperLeg": f"mixamorig:{_s}UpLeg", f"{_s}LowerLeg": f"mixamorig:{_s}Leg",
                   f"{_s}Foot": f"mixamorig:{_s}Foot", f"{_s}Toes": f"mixamorig:{_s}ToeBase"})


def _a_posed_target(clip, scale: float = 1.3, seed: int = 0) -> retarget.TargetSkeleton:
    """Our bones renamed to Mixamo's, 1.3x bigger, arms 45 degrees down (A-pose), legs 5 degrees apart, and
    every bone given a random rest orientation (arbitrary bone axes)."""
    rng = np.random.default_rng(seed)
    B = len(clip.bones)
    local = R.identity((B,))
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        local[clip.index(f"{side}UpperArm")] = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), -sign * np.pi / 4)
        local[clip.index(f"{side}UpperLeg")] = R.from_axis_angle(np.array([0.0, 0.0, 1.0]), sign * np.radians(5))
    offsets = clip.rest_offsets * scale
    pos, _ = skeleton.forward_kinematics(clip.parents, offsets, offsets[None, 0], local[None])
    pos = pos[0]
    world = R.normalize(rng.normal(size=(B, 4)))  # arbitrary bone axes
    trans = np.zeros((B, 3))
    rot = np.zeros((B, 4))
    for b in range(B):
        p = clip.parents[b]
        if p < 0:
            trans[b], rot[b] = pos[b], world[b]
        else:
            trans[b] = R.apply(R.conjugate(world[p]), pos[b] - pos[p])
            rot[b] = R.multiply(R.conjugate(world[p]), world[b])
    return retarget.TargetSkeleton(names=[MIXAMO[b] for b in clip.bones], parents=clip.parents.copy(),
                                   rest_translation=trans, rest_rotation=rot, name="a-posed mixamo")


def test_a_posed_renamed_skeleton_keeps_world_bone_directions(walk):
    target = _a_posed_target(walk)
    m = retarget.retarget(walk, target)
    assert m.mapping == {b: MIXAMO[b] for b in walk.bones}
    t_pos, _ = target.forward(m.rotations, m.translations)
    s_pos, _ = walk.world()
    worst, feet = 0.0, []
    for b, child in retarget.DIRECTION_CHILD.items():
        if child is None or b not in walk.bones or child not in walk.bones:
            continue
        ours = s_pos[:, walk.index(child)] - s_pos[:, walk.index(b)]
        theirs = t_pos[:, walk.index(child)] - t_pos[:, walk.index(b)]
        cos = np.sum(ours * theirs, -1) / np.linalg.norm(ours, axis=-1) / np.linalg.norm(theirs, axis=-1)
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        if b in retarget.FLAT_BONES:  # the target's rest foot (rolled with its spread leg) turns as ours turns
            feet.append(float(np.ptp(angle)))
        else:
            worst = max(worst, float(angle.max()))
    assert worst < DIRECTION_BOUND_DEG and len(feet) == 2 and max(feet) < DIRECTION_BOUND_DEG
    # the Hips move by our displacement, scaled by the leg-length ratio (1.3)
    rest = skeleton.rest_positions(walk.parents, walk.rest_offsets)[0]
    assert np.allclose(t_pos[:, 0], target.rest_world()[0][0] + 1.3 * (walk.hips - rest), atol=1e-9)


def test_feet_stand_as_the_characters_own_feet_do(walk, shared_data):
    """Our T-pose on Xbot: its feet stand as in its own rest pose. Turned onto our ankle-to-toe direction (Xbot's toe
    joint sits 39 degrees below its ankle, ours 25) they were pitched toes-up 14 degrees in every frame."""
    target = retarget.load_glb_skeleton(shared_data / "characters" / "Xbot_threejs.glb")[0]
    still = replace(walk, hips=walk.hips[:1], rotations=R.identity((1, len(walk.bones))),
                    contacts=walk.contacts[:1], confidence=walk.confidence[:1])
    m = retarget.retarget(still, target)
    _, t_rot = target.forward(m.rotations, m.translations)
    _, rest = target.rest_world()
    for side in ("Left", "Right"):
        j = target.names.index(m.mapping[f"{side}Foot"])
        assert np.degrees(R.angle_between(t_rot[0, j], rest[j])) < 0.5


@pytest.mark.parametrize("character", ["Xbot_threejs", "quaternius_female_casual"])
def test_planted_feet_stay_put_on_the_characters_floor(walk, shared_data, character):
    """Locked on the character's own legs, the walk's planted ankles slide less and stand at the character's rest
    ankle height. Retargeted alone, a thigh-to-shin ratio, hip width and ankle height unlike ours left them sliding
    and floating (Xbot's 15-20 mm over its rest height, the Quaternius one's 15-22)."""
    target = retarget.load_glb_skeleton(shared_data / "characters" / f"{character}.glb")[0]
    rest_ankle = target.rest_world()[0][target.names.index(retarget.retarget(walk, target).mapping["LeftFoot"]), 1]
    slide, height = {}, {}
    for plant in (False, True):
        m = retarget.retarget(retarget.planted_on_target(walk, target) if plant else walk, target)
        pos, _ = target.forward(m.rotations, m.translations)
        for f, side in enumerate(("Left", "Right")):
            ankle = pos[:, target.names.index(m.mapping[f"{side}Foot"])]
            both = walk.contacts[1:, f] & walk.contacts[:-1, f]
            slide[plant, f] = np.linalg.norm(np.diff(ankle[:, [0, 2]], axis=0), axis=-1)[both].mean()
            height[plant, f] = np.median(ankle[1:][both][:, 1])
    for f in range(2):
        assert slide[True, f] < 0.8 * slide[False, f], slide
        assert abs(height[True, f] - rest_ankle) < 0.005 < abs(height[False, f] - rest_ankle), (height, rest_ankle)


@pytest.mark.parametrize("character", ["Xbot_threejs", "quaternius_female_casual"])
def test_the_characters_own_feet_stay_out_of_its_floor(walk, shared_data, tmp_path, character):
    """The walk written onto a character with its feet planted: no vertex of the character's lower legs and feet
    goes under their rest pose's lowest (its floor as authored). Our feet are a heel point and a toe joint: retargeted
    alone, the toe-less Quaternius foot pitched rigidly about our toe joint at toe-off, and Xbot's toes dipped, both
    more than a centimetre under. A toe-less foot rolls over its own tip instead; a foot still under is raised by IK,
    the other left standing."""
    path = shared_data / "characters" / f"{character}.glb"
    sk, doc, nodes = retarget.load_glb_skeleton(path)
    feet = {side: skinning.part_mesh(doc, nodes, retarget.joint_and_below(sk, sk.names.index(
        retarget.retarget(walk, sk).mapping[f"{side}LowerLeg"]))) for side in ("Left", "Right")}
    scale = sk.world_scales()
    rest_pos, rest_rot = sk.rest_world()
    floor = min(0.0, min(skinning.lowest(f, rest_pos[None], rest_rot[None], scale)[0] for f in feet.values()))

    def lowest(m: retarget.TargetMotion) -> np.ndarray:
        pos, rot = sk.forward(m.rotations, m.translations)
        return np.min([skinning.lowest(f, pos, rot, scale) for f in feet.values()], axis=0)

    alone = lowest(retarget.retarget(retarget.planted_on_target(walk, sk), sk))
    written = retarget.write_target_glb(walk, path, tmp_path / "walk.glb", plant_feet=True)
    kept = lowest(written)
    assert alone.min() < floor - 0.01
    assert kept.min() > floor - 0.002, (kept.min(), floor)
    # The planted feet still stand: a planted foot whose own mesh is on or above the floor is not raised, however
    # far a swinging frame next to it dips (against the same feet locked with the toe-less foot's own reach).
    plain = retarget.retarget(retarget.planted_on_target(walk, sk, reach=retarget.foot_reach(walk, sk, doc, nodes)), sk)
    pos, rot = sk.forward(written.rotations, written.translations)
    before, before_rot = sk.forward(plain.rotations, plain.translations)
    for f, side in enumerate(("Left", "Right")):
        j = sk.names.index(written.mapping[f"{side}Foot"])
        standing = walk.contacts[:, f] & (skinning.lowest(feet[side], before, before_rot, scale) >= floor)
        assert standing.sum() > 10
        assert np.abs(pos[standing, j] - before[standing, j]).max() < 1e-4
    # The foot of a toe-less character rolls over the front of its sole, not of its toe cap (which held it 1.5-3 cm
    # up): its reach is a shoe's sole, in front of the ankle and short of the whole mesh's front.
    reach = retarget.foot_reach(walk, sk, doc, nodes)
    assert 0.05 < reach < 0.25


@pytest.mark.parametrize("character", ["Xbot_threejs", "quaternius_female_casual"])
def test_a_looped_clip_s_character_stays_looped_out_of_the_floor(walk, shared_data, tmp_path, character):
    """--loop's character file: its last pose is its first (the lift out of the floor runs round the loop; at its
    ends it had opened Xbot's seam by 2.3 degrees at a knee)."""
    from animgen_ml import edit

    looped = edit.loop(walk)
    m = retarget.write_target_glb(looped, shared_data / "characters" / f"{character}.glb", tmp_path / "loop.glb",
                                  loop=True)
    assert np.degrees(R.angle_between(m.rotations[-1], m.rotations[0])).max() < 1e-6
    pos, _ = m.skeleton.forward(m.rotations, m.translations)
    assert abs(pos[-1, m.hips_joint, 1] - pos[0, m.hips_joint, 1]) < 1e-9  # at one height (it travels across)


@pytest.mark.parametrize("character", ["Xbot_threejs", "quaternius_female_casual"])
def test_a_looped_clip_s_character_plants_its_feet_and_stays_looped(shared_data, tmp_path, character):
    """--loop with --target: the feet are locked on the character's legs, round the seam, and the seam closed again.
    (Looped clips had been written without locking: the walk's planted ankles slid 6-9 mm a frame, now 3-6; then
    locked with each end on its own, they slid 15-16 mm a frame within 0.5 s of the seam on this CMU walk, now 2-3.)"""
    from animgen_ml import edit

    looped = edit.loop(mocap.load_clip(shared_data / "mocap/cmu_iclone_ccrig/002/002_01.bvh"))
    path = shared_data / "characters" / f"{character}.glb"
    slide = {}
    for plant in (False, True):
        m = retarget.write_target_glb(looped, path, tmp_path / f"{plant}.glb", plant_feet=plant, loop=True)
        assert np.degrees(R.angle_between(m.rotations[-1], m.rotations[0])).max() < 1e-6
        pos, _ = m.skeleton.forward(m.rotations, m.translations)
        ankles = np.stack([pos[:, m.skeleton.names.index(m.mapping[f"{side}Foot"])] for side in ("Left", "Right")], 1)
        step = np.linalg.norm(np.diff(ankles[..., [0, 2]], axis=0), axis=-1)
        both = looped.contacts[1:] & looped.contacts[:-1]
        for f in range(2):
            slide[plant, f] = step[both[:, f], f].mean()
        t = np.arange(len(step))[:, None]
        seam = both & ((t < 15) | (t >= len(step) - 15))
        slide[plant, "seam"], slide[plant, "elsewhere"] = step[seam].mean(), step[both & ~seam].mean()
    for f in range(2):
        assert slide[True, f] < 0.8 * slide[False, f], slide
    assert slide[True, "seam"] < 0.8 * slide[True, "elsewhere"], slide


def test_feet_are_not_planted_on_a_target_that_does_not_stand_on_the_floor(walk, shared_data):
    """An engine's skeleton whose origin is at the pelvis, not the floor: its rest ankles are not just above y = 0,
    so the sole model would be metres off (the character lifted 0.9 m, or sliding 20 mm a frame): left as
    retarget alone plays it."""
    target = retarget.load_glb_skeleton(shared_data / "characters" / "Xbot_threejs.glb")[0]
    for lift in (-1.0, 0.5):
        moved = replace(target, base_translation=target.base_translation + [0.0, lift, 0.0])
        assert retarget.planted_on_target(walk, moved) is walk
    assert retarget.planted_on_target(walk, target) is not walk


def test_a_toe_under_the_ankle_does_not_turn_the_foot(walk):
    """A rig whose toe joint hangs (nearly) straight under its ankle gives the foot no heading: the foot takes the
    shin's correction. Turned about the vertical onto ours, it spun 90 degrees in every frame."""
    target = retarget.from_clip_skeleton(walk)
    trans = target.rest_translation.copy()
    for side in ("Left", "Right"):
        trans[walk.index(f"{side}Toes")] = [0.001, -0.06, 0.0]
    target = replace(target, rest_translation=trans)
    still = replace(walk, hips=walk.hips[:1], rotations=R.identity((1, len(walk.bones))),
                    contacts=walk.contacts[:1], confidence=walk.confidence[:1])
    m = retarget.retarget(still, target)
    _, t_rot = target.forward(m.rotations, m.translations)
    _, rest = target.rest_world()
    feet = [walk.index(f"{s}Foot") for s in ("Left", "Right")]
    assert np.degrees(R.angle_between(t_rot[0, feet], rest[feet])).max() < 1.0


def test_a_rig_named_by_no_convention_is_mapped_by_its_shape(walk, shared_data, tmp_path):
    """CesiumMan's bones (torso_joint_1, leg_joint_L_1, Skeleton_arm_joint_L__4_, ...) follow no convention: its
    standing rest pose maps them. On the Xbot and the Quaternius rigs with every bone renamed bone_0, bone_1, ... the
    shape finds what their names do, fingers included (the female rigs hang their legs from a root on the floor,
    beside their Hips), so the renamed Xbot plays a clip exactly as the Xbot does."""
    from animgen_ml.bonemap import map_bones

    sk = retarget.load_glb_skeleton(shared_data / "characters" / "CesiumMan.glb")[0]
    m = map_bones(sk.names, sk.parents, fingers=False, rest=sk.rest_positions)
    assert {b: m[b] for b in ("Hips", "Head", "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes", "RightHand",
                              "RightLowerArm", "LeftUpperArm")} == {
        "Hips": "Skeleton_torso_joint_1", "Head": "Skeleton_neck_joint_2", "LeftUpperLeg": "leg_joint_L_1",
        "LeftLowerLeg": "leg_joint_L_2", "LeftFoot": "leg_joint_L_3", "LeftToes": "leg_joint_L_5",
        "RightHand": "Skeleton_arm_joint_R__3_", "RightLowerArm": "Skeleton_arm_joint_R__2_",
        "LeftUpperArm": "Skeleton_arm_joint_L__4_"}
    for character in ("Xbot_threejs.glb", "quaternius_male_casual.glb", "quaternius_female_casual.glb"):
        sk = retarget.load_glb_skeleton(shared_data / "characters" / character)[0]
        anonymous = [f"bone_{k}" for k in range(len(sk.names))]
        by_shape = map_bones(anonymous, sk.parents, rest=sk.rest_positions)
        assert {b: sk.names[int(n[5:])] for b, n in by_shape.items()} == map_bones(sk.names, sk.parents), character
        assert len(by_shape) >= 48, character
    named = retarget.write_target_glb(walk, shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "named.glb")
    renamed = anonymous_xbot(shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "renamed.glb")
    theirs = retarget.write_target_glb(walk, renamed, tmp_path / "played.glb")
    np.testing.assert_allclose(theirs.rotations, named.rotations, atol=1e-9)
    np.testing.assert_allclose(theirs.translations, named.translations, atol=1e-9)
    # A clip with fingers (--hands) moves the renamed Xbot's fingers as it moves the named one's.
    hands = make_clip(fingers=True)
    named = retarget.write_target_glb(hands, shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "n.glb")
    theirs = retarget.write_target_glb(hands, renamed, tmp_path / "r.glb")
    assert len(theirs.animated) == len(named.animated) == 52
    np.testing.assert_allclose(theirs.rotations, named.rotations, atol=1e-9)


def test_fingers_are_found_from_the_hand_whatever_their_numbering(shared_data):
    """A finger's phalanges are its first three joints from the hand: Quaternius's male rigs number them 2, 3, 4
    from the knuckle (2 had been taken for the Intermediate), and a rig with metacarpals, as Epic's have, keeps them
    out of the fingers when mapped by its shape."""
    from animgen_ml.bonemap import map_bones, map_by_shape

    sk = retarget.load_glb_skeleton(shared_data / "characters" / "quaternius_male_casual.glb")[0]
    m = map_bones(sk.names, sk.parents)
    assert [m[f"LeftIndex{p}"] for p in ("Proximal", "Intermediate", "Distal")] == ["Index2.L", "Index3.L", "Index4.L"]
    assert [m.get(f"RightThumb{p}") for p in ("Proximal", "Intermediate", "Distal")] == ["Thumb2.R", "Thumb3.R", None]

    # The Xbot with a metacarpal put between each hand and its four fingers, a fifth of the way to the knuckle.
    xbot = retarget.load_glb_skeleton(shared_data / "characters" / "Xbot_threejs.glb")[0]
    pos, names = xbot.rest_positions(), list(xbot.names)
    new_pos, new_parents, new_index = [], [], {}
    for j, name in enumerate(names):
        parent = new_index.get(int(xbot.parents[j]), -1)
        if any(name.endswith(f"Hand{f}1") for f in ("Index", "Middle", "Ring", "Pinky")):
            new_pos.append(pos[xbot.parents[j]] + 0.2 * (pos[j] - pos[xbot.parents[j]]))
            new_parents.append(parent)
            parent = len(new_pos) - 1
        new_index[j] = len(new_pos)
        new_pos.append(pos[j])
        new_parents.append(parent)
    shape = map_by_shape(new_parents, np.array(new_pos))
    by_name = map_bones(names, xbot.parents)
    assert {b: new_index[names.index(n)] for b, n in by_name.items() if "Spine" not in n} == {
        b: j for b, j in shape.items() if b not in ("Spine", "Chest", "UpperChest")}
    assert len([b for b in shape if b.endswith("Proximal")]) == 10


_FINGER_WORDS = {"Thumb": "thumb", "Index": "index", "Middle": "middle", "Ring": "ring", "Little": "pinky"}


def _parts(bone: str) -> tuple[str, str, str, int]:
    """(side: Left, Right or "", the rest, its finger or "", its phalanx 1..3 or 0) of a HumanBodyBones name."""
    side = next((s for s in ("Left", "Right") if bone.startswith(s)), "")
    part = bone.removeprefix(side)
    finger = next((f for f in _FINGER_WORDS if part.startswith(f)), "")
    k = ("Proximal", "Intermediate", "Distal").index(part[len(finger):]) + 1 if finger else 0
    return side, part, finger, k


def _vroid(bone: str) -> str:
    side, part, finger, k = _parts(bone)
    return f"J_Bip_{side[:1] or 'C'}_{finger + str(k) if finger else part.replace('Toes', 'ToeBase')}"


def _rigify(bone: str) -> str:
    body = {"Hips": "spine", "Spine": "spine.001", "Chest": "spine.002", "UpperChest": "spine.003",
            "Neck": "spine.004", "Head": "spine.006", "Shoulder": "shoulder", "UpperArm": "upper_arm",
            "LowerArm": "forearm", "Hand": "hand", "UpperLeg": "thigh", "LowerLeg": "shin", "Foot": "foot",
            "Toes": "toe"}
    side, part, finger, k = _parts(bone)
    end = f".{side[:1]}" if side else ""
    if finger:
        return f"DEF-{'' if finger == 'Thumb' else 'f_'}{_FINGER_WORDS[finger]}.0{k}{end}"
    return f"DEF-{body[part]}{end}"


def _biped(bone: str) -> str:
    body = {"Hips": "Pelvis", "Spine": "Spine", "Chest": "Spine1", "UpperChest": "Spine2", "Neck": "Neck",
            "Head": "Head", "Shoulder": "Clavicle", "UpperArm": "UpperArm", "LowerArm": "Forearm", "Hand": "Hand",
            "UpperLeg": "Thigh", "LowerLeg": "Calf", "Foot": "Foot", "Toes": "Toe0"}
    side, part, finger, k = _parts(bone)
    start = f"Bip001 {side[:1]} " if side else "Bip001 "
    if finger:  # Finger0 .. Finger4 from the thumb, then Finger01, Finger02 along each
        return f"{start}Finger{list(_FINGER_WORDS).index(finger)}{k - 1 or ''}"
    return f"{start}{body[part]}"


def _genesis8(bone: str) -> str:
    body = {"Hips": "hip", "Spine": "abdomenLower", "Chest": "chestLower", "UpperChest": "chestUpper",
            "Neck": "neckLower", "Head": "head", "Shoulder": "Collar", "UpperArm": "ShldrBend",
            "LowerArm": "ForearmBend", "Hand": "Hand", "UpperLeg": "ThighBend", "LowerLeg": "Shin", "Foot": "Foot",
            "Toes": "Toe"}
    side, part, finger, k = _parts(bone)
    if finger:
        return f"{side[:1].lower()}{'Mid' if finger == 'Middle' else _FINGER_WORDS[finger].title()}{k}"
    return f"{side[:1].lower()}{body[part]}"


@pytest.mark.parametrize("convention", [_vroid, _rigify, _biped, _genesis8])
def test_rigs_of_common_conventions_map_with_their_fingers(convention):
    """VRoid / VRM, Rigify, 3ds Max Biped and Daz Genesis 8 rigs (their own names on our skeleton's T-pose) map every
    body and finger bone: by name, and for Rigify, whose head is DEF-spine.006, by the shape of the rest pose."""
    from animgen_ml.bonemap import map_bones

    bones = skeleton.bone_names(fingers=True)
    parents = skeleton.parents_of(bones)
    rest = skeleton.rest_positions(parents, skeleton.default_rest_offsets(bones))
    names = [convention(b) for b in bones]
    shape = (lambda: rest) if convention is _rigify else None  # the others by their names alone
    assert map_bones(names, parents, rest=shape) == dict(zip(bones, names, strict=True))


def test_unmappable_target_is_a_clear_error(walk, shared_data, tmp_path):
    # Bones named by no convention, and a rest pose lying down: neither names nor shape show a humanoid.
    lying = anonymous_xbot(shared_data / "characters" / "Xbot_threejs.glb", tmp_path / "lying.glb", lying=True)
    with pytest.raises(InputError, match="no bone found for Hips"):
        retarget.write_target_glb(walk, lying, "/nonexistent/out.glb")
    with pytest.raises(InputError, match="must be a .glb"):
        retarget.write_target_glb(walk, shared_data / WALK, "/nonexistent/out.glb")


def _damaged_xbot(shared_data, tmp_path, how: str):
    """Xbot, damaged one way; pygltflib reads each of these without a word."""
    import pygltflib

    src = shared_data / "characters" / "Xbot_threejs.glb"
    out = tmp_path / f"{how}.glb"
    if how == "cut short":
        data = src.read_bytes()
        out.write_bytes(data[: len(data) // 2])
        return out
    g = pygltflib.GLTF2().load(str(src))
    joints = g.skins[0].joints
    if how == "a loop":  # the Hips made a child of the last joint
        parent = {c: i for i, n in enumerate(g.nodes) for c in (n.children or [])}
        g.nodes[parent[joints[0]]].children.remove(joints[0])
        g.nodes[joints[-1]].children = [joints[0]]
    elif how == "a joint that is not a node":
        g.skins[0].joints = [*joints, 9999]
    elif how == "a spine scaled to nothing":
        g.nodes[joints[1]].scale = [0.0, 0.0, 0.0]
    elif how == "a prop's skin first":
        g.skins = [pygltflib.Skin(name="prop", joints=[joints[-1]]), *g.skins]
        for n in g.nodes:
            n.skin = None if n.skin is None else n.skin + 1
    elif how == "a larger cape skin, and a hidden holster":
        # 80 cape bones chained from the spine, in a skin of their own, larger than the body's; and a holster
        # scaled to nothing (hidden), with a child, under the hips.
        first = len(g.nodes)
        g.nodes += [pygltflib.Node(name=f"cape_{k}", translation=[0.0, -0.01, -0.05],
                                   children=[first + k + 1] if k < 79 else []) for k in range(80)]
        g.nodes[joints[1]].children = [*g.nodes[joints[1]].children, first]
        g.skins.append(pygltflib.Skin(name="cape", joints=list(range(first, first + 80))))
        holster = len(g.nodes)
        g.nodes += [pygltflib.Node(name="holster", scale=[0.0, 0.0, 0.0], children=[holster + 1]),
                    pygltflib.Node(name="holster_end", translation=[0.0, 0.1, 0.0])]
        g.nodes[joints[0]].children = [*g.nodes[joints[0]].children, holster]
        g.skins[0].joints = [*joints, holster, holster + 1]
    g.save_binary(str(out))
    return out


@pytest.mark.parametrize("how, words", [
    ("cut short", "the file is cut short (buffer 0 holds"),  # was written as a character that failed validation
    ("a loop", "its node tree loops"),  # hung
    ("a joint that is not a node", "names joint 9999, which is not a node"),  # a traceback
    ("a spine scaled to nothing", "'mixamorig:Spine' has a transform that is not finite or is scaled to nothing"),
])
def test_a_damaged_character_is_refused_by_what_is_wrong(shared_data, tmp_path, how, words):
    with pytest.raises(InputError) as e:
        retarget.check_target(_damaged_xbot(shared_data, tmp_path, how))
    assert words in str(e.value)


def test_a_character_read_again_is_the_file_as_it_is_now_and_the_callers_own(shared_data, tmp_path):
    """load_glb_skeleton keeps what it parsed (the Xbot takes about a second to parse, and a run reads its --target
    for each video), but a file replaced under the same name is read again, even at the same size and time, and
    what one caller changes in its document is not what the next one gets."""
    path = tmp_path / "hero.glb"
    xbot = (shared_data / "characters" / "Xbot_threejs.glb").read_bytes()
    path.write_bytes(xbot)
    sk, g, _ = retarget.load_glb_skeleton(path)
    assert "mixamorig:Hips" in sk.names and g.animations
    was = path.stat()
    path.write_bytes(xbot.replace(b"HeadTop_End", b"HeadTop_Enx"))  # a bone renamed: the same size
    os.utime(path, ns=(was.st_atime_ns, was.st_mtime_ns))
    assert "mixamorig:HeadTop_Enx" in retarget.load_glb_skeleton(path)[0].names
    path.write_bytes(xbot)
    name = g.nodes[0].name
    g.nodes[0].name, g.animations = "changed", []
    again = retarget.load_glb_skeleton(path)[1]
    assert again.nodes[0].name == name and again.animations
    path.write_bytes((shared_data / "characters" / "CesiumMan.glb").read_bytes())
    assert "mixamorig:Hips" not in retarget.load_glb_skeleton(path)[0].names
    path.write_bytes((shared_data / "characters" / "Xbot_threejs.glb").read_bytes()[:100_000])  # a copy cut short
    with pytest.raises(InputError, match="cannot read the glTF file|the file is cut short"):
        retarget.load_glb_skeleton(path)


@pytest.mark.parametrize("how", ["a prop's skin first", "a larger cape skin, and a hidden holster"])
def test_skins_of_props_and_clothes_are_not_taken_for_the_body(shared_data, tmp_path, how):
    """The body's skin is the largest one that maps onto the humanoid: a prop's or a cape's skin of its own (larger,
    for the cape) is not it, and a hidden part scaled to nothing, which places no humanoid bone, is no problem."""
    path = _damaged_xbot(shared_data, tmp_path, how)
    sk = retarget.load_glb_skeleton(path)[0]
    assert len(sk.names) > 50 and "mixamorig:Hips" in sk.names and not any(n.startswith("cape") for n in sk.names)
    retarget.check_target(path)


def _validate(path) -> dict:
    node = require_tool("node")
    proc = subprocess.run([node, str(REPO / "tests/tools/validate_gltf.mjs"), str(path)], capture_output=True,
                          text=True, timeout=120)
    return json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("{")))


def _blender(path, fps: float, frames: list[int]) -> dict:
    blender = require_tool("blender")
    proc = subprocess.run([blender, "-b", "--factory-startup", "--python",
                           str(REPO / "tests/tools/retarget_blender_check.py"), "--", str(path), "--fps", str(fps),
                           "--frames", ",".join(map(str, frames))], capture_output=True, text=True, timeout=300)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("character", ["Xbot_threejs.glb", "quaternius_female_casual.glb", "CesiumMan.glb"])
def test_character_glb_validates_and_animates_in_blender(walk, shared_data, tmp_path, character):
    import pygltflib

    out = tmp_path / f"walk.{character}"
    m = retarget.write_target_glb(walk, shared_data / "characters" / character, out)
    report = _validate(out)
    assert report["errors"] == 0, report["messages"][:10]
    # The character's own animations (Xbot has seven) leave no accessor, buffer view or byte behind.
    assert not [m for m in report["messages"] if "UNUSED_OBJECT /accessors" in m or "UNUSED_OBJECT /bufferViews" in m]
    g = pygltflib.GLTF2().load(str(out))
    assert len(g.binary_blob()) <= sum(v.byteLength + 3 for v in g.bufferViews)
    frames = [0, walk.frame_count // 2, walk.frame_count - 1]
    res = _blender(out, walk.fps, frames)
    assert res["skinned_meshes"] >= 1
    assert res["action"] is not None
    # the mesh deforms and travels with the walk (several decimetres), its size stays a person's
    last = res["frames"][str(frames[-1])]
    assert last["max_displacement"] > 0.3
    for f in frames:
        lo, hi = np.array(res["frames"][str(f)]["min"]), np.array(res["frames"][str(f)]["max"])
        assert 1.2 < hi[2] - lo[2] < 2.2  # Blender is Z up: height of the character
    # Blender's Hips follow our FK of the target (glTF (x, y, z) = Blender (x, -z, y))
    t_pos, t_rot = m.skeleton.forward(m.rotations, m.translations)
    hips_name = m.mapping["Hips"]
    for f in frames:
        got = np.array(res["frames"][str(f)]["heads"][hips_name])
        want = t_pos[f, m.hips_joint]
        assert np.linalg.norm(np.array([got[0], got[2], -got[1]]) - want) < 0.01
    # ... and the mesh's lowest point is the lowest vertex of the lower legs and feet as skinning.py poses them (what
    # keeps them out of the floor), to the millimetre.
    sk, doc, nodes = retarget.load_glb_skeleton(shared_data / "characters" / character)
    legs = [retarget.joint_and_below(sk, sk.names.index(m.mapping[f"{side}LowerLeg"])) for side in ("Left", "Right")]
    scale = sk.world_scales()
    low = skinning.lowest(skinning.part_mesh(doc, nodes, legs[0] | legs[1]), t_pos, t_rot, scale)
    for f in frames:
        assert abs(res["frames"][str(f)]["min"][2] - low[f]) < 0.001, (f, res["frames"][str(f)]["min"], low[f])


def test_rig_whose_hips_map_to_a_floor_root_keeps_pelvis_and_trunk(walk, shared_data):
    # Quaternius rigs: our Hips map to "Root", which sits on the floor, and the mocap clip's first spine offset
    # points mostly backwards. The character must still stand upright, its pelvis on our pelvis path.
    sk = retarget.load_target(shared_data / "characters" / "quaternius_female_casual.glb")
    m = retarget.retarget(walk, sk)
    assert m.mapping["Hips"] == "Root"
    t_pos, _ = sk.forward(m.rotations, m.translations)
    t_rest, _ = sk.rest_world()
    s_pos, _ = walk.world()
    s_rest = skeleton.rest_positions(walk.parents, walk.rest_offsets)
    j = {b: sk.names.index(m.mapping[b]) for b in ("LeftUpperLeg", "RightUpperLeg", "Neck")}
    i = {b: walk.index(b) for b in j}
    legs = ["LeftUpperLeg", "RightUpperLeg"]
    pelvis = t_pos[:, [j[b] for b in legs]].mean(1)
    ours = s_pos[:, [i[b] for b in legs]].mean(1)
    k = np.linalg.norm(t_rest[j["LeftUpperLeg"]] - t_rest[sk.names.index(m.mapping["LeftFoot"])]) / np.linalg.norm(
        s_rest[i["LeftUpperLeg"]] - s_rest[walk.index("LeftFoot")])
    want = t_rest[[j[b] for b in legs]].mean(0) + k * (ours - s_rest[[i[b] for b in legs]].mean(0))
    assert np.abs(pelvis - want).max() < 0.03  # leg-length ratio measured two ways: a few mm apart
    # The Root (and the pelvis bone it carries, skinned to the hips) turns as our Hips do: measured from the first
    # spine offset, its rest frame came out tilted ~80 deg.
    _, t_rot = sk.forward(m.rotations, m.translations)
    _, t_rest_rot = sk.rest_world()
    _, s_rot = walk.world()
    turn = R.multiply(t_rot[:, sk.names.index("Root")], R.conjugate(t_rest_rot[sk.names.index("Root")]))
    assert np.degrees(R.angle_between(turn, s_rot[:, walk.index("Hips")])).max() < 15
    # Trunk direction (pelvis -> neck) as ours within 15 deg: each spine segment points as ours, but the mocap's
    # first one runs 7 cm backwards and the character's is longer, so the character leans back ~12 deg.
    up_t = t_pos[:, j["Neck"]] - pelvis
    up_s = s_pos[:, i["Neck"]] - ours
    cos = (up_t * up_s).sum(-1) / np.linalg.norm(up_t, axis=-1) / np.linalg.norm(up_s, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 15


@pytest.mark.parametrize("character", ["quaternius_female_casual.glb", "quaternius_male_casual.glb"])
def test_clip_on_target_proportions_lands_on_the_targets_joints(walk, shared_data, character):
    """What a camera filming the retargeted character sees, on our skeleton: every mapped joint but the Hips (which
    stays above the pelvis, where a rig's Hips may be a root on the floor) where retarget puts the target's."""
    sk = retarget.load_target(shared_data / "characters" / character)
    m = retarget.retarget(walk, sk)
    t_pos, _ = sk.forward(m.rotations, m.translations)
    seen = retarget.on_target_proportions(walk, sk)
    pos, _ = seen.world()
    mapped = [b for b in m.mapping if b != "Hips"]
    err = [np.linalg.norm(pos[:, walk.index(b)] - t_pos[:, sk.names.index(m.mapping[b])], axis=-1).max()
           for b in mapped]
    assert len(mapped) == 19 and max(err) < 1e-9  # the Quaternius rigs have no toes
    assert np.array_equal(seen.rotations, walk.rotations)
    legs = [walk.index("LeftUpperLeg"), walk.index("RightUpperLeg")]
    drop = np.linalg.norm(pos[:, legs].mean(1) - seen.hips, axis=-1)
    assert np.allclose(drop, np.linalg.norm(walk.rest_offsets[legs].mean(0)))


def test_character_whose_joints_hold_matrices_gets_a_valid_animation(walk, shared_data, tmp_path):
    """Assimp-made files give each node a matrix, which glTF animation cannot target: those joints are given the
    same transform as translation, rotation and scale, and the pose is unchanged."""
    import pygltflib

    g = pygltflib.GLTF2().load(str(shared_data / "characters" / "quaternius_male_suit.glb"))
    for n in g.nodes:
        n.matrix = [float(v) for v in retarget._node_matrix(n).T.ravel()]
        n.translation = n.rotation = n.scale = None
    char = tmp_path / "suit_matrix.glb"
    g.save_binary(str(char))
    out = tmp_path / "walk.suit_matrix.glb"
    m = retarget.write_target_glb(walk, char, out)
    report = _validate(out)
    assert report["errors"] == 0, report["messages"][:10]
    # The written character's rest pose is the original's (its joints' TRS equal their matrices).
    before, after = retarget.load_target(char), retarget.load_target(out)
    assert before.names == after.names and m.skeleton.names == before.names
    assert np.allclose(after.rest_translation, before.rest_translation, atol=1e-5)
    assert np.allclose(np.abs(np.sum(after.rest_rotation * before.rest_rotation, axis=-1)), 1.0, atol=1e-5)


def test_character_glb_takes_the_keyframe_tolerance(walk, shared_data, tmp_path):
    """--keyframe-tolerance reduces the character's GLB as it does the clip's own: fewer keys per channel, and
    played back (LINEAR: lerp, slerp) every frame stays within the tolerance of the full motion; the planted feet
    stay within the millimetres of it and the legs' mesh goes no further into the floor (per channel alone, the
    ankles went up to 2 cm off and the mesh 6 mm under)."""
    import pygltflib

    from animgen_ml import contacts as C
    from animgen_ml import skinning

    full, reduced = tmp_path / "full.glb", tmp_path / "reduced.glb"
    character = shared_data / "characters" / "Xbot_threejs.glb"
    m = retarget.write_target_glb(walk, character, full, plant_feet=True)
    retarget.write_target_glb(walk, character, reduced, tolerance=(1.0, 2.0), plant_feet=True)
    assert _validate(reduced)["errors"] == 0
    g = pygltflib.GLTF2().load(str(reduced))

    def accessor(i: int) -> np.ndarray:
        a = g.accessors[i]
        view = g.bufferViews[a.bufferView]
        width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[a.type]
        data = np.frombuffer(g.binary_blob(), np.float32, a.count * width, view.byteOffset + (a.byteOffset or 0))
        return data.reshape(a.count, width).astype(np.float64)

    T = walk.frame_count
    frames = np.arange(T) / walk.fps
    sk, doc, nodes = retarget.load_glb_skeleton(character)
    node_joint = {n: j for j, n in enumerate(nodes)}
    rotations, translations = m.rotations.copy(), m.translations.copy()  # as the reduced file plays
    keys = worst_deg = worst_mm = 0.0
    hips_keys = 0
    for ch in g.animations[0].channels:
        s = g.animations[0].samplers[ch.sampler]
        t, v = accessor(s.input)[:, 0], accessor(s.output)
        keys += len(t)
        k = np.clip(np.searchsorted(t, frames - 1e-6, side="right"), 1, len(t) - 1)
        a = np.clip((frames - t[k - 1]) / (t[k] - t[k - 1]), 0.0, 1.0)
        j = node_joint[ch.target.node]
        if ch.target.path == "rotation":
            rotations[:, j] = got = R.slerp(v[k - 1], v[k], a)
            worst_deg = max(worst_deg, np.degrees(R.angle_between(got, m.rotations[:, j])).max())
        else:
            hips_keys = len(t)
            translations[:, j] = got = v[k - 1] + a[:, None] * (v[k] - v[k - 1])
            scale = sk.world_scale(int(m.skeleton.parents[j]))
            worst_mm = max(worst_mm, np.linalg.norm(got - m.translations[:, j], axis=-1).max() * scale * 1000)
    channels = len(g.animations[0].channels)
    assert keys < 0.6 * channels * T  # 0.43 of the full file's keys per channel alone, 0.50 with the feet held
    assert 2 <= hips_keys < T  # the Hips' path too, in the character's units (178 of 229 frames: it moves both feet)
    assert worst_deg < 1.0 + 0.05 and worst_mm < 2.0 + 0.05  # float32 storage on top of the tolerance
    assert reduced.stat().st_size < full.stat().st_size

    joint = {b: sk.names.index(n) for b, n in m.mapping.items()}
    meshes, floor = retarget.leg_meshes(sk, doc, nodes, joint)
    want, got = sk.forward(m.rotations, m.translations), sk.forward(rotations, translations)
    scales = sk.world_scales()
    for s, side in enumerate(C.SIDES):
        ends = [joint[f"{side}Foot"], joint[f"{side}Toes"]]
        held = walk.contacts[:, s].astype(bool)
        assert held.mean() > 0.3  # the walk's stances
        off = np.linalg.norm(got[0][:, ends] - want[0][:, ends], axis=-1).max(axis=1)
        assert off[held].max() < 0.002 + 5e-5, side  # float32 storage on top of the tolerance
        low, full_low = (skinning.lowest(meshes[side], *pose, scales) for pose in (got, want))
        assert (np.minimum(full_low, floor) - low).max() < 0.002 + 5e-5, side


def test_a_node_between_two_joints_still_places_the_joints_below_it(walk, shared_data, tmp_path):
    """An exporter may leave a bone without weights out of the skin, so a node that is no joint lies between two
    joints: its transform still places the joints below it. The skeleton holds it (at rest: no humanoid bone maps to
    it), and the character plays the clip as the rig without it does."""
    import pygltflib

    xbot = shared_data / "characters" / "Xbot_threejs.glb"
    g = pygltflib.GLTF2().load(str(xbot))
    names = [n.name for n in g.nodes]
    upper, lower = names.index("mixamorig:LeftUpLeg"), names.index("mixamorig:LeftLeg")
    # The knee's node hangs from a new node half-way down the thigh, turned 30°; its own transform is made relative
    # to that node, so the rig's rest pose is the same as before.
    turn = R.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.radians(30.0))
    half = 0.5 * np.array(g.nodes[lower].translation)
    helper = np.eye(4)
    helper[:3, :3], helper[:3, 3] = R.to_matrix(turn), half
    knee = np.linalg.inv(helper) @ retarget._node_matrix(g.nodes[lower])
    g.nodes[lower].translation = knee[:3, 3].tolist()
    g.nodes[lower].rotation = R.from_matrix(knee[:3, :3]).tolist()
    g.nodes.append(pygltflib.Node(name="thigh_helper", translation=half.tolist(), rotation=turn.tolist(),
                                  children=[lower]))
    g.nodes[upper].children = [len(g.nodes) - 1 if c == lower else c for c in g.nodes[upper].children]
    rig = tmp_path / "helper.glb"
    g.save_binary(str(rig))

    plain, helped = retarget.load_glb_skeleton(xbot)[0], retarget.load_glb_skeleton(rig)[0]
    assert "thigh_helper" in helped.names and "thigh_helper" not in helped.bone_map.values()
    rest = helped.rest_positions()
    for j, name in enumerate(plain.names):
        np.testing.assert_allclose(rest[helped.names.index(name)], plain.rest_positions()[j], atol=1e-5, err_msg=name)
    want, got = (retarget.retarget(walk, sk) for sk in (plain, helped))
    want_pos = want.skeleton.forward(want.rotations, want.translations)[0]
    got_pos = got.skeleton.forward(got.rotations, got.translations)[0]
    for j, name in enumerate(plain.names):
        assert np.abs(got_pos[:, helped.names.index(name)] - want_pos[:, j]).max() < 1e-4, name
    out = tmp_path / "walk.helper.glb"
    retarget.write_target_glb(walk, rig, out)
    assert _validate(out)["errors"] == 0
