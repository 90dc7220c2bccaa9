"""VRM: our VRM Animation (.vrma) played on VRM avatars by pixiv's three-vrm, as web apps play it; VRM characters
(.vrm) as --target, their bones mapped by the humanoid their VRM extension names (1.0 and 0.x)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from export_helpers import anonymous_xbot, as_vrm, make_clip, rotation_error, validate, vrm_play

from animgen_ml import gltf_export, mocap, retarget, vrm
from animgen_ml import rotations as R
from animgen_ml.bonemap import map_bones
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError

WALK = "mocap/accad_female1/Female1_B03_Walk1.bvh"
LIMBS = (("LeftUpperArm", "LeftLowerArm"), ("RightLowerArm", "RightHand"), ("LeftUpperLeg", "LeftLowerLeg"),
         ("RightLowerLeg", "RightFoot"), ("Hips", "Head"))


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.sum(a * b, axis=-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _xbot_nodes(xbot: Path, fingers: bool) -> dict[str, int]:
    """The Xbot's humanoid bones (as its names map them) -> node index."""
    sk, _, order = retarget.load_glb_skeleton(xbot)
    return {b: order[sk.names.index(n)] for b, n in map_bones(sk.names, sk.parents, fingers=fingers).items()}


def test_a_vrm_avatar_plays_our_vrma_as_the_clip_moves(shared_data, tmp_path):
    """three-vrm plays a .vrma on an avatar of the clip's own skeleton with every joint, fingers too, where the clip
    puts it (to 0.01 mm), and on the Xbot made a VRM 1.0 avatar with each bone turned from the Xbot's own rest as the
    clip's turns from its T-pose (0.05°) and the Hips' travel scaled by its Hips' height, as the VRM Animation
    specification asks."""
    clip = make_clip(frames=30, fingers=True)
    anim = tmp_path / "clip.vrma"
    gltf_export.write_vrma(clip, anim)
    (report,) = validate(anim)
    assert report["errors"] == 0, report["messages"]
    g = pygltflib.GLTF2().load_binary(str(anim))
    assert not g.meshes and g.extensionsUsed == [vrm.VRMA]
    bones = g.extensions[vrm.VRMA]["humanoid"]["humanBones"]
    assert {g.nodes[b["node"]].name for b in bones.values()} == set(clip.bones)
    assert bones["leftThumbMetacarpal"]["node"] == clip.bones.index("LeftThumbProximal")  # VRM 1.0's thumb names

    own = tmp_path / "own.glb"
    gltf_export.write_glb(clip, own)
    own_avatar = as_vrm(own, tmp_path / "own.vrm", {b: i for i, b in enumerate(clip.bones)})
    frames = [0, 11, 29]
    played = vrm_play(own_avatar, anim, [f / clip.fps for f in frames])
    assert played["duration"] == pytest.approx((clip.frame_count - 1) / clip.fps, abs=1e-6)
    pos, _ = clip.world()
    for f, at in zip(frames, played["bones"], strict=True):
        got = np.array([at[vrm.vrm_name(b)] for b in clip.bones])
        assert np.abs(got - pos[f]).max() < 1e-5, f

    walk = mocap.load_clip(shared_data / WALK)
    anim = tmp_path / "walk.vrma"
    gltf_export.write_vrma(walk, anim)
    xbot = shared_data / "characters" / "Xbot_threejs.glb"
    avatar = as_vrm(xbot, tmp_path / "xbot.vrm", _xbot_nodes(xbot, fingers=True))
    frames = list(range(0, walk.frame_count, 20))
    at = vrm_play(avatar, anim, [f / walk.fps for f in frames])["bones"]
    # Each bone turns from the avatar's own rest as the clip's turns from its T-pose.
    sk = retarget.load_glb_skeleton(avatar)[0]
    rest = sk.rest_positions()
    _, rot = walk.world()
    for a, b in (*LIMBS[:-1], ("Spine", "Chest"), ("Neck", "Head")):
        theirs = np.array([np.subtract(p[vrm.vrm_name(b)], p[vrm.vrm_name(a)]) for p in at])
        own_rest = rest[sk.names.index(sk.bone_map[b])] - rest[sk.names.index(sk.bone_map[a])]
        want = R.apply(rot[frames, walk.index(a)], np.broadcast_to(own_rest, (len(frames), 3)))
        assert _angles(theirs, want).max() < 0.05, (a, b)
    # The Hips travel as the clip's, scaled by the avatar's Hips height.
    hips = np.array([p["hips"] for p in at])
    scale = rest[sk.names.index(sk.bone_map["Hips"])][1] / walk.rest_offsets[0][1]
    travel, ours = hips - hips[0], walk.hips[frames] - walk.hips[frames[0]]
    assert np.abs(travel - scale * ours).max() < 1e-3


