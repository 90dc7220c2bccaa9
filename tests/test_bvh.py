"""BVH reader and bone mapping: known-answer FK on a hand-written file, and every skeleton of the kit."""

from __future__ import annotations

import numpy as np
import pytest

from animgen_ml import bonemap
from animgen_ml.bvh import parse_bvh, read_bvh
from animgen_ml.errors import InputError

SMALL = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
  JOINT LeftUpLeg
  {
    OFFSET 10 0 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0 0 0 0
1 90 2 90 0 0 0 0 0 90 0 0
"""


def test_parse_and_fk_known_answer():
    b = parse_bvh(SMALL)
    assert b.names == ["Hips", "Spine", "LeftUpLeg"]
    assert list(b.parents) == [-1, 0, 0]
    assert b.channels[2] == ["Xrotation", "Yrotation", "Zrotation"]
    assert np.allclose(b.end_sites[1], [0, 5, 0]) and np.allclose(b.end_sites[2], [0, -40, 0])
    assert b.frame_count == 2 and b.fps == pytest.approx(30.0, rel=1e-4)
    pos, rot = b.forward_kinematics()
    # Frame 0: rest pose at the root position.
    assert np.allclose(pos[0], [[0, 90, 0], [0, 100, 0], [10, 90, 0]])
    # Frame 1: hips turned 90 deg about Z (Spine's +Y offset now points to -X), root moved to (1, 90, 2).
    assert np.allclose(pos[1, 0], [1, 90, 2])
    assert np.allclose(pos[1, 1], [1 - 10, 90, 2], atol=1e-9)
    assert np.allclose(pos[1, 2], [1, 100, 2], atol=1e-9)
    assert np.allclose(np.linalg.norm(rot, axis=-1), 1.0)


def test_euler_order_is_respected():
    # Z then X (intrinsic, listed order) differs from X then Z: check against the matrix product.
    text = SMALL.replace("0 90 0 0 0 0 0 0 0 0 0 0\n1 90 2 90 0 0 0 0 0 90 0 0", "0 0 0 30 60 0 0 0 0 0 0 0")
    text = text.replace("Frames: 2", "Frames: 1")
    b = parse_bvh(text)
    _, rot = b.forward_kinematics()

    def rz(a):
        c, s = np.cos(a), np.sin(a)
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])

    def rx(a):
        c, s = np.cos(a), np.sin(a)
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])

    from animgen_ml import rotations as R

    assert np.allclose(R.to_matrix(rot[0, 0]), rz(np.radians(30)) @ rx(np.radians(60)))


def test_bad_bvh_names_the_file(tmp_path):
    p = tmp_path / "broken.bvh"
    p.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0\n")
    with pytest.raises(InputError, match="broken.bvh"):
        read_bvh(p)
    with pytest.raises(InputError, match="missing.bvh"):
        read_bvh(tmp_path / "missing.bvh")


ROWS = "0 90 0 0 0 0 0 0 0 0 0 0\n1 90 2 90 0 0 0 0 0 90 0 0"


@pytest.mark.parametrize("change, problem", [
    ((ROWS, "0 90 0 0 0 0 0 0 0 0 0\n1 90 2 90 0 0 0 0 0 90 0 0 0"), "motion row 1 has 11 values where the channels "
                                                                     "need 12"),  # would shift every later channel
    ((ROWS, "0 90 0 0 0 0 0 0 0 0 0 0\n1 90 2 90 nan 0 0 0 0 90 0 0"), "motion row 2 holds a value that is not a "
                                                                         "finite number"),
    (("Frame Time: 0.0333333", "Frame Time: inf"), "Frame Time must be a number of seconds in (0, 1], got inf"),
    (("JOINT LeftUpLeg", "JOINT Spine"), "joint name 'Spine' appears twice"),
    (("Zrotation Xrotation Yrotation\n  JOINT Spine", "Zrotation Xrotation Wrotation\n  JOINT Spine"),
     "joint 'Hips' has channels"),
    (("MOTION", "MOTON"), "it has no MOTION section"),
    # float() takes "nan": one such offset in a training kit gave weights that were all NaN, and exit 0.
    (("OFFSET 10 0 0", "OFFSET nan 0 0"), "joint 'LeftUpLeg' has an OFFSET that is not finite numbers: nan 0 0"),
])
def test_malformed_bvh_is_refused_by_what_is_wrong(change, problem):
    text = SMALL.replace(*change)
    assert text != SMALL
    with pytest.raises(ValueError) as e:
        parse_bvh(text)
    assert problem in str(e.value)


def test_byte_order_mark_and_crlf_are_read(tmp_path):
    p = tmp_path / "windows.bvh"
    p.write_bytes(b"\xef\xbb\xbf" + SMALL.replace("\n", "\r\n").encode())
    b = read_bvh(p)
    assert np.array_equal(b.motion, parse_bvh(SMALL).motion) and b.names == ["Hips", "Spine", "LeftUpLeg"]


@pytest.mark.parametrize("names, parents, expect", [
    # UE5 Manny: root above pelvis, five spine bones, two necks.
    (["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02", "head",
      "clavicle_l", "upperarm_l", "lowerarm_l", "hand_l", "clavicle_r", "upperarm_r", "lowerarm_r", "hand_r",
      "thigh_l", "calf_l", "foot_l", "ball_l", "thigh_r", "calf_r", "foot_r", "ball_r", "upperarm_twist_01_l"],
     [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 10, 11, 12, 6, 14, 15, 16, 1, 18, 19, 20, 1, 22, 23, 24, 11],
     {"Hips": "pelvis", "Spine": "spine_01", "Chest": "spine_03", "UpperChest": "spine_05", "Neck": "neck_01",
      "LeftShoulder": "clavicle_l", "LeftUpperArm": "upperarm_l", "RightHand": "hand_r", "LeftToes": "ball_l",
      "RightLowerLeg": "calf_r"}),
    # Mixamo with its namespace.
    (["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2", "mixamorig:Neck",
      "mixamorig:Head", "mixamorig:LeftShoulder", "mixamorig:LeftArm", "mixamorig:LeftForeArm",
      "mixamorig:LeftHand", "mixamorig:LeftHandThumb1", "mixamorig:RightShoulder", "mixamorig:RightArm",
      "mixamorig:RightForeArm", "mixamorig:RightHand", "mixamorig:LeftUpLeg", "mixamorig:LeftLeg",
      "mixamorig:LeftFoot", "mixamorig:LeftToeBase", "mixamorig:RightUpLeg", "mixamorig:RightLeg",
      "mixamorig:RightFoot", "mixamorig:RightToeBase"],
     [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 9, 3, 11, 12, 13, 0, 15, 16, 17, 0, 19, 20, 21],
     {"Hips": "mixamorig:Hips", "Chest": "mixamorig:Spine1", "UpperChest": "mixamorig:Spine2",
      "LeftUpperArm": "mixamorig:LeftArm", "LeftThumbProximal": "mixamorig:LeftHandThumb1",
      "RightToes": "mixamorig:RightToeBase"}),
])
def test_bonemap_conventions(names, parents, expect):
    m = bonemap.map_bones(names, parents)
    for k, v in expect.items():
        assert m[k] == v, k


def test_bonemap_overrides_and_missing():
    names = ["Hips", "Spine", "Head", "LeftUpLeg", "LeftLeg", "LeftFoot"]
    parents = [-1, 0, 1, 0, 3, 4]
    with pytest.raises(bonemap.BoneMapError, match="LeftUpperArm"):
        bonemap.map_bones(names, parents)
    with pytest.raises(bonemap.BoneMapError, match="no bone named 'Nope'"):
        bonemap.map_bones(names, parents, overrides={"LeftUpperArm": "Nope"})


def test_every_kit_skeleton_maps(shared_data):
    """Each distinct skeleton in the mocap kit maps onto all required HumanBodyBones."""
    seen = set()
    for f in sorted((shared_data / "mocap").rglob("*.bvh")):
        key = f.read_text(errors="replace")[:3000]  # same header start: same skeleton
        if key in seen:
            continue
        seen.add(key)
        b = read_bvh(f)
        m = bonemap.map_bones(b.names, b.parents)
        assert set(bonemap.REQUIRED) <= set(m), f.name
        assert len(set(m.values())) == len(m), f"{f.name}: one source bone mapped twice"
    assert len(seen) >= 8