@pytest.mark.parametrize("version", ["1.0", "0.x"])
def test_a_vrm_character_is_mapped_by_the_bones_its_extension_names(shared_data, tmp_path, version):
    """A VRM character whose bone names follow no convention and whose rest pose lies (neither names nor shape map
    it) maps through its VRM humanoid, fingers included, and plays the clip as the Xbot does: limbs and trunk within
    0.01°. The written character is still the VRM, valid glTF, and three-vrm reads it as one: its humanoid bones
    play the written clip where our forward kinematics puts them (0.01 mm)."""
    xbot = shared_data / "characters" / "Xbot_threejs.glb"
    lying = anonymous_xbot(xbot, tmp_path / "lying.glb", lying=True)
    with pytest.raises(InputError, match="name them as"):
        retarget.check_target(lying)
    avatar = as_vrm(lying, tmp_path / "lying.vrm", _xbot_nodes(xbot, fingers=True), version)
    retarget.check_target(avatar)
    sk, lain = retarget.load_glb_skeleton(xbot)[0], retarget.load_glb_skeleton(avatar)[0]
    named = map_bones(sk.names, sk.parents, fingers=True)
    assert lain.bone_map == {b: lain.names[sk.names.index(n)] for b, n in named.items()}

    walk = mocap.load_clip(shared_data / WALK)
    out = tmp_path / "walk.lying.glb"
    written = retarget.write_target_glb(walk, avatar, out)
    (report,) = validate(out)
    assert report["errors"] == 0, report["messages"]
    assert (vrm.VRM1 if version == "1.0" else vrm.VRM0) in pygltflib.GLTF2().load(str(out)).extensions
    frames = list(range(0, walk.frame_count, 25))
    played = vrm_play(out, None, [f / walk.fps for f in frames])["bones"]
    forward = written.skeleton.forward(written.rotations, written.translations)[0]
    for f, at in zip(frames, played, strict=True):
        assert len(at) == len(named)  # every humanoid bone the extension names, the thumbs renamed for 0.x
        for b in named:
            joint = lain.names.index(lain.bone_map[b])
            assert np.abs(np.subtract(at[vrm.vrm_name(b)], forward[f, joint])).max() < 1e-5, (f, b)
    ours, theirs = retarget.retarget(walk, sk), retarget.retarget(walk, lain, lain.bone_map)
    want, got = (m.skeleton.forward(m.rotations, m.translations)[0] for m in (ours, theirs))
    body = {b: n for b, n in named.items() if b in walk.bones}
    for a, b in LIMBS:
        d1 = want[:, sk.names.index(body[b])] - want[:, sk.names.index(body[a])]
        d2 = got[:, lain.names.index(lain.bone_map[b])] - got[:, lain.names.index(lain.bone_map[a])]
        assert _angles(d1, d2).max() < 0.01, (a, b)


def test_generate_writes_vrma_and_plays_a_vrm_target(videos, shared_data, tmp_path):
    """`animgen generate --format vrma --target hero.vrm`: the clip as VRM Animation beside the VRM character playing
    it; the .vrma holds the clip's own keys."""
    xbot = shared_data / "characters" / "Xbot_threejs.glb"
    hero = as_vrm(anonymous_xbot(xbot, tmp_path / "hero.glb"), tmp_path / "hero.vrm", _xbot_nodes(xbot, False))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "animgen_server.cli", "generate", str(videos /
                           "sports2d_run_sideview.mp4"), "-o", str(out), "--format", "json,vrma", "--target",
                           str(hero), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    stem = "sports2d_run_sideview"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        f"{stem}.hero.glb", f"{stem}.json", f"{stem}.vrma"]
    clip = HumanoidClip.load_json(out / f"{stem}.json")
    back = gltf_export.read_glb_clip(out / f"{stem}.vrma")
    assert np.abs(back.hips - clip.hips).max() < 1e-6
    assert rotation_error(back.rotations, clip.rotations) < 1e-6
